"""PyTorch-compatible import paths and optional-dependency utilities, imported only on use:
``deeplite.utils.data`` is ``deeplite.data``; ``deeplite.utils.tensorboard`` needs tensorboardX."""
