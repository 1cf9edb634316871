"""``in_float32``: a composite op on 16-bit floats computed in float32 and rounded once.

An op built from several kernels (gelu = 0.5 x (1 + erf(x / sqrt 2)), tanhshrink = x - tanh x,
a weighted nll_loss) would round every intermediate to bfloat16 / float16; where intermediates
cancel (x - tanh x near 0) that loses most of the result's digits. PyTorch's reduced-precision
kernels compute in float32 ("opmath") and round the result once; so do ops wrapped here. The
casts are differentiable, so gradients come back in the inputs' dtype.
"""
import functools

import numpy as np

from ..dtypes import is_low_precision

_FLOAT32 = np.dtype(np.float32)


def _low_dtype(values):
    """The 16-bit float dtype shared by every floating tensor in ``values``, else None (no
    float tensor, or mixed dtypes: then the op's own promotion rules apply)."""
    low = None
    for value in values:
        if hasattr(value, "_backend") and value.dtype.kind in "fV":  # bfloat16's kind is "V"
            if value.dtype.itemsize != 2 or (low is not None and value.dtype != low):
                return None
            low = value.dtype
    return low if low is not None and is_low_precision(low) else None


def in_float32(function):
    """``function`` run on float32 copies of its bfloat16/float16 tensor arguments, its
    floating result rounded back to their dtype once (the arguments' dtypes otherwise)."""

    @functools.wraps(function)
    def computed_in_float32(*args, **kwargs):
        low = _low_dtype((*args, *kwargs.values()))
        if low is None:
            return function(*args, **kwargs)

        def wide(value):
            return value.to(dtype=_FLOAT32) if getattr(value, "dtype", None) == low \
                and hasattr(value, "_backend") else value

        out = function(*(wide(a) for a in args), **{k: wide(v) for k, v in kwargs.items()})
        return out.to(dtype=low) if out.dtype == _FLOAT32 else out

    return computed_in_float32
