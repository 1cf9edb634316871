"""``from_dlpack``: a deeplite tensor sharing the memory of any DLPack producer.

Producers are NumPy (>= 1.22), PyTorch, JAX, CuPy, ... — anything with ``__dlpack__`` and
``__dlpack_device__``. Host memory becomes a tensor on the default host device ("cpu" when built,
else "numpy"); CUDA memory becomes a "cuda" tensor (through CuPy, imported only then).

The consumer keeps the producer's memory alive (the DLPack deleter runs when the last array
holding it goes), so deleting the producer is safe. Writes made through the other library's view
are not seen by deeplite's version counters: do not overwrite, from outside, a tensor that a
recorded graph still needs for backward.
"""
import numpy as np

from .. import backends, dtypes
from ..tensor import Tensor
from .dlpack_capsule import BFloat16Producer

_DL_CPU, _DL_CUDA, _DL_CUDA_HOST = 1, 2, 3  # DLDeviceType codes


def is_foreign_array(obj) -> bool:
    """Whether ``obj`` is another library's DLPack array (not NumPy's, not deeplite's)."""
    return (hasattr(obj, "__dlpack__") and not isinstance(obj, (np.ndarray, Tensor))
            and hasattr(obj, "__dlpack_device__"))


def detached(obj):
    """``obj`` without autograd history when it is a PyTorch tensor that requires grad."""
    if getattr(obj, "requires_grad", False) and callable(getattr(obj, "detach", None)):
        return obj.detach()  # torch refuses to export such a tensor; its values are what we want
    return obj


def _host_backend():
    """The backend of the default host device ("cpu" when built, else "numpy")."""
    from ..creation import host_device  # deferred: creation imports this module

    return backends.get(host_device())


def from_dlpack(obj) -> Tensor:
    """A tensor sharing ``obj``'s memory, zero copy (as ``torch.from_dlpack``).

    Args:
        obj: an array of any library implementing the DLPack protocol (``__dlpack__`` and
            ``__dlpack_device__``): a NumPy array, a PyTorch tensor, a JAX or CuPy array.

    Returns:
        A leaf tensor on the default host device for host memory, on "cuda" for GPU memory.
        A write through either side is seen by the other. Every deeplite dtype crosses,
        bfloat16 (DLPack's kDLBfloat, e.g. ``torch.bfloat16``; needs ml_dtypes) and float16
        included, both ways.

    Raises:
        TypeError: a dtype deeplite has no counterpart for (complex, float8, ...).

    Example:
        >>> import numpy as np, deeplite
        >>> a = np.arange(3.0)
        >>> t = deeplite.from_dlpack(a)
        >>> a[0] = 7.0
        >>> t.tolist()
        [7.0, 1.0, 2.0]
    """
    if isinstance(obj, Tensor):
        return obj
    if not hasattr(obj, "__dlpack__") or not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not implement the DLPack "
                        "protocol (__dlpack__ and __dlpack_device__); pass the array itself, "
                        "not a capsule")
    device_type, _ = obj.__dlpack_device__()
    if isinstance(obj, np.ndarray) and obj.dtype.name == "bfloat16":
        # NumPy's __dlpack__ refuses ml_dtypes' bfloat16; a view shares the memory all the same
        array, backend = obj.view(dtypes.bfloat16_dtype()), _host_backend()
    elif device_type in (_DL_CPU, _DL_CUDA_HOST):
        producer = BFloat16Producer(obj)  # NumPy reads bfloat16's bits as uint16 ...
        try:
            array = np.from_dlpack(producer)
        except (RuntimeError, BufferError, TypeError) as err:  # e.g. float8: no NumPy dtype
            raise TypeError(f"from_dlpack: cannot read {type(obj).__name__} of dtype "
                            f"{getattr(obj, 'dtype', '?')} ({err}); convert it to float32 "
                            "first") from None
        if producer.was_bfloat16:  # ... and they are viewed back as bfloat16, still zero copy
            array = array.view(dtypes.bfloat16_dtype())
        backend = _host_backend()
    elif device_type == _DL_CUDA:
        import cupy  # deferred: only CUDA producers need it

        array = cupy.from_dlpack(obj)
        backend = backends.get("cuda")
    else:
        raise ValueError(f"from_dlpack: DLPack device type {device_type} is not supported; "
                         "deeplite holds data on the host (1) or on CUDA (2)")
    if array.dtype not in dtypes.SUPPORTED:
        names = ", ".join(str(d) for d in dtypes.SUPPORTED)
        raise TypeError(f"from_dlpack: dtype {array.dtype} is not supported by deeplite; "
                        f"convert it first to one of {names}")
    return Tensor._wrap(array, backend)

