"""Timing: warm-up excluded, contenders interleaved in alternating rounds, median and min-max.

Interleaving matters on this shared 2-core machine: a noisy minute hurts every contender alike
instead of whichever one happened to run then, so the ratios stay honest.
"""
import gc
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict

# A sample shorter than this is dominated by clock resolution and loop noise, so a fast call is
# repeated inside one sample until the sample lasts about this long.
TARGET_SAMPLE_S = 2e-3
# With several threads, a pool keeps spinning for a while after its work is done and takes cores
# from whichever contender runs next (see machine.OPENBLAS_SPIN), so an interleaved run would charge
# one framework for another's idle threads. A short pause before each sample lets them park.
SETTLE_S = 0.01


@dataclass(frozen=True)
class Stats:
    """Seconds per call over the timed rounds."""

    median_s: float
    min_s: float
    max_s: float
    repeats: int
    inner: int  # calls per timed sample


def _noop() -> None:
    """The default synchronisation: host code has nothing to wait for."""


def _calibrate(fn: Callable, sync: Callable, target_s: float) -> int:
    """How many calls make one sample last about ``target_s`` (one call already ran as warm-up)."""
    start = time.perf_counter()
    fn()
    sync()
    once = time.perf_counter() - start
    return max(1, min(100_000, math.ceil(target_s / max(once, 1e-9))))


def _sample(fn: Callable, sync: Callable, inner: int) -> float:
    """Seconds per call of one sample of ``inner`` back-to-back calls, garbage collector off."""
    gc_was_on = gc.isenabled()
    gc.disable()  # as timeit does: a collection inside one sample is noise, not the op's cost
    try:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()  # a GPU queues work: wait for it before reading the clock
        return (time.perf_counter() - start) / inner
    finally:
        if gc_was_on:
            gc.enable()


def compare(calls: Dict[str, Callable], syncs: Dict[str, Callable] = None, repeats: int = 7,
            warmup: int = 2, target_s: float = TARGET_SAMPLE_S,
            settle_s: float = 0.0) -> Dict[str, Stats]:
    """Time each named call in alternating rounds (a, b, c, b, c, a, ...) after ``warmup`` calls.

    Args:
        calls: contender name -> zero-argument callable doing one unit of work.
        syncs: contender name -> callable that waits for queued device work (default: none).
        repeats: timed rounds; each round takes one sample of every contender.
        warmup: untimed calls per contender first (allocator, caches, lazy compilation).
        settle_s: idle pause before each sample, so the previous contender's spinning threads
            park before the next one starts (see SETTLE_S).
    Returns:
        contender name -> Stats in seconds per call.
    """
    if repeats < 1:
        raise ValueError(f"compare: repeats must be at least 1, got {repeats}")
    syncs = syncs or {}
    sync_of = {name: syncs.get(name, _noop) for name in calls}
    for name, fn in calls.items():
        for _ in range(max(warmup - 1, 0)):
            fn()
        sync_of[name]()
    inner = {name: _calibrate(fn, sync_of[name], target_s) for name, fn in calls.items()}
    samples = {name: [] for name in calls}
    names = list(calls)
    for round_index in range(repeats):
        # Rotate who goes first, so no contender always runs right after the same neighbour.
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(settle_s)
            samples[name].append(_sample(calls[name], sync_of[name], inner[name]))
    return {name: Stats(statistics.median(values), min(values), max(values), repeats, inner[name])
            for name, values in samples.items()}
