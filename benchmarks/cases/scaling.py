"""How each cost grows: a training step against batch size and against width, and an activation
against its size. On a log-log plot, a slope of 1 is cost proportional to work; a flat start is
fixed per-call overhead, the regime where a framework's Python cost decides.
"""
import numpy as np

from ..mlp import MLPSpec, make_step
from .activations import forward_maker

IN_QUICK = True

BATCHES, QUICK_BATCHES = (16, 64, 256, 1024), (16, 128)
WIDTHS, QUICK_WIDTHS = (64, 256, 1024), (64, 256)
SIZES, QUICK_SIZES = (10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7), (10 ** 3, 10 ** 5)


def _train(ctx, case: str, spec: MLPSpec, x: int):
    """One point of a training-step sweep."""
    return ctx.measure(case, spec.label, lambda contender: make_step(contender, spec, ctx.rng),
                       flops=spec.flops, samples=spec.batch, extra={"x": x})


def run(ctx):
    """Yield one group of records per point of each sweep."""
    for batch in QUICK_BATCHES if ctx.quick else BATCHES:
        yield _train(ctx, "scale_batch", MLPSpec((256, 256, 256, 10), batch, "ce"), batch)
    for width in QUICK_WIDTHS if ctx.quick else WIDTHS:
        yield _train(ctx, "scale_width", MLPSpec((256, width, width, 10), 128, "ce"), width)
    for size in QUICK_SIZES if ctx.quick else SIZES:
        host_x = ctx.rng.standard_normal(size, dtype=np.float32)
        yield ctx.measure("scale_sigmoid", f"({size},)", forward_maker(host_x, "sigmoid"),
                          bytes_moved=2 * 4 * size, extra={"x": size})
