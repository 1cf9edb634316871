"""deeplite.cuda: the GPU's status, memory, seeds, TF32 matmul and CUDA-graph training steps.

Importable without CuPy or a GPU: then ``is_available()`` is False, ``why_unavailable()`` says why,
the memory functions report nothing held, and only ``CUDAGraph`` raises.

    >>> import deeplite
    >>> if deeplite.cuda.is_available():
    ...     deeplite.cuda.allow_tf32 = True  # float32 matmuls on TF32 tensor cores
"""
import contextlib
import sys
import types

import numpy

from . import backends
from .backends.capture_errors import capture_failure
from .backends.cuda_probe import TF32
from .creation import manual_seed as _seed_host
from .tensor import Tensor


def is_available() -> bool:
    """Whether the cuda device works here (CuPy installed, a driver and a GPU present)."""
    return backends.is_available("cuda")


def why_unavailable():
    """Why the cuda device does not work here (what to install or fix), or None when it does."""
    return backends.why_unavailable("cuda")


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
        return TF32.enabled

    @allow_tf32.setter
    def allow_tf32(self, enabled: bool) -> None:
        TF32.set(enabled)  # the backend's switch: applied now if it is loaded, else when it loads


sys.modules[__name__].__class__ = _CudaModule


def _capturing_gemms(stream):
    """The cuda backend's capture-time GEMM route (a context manager) for ``stream``."""
    return backends.get("cuda").module.capturing_gemms(stream)


def _device_array(value, position: int, cupy):
    """The CuPy array behind a cuda Tensor or a CuPy array; TypeError for anything else."""
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, cupy.ndarray):
        raise TypeError(f"CUDAGraph: static input {position} must be on the GPU (a cuda Tensor "
                        f"or a CuPy array), got {type(value).__name__}; move it with .to('cuda')")
    return array


class CUDAGraph:
    """A training step captured once as a CUDA graph and replayed with one launch per call.

    ``graph = CUDAGraph(step, *static_inputs, warmup=2)`` records nothing yet. Each call
    ``graph(*inputs)`` copies the inputs into the static buffers (``static_inputs``' arrays) and
    runs ONE training step: the first ``warmup`` calls run ``step(*static_inputs)`` eagerly (they
    compile the kernels and create the optimizer state), the next one records ``step`` through
    ``cupy.cuda.Graph`` stream capture and replays it, and every later call only replays. So a
    graphed run takes exactly the steps an eager run takes, batch for batch. Once captured, a call
    returns what ``step`` returned during capture, whose arrays each replay overwrites.

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
    - ``warmup`` >= 1: the captured step must not be the optimizer's first, which creates its
      state (SGD's first momentum step, captured, would replay without momentum).
    - Static shapes: inputs keep the captured shapes and dtypes (drop or pad a last partial batch).
    - Static inputs: ``step`` reads its data only from ``static_inputs``; never rebind their data.
    - No host syncs in ``step`` (``float(loss)``, ``.item()``, ``.numpy()``, printing a tensor) and
      no host data (tensors made from Python or NumPy values): capture fails on them or freezes
      their captured values. Pass such data in as static inputs.
    - Host scalars are frozen at capture: a learning rate changed by a scheduler, Adam's step
      counts, dropout's stream offset (every replay would reuse the captured mask); they reach
      the kernels as launch arguments. Use SGD without dropout, or ``deeplite.jit``, whose graphs
      read them from a device scalar block on every replay.
    - Call ``optimizer.zero_grad()`` (set_to_none) first in ``step``, so backward writes fresh
      gradients instead of adding to arrays from before the capture.
    - Matmuls are captured through cuBLAS directly (CuPy's own cuBLAS calls refuse capture), with
      a workspace owned by the graph; scatter-adds with repeated indices use atomics when
      captured, so their sums may differ in the last bits from run to run.
    - Memory: what the captured call allocates comes from a private pool owned by the graph, so
      every replay finds its buffers at the same addresses and ``empty_cache()`` never frees
      them; the pool is released with the graph. Copy outputs you want to keep.
    """

    def __init__(self, step, *static_inputs, warmup: int = 2):
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
            raise ValueError(f"CUDAGraph: warmup must be an int >= 1, got {warmup!r}: the "
                             f"captured step must not be the first, in which the optimizer creates "
                             f"its state (a captured first SGD step would replay without momentum)")
        self._cupy = _require("CUDAGraph")
        self.step = step
        self.static_inputs = static_inputs
        self.warmup = warmup
        self.eager_calls = 0
        self.outputs = None
        self._buffers = [_device_array(x, i, self._cupy) for i, x in enumerate(static_inputs)]
        self._graph = None

    @property
    def captured(self) -> bool:
        """Whether the step has been recorded (after ``warmup`` eager calls)."""
        return self._graph is not None

    def _capture(self) -> None:
        """Record one call of the step on a side stream, into the graph's own memory pool."""
        cupy = self._cupy
        pool, stream = cupy.cuda.MemoryPool(), cupy.cuda.Stream(non_blocking=True)
        cupy.cuda.Device().synchronize()  # the eager steps and this call's input copies are done
        with stream, cupy.cuda.using_allocator(pool.malloc), _capturing_gemms(stream) as gemms:
            stream.begin_capture()
            try:
                outputs = self.step(*self.static_inputs)
            except Exception as error:
                with contextlib.suppress(Exception):  # the same error invalidated the capture
                    stream.end_capture()
                raise RuntimeError(capture_failure(error)) from error
            graph = stream.end_capture()
        # The graph's kernels read the pool's buffers and the cuBLAS workspace: keep them alive.
        self._pool, self._stream, self._gemms = pool, stream, gemms
        self._graph, self.outputs = graph, outputs

    def replay(self):
        """Run the recorded step once more on the current stream; returns the outputs (which each
        replay overwrites)."""
        if self._graph is None:
            raise RuntimeError(f"CUDAGraph: nothing is captured yet; call the graph with inputs: "
                               f"the first {self.warmup} calls run eagerly, the next one captures")
        self._graph.launch()
        return self.outputs

    def __call__(self, *inputs):
        """Copy ``inputs`` (device or host data of the captured shapes) into the static buffers,
        then run one step: eagerly during warm-up, else by replaying (capturing it first)."""
        self._copy_inputs(inputs)
        if self._graph is None and self.eager_calls < self.warmup:
            self.eager_calls += 1
            return self.step(*self.static_inputs)
        if self._graph is None:
            self._capture()
        return self.replay()

    def _copy_inputs(self, inputs) -> None:
        if len(inputs) != len(self._buffers):
            raise TypeError(f"CUDAGraph: expected {len(self._buffers)} inputs, as captured, "
                            f"got {len(inputs)}")
        for position, (buffer, value) in enumerate(zip(self._buffers, inputs, strict=True)):
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
