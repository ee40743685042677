"""Verifiers: reward functions for RLVR, importable without the rest of rlvr."""
