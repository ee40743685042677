"""rlvr: RLVR training with pluggable divergence regularizers."""

__version__ = "0.1.0"
