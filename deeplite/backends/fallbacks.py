"""Reference compositions of every OPTIONAL kernel, from REQUIRED kernels and a few OPTIONAL ones.

Each function takes the backend ``b`` first; the loader binds it for any backend that lacks the
native kernel. Besides REQUIRED kernels, a fallback calls exactly the OPTIONAL kernels ``USES``
names for it, through ``b`` (so a backend's native ``sigmoid`` also speeds up the ``sigmoid_bce``
fallback); these calls form no cycle, so on a backend with no native kernel at all (``numpy``)
every fallback bottoms out in REQUIRED kernels. tests/test_kernels.py checks both claims, and
checks every fallback against NumPy expressions.

16-bit floats (float16, bfloat16) are computed in float32: every fused kernel here runs on
float32 copies and rounds its results back once, and the optimizers update 16-bit parameters in
float32 (storing 16 bits), as PyTorch's reduced-precision kernels do. Chained 16-bit ops would
round every intermediate (sigmoid(z) - y loses all its digits where they nearly cancel), and
float16(70000) is inf and float16(1e-8) is 0, so a float16 count or epsilon would turn a mean
into 0 and Adam's update into 0/0.
"""
import functools

import numpy as np

from .. import dtypes
from . import philox
from .contract import reduction_scale

# OPTIONAL kernel -> the OPTIONAL kernels its fallback calls (through ``b``, native or fallback).
USES = {
    "sigmoid": (), "relu": (), "leaky_relu": (), "softplus": (), "act_grad": (),
    "softmax": (), "log_softmax": (),
    "linear_act": ("relu", "leaky_relu", "sigmoid", "softplus"),  # through b.apply_act
    "linear_act_grad": ("act_grad",),
    "linear_act_grad_mixed": ("linear_act_grad",),
    "sigmoid_bce": ("softplus", "sigmoid"),
    "softmax_ce": ("log_softmax",),
    "sgd_step": (), "adam_step": (), "rmsprop_step": (), "adagrad_step": (),
    "dropout_mask": (),
}


def _const(x, value):
    """``value`` as a scalar of ``x``'s dtype, so it never promotes float32 to float64."""
    return x.dtype.type(value)


def _is_low(a) -> bool:
    """Whether ``a`` is an array of a 16-bit float dtype."""
    return hasattr(a, "shape") and dtypes.is_low_precision(a.dtype)


def _narrow(b, value, dtype):
    """The float32 arrays in ``value`` (an array, None or a tuple of them) as ``dtype``."""
    if isinstance(value, tuple):
        return tuple(_narrow(b, item, dtype) for item in value)
    return b.astype(value, dtype) if value is not None and value.dtype == np.float32 else value


def _computed_in_float32(kernel):
    """A fused ``kernel`` on float32 copies of its 16-bit float arrays, the results rounded back
    to their dtype once."""
    @functools.wraps(kernel)
    def wrapped(b, *args, **kwargs):
        low = next((a.dtype for a in args if _is_low(a)), None)
        if low is None:
            return kernel(b, *args, **kwargs)
        return _narrow(b, kernel(b, *(_wide(b, a) for a in args), **kwargs), low)
    return wrapped


@_computed_in_float32
def sigmoid(b, x):
    """Stable logistic function."""
    # exp(-|x|) never overflows; pick the algebraically equal form for each sign.
    e = b.exp(b.neg(b.abs(x)))
    one = _const(x, 1)
    return b.where(b.ge(x, 0), b.div(one, b.add(one, e)), b.div(e, b.add(one, e)))


def relu(b, x):
    """max(x, 0)."""
    return b.where(b.gt(x, 0), x, _const(x, 0))


@_computed_in_float32  # slope * x with slope itself rounded to 16 bits would round twice
def leaky_relu(b, x, slope):
    """x for x > 0, slope * x otherwise."""
    return b.where(b.gt(x, 0), x, b.mul(x, _const(x, slope)))


@_computed_in_float32
def softplus(b, x):
    """Stable log(1 + exp(x))."""
    # stable computation: max(x, 0) + log1p(exp(-|x|)) never overflows.
    return b.add(b.maximum(x, _const(x, 0)), b.log1p(b.exp(b.neg(b.abs(x)))))


@_computed_in_float32
def act_grad(b, y, gy, act, slope):
    """gy * act'(x), from the activation's output y (every supported act is invertible enough)."""
    if act == "identity":
        return gy
    if act == "relu":
        return b.where(b.gt(y, 0), gy, _const(gy, 0))
    if act == "leaky_relu":
        return b.where(b.gt(y, 0), gy, b.mul(gy, _const(gy, slope)))
    if act == "sigmoid":
        return b.mul(gy, b.mul(y, b.sub(_const(y, 1), y)))
    if act == "tanh":
        return b.mul(gy, b.sub(_const(y, 1), b.mul(y, y)))
    if act == "softplus":
        # softplus'(x) = sigmoid(x) = 1 - exp(-y); -expm1 keeps precision when y is tiny.
        return b.mul(gy, b.neg(b.expm1(b.neg(y))))
    raise ValueError(f"act_grad: unknown activation {act!r}")


@_computed_in_float32
def linear_act(b, x, w, bias, act, slope):
    """act(x @ w + bias)."""
    pre = b.matmul(x, w)
    if bias is not None:
        pre = b.add(pre, bias)
    return b.apply_act(pre, act, slope)


@_computed_in_float32
def linear_act_grad(b, x, w, y, gy, act, slope, need_x, need_w, need_b):
    """Gradients of act(x @ w + b) for x, w and b, from its output y and upstream gy."""
    pre = b.act_grad(y, gy, act, slope)
    return (b.matmul(pre, b.transpose(w, (1, 0))) if need_x else None,
            b.matmul(b.transpose(x, (1, 0)), pre) if need_w else None,
            b.sum(pre, axis=0) if need_b else None)


def linear_act_grad_mixed(b, x, w, y, gy, act, slope, need_x, need_w, need_b, dtype):
    """``linear_act_grad`` in x's dtype, gw and gb then converted to ``dtype``."""
    gx, gw, gb = b.linear_act_grad(x, w, y, gy, act, slope, need_x, need_w, need_b)
    return (gx, None if gw is None else b.astype(gw, dtype),
            None if gb is None else b.astype(gb, dtype))


@_computed_in_float32
def softmax(b, x, axis):
    """exp(x) / sum(exp(x)), shifted by the max so exp never overflows."""
    e = b.exp(b.sub(x, b.max(x, axis=axis, keepdims=True)))
    return b.div(e, b.sum(e, axis=axis, keepdims=True))


@_computed_in_float32
def log_softmax(b, x, axis):
    """x - logsumexp(x), shifted by the max so exp never overflows."""
    shifted = b.sub(x, b.max(x, axis=axis, keepdims=True))
    return b.sub(shifted, b.log(b.sum(b.exp(shifted), axis=axis, keepdims=True)))


def _wide(b, x):
    """``x`` as float32 when it is a 16-bit float (they accumulate and scale in float32)."""
    return b.astype(x, np.float32) if _is_low(x) else x


def reduce_loss(b, loss, grad, reduction):
    """Apply the reduction to an elementwise loss and scale its gradient to match."""
    if reduction == "none":
        return loss, grad
    scale = reduction_scale("loss", reduction, loss.size)
    wide_loss = _wide(b, loss)
    total = b.mul(b.asarray(b.sum(wide_loss)), _const(wide_loss, scale))
    if reduction == "sum":
        return b.astype(total, loss.dtype), grad
    wide_grad = _wide(b, grad)
    return (b.astype(total, loss.dtype),
            b.astype(b.mul(wide_grad, _const(wide_grad, scale)), grad.dtype))


@_computed_in_float32
def sigmoid_bce(b, z, y, reduction):
    """Binary cross-entropy on logits and its gradient sigmoid(z) - y."""
    # stable computation of the cross entropy: max(z, 0) - z*y + log1p(exp(-|z|)), except at
    # z = +-inf (inf - inf there): PyTorch's (1 - y) z + max(-z, 0), so the loss of z = +inf,
    # y < 1 is inf and NaN exactly where PyTorch's is (as dl_math.h's BceTerm).
    loss = b.sub(b.softplus(z), b.mul(z, y))
    at_infinity = b.add(b.mul(b.sub(_const(y, 1), y), z), b.maximum(b.neg(z), _const(z, 0)))
    loss = b.where(b.eq(b.abs(z), _const(z, np.inf)), at_infinity, loss)
    return reduce_loss(b, loss, b.sub(b.sigmoid(z), y), reduction)


@_computed_in_float32
def softmax_ce(b, z, labels, reduction):
    """Cross-entropy of integer labels under softmax(z) per row; its gradient softmax - onehot."""
    logp = b.log_softmax(z, 1)
    rows = b.arange(0, z.shape[0], 1, labels.dtype)
    loss = b.neg(b.getitem(logp, (rows, labels)))
    onehot = b.index_add(z.shape, (rows, labels), b.full((z.shape[0],), 1, z.dtype))
    return reduce_loss(b, loss, b.sub(b.exp(logp), onehot), reduction)


def _in_float32(update):
    """Run an in-place optimizer ``update`` on float32 copies of 16-bit float arrays, then store
    the results back (every list argument of arrays; None entries and lists pass through)."""
    @functools.wraps(update)
    def wrapped(b, *args, **kwargs):
        copies: list = []

        def widen(arg):
            if not isinstance(arg, list) or not any(_is_low(a) for a in arg):
                return arg
            wide = [None if a is None else _wide(b, a) for a in arg]
            copies.extend((a, w) for a, w in zip(arg, wide, strict=True) if w is not a)
            return wide

        update(b, *map(widen, args), **{key: widen(value) for key, value in kwargs.items()})
        for original, wide in copies:
            b.copyto(original, b.astype(wide, original.dtype))
    return wrapped


def _decayed(b, p, g, weight_decay, maximize):
    """The gradient as PyTorch's optimizers first transform it: negated to maximize, L2 decay."""
    if maximize:
        g = b.neg(g)
    if weight_decay:
        g = b.add(g, b.mul(p, _const(p, weight_decay)))
    return g


@_in_float32
def sgd_step(b, params, grads, bufs, first, lr, momentum, dampening, weight_decay, nesterov,
             maximize):
    """PyTorch's SGD update, in place."""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = _decayed(b, p, g, weight_decay, maximize)
        if momentum:
            buf = bufs[i]
            if first:
                b.copyto(buf, g)
            else:
                b.copyto(buf, b.add(b.mul(buf, _const(buf, momentum)),
                                    b.mul(g, _const(g, 1 - dampening))))
            g = b.add(g, b.mul(buf, _const(buf, momentum))) if nesterov else buf
        b.copyto(p, b.sub(p, b.mul(g, _const(p, lr))))


@_in_float32
def adam_step(b, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
              eps, weight_decay, decoupled, amsgrad, maximize):
    """PyTorch's Adam (decoupled=False) or AdamW (decoupled=True) update, in place."""
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        if decoupled:
            g = _decayed(b, p, g, 0, maximize)
            b.copyto(p, b.mul(p, _const(p, 1 - lr * weight_decay)))
        else:
            g = _decayed(b, p, g, weight_decay, maximize)
        b.copyto(m, b.add(b.mul(m, _const(m, beta1)), b.mul(g, _const(g, 1 - beta1))))
        b.copyto(v, b.add(b.mul(v, _const(v, beta2)), b.mul(b.mul(g, g), _const(g, 1 - beta2))))
        if amsgrad:
            b.copyto(max_exp_avg_sqs[i], b.maximum(max_exp_avg_sqs[i], v))
            v = max_exp_avg_sqs[i]
        bias_correction1 = 1 - beta1 ** steps[i]
        bias_correction2_sqrt = (1 - beta2 ** steps[i]) ** 0.5
        denom = b.add(b.div(b.sqrt(v), _const(v, bias_correction2_sqrt)), _const(v, eps))
        b.copyto(p, b.sub(p, b.mul(b.div(m, denom), _const(p, lr / bias_correction1))))


@_in_float32
def rmsprop_step(b, params, grads, square_avgs, grad_avgs, bufs, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize):
    """PyTorch's RMSprop update, in place; grad_avgs None unless centered, bufs unless momentum."""
    for i, (p, g, sq) in enumerate(zip(params, grads, square_avgs)):
        g = _decayed(b, p, g, weight_decay, maximize)
        b.copyto(sq, b.add(b.mul(sq, _const(sq, alpha)), b.mul(b.mul(g, g), _const(g, 1 - alpha))))
        if centered:
            ga = grad_avgs[i]
            b.copyto(ga, b.add(b.mul(ga, _const(ga, alpha)), b.mul(g, _const(g, 1 - alpha))))
            avg = b.add(b.sqrt(b.sub(sq, b.mul(ga, ga))), _const(sq, eps))
        else:
            avg = b.add(b.sqrt(sq), _const(sq, eps))
        if momentum > 0:
            buf = bufs[i]
            b.copyto(buf, b.add(b.mul(buf, _const(buf, momentum)), b.div(g, avg)))
            b.copyto(p, b.sub(p, b.mul(buf, _const(p, lr))))
        else:
            b.copyto(p, b.sub(p, b.mul(b.div(g, avg), _const(p, lr))))


@_in_float32
def adagrad_step(b, params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps, maximize):
    """PyTorch's Adagrad update, in place."""
    for p, g, state_sum, step in zip(params, grads, state_sums, steps):
        g = _decayed(b, p, g, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        b.copyto(state_sum, b.add(state_sum, b.mul(g, g)))
        std = b.add(b.sqrt(state_sum), _const(state_sum, eps))
        b.copyto(p, b.sub(p, b.mul(b.div(g, std), _const(p, clr))))


def dropout_mask(b, shape, dtype, p, key, counter):
    """The dropout mask of the Philox stream, drawn on the host (backends/philox.py)."""
    return b.asarray(philox.dropout_mask(tuple(shape), dtype, p, key, counter))
