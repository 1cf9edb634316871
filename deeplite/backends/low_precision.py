"""16-bit floats (float16, bfloat16) on the host backends: stored in 16 bits, computed in float32.

NumPy's own float16 loops and ml_dtypes' bfloat16 ufuncs convert element by element and
accumulate in 16 bits (a bfloat16 sum of 4096 ones is 256); deeplite instead widens to float32
for the kernels where precision or speed matters (GEMMs, sums, every fused kernel of the ``cpu``
backend) and rounds the result back to the inputs' dtype, as PyTorch's CPU kernels do.
"""
import numpy as np

from .. import dtypes

_FLOAT32 = np.dtype(np.float32)


def is_low(array) -> bool:
    """Whether ``array`` is a host array of a 16-bit float dtype."""
    return isinstance(array, np.ndarray) and dtypes.is_low_precision(array.dtype)


def involved(args) -> bool:
    """Whether any array in ``args`` (or in a list among them) is a 16-bit float."""
    return any(is_low(a) or (isinstance(a, list) and any(is_low(x) for x in a)) for a in args)


def _widen(value, pairs: list):
    """``value`` with every 16-bit array widened to float32; (original, wide) pairs recorded."""
    if is_low(value):
        wide = value.astype(_FLOAT32)
        pairs.append((value, wide))
        return wide
    if isinstance(value, list):
        return [_widen(item, pairs) for item in value]
    return value


def _narrow(value, dtype):
    """Float32 arrays in ``value`` (an array, a tuple of them or None) rounded to ``dtype``."""
    if isinstance(value, tuple):
        return tuple(_narrow(item, dtype) for item in value)
    if isinstance(value, np.ndarray) and value.dtype == _FLOAT32:
        return value.astype(dtype)
    return value


def widened_call(kernel, args, kwargs, in_place: bool = False):
    """``kernel`` run on float32 copies of the 16-bit arrays in ``args``, results rounded back.

    ``in_place`` kernels (optimizer steps) update the copies; those are written back into the
    16-bit originals.
    """
    pairs: list = []
    wide_args = [_widen(a, pairs) for a in args]
    result = kernel(*wide_args, **kwargs)
    if in_place:
        for original, wide in pairs:
            np.copyto(original, wide, casting="unsafe")
        return result
    return _narrow(result, pairs[0][0].dtype)


def matmul(a, b, float32_matmul=np.matmul):
    """``a @ b`` accumulated in float32 and rounded to the inputs' dtype (``np.result_type``)."""
    out_dtype = np.result_type(a.dtype, b.dtype)
    return float32_matmul(a.astype(_FLOAT32), b.astype(_FLOAT32)).astype(out_dtype)


def sum(a, axis=None, keepdims=False):  # noqa: A001  the contract's name
    """Sum accumulated in float32 (NumPy's float16 and bfloat16 sums accumulate in 16 bits)."""
    return np.sum(a, axis=axis, keepdims=keepdims, dtype=_FLOAT32).astype(a.dtype)


def clip(a, low, high):
    """``np.clip`` keeping the dtype (ml_dtypes' bfloat16 clip returns float32)."""
    return np.clip(a, low, high).astype(a.dtype, copy=False)
