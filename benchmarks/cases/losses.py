"""Fused losses, forward and backward together: sigmoid cross-entropy and softmax cross-entropy.

One call computes the mean loss and the logits' gradient. The effective bandwidth counts the bytes
a single fused pass must move: logits and targets read, gradient written (labels are negligible).
"""
import numpy as np

from ..peers import numpy_sigmoid_bce, numpy_softmax_ce

IN_QUICK = True

FULL_BCE, QUICK_BCE = 1 << 24, 1 << 18
FULL_CE, QUICK_CE = (16384, 1000), (1024, 100)


def _maker(host_logits, host_target, loss_name: str, numpy_loss):
    """make(contender): loss and gradient of the logits, through autograd where there is one."""
    def make(contender):
        target = contender.put(host_target)
        if contender.framework == "numpy":
            logits = contender.put(host_logits)
            return lambda: numpy_loss(logits, target)
        logits = contender.put(host_logits, requires_grad=True)
        if contender.framework == "torch":
            import torch.nn.functional as functional
        else:
            import deeplite.functional as functional
        loss_fn = getattr(functional, loss_name)

        def call():
            logits.grad = None
            loss_fn(logits, target).backward()
        return call
    return make


def run(ctx):
    """Yield the sigmoid-BCE and softmax-CE records."""
    size = QUICK_BCE if ctx.quick else FULL_BCE
    logits = ctx.rng.standard_normal(size, dtype=np.float32) * 3
    target = (ctx.rng.random(size) < 0.5).astype(np.float32)
    yield ctx.measure("sigmoid_bce_fwd_bwd", f"({size},)",
                      _maker(logits, target, "binary_cross_entropy_with_logits", numpy_sigmoid_bce),
                      bytes_moved=3 * 4 * size)
    rows, classes = QUICK_CE if ctx.quick else FULL_CE
    logits = ctx.rng.standard_normal((rows, classes), dtype=np.float32) * 3
    labels = ctx.rng.integers(0, classes, rows, dtype=np.int64)
    yield ctx.measure("softmax_ce_fwd_bwd", f"({rows}, {classes})",
                      _maker(logits, labels, "cross_entropy", numpy_softmax_ce),
                      bytes_moved=2 * 4 * rows * classes)
