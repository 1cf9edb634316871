"""Turning Python numbers and arrays into constant tensors beside a tensor operand."""
import numbers

import numpy as np

from .. import dtypes
from ..tensor import Tensor


def lift(value, like: Tensor) -> Tensor:
    """``value`` as a constant tensor on ``like``'s device.

    Python numbers take ``like``'s dtype (a float with an integer tensor takes the default float
    dtype), as PyTorch does; arrays keep their own dtype, as NumPy does.
    """
    backend = like._backend
    if isinstance(value, numbers.Number) and not isinstance(value, np.ndarray):
        dtype = like.dtype
        if isinstance(value, bool):
            dtype = like.dtype if like.dtype != dtypes.bool_ else dtypes.bool_
        elif isinstance(value, numbers.Integral):
            dtype = like.dtype if like.dtype != dtypes.bool_ else dtypes.int64
        elif not dtypes.is_floating(like.dtype):
            dtype = dtypes.get_default_dtype()
        return Tensor._wrap(backend.full((), value, dtype), backend)
    if isinstance(value, (list, tuple)):
        value = np.asarray(value, dtype=like.dtype if np.asarray(value).dtype.kind == "f" else None)
    return Tensor._wrap(backend.asarray(value), backend)


def lift_pair(x, y) -> tuple:
    """Both operands of a binary op as tensors, lifting whichever is not one."""
    if isinstance(x, Tensor):
        return (x, y) if isinstance(y, Tensor) else _promoted(x, lift(y, x))
    if isinstance(y, Tensor):
        return _promoted(y, lift(x, y))[::-1]
    raise TypeError(f"expected a tensor operand, got {type(x).__name__} and {type(y).__name__}")


def _promoted(tensor: Tensor, constant: Tensor) -> tuple:
    """An integer tensor meeting a float number becomes the number's float dtype (as PyTorch)."""
    if not dtypes.is_floating(tensor.dtype) and dtypes.is_floating(constant.dtype):
        tensor = tensor.to(dtype=constant.dtype)
    return tensor, constant
