"""Where the next trials go: parameter types on the unit interval, samplers, TPE, the
coarse-to-fine zoom.
"""
