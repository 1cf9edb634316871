"""The PyTorch tensor surface beyond the core ops: ``from deeplite.surface import *`` is how
``deeplite/__init__.py`` exports it, so ``deeplite.cumsum``, ``deeplite.gather``, ... exist.

The ops are collected in ``deeplite/ops/surface.py`` (each defined in its family's module under
``deeplite/ops/``); creation functions, dtypes and error types join them here. The long-form list
is docs/api.md.
"""
from . import return_types
from .creation import empty_like, eye, linspace, logspace, normal
from .dtypes import uint16, uint32, uint64
from .errors import DimError, DtypeError, ShapeError
from .ops.surface import *  # noqa: F403  (its __all__ joins this one)
from .ops.surface import __all__ as _ops

__all__ = ["return_types", "empty_like", "eye", "linspace", "logspace", "normal", "uint16",
           "uint32", "uint64", "DimError", "DtypeError", "ShapeError"]
__all__ += _ops
