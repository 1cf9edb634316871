"""deeplite.cuda: the GPU's status, memory, seeds, TF32 matmul and CUDA-graph training steps.

Importable without CuPy or a GPU: then ``is_available()`` is False, ``why_unavailable()`` says why,
the memory functions report nothing held, and only ``CUDAGraph`` raises.

    >>> import deeplite
    >>> if deeplite.cuda.is_available():
    ...     deeplite.cuda.allow_tf32 = True  # float32 matmuls on TF32 tensor cores
"""
import contextlib
import ctypes
import ctypes.util
import sys
import types

import numpy

from . import backends
from .creation import manual_seed as _seed_host
from .tensor import Tensor

_settings = {"allow_tf32": False}


def is_available() -> bool:
    """Whether the cuda device works here (CuPy installed, a driver and a GPU present)."""
    return backends.is_available("cuda")


def why_unavailable():
    """Why the cuda device does not work here (what to install or fix), or None when it does."""
    return backends.why_unavailable("cuda")


def _driver_cuda_version():
    """The CUDA version the NVIDIA driver supports, as (major, minor), or None without a driver."""
    name = ctypes.util.find_library("cuda") or "libcuda.so.1"
    try:
        driver = ctypes.CDLL(name)
    except OSError:
        return None
    version = ctypes.c_int(0)
    if driver.cuDriverGetVersion(ctypes.byref(version)) != 0 or version.value == 0:
        return None
    return version.value // 1000, version.value % 1000 // 10


def _extra_for(driver) -> str:
    """The pip extra whose CuPy wheel runs on a driver supporting CUDA ``driver``."""
    return "deeplite[cuda13]" if driver >= (13, 0) else "deeplite[cuda12]"


def cupy_missing_reason() -> str:
    """What to install when CuPy is missing, by the driver's CUDA version (read without CuPy)."""
    driver = _driver_cuda_version()
    if driver is None:
        return ("CuPy is not installed and no NVIDIA driver was found (no GPU here?); on a GPU "
                "machine: pip install 'deeplite[cuda12]' or 'deeplite[cuda13]'")
    if driver < (12, 0):
        return (f"CuPy is not installed, and the NVIDIA driver supports only CUDA "
                f"{driver[0]}.{driver[1]}: update the driver, then pip install 'deeplite[cuda12]'")
    return (f"CuPy is not installed; the NVIDIA driver supports CUDA {driver[0]}.{driver[1]}: "
            f"pip install '{_extra_for(driver)}'")


def device_problem(cupy):
    """Why an installed CuPy cannot use a GPU here (no driver, wheel newer than the driver, no
    device), or None when it can."""
    runtime = cupy.cuda.runtime
    built_for = runtime.runtimeGetVersion() // 1000
    driver = runtime.driverGetVersion()
    if driver == 0:
        return f"CuPy {cupy.__version__} is installed but no NVIDIA driver was found (no GPU here?)"
    if driver // 1000 < built_for:
        supported = (driver // 1000, driver % 1000 // 10)
        return (f"CuPy {cupy.__version__} is built for CUDA {built_for} but the NVIDIA driver "
                f"supports CUDA {supported[0]}.{supported[1]}: pip uninstall cupy-cuda{built_for}x "
                f"&& pip install '{_extra_for(supported)}' (or update the driver)")
    try:
        count = runtime.getDeviceCount()
    except runtime.CUDARuntimeError as error:
        return f"CuPy could not reach a GPU: {error}"
    return None if count else "CuPy found no CUDA GPU (check CUDA_VISIBLE_DEVICES)"


def _cupy():
    """CuPy when the cuda device works, else None (CuPy is then never imported)."""
    return backends.get("cuda").xp if is_available() else None


def _require(op: str):
    cupy = _cupy()
    if cupy is None:
        raise RuntimeError(f"{op}: CUDA is not available: {why_unavailable()}")
    return cupy


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
    """Seed deeplite's generator (it draws on the host for every device) and CuPy's."""
    _seed_host(seed)
    cupy = _cupy()
    if cupy is not None:
        cupy.random.seed(seed)


class _CudaModule(types.ModuleType):
    """This module's type: makes ``allow_tf32`` a property, so setting it takes effect at once."""

    @property
    def allow_tf32(self) -> bool:
        """Whether float32 matmuls may round their inputs to TF32 (faster, ~1e-3 relative error)."""
        return _settings["allow_tf32"]

    @allow_tf32.setter
    def allow_tf32(self, enabled: bool) -> None:
        _settings["allow_tf32"] = bool(enabled)
        backend = sys.modules.get("deeplite.backends.cuda_backend")
        if backend is not None:  # else the backend applies the setting when it loads
            backend.set_tf32(bool(enabled))


sys.modules[__name__].__class__ = _CudaModule


def _device_array(value, position: int, cupy):
    """The CuPy array behind a cuda Tensor or a CuPy array; TypeError for anything else."""
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, cupy.ndarray):
        raise TypeError(f"CUDAGraph: static input {position} must be on the GPU (a cuda Tensor or a "
                        f"CuPy array), got {type(value).__name__}; move it with .to('cuda')")
    return array


class CUDAGraph:
    """A training step captured once as a CUDA graph and replayed with one launch per call.

    ``CUDAGraph(step, *static_inputs, warmup=2)`` first runs ``step(*static_inputs)`` ``warmup``
    times as usual (real steps: they update the parameters; they compile the kernels, choose the
    cuBLAS algorithms and create the optimizer state), then records one more call through
    ``cupy.cuda.Graph`` stream capture without running it. ``graph(*inputs)`` copies each input
    into its static buffer and replays the recorded GPU work; it returns what ``step`` returned
    during capture, whose arrays each replay overwrites. The Python in ``step`` never runs again.

    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([784, 256, 10], device="cuda")  # doctest: +SKIP
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1)  # doctest: +SKIP
        >>> def train_step(x, y):
        ...     optimizer.zero_grad()
        ...     loss = deeplite.functional.cross_entropy(model(x), y)
        ...     loss.backward()
        ...     optimizer.step()
        ...     return loss
        >>> x0 = deeplite.randn(64, 784, device="cuda")  # doctest: +SKIP
        >>> y0 = deeplite.randint(0, 10, 64, device="cuda")  # doctest: +SKIP
        >>> step = deeplite.cuda.CUDAGraph(train_step, x0, y0)  # doctest: +SKIP
        >>> loss = step(x0, y0)  # doctest: +SKIP

    Constraints, all from replaying recorded GPU work:
    - Static shapes: inputs keep the captured shapes and dtypes (drop or pad a last partial batch).
    - Static inputs: ``step`` reads its data only from ``static_inputs``; never rebind their data.
    - No host syncs in ``step`` (``float(loss)``, ``.item()``, ``.numpy()``, printing a tensor) and
      no host data (tensors made from Python or NumPy values, host-drawn dropout masks): capture
      fails on them or freezes their captured values. Pass such data in as static inputs.
    - Host scalars are frozen at capture: a learning rate changed by a scheduler, or Adam's bias
      corrections (they reach the kernels as launch arguments). Use SGD, or capture again.
    - Call ``optimizer.zero_grad()`` (set_to_none) first in ``step``, so backward writes fresh
      gradients instead of adding to arrays from before the capture.
    - Memory: what the captured call allocates comes from a private pool owned by the graph, so
      every replay finds its buffers at the same addresses and ``empty_cache()`` never frees
      them; the pool is released with the graph. Copy outputs you want to keep.
    """

    def __init__(self, step, *static_inputs, warmup: int = 2):
        cupy = _require("CUDAGraph")
        self.static_inputs = static_inputs
        self._buffers = [_device_array(x, i, cupy) for i, x in enumerate(static_inputs)]
        self._pool = cupy.cuda.MemoryPool()
        self._stream = cupy.cuda.Stream(non_blocking=True)  # capture needs a non-default stream
        cupy.cuda.Device().synchronize()
        with self._stream:
            for _ in range(warmup):
                step(*static_inputs)
            with cupy.cuda.using_allocator(self._pool.malloc):
                self._stream.begin_capture()
                try:
                    self.outputs = step(*static_inputs)
                except Exception as error:
                    with contextlib.suppress(Exception):  # the same error invalidated the capture
                        self._stream.end_capture()
                    raise RuntimeError(
                        f"CUDAGraph: capturing the step failed: {error}. The usual causes are a "
                        f"host sync (float(loss), .item(), .numpy(), print) or host data (a tensor "
                        f"made from Python or NumPy values) inside the step") from error
                self._graph = self._stream.end_capture()
        self._stream.synchronize()

    def replay(self):
        """Run the recorded step once more on the current stream; returns the (overwritten) outputs."""
        self._graph.launch()
        return self.outputs

    def __call__(self, *inputs):
        """Copy ``inputs`` (device or host data of the captured shapes) into the static buffers,
        then replay."""
        if len(inputs) != len(self._buffers):
            raise TypeError(f"CUDAGraph: expected {len(self._buffers)} inputs, as captured, "
                            f"got {len(inputs)}")
        for position, (buffer, value) in enumerate(zip(self._buffers, inputs)):
            array = value.data if isinstance(value, Tensor) else value
            on_device = hasattr(array, "__cuda_array_interface__")
            if not on_device:
                array = numpy.ascontiguousarray(array, dtype=buffer.dtype)
            if array.shape != buffer.shape:
                raise ValueError(f"CUDAGraph: input {position} has shape {tuple(array.shape)} but "
                                 f"the graph was captured with {buffer.shape}; a graph replays "
                                 f"fixed shapes (drop or pad the last partial batch)")
            if array is buffer:
                continue
            if on_device:
                buffer[...] = array
            else:
                buffer.set(array)
        return self.replay()
