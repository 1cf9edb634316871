"""Optimizer steps over many parameters (10M in 10 tensors): SGD with momentum, and Adam.

Each update is memory-bound, so the figure is effective GB/s over the bytes one fused pass moves:
SGD with momentum reads p, g, buf and writes p, buf (5 arrays); Adam reads p, g, m, v and writes
p, m, v (7 arrays). PyTorch runs its default (per-tensor) path on the CPU.
"""
import math

import numpy as np

IN_QUICK = True

FULL_LAYOUT, QUICK_LAYOUT = (10, 1 << 20), (4, 1 << 18)  # (tensors, elements each)
# name -> (class name in deeplite.optim and torch.optim, keyword arguments, arrays moved per step)
OPTIMIZERS = {
    "sgd_momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}, 5),
    "adam": ("Adam", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}, 7),
}


def _numpy_sgd(params, grads, kwargs):
    """PyTorch's SGD with momentum in place in NumPy, one temporary per tensor."""
    bufs = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    momentum, lr = kwargs["momentum"], kwargs["lr"]

    def step():
        for p, g, buf, tmp in zip(params, grads, bufs, scratch):
            buf *= momentum
            buf += g
            np.multiply(buf, lr, out=tmp)
            p -= tmp
    return step


def _numpy_adam(params, grads, kwargs):
    """PyTorch's Adam in place in NumPy, one temporary per tensor."""
    (beta1, beta2), eps, lr = kwargs["betas"], kwargs["eps"], kwargs["lr"]
    avgs = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    count = [0]

    def step():
        count[0] += 1
        correction1, correction2 = 1 - beta1 ** count[0], 1 - beta2 ** count[0]
        for p, g, m, v, tmp in zip(params, grads, avgs, squares, scratch):
            m *= beta1
            np.multiply(g, 1 - beta1, out=tmp)
            m += tmp
            v *= beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(correction2)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / correction1
            p -= tmp
    return step


def _maker(host_params, host_grads, name: str):
    """make(contender): one optimizer step over every parameter tensor."""
    class_name, kwargs, _ = OPTIMIZERS[name]

    def make(contender):
        if contender.framework == "numpy":
            numpy_step = _numpy_sgd if class_name == "SGD" else _numpy_adam
            return numpy_step([contender.put(p) for p in host_params],
                              [contender.put(g) for g in host_grads], kwargs)
        params = [contender.put(p, requires_grad=True) for p in host_params]
        for param, grad in zip(params, host_grads):
            param.grad = contender.put(grad)
        if contender.framework == "torch":
            import torch.optim as optim
        else:
            import deeplite.optim as optim
        return getattr(optim, class_name)(params, **kwargs).step
    return make


def run(ctx):
    """Yield one group of records per optimizer."""
    tensors, elements = QUICK_LAYOUT if ctx.quick else FULL_LAYOUT
    host_params = [ctx.rng.standard_normal(elements, dtype=np.float32) for _ in range(tensors)]
    host_grads = [ctx.rng.standard_normal(elements, dtype=np.float32) for _ in range(tensors)]
    for name, (_, _, arrays) in OPTIMIZERS.items():
        yield ctx.measure(f"{name}_step", f"{tensors}x({elements},)",
                          _maker(host_params, host_grads, name),
                          bytes_moved=arrays * 4 * tensors * elements, repeats=ctx.repeats)
