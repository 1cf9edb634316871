"""Helpers of the GPU tests: the reference result of a kernel, and a kernel run on the GPU."""
import numpy as np

from deeplite import backends


def reference(kernel, *args):
    """The numpy backend's (reference) result of ``kernel`` on host arrays."""
    return getattr(backends.get("numpy"), kernel)(*args)


def on_gpu(cuda, kernel, *args):
    """``kernel`` on the GPU with host arrays moved there; results back on the host."""
    result = getattr(cuda, kernel)(*[cuda.asarray(a) if isinstance(a, np.ndarray) else a
                                     for a in args])
    return tuple(map(cuda.to_numpy, result)) if isinstance(result, tuple) else cuda.to_numpy(result)
