"""Ray clusters of one's own: `caviar up/down/status`, the processes a cluster is made of,
sweeps as Ray Jobs.
"""
