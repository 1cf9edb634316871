"""PyTorch-compatible import paths: ``deeplite.utils.data`` is ``deeplite.data``."""
