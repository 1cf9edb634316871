"""End-to-end training steps (forward, loss, backward, SGD) in ms per step and samples/s.

The four networks span the regimes: (a) GEMM-bound 784-1024-1024-10, (b) a mid-size BCE model where
GEMM and framework overhead are comparable, (c) a tiny model that only measures overhead, and (d) a
deep narrow stack where the tape's per-layer cost adds up.
"""
from ..mlp import MLPSpec, make_step

IN_QUICK = True

STEPS = {
    "train_a_mnist_mlp": MLPSpec((784, 1024, 1024, 10), 256, "ce"),
    "train_b_bce_mlp": MLPSpec((64, 256, 256, 1), 128, "bce"),
    "train_c_tiny_mlp": MLPSpec((2, 16, 16, 1), 32, "bce"),
    "train_d_deep_mlp": MLPSpec((256,) * 20 + (10,), 128, "ce"),
}
QUICK_STEPS = ("train_b_bce_mlp", "train_c_tiny_mlp")


def run(ctx):
    """Yield one group of records per network."""
    for case, spec in STEPS.items():
        if ctx.quick and case not in QUICK_STEPS:
            continue
        yield ctx.measure(case, spec.label,
                          lambda contender, spec=spec: make_step(contender, spec, ctx.rng),
                          flops=spec.flops, samples=spec.batch)
