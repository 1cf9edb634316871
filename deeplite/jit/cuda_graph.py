"""The cuda replay: the plan's kernel calls captured once into a CUDA graph, then one launch each.

Capture records the same calls the Python replay makes (on the trace's buffers, so every replay
writes the same addresses); temporaries come from a memory pool owned by the graph, so their
addresses stay valid too. A CUDA graph freezes its kernels' launch arguments, so the per-replay
scalars (learning rates, Adam's and Adagrad's step counts, each dropout's seed and stream offset)
are not passed as numbers: during capture every scalar is a ``DeviceScalar``, a slot of a small
float64 block on the device, and deeplite's CUDA kernels read the slot at launch
(``ScalarOf`` in deeplite/kernels/dl_cuda.h). Each replay refreshes the block with one
host-to-device copy on the graph's stream and launches the graph: one capture serves every
replay, schedules, Adam and dropout included.

A step whose kernels cannot be captured (one that copies host data in, a kernel whose reference
composition must compute with a scalar on the host, such as float16 optimizer updates) fails
its capture; it then replays from Python (no tape, same kernels) from then on.

This path has not run on a GPU: the machine it was written on has none (tests:
tests/test_jit_cuda.py, marked cuda; tests/test_cuda_standin.py checks the kernels' scalar-block
arguments on a NumPy stand-in for CuPy).
"""
import contextlib
import logging
from typing import Any

import numpy

from ..backends.capture_errors import capture_failure
from ..backends.device_scalars import DeviceScalar

logger = logging.getLogger(__name__)


class GraphedRuns:
    """Calls ``runs`` (the plan's Python replay) on ``stream``, through one CUDA graph when it
    can; ``values`` is the plan's scalar list, refreshed by the plan before each call."""

    def __init__(self, backend, runs: list, values: list, capturable: bool):
        cupy = backend.xp
        self.backend, self.cupy, self.runs, self.values = backend, cupy, runs, values
        self.capturable = capturable
        self.stream = cupy.cuda.Stream(non_blocking=True)  # capture needs a non-default stream
        self.pool = cupy.cuda.MemoryPool()
        self.block = cupy.zeros(max(len(values), 1), dtype=numpy.float64)  # the scalar block
        self._host = numpy.zeros(self.block.shape, numpy.float64)
        self._slots = [DeviceScalar(self.block, slot) for slot in range(len(values))]
        self.graph: Any = None  # a cupy.cuda.Graph once captured
        self._gemms: Any = None  # the captured matmuls' cuBLAS workspace: lives with the graph
        self.captures = 0  # how many times a graph was captured (for tests and benchmarks)

    def __call__(self) -> None:
        if self.graph is None and self.capturable:
            self._capture()
        if self.graph is None:
            for run in self.runs:
                run()
            return
        host = self._host
        host[:len(self.values)] = self.values
        self.block.set(host, stream=self.stream)  # ordered before the launch on this stream
        self.graph.launch(self.stream)

    def _capture(self) -> None:
        """Capture the runs with every per-replay scalar read from the device block."""
        cupy, values = self.cupy, self.values
        numbers = list(values)
        values[:] = self._slots  # the runs' scalar getters now hand the kernels device slots
        cupy.cuda.Device().synchronize()  # the eager steps and this call's input copies are done
        try:
            # Matmuls go to cuBLAS directly while capturing (CuPy's cuBLAS calls refuse capture).
            with cupy.cuda.using_allocator(self.pool.malloc), \
                    self.backend.module.capturing_gemms(self.stream) as gemms:
                self.stream.begin_capture()
                try:
                    for run in self.runs:
                        run()
                except Exception as error:  # not capturable: replay from Python from now on
                    with contextlib.suppress(Exception):  # the error invalidated the capture
                        self.stream.end_capture()
                    self.capturable = False
                    logger.info("deeplite.jit: %s; the step replays from Python",
                                capture_failure(error))
                    return
                self.graph, self._gemms = self.stream.end_capture(), gemms
        finally:
            values[:] = numbers
        self.captures += 1


def graphed(backend, compiled, recorder) -> GraphedRuns:
    """The cuda replay of ``compiled``; its calls must run inside ``with graph.stream:``."""
    # Host data cannot be captured, nor a gated step (GradScaler's update: decided per replay).
    capturable = not recorder.randoms and not any(
        step.name == "asarray" or step.gate is not None for step in recorder.steps)
    return GraphedRuns(backend, compiled.runs, compiled.values, capturable)
