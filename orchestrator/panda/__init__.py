"""Panda mode: one model trained in the open (`caviar train`)."""
