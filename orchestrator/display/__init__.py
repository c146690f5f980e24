"""What a sweep shows while it runs and before: the progress panel (terminal, plain lines,
Jupyter) and plain-text views.
"""
