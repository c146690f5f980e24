"""The YAML sweep file: its fields, the checks that turn it into a SweepSpec, its JSON
Schema, the trainer it names, the packaged sweeps.
"""
