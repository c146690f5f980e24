"""The built-in trainer: a numpy multilayer perceptron with batch normalization, its
settings, losses and optimizers.
"""
