"""The cuda replay: the plan's kernel calls captured once into a CUDA graph, then one launch each.

Capture records the same calls the Python replay makes (on the trace's buffers, so every replay
writes the same addresses); temporaries come from a memory pool owned by the graph, so their
addresses stay valid too. A CUDA graph freezes the launch arguments of its kernels, and the
per-replay scalars (learning rates, Adam's step counts) reach deeplite's CUDA kernels as launch
arguments: a graph is therefore captured for one set of scalar values, and used while they stay
the same. When they change, that call replays from Python (no tape, same kernels); once the new
values repeat for a second call, the graph is captured again. SGD under an epoch-wise schedule
captures once per epoch; Adam, whose step counts change every step, replays from Python.
Steps that draw random numbers on the host (dropout) or copy host data in are never captured:
capture cannot record a copy from pageable host memory.

This path has not run on a GPU: the machine it was written on has none (tests: tests/test_jit.py
and tests/test_jit_cuda.py, marked cuda).
"""
import contextlib
from typing import Any, Optional


class GraphedRuns:
    """Calls ``runs`` (the plan's Python replay) on ``stream``, through a CUDA graph when it can."""

    def __init__(self, cupy, runs: list, values: list, capturable: bool):
        self.cupy, self.runs, self.values = cupy, runs, values
        self.capturable = capturable
        self.stream = cupy.cuda.Stream(non_blocking=True)  # capture needs a non-default stream
        self.pool = cupy.cuda.MemoryPool()
        self.graph: Any = None  # a cupy.cuda.Graph once captured
        self.captured_with: Optional[tuple] = None
        self._previous: Optional[tuple] = None
        self.captures = 0  # how many times a graph was captured (for tests and benchmarks)

    def __call__(self) -> None:
        current = tuple(self.values)
        if self.graph is not None and current == self.captured_with:
            self.graph.launch(self.stream)
            return
        if self.capturable and current == self._previous:
            self._capture(current)
            self.graph.launch(self.stream)
            return
        self._previous = current
        for run in self.runs:
            run()

    def _capture(self, values: tuple) -> None:
        cupy = self.cupy
        self.graph = None
        with cupy.cuda.using_allocator(self.pool.malloc):
            self.stream.begin_capture()
            try:
                for run in self.runs:
                    run()
            except Exception:
                with contextlib.suppress(Exception):  # the same error invalidated the capture
                    self.stream.end_capture()
                self.capturable = False  # replay from Python from now on
                raise
            self.graph = self.stream.end_capture()
        self.captured_with = values
        self.captures += 1


def graphed(backend, compiled, recorder) -> GraphedRuns:
    """The cuda replay of ``compiled``; its calls must run inside ``with graph.stream:``."""
    capturable = not recorder.randoms and not any(
        step.name == "asarray" for step in recorder.steps)  # host data cannot be captured
    return GraphedRuns(backend.xp, compiled.runs, compiled.values, capturable)
