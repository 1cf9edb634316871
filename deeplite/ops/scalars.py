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
    """Both operands of a binary op as tensors of one dtype, by PyTorch's promotion rules.

    A Python number takes the tensor's dtype (within its category, see ``lift``); two tensors of
    different dtypes promote as ``result_type`` says.
    """
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            return (x, y) if x.dtype is y.dtype else promote(x, y)
        return _promoted(x, lift(y, x))
    if isinstance(y, Tensor):
        return _promoted(y, lift(x, y))[::-1]
    raise TypeError(f"expected a tensor operand, got {type(x).__name__} and {type(y).__name__}")


def _category(dtype) -> int:
    """bool < integer < floating, PyTorch's promotion categories."""
    return {"b": 0, "i": 1, "u": 1}.get(dtype.kind, 2)


def result_type(x: Tensor, y: Tensor):
    """The dtype PyTorch gives ``x <op> y``.

    A dimensioned tensor outranks a 0-d one: the 0-d tensor decides only when it is of a higher
    category (int tensor + 0-d float32 tensor is float32, where NumPy says float64; float32 tensor +
    0-d float64 tensor stays float32). Otherwise the dtypes promote as NumPy promotes them.
    """
    if (x.ndim == 0) != (y.ndim == 0):
        shaped, scalar = (y, x) if x.ndim == 0 else (x, y)
        if _category(scalar.dtype) <= _category(shaped.dtype):
            return shaped.dtype
        return scalar.dtype
    if _category(x.dtype) != _category(y.dtype):
        return x.dtype if _category(x.dtype) > _category(y.dtype) else y.dtype
    return np.promote_types(x.dtype, y.dtype)


def promote(x: Tensor, y: Tensor) -> tuple:
    """``x`` and ``y`` cast to their ``result_type`` (the one already of that dtype uncopied)."""
    dtype = result_type(x, y)
    return (x if x.dtype == dtype else x.to(dtype=dtype),
            y if y.dtype == dtype else y.to(dtype=dtype))


def _promoted(tensor: Tensor, constant: Tensor) -> tuple:
    """An integer tensor meeting a float number becomes the number's float dtype (as PyTorch)."""
    if not dtypes.is_floating(tensor.dtype) and dtypes.is_floating(constant.dtype):
        tensor = tensor.to(dtype=constant.dtype)
    return tensor, constant
