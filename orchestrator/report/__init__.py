"""The HTML report of a sweep and its matplotlib figures."""
