"""Elementwise activations, forward and backward, in GB/s over arrays far larger than the caches.

Forward reads x and writes y (2 arrays); backward reads y and the upstream gradient and writes the
input's gradient (3 arrays), as every framework's fused activation-gradient kernel does. deeplite
and PyTorch run their backward through their autograd engines; NumPy's is written by hand.
"""
import numpy as np

IN_QUICK = True

FULL_SIZE, QUICK_SIZE = 1 << 24, 1 << 18
FULL_ACTS, QUICK_ACTS = ("relu", "sigmoid", "tanh"), ("relu", "sigmoid")

NUMPY_FORWARD = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
}
# Each derivative from the forward's output y, as the frameworks compute it.
NUMPY_BACKWARD = {
    "relu": lambda y, gy: np.where(y > 0, gy, 0),
    "sigmoid": lambda y, gy: gy * y * (1 - y),
    "tanh": lambda y, gy: gy * (1 - y * y),
}


def _function(contender, act: str):
    """The framework's activation function called ``act``."""
    if contender.framework == "torch":
        import torch
        return getattr(torch, act)
    import deeplite.functional
    return getattr(deeplite.functional, act)


def forward_maker(host_x, act: str):
    """make(contender) for the forward pass, nothing recorded."""
    def make(contender):
        x = contender.put(host_x)
        if contender.framework == "numpy":
            return lambda: NUMPY_FORWARD[act](x)
        function = _function(contender, act)
        return lambda: function(x)
    return make


def _backward_maker(host_x, host_gy, act: str):
    """make(contender) for the backward pass through a recorded forward (graph kept alive)."""
    def make(contender):
        gy = contender.put(host_gy)
        if contender.framework == "numpy":
            y = NUMPY_FORWARD[act](contender.put(host_x))
            return lambda: NUMPY_BACKWARD[act](y, gy)
        x = contender.put(host_x, requires_grad=True)
        y = _function(contender, act)(x)
        if contender.framework == "torch":
            import torch
            return lambda: torch.autograd.grad(y, x, gy, retain_graph=True)
        import deeplite
        return lambda: deeplite.grad(y, x, gy, retain_graph=True)
    return make


def run(ctx):
    """Yield forward and backward records for each activation."""
    size = QUICK_SIZE if ctx.quick else FULL_SIZE
    host_x = ctx.rng.standard_normal(size, dtype=np.float32)
    host_gy = ctx.rng.standard_normal(size, dtype=np.float32)
    for act in QUICK_ACTS if ctx.quick else FULL_ACTS:
        yield ctx.measure(f"{act}_forward", f"({size},)", forward_maker(host_x, act),
                          bytes_moved=2 * 4 * size)
        yield ctx.measure(f"{act}_backward", f"({size},)", _backward_maker(host_x, host_gy, act),
                          bytes_moved=3 * 4 * size)
