"""GEMM in GFLOP/s at square shapes and at the shapes an MLP step runs, transposes included.

The MLP shapes are those of training step (a), 784-1024-1024-10 at batch 256: forward x @ W, and
backward g @ W^T (the input's gradient) and x^T @ g (the weight's), which read transposed views.
"""
import numpy as np

IN_QUICK = True

# (rows, inner, cols, transpose the left operand, transpose the right operand)
SQUARE = [(n, n, n, False, False) for n in (128, 512, 2048)]
MLP_SHAPES = [
    (256, 784, 1024, False, False),   # layer 1 forward
    (256, 1024, 1024, False, False),  # layer 2 forward
    (256, 1024, 784, False, True),    # layer 1: input's gradient g @ W^T
    (1024, 256, 1024, True, False),   # layer 2: weight's gradient h^T @ g
    (128, 256, 256, False, False),    # step (b)'s hidden layer
]
QUICK_SHAPES = [(256, 256, 256, False, False), (256, 784, 1024, False, False)]


def label(rows: int, inner: int, cols: int, left_t: bool, right_t: bool) -> str:
    """E.g. "(256x1024)^T @ 256x1024": the operands as stored, transposed where marked."""
    left = f"({inner}x{rows})^T" if left_t else f"{rows}x{inner}"
    right = f"({cols}x{inner})^T" if right_t else f"{inner}x{cols}"
    return f"{left} @ {right}"


def _maker(host_left, host_right, left_t: bool, right_t: bool):
    """make(contender): the same product, through each framework's ``@`` on (transposed) views."""
    def make(contender):
        left, right = contender.put(host_left), contender.put(host_right)
        left, right = (left.T if left_t else left), (right.T if right_t else right)
        return lambda: left @ right
    return make


def run(ctx):
    """Yield one group of records per GEMM shape."""
    for rows, inner, cols, left_t, right_t in (QUICK_SHAPES if ctx.quick else SQUARE + MLP_SHAPES):
        host_left = ctx.rng.standard_normal((inner, rows) if left_t else (rows, inner),
                                            dtype=np.float32)
        host_right = ctx.rng.standard_normal((cols, inner) if right_t else (inner, cols),
                                             dtype=np.float32)
        yield ctx.measure("gemm", label(rows, inner, cols, left_t, right_t),
                          _maker(host_left, host_right, left_t, right_t),
                          flops=2.0 * rows * inner * cols)
