"""deeplite.cuda: the GPU's status, memory, seeds and TF32 matmul.

Importable without CuPy or a GPU: then ``is_available()`` is False, ``why_unavailable()`` says why
and the memory functions report nothing held. A training step captured as a CUDA graph is
``deeplite.jit`` on cuda tensors (docs/jit.md); the former ``CUDAGraph`` helper is gone.

    >>> import deeplite
    >>> if deeplite.cuda.is_available():
    ...     deeplite.cuda.allow_tf32 = True  # float32 matmuls on TF32 tensor cores
"""
import sys
import types

from . import backends
from .backends.cuda_probe import TF32
from .creation import manual_seed as _seed_host


def is_available() -> bool:
    """Whether the cuda device works here (CuPy installed, a driver and a GPU present)."""
    return backends.is_available("cuda")


def why_unavailable():
    """Why the cuda device does not work here (what to install or fix), or None when it does."""
    return backends.why_unavailable("cuda")


def _cupy():
    """CuPy when the cuda device works, else None (CuPy is then never imported)."""
    return backends.get("cuda").xp if is_available() else None


def device_count() -> int:
    """Number of visible CUDA GPUs (0 without CuPy or a driver)."""
    cupy = _cupy()
    return 0 if cupy is None else cupy.cuda.runtime.getDeviceCount()


def memory_allocated() -> int:
    """Bytes of GPU memory held by live arrays (CuPy's default memory pool); 0 without a GPU."""
    cupy = _cupy()
    return 0 if cupy is None else cupy.get_default_memory_pool().used_bytes()


def memory_reserved() -> int:
    """Bytes the memory pool holds from the driver: live arrays plus cached free blocks."""
    cupy = _cupy()
    return 0 if cupy is None else cupy.get_default_memory_pool().total_bytes()


def empty_cache() -> None:
    """Return the memory pools' cached free blocks to the driver (live arrays are untouched)."""
    cupy = _cupy()
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


def synchronize() -> None:
    """Wait until all work queued on the GPU has finished (needed for honest timings)."""
    cupy = _cupy()
    if cupy is not None:
        cupy.cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Seed deeplite's generators (the host one and dropout's stream, for every device) and
    CuPy's."""
    _seed_host(seed)
    cupy = _cupy()
    if cupy is not None:
        cupy.random.seed(seed)


class _CudaModule(types.ModuleType):
    """This module's type: makes ``allow_tf32`` a property, so setting it takes effect at once."""

    @property
    def allow_tf32(self) -> bool:
        """Whether float32 matmuls may round their inputs to TF32 (faster, ~1e-3 relative error)."""
        return TF32.enabled

    @allow_tf32.setter
    def allow_tf32(self, enabled: bool) -> None:
        TF32.set(enabled)  # the backend's switch: applied now if it is loaded, else when it loads

    def __getattr__(self, name: str):
        if name == "CUDAGraph":  # removed: say what replaces it rather than a bare AttributeError
            raise AttributeError("deeplite.cuda.CUDAGraph was removed: decorate the training step "
                                 "with @deeplite.jit and call it on cuda tensors; its replay is "
                                 "one CUDA graph launch (docs/jit.md)")
        raise AttributeError(f"module 'deeplite.cuda' has no attribute {name!r}")


sys.modules[__name__].__class__ = _CudaModule
