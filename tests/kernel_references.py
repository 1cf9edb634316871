"""NumPy expressions of what each fused kernel computes, written from their definitions (and, for
the optimizer steps, from PyTorch's documented update rules), independent of deeplite's code.
The kernel table (kernel_samples.py) compares every backend with these.
"""
import numpy as np


# Activations in stable forms: exp never overflows.
def np_sigmoid(x):
    """1 / (1 + exp(-x)) from exp(-|x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def np_softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


NP_ACT = {
    "identity": lambda x, slope: x,
    "relu": lambda x, slope: np.maximum(x, 0),
    "leaky_relu": lambda x, slope: np.where(x > 0, x, x * x.dtype.type(slope)),
    "sigmoid": lambda x, slope: np_sigmoid(x),
    "tanh": lambda x, slope: np.tanh(x),
    "softplus": lambda x, slope: np_softplus(x),
}
# d act / dx written in the output y, as the act_grad kernel computes it.
NP_ACT_DERIVATIVE = {
    "identity": lambda y, slope: np.ones_like(y),
    "relu": lambda y, slope: (y > 0).astype(y.dtype),
    "leaky_relu": lambda y, slope: np.where(y > 0, 1, slope).astype(y.dtype),
    "sigmoid": lambda y, slope: y * (1 - y),
    "tanh": lambda y, slope: 1 - y * y,
    "softplus": lambda y, slope: -np.expm1(-y),
}


def np_softmax(x, axis):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    """x - logsumexp(x) along ``axis``."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_reduce(loss, grad, reduction):
    """The loss reduced as PyTorch does, its gradient scaled to match."""
    if reduction == "none":
        return loss, grad
    total = np.asarray(loss.sum(), loss.dtype)
    if reduction == "sum":
        return total, grad
    count = max(loss.size, 1)
    return (total / loss.dtype.type(count)).astype(loss.dtype), grad / grad.dtype.type(count)


def np_linear_act_grad(x, w, y, gy, act, slope, need_x, need_w, need_b):
    """(gx, gw, gb) of y = act(x @ w + b)."""
    pre = gy * NP_ACT_DERIVATIVE[act](y, slope)
    return (pre @ w.T if need_x else None, x.T @ pre if need_w else None,
            pre.sum(axis=0) if need_b else None)


def np_sigmoid_bce(z, y, reduction):
    """Binary cross-entropy on logits and its gradient sigmoid(z) - y."""
    return np_reduce(np_softplus(z) - z * y, np_sigmoid(z) - y, reduction)


def np_softmax_ce(z, labels, reduction):
    """Cross-entropy of integer labels under softmax(z) and its gradient softmax(z) - onehot."""
    rows = np.arange(z.shape[0])
    logp = np_log_softmax(z, 1)
    grad = np.exp(logp)
    grad[rows, labels] -= 1
    return np_reduce(-logp[rows, labels], grad, reduction)


def _decayed(p, g, weight_decay, maximize):
    """PyTorch's first transform of a gradient: negated to maximize, plus L2 decay."""
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay else g


def np_sgd_step(params, grads, bufs, first, lr, momentum, dampening, weight_decay, nesterov,
                maximize):
    """torch.optim.SGD's documented update, in place."""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = _decayed(p, g, weight_decay, maximize)
        if momentum:
            bufs[i][...] = g if first else momentum * bufs[i] + (1 - dampening) * g
            g = g + momentum * bufs[i] if nesterov else bufs[i]
        p -= lr * g


def np_adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
                 eps, weight_decay, decoupled, amsgrad, maximize):
    """torch.optim.Adam's (AdamW's when decoupled) documented update, in place."""
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        g = _decayed(p, g, 0 if decoupled else weight_decay, maximize)
        if decoupled:
            p *= 1 - lr * weight_decay
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        if amsgrad:
            np.maximum(max_exp_avg_sqs[i], v, out=max_exp_avg_sqs[i])
            v = max_exp_avg_sqs[i]
        denom = np.sqrt(v) / np.sqrt(1 - beta2 ** steps[i]) + eps
        p -= lr / (1 - beta1 ** steps[i]) * m / denom


def np_rmsprop_step(params, grads, square_avgs, grad_avgs, bufs, lr, alpha, eps, weight_decay,
                    momentum, centered, maximize):
    """torch.optim.RMSprop's documented update, in place."""
    for i, (p, g, sq) in enumerate(zip(params, grads, square_avgs)):
        g = _decayed(p, g, weight_decay, maximize)
        sq[...] = alpha * sq + (1 - alpha) * g * g
        if centered:
            grad_avgs[i][...] = alpha * grad_avgs[i] + (1 - alpha) * g
            avg = np.sqrt(sq - grad_avgs[i] * grad_avgs[i]) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            bufs[i][...] = momentum * bufs[i] + g / avg
            p -= lr * bufs[i]
        else:
            p -= lr * g / avg


def np_adagrad_step(params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps, maximize):
    """torch.optim.Adagrad's documented update, in place."""
    for p, g, state_sum, step in zip(params, grads, state_sums, steps):
        g = _decayed(p, g, weight_decay, maximize)
        state_sum += g * g
        p -= lr / (1 + (step - 1) * lr_decay) * g / (np.sqrt(state_sum) + eps)


def np_index_add(shape, index, values):
    """zeros(shape) with values scatter-added at index (repeats accumulate)."""
    out = np.zeros(shape, values.dtype)
    np.add.at(out, index, values)
    return out


def np_copyto(dst, src):
    """dst[...] = src, in place."""
    dst[...] = src


def philox4x32_10(counter, key):
    """Philox4x32-10 of one counter (4 words) under key (2 words), in Python integers: Random123's
    round (a 32 x 32 -> 64-bit multiply, swap, xor with the key) and its Weyl key schedule."""
    c, k = list(counter), list(key)
    for round_index in range(10):
        if round_index:
            k = [(k[0] + 0x9E3779B9) & 0xFFFFFFFF, (k[1] + 0xBB67AE85) & 0xFFFFFFFF]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & 0xFFFFFFFF, (p0 >> 32) ^ c[3] ^ k[1], p0 & 0xFFFFFFFF]
    return tuple(c)


def np_dropout_mask(shape, dtype, p, key, counter):
    """deeplite's dropout stream one element at a time (docs/jit.md): element i keeps word i % 4
    of block counter + i // 4 (counter (low, high, 0, 0), key the seed's words) when that word
    is at least floor(p * 2**32); kept elements hold float64 1 / (1 - p) rounded to dtype."""
    count = int(np.prod(shape, dtype=np.int64))
    start = counter[0] + (counter[1] << 32)
    threshold = int(p * 2 ** 32)
    out = np.zeros(count, dtype)
    for i in range(count):
        block = start + i // 4
        word = philox4x32_10((block & 0xFFFFFFFF, block >> 32, 0, 0), key)[i % 4]
        if word >= threshold:
            out[i] = np.float64(1.0) / (1.0 - p)
    return out.reshape(shape)
