"""Autocast's per-thread state and the two op hooks, imported by the ops (so: no heavy imports).

``lower(*tensors)`` (deeplite.amp.autocast's hook) is called by matmul and linear; ``float32_op``
wraps softmax, the losses and the reductions. Outside autocast each costs one attribute read.
"""
import functools
import threading
from typing import Any

import numpy as np

_FLOAT32 = np.dtype(np.float32)


class _State(threading.local):
    """The innermost active autocast of this thread (as PyTorch, autocast state is per thread)."""

    dtype: Any = None  # the low-precision dtype while autocast computes in it, else None
    device: Any = None  # the device whose tensors it casts


state = _State()


def _is_float(tensor) -> bool:
    kind = tensor.dtype.kind
    return kind == "f" or (kind == "V" and tensor.dtype.name == "bfloat16")


def lower(*tensors) -> tuple:
    """``tensors`` with every floating one on the autocast device cast to the autocast dtype."""
    dtype, device = state.dtype, state.device
    return tuple(t if t is None or t.device != device or t.dtype == dtype or not _is_float(t)
                 else t.to(dtype=dtype) for t in tensors)


def _widened(value):
    if hasattr(value, "_backend") and value.device == state.device and _is_float(value) \
            and value.dtype.itemsize < 4:
        return value.to(dtype=_FLOAT32)
    return value


def float32_op(function):
    """``function`` with its 16-bit float tensor arguments widened to float32 under autocast."""

    @functools.wraps(function)
    def run_in_float32(*args, **kwargs):
        if state.dtype is None:
            return function(*args, **kwargs)
        return function(*(_widened(a) for a in args),
                        **{key: _widened(value) for key, value in kwargs.items()})

    return run_in_float32
