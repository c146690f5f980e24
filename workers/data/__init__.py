"""Datasets: the built-in ones, data files, and the split every trial of a sweep sees."""
