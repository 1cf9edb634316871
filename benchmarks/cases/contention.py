"""A training step while other processes keep every core busy: does the thread pool collapse?

On a shared machine other jobs hold the cores. An OpenMP pool whose idle workers spin steals the
cycles its own busy workers need, and a fork-join step then waits for a descheduled thread: the
default ``deeplite train`` run (digits, 64-512-10, batch 32) went 10-20x slower with 2 threads
than with 1. This case runs that step beside one busy-looping process per usable core and
records ``busy_processes`` with each figure; compare the 1- and 2-thread rows.
"""
import os
import subprocess
import sys
from contextlib import contextmanager

from ..mlp import MLPSpec, make_step

IN_QUICK = False  # it loads every core on purpose: never part of a smoke run

DIGITS_STEP = MLPSpec((64, 512, 10), 32, "ce")  # the default `deeplite train` run's step


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@contextmanager
def busy_processes(count: int):
    """``count`` processes spinning in pure Python (no thread pools) for the block's duration."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count)]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def run(ctx):
    """Yield the digits step's records, timed with every core busy."""
    count = usable_cores()
    with busy_processes(count):
        yield ctx.measure("contended_digits_step", DIGITS_STEP.label,
                          lambda contender: make_step(contender, DIGITS_STEP, ctx.rng),
                          flops=DIGITS_STEP.flops, samples=DIGITS_STEP.batch,
                          extra={"busy_processes": count})
