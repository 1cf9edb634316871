"""The fused kernels called directly, below autograd: deeplite's backend kernel against the same
work written in NumPy and in PyTorch's own kernels.

The other families time what users write (through the tape); this one times the kernel alone, so a
slow kernel and a slow engine can be told apart. Cases: the fused layer relu(x @ W + b) of step (a)
in GFLOP/s (its GEMM's FLOPs), and in GB/s of the bytes one fused pass moves the sigmoid forward
and its gradient from the output, the sigmoid cross-entropy loss + gradient, an Adam step, and
a dropout mask (deeplite's counter-based Philox stream; PyTorch's bernoulli_; NumPy's PCG64
draw, which deeplite used before).
"""
import numpy as np

from ..peers import numpy_sigmoid_bce
from .optimizers import OPTIMIZERS, _numpy_adam

IN_QUICK = True

FULL_SIZE, QUICK_SIZE = 1 << 24, 1 << 18
LAYER = (256, 784, 1024)  # step (a)'s first layer: batch, inputs, outputs
QUICK_LAYER = (128, 256, 256)
ADAM_WIDTH = 1024  # Adam's parameters: a (rows, 1024) weight and a (1024,) bias


def _torch():
    import torch
    return torch


def _arrays(contender, *host):
    """The host arrays as the contender's raw arrays (a deeplite backend's, NumPy's, torch's)."""
    if contender.framework == "deeplite":
        from deeplite import backends
        backend = backends.get(contender.device)
        return [backend.asarray(array) for array in host]
    if contender.framework == "torch":
        return [_torch().tensor(array, device=contender.device) for array in host]
    return [array.copy() for array in host]


def _kernel(contender):
    """The contender's deeplite backend (its kernels), or None for a peer."""
    if contender.framework != "deeplite":
        return None
    from deeplite import backends
    return backends.get(contender.device)


def _linear_maker(x, w, bias):
    def make(contender):
        tx, tw, tb = _arrays(contender, x, w, bias)
        if (backend := _kernel(contender)) is not None:
            return lambda: backend.linear_act(tx, tw, tb, "relu", 0.0)
        if contender.framework == "torch":
            torch = _torch()
            return lambda: torch.relu(torch.addmm(tb, tx, tw))
        return lambda: np.maximum(tx @ tw + tb, 0)
    return make


def _sigmoid_maker(x):
    def make(contender):
        (tx,) = _arrays(contender, x)
        if (backend := _kernel(contender)) is not None:
            return lambda: backend.sigmoid(tx)
        if contender.framework == "torch":
            return lambda: _torch().sigmoid(tx)
        def numpy_sigmoid():  # stable: exp(-|x|) never overflows
            e = np.exp(-np.abs(tx))
            return np.where(tx >= 0, 1, e) / (1 + e)
        return numpy_sigmoid
    return make


def _sigmoid_grad_maker(y, gy):
    def make(contender):
        ty, tgy = _arrays(contender, y, gy)
        if (backend := _kernel(contender)) is not None:
            return lambda: backend.act_grad(ty, tgy, "sigmoid", 0.0)
        if contender.framework == "torch":
            return lambda: _torch().ops.aten.sigmoid_backward(tgy, ty)
        return lambda: tgy * ty * (1 - ty)
    return make


def _bce_maker(z, y):
    def make(contender):
        tz, ty = _arrays(contender, z, y)
        if (backend := _kernel(contender)) is not None:
            return lambda: backend.sigmoid_bce(tz, ty, "mean")
        if contender.framework == "torch":
            torch = _torch()

            def torch_bce():  # PyTorch's loss and its gradient: the work of our one kernel
                logits = tz.detach().requires_grad_()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, ty)
                return torch.autograd.grad(loss, logits)
            return torch_bce
        return lambda: numpy_sigmoid_bce(tz, ty)
    return make


def _adam_maker(shapes, rng):
    """make(contender): Adam steps as torch.optim.Adam takes them, moments from zero and a step
    count that grows, so every contender does the same arithmetic on its own copy of the state."""
    host = [[rng.standard_normal(s, dtype=np.float32) for s in shapes] for _ in range(2)]
    host += [[np.zeros(s, np.float32) for s in shapes] for _ in range(2)]  # first, second moments
    kwargs = OPTIMIZERS["adam"][1]

    def make(contender):
        """One Adam step; the call returns the parameters it updated (for the tests)."""
        params, grads, avgs, squares = (_arrays(contender, *group) for group in host)
        if (backend := _kernel(contender)) is not None:
            (beta1, beta2), count = kwargs["betas"], [0]

            def step():
                count[0] += 1
                backend.adam_step(params, grads, avgs, squares, None, [count[0]] * len(shapes),
                                  kwargs["lr"], beta1, beta2, kwargs["eps"], 0.0, False, False,
                                  False)
        elif contender.framework == "torch":
            for param, grad in zip(params, grads):
                param.requires_grad_()
                param.grad = grad
            step = _torch().optim.Adam(params, **kwargs).step
        else:
            step = _numpy_adam(params, grads, kwargs)
        return lambda: step() or params
    return make


def _dropout_maker(size: int, p: float):
    """make(contender): a fresh float32 dropout mask (0 or 1 / (1 - p)) of ``size`` per call."""
    def make(contender):
        if (backend := _kernel(contender)) is not None:
            offset = [0]

            def mask():  # the next words of the stream, as F.dropout reserves them
                block = offset[0]
                offset[0] += -(-size // 4)
                return backend.dropout_mask((size,), np.float32, p, (12345, 0),
                                            (block & 0xFFFFFFFF, block >> 32))
            return mask
        if contender.framework == "torch":
            torch = _torch()
            return lambda: torch.empty(size).bernoulli_(1 - p).div_(1 - p)
        rng = np.random.default_rng(0)
        return lambda: ((rng.random(size) >= p) / (1 - p)).astype(np.float32)
    return make


def run(ctx):
    """Yield one group of records per kernel."""
    rows, inputs, outputs = QUICK_LAYER if ctx.quick else LAYER
    x = ctx.rng.standard_normal((rows, inputs), dtype=np.float32)
    w = ctx.rng.standard_normal((inputs, outputs), dtype=np.float32) / np.float32(inputs ** 0.5)
    bias = ctx.rng.standard_normal(outputs, dtype=np.float32)
    yield ctx.measure("linear_act_relu", f"{rows}x{inputs} @ {inputs}x{outputs}",
                      _linear_maker(x, w, bias), flops=2.0 * rows * inputs * outputs)
    size = QUICK_SIZE if ctx.quick else FULL_SIZE
    z = ctx.rng.standard_normal(size, dtype=np.float32) * 4
    y = ctx.rng.random(size, dtype=np.float32)
    yield ctx.measure("sigmoid_kernel", f"({size},)", _sigmoid_maker(z), bytes_moved=2 * 4 * size)
    yield ctx.measure("sigmoid_grad_kernel", f"({size},)", _sigmoid_grad_maker(y, z),
                      bytes_moved=3 * 4 * size)  # read y and gy, write the gradient
    targets = (y > 0.5).astype(np.float32)
    yield ctx.measure("sigmoid_bce_kernel", f"({size},)", _bce_maker(z, targets),
                      bytes_moved=3 * 4 * size)  # read z and y, write dz
    shapes = [(size // ADAM_WIDTH - 1, ADAM_WIDTH), (ADAM_WIDTH,)]
    count = sum(int(np.prod(shape)) for shape in shapes)
    yield ctx.measure("adam_kernel", f"({shapes[0][0]}x{ADAM_WIDTH}) + ({ADAM_WIDTH},)",
                      _adam_maker(shapes, ctx.rng),
                      bytes_moved=7 * 4 * count)  # read p, g, m, v; write p, m, v
    yield ctx.measure("dropout_mask_kernel", f"({size},), p=0.5", _dropout_maker(size, 0.5),
                      bytes_moved=4 * size)  # write the mask
