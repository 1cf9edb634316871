"""The reference backend: every REQUIRED kernel is the NumPy function of the same meaning.

It implements no OPTIONAL kernel on purpose: its fused kernels are the reference compositions in
``fallbacks.py``, which every other backend's native kernels are tested against.
"""
import numpy as np

from . import low_precision
from .contract import is_basic_index

xp = np

# creation and transfer
asarray = np.asarray
zeros = np.zeros
empty = np.empty
full = np.full
concatenate = np.concatenate
stack = np.stack
copyto = np.copyto
copy = np.copy


def to_numpy(a):
    """Host array (already on the host: no copy)."""
    return np.asarray(a)


def arange(start, stop, step, dtype):
    """1-D range of the given dtype."""
    return np.arange(start, stop, step, dtype=dtype)


def astype(a, dtype):
    """``a`` as ``dtype``, copying only when the dtype changes."""
    return np.asarray(a).astype(dtype, copy=False)


# elementwise
add, sub, mul, div, pow = np.add, np.subtract, np.multiply, np.true_divide, np.power
maximum, minimum = np.maximum, np.minimum
eq, ne, lt, le = np.equal, np.not_equal, np.less, np.less_equal
gt, ge = np.greater, np.greater_equal
neg, exp, log, log1p, expm1 = np.negative, np.exp, np.log, np.log1p, np.expm1
sqrt, abs, sign, tanh = np.sqrt, np.abs, np.sign, np.tanh
where = np.where


def clip(a, low, high):
    """``a`` clipped to [low, high] (either may be None), keeping 16-bit float dtypes."""
    return low_precision.clip(a, low, high) if low_precision.is_low(a) else np.clip(a, low, high)


# reductions
max, min = np.max, np.min


def sum(a, axis=None, keepdims=False):
    """Sum over ``axis``; 16-bit floats accumulate in float32."""
    if low_precision.is_low(a):
        return low_precision.sum(a, axis=axis, keepdims=keepdims)
    return np.sum(a, axis=axis, keepdims=keepdims)


def argmax(a, axis):
    """Indices of the maxima along ``axis``."""
    return np.argmax(a, axis=axis)


# linear algebra and movement
def matmul(a, b):
    """``a @ b``; 16-bit floats accumulate in float32 (NumPy's own loops are slow or widen)."""
    if low_precision.is_low(a) or low_precision.is_low(b):
        return low_precision.matmul(a, b)
    return np.matmul(a, b)


reshape, transpose, broadcast_to = np.reshape, np.transpose, np.broadcast_to


def getitem(a, index):
    """``a[index]``."""
    return a[index]


def index_add(shape, index, values):
    """Zeros of ``shape`` with ``values`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=values.dtype)
    if is_basic_index(index):
        out[index] = values  # slices and ints never repeat an element: plain assignment
    else:
        np.add.at(out, index, values)
    return out

