"""Utilities with optional dependencies, imported only on use: ``deeplite.utils.tensorboard``."""
