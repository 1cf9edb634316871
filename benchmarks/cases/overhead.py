"""Per-op overhead: a tiny ``a + b`` in µs per op, with grad mode on (recording) and off.

On an 8-element tensor the arithmetic costs nanoseconds; what is left is the framework's Python
and dispatch cost, the cost that dominates small MLPs. Each call runs the op ``OPS_PER_CALL`` times
inside one grad-mode context, so entering the context is not charged to the op.
"""
import contextlib

import numpy as np

IN_QUICK = True
OPS_PER_CALL = 100
SIZE = 8


def _loop(a, b, context):
    """A call adding ``a + b`` OPS_PER_CALL times under ``context`` (a fresh context each call)."""
    def call():
        with context():
            for _ in range(OPS_PER_CALL):
                a + b
    return call


def _maker(host_a, host_b, recording: bool):
    """make(contender) for one grad mode."""
    def make(contender):
        if contender.framework == "numpy":  # NumPy has no tape: the same call in both modes
            a, b = contender.put(host_a), contender.put(host_b)
            return _loop(a, b, contextlib.nullcontext)
        a, b = contender.put(host_a, True), contender.put(host_b, True)
        if contender.framework == "torch":
            import torch
            return _loop(a, b, torch.enable_grad if recording else torch.no_grad)
        import deeplite
        return _loop(a, b, deeplite.enable_grad if recording else deeplite.no_grad)
    return make


def run(ctx):
    """Yield the a + b overhead records, grad mode off then on."""
    host_a, host_b = (ctx.rng.standard_normal(SIZE).astype(np.float32) for _ in range(2))
    for recording in (False, True):
        case = "add_overhead_grad_on" if recording else "add_overhead_grad_off"
        yield ctx.measure(case, f"({SIZE},) + ({SIZE},)", _maker(host_a, host_b, recording),
                          ops_per_call=OPS_PER_CALL, repeats=ctx.repeats + 4)
