"""The cuda backend's dropout masks: deeplite/kernels/random.cu, the counter-based stream of
dl_philox.h made on the device (no host draw, so a CUDA graph can capture it). float16 and other
dtypes take the host reference (fallbacks.py), which draws the same bits. Imported by
cuda_backend once CuPy works.
"""
import math

import cupy
import numpy

from . import fallbacks, get
from .cuda_launch import OPTIM_SUFFIX, grid_for, launch
from .device_scalars import scalar_args


def dropout_mask(shape, dtype, p, key, counter):
    """1 / (1 - p) where the Philox stream keeps an element, else 0 (see contract.py); the key
    and counter words may be DeviceScalars (a CUDA graph's scalar block)."""
    suffix = OPTIM_SUFFIX.get(numpy.dtype(dtype))
    if suffix is None:
        return fallbacks.dropout_mask(get("cuda"), shape, dtype, p, key, counter)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_mask: p must be in [0, 1), got {p}")
    out = cupy.empty(tuple(shape), dtype)
    count = math.prod(out.shape)
    if count:
        launch("random.cu", f"dropout_mask_{suffix}", grid_for(-(-count // 4)), out, count,
               float(p), *scalar_args(key[0], key[1], counter[0], counter[1]))
    return out
