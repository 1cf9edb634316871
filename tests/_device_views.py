"""Host arrays moved to a backend as the same views: strides and offset rebuilt on the device.

``cupy.asarray`` of a host view makes a contiguous copy, so a conformance case built from a
strided or offset NumPy view would never reach the cuda kernels as one. ``on_device`` copies the
view's whole base array to the device and takes the same view of it there.
"""
import numpy as np


def on_device(backend, a, force: bool = False):
    """``a`` on ``backend`` with its strides and byte offset kept (host backends already keep
    them, unless ``force``); anything that is not an array passes through."""
    if not isinstance(a, np.ndarray):
        return a
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    plain = root is a or min(a.strides, default=0) < 0 or offset % a.itemsize
    if plain or not (force or backend.xp is not np) or not (root.flags.c_contiguous
                                                            or root.flags.f_contiguous):
        return backend.asarray(a)
    raw = backend.asarray(np.frombuffer(root, dtype=np.uint8).copy())
    typed = raw[: raw.size - raw.size % a.itemsize].view(a.dtype)
    return backend.xp.lib.stride_tricks.as_strided(typed[offset // a.itemsize:], a.shape,
                                                   a.strides)
