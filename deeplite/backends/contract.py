"""The kernel contract: the fixed set of snake_case kernel names every backend provides.

A backend is a flat module of plain functions on its own arrays (``numpy.ndarray`` for ``numpy`` and
``cpu``, ``cupy.ndarray`` for ``cuda``). No kernel knows about autodiff. Kernels return new arrays
unless their entry says "in place".

REQUIRED kernels must exist in every backend module: the loader refuses a backend that lacks one.
OPTIONAL kernels are fused or specialised kernels; where a backend lacks one, the loader binds the
reference composition from ``fallbacks.py`` (built only from REQUIRED kernels), and records which
kernels are native so tests can assert that a fused kernel has not silently vanished.

Conventions shared by all kernels:
- ``dtype`` arguments are NumPy dtype objects; ``shape`` arguments are tuples of ints.
- Binary elementwise kernels broadcast and promote types exactly as NumPy does.
- ``act`` names an activation: "identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus";
  ``slope`` is leaky_relu's negative slope (ignored by the others).
- ``reduction`` is "none", "mean" or "sum", as in PyTorch.
"""

REQUIRED = {
    # creation and transfer
    "asarray": "asarray(data, dtype=None) -> array on this device from Python/NumPy data",
    "to_numpy": "to_numpy(a) -> numpy.ndarray on the host",
    "empty": "empty(shape, dtype) -> uninitialised array",
    "zeros": "zeros(shape, dtype) -> array of 0",
    "full": "full(shape, value, dtype) -> array filled with value",
    "arange": "arange(start, stop, step, dtype) -> 1-D range",
    "astype": "astype(a, dtype) -> a converted to dtype (a itself when already that dtype)",
    "copy": "copy(a) -> a new contiguous array equal to a",
    "copyto": "copyto(dst, src) -> None; in place: dst[...] = src (src broadcast to dst)",
    # elementwise, binary (NumPy broadcasting and promotion)
    "add": "add(a, b)", "sub": "sub(a, b)", "mul": "mul(a, b)", "div": "div(a, b)",
    "pow": "pow(a, b)", "maximum": "maximum(a, b)", "minimum": "minimum(a, b)",
    "eq": "eq(a, b) -> bool", "ne": "ne(a, b) -> bool", "lt": "lt(a, b) -> bool",
    "le": "le(a, b) -> bool", "gt": "gt(a, b) -> bool", "ge": "ge(a, b) -> bool",
    # elementwise, unary
    "neg": "neg(a)", "exp": "exp(a)", "log": "log(a)", "log1p": "log1p(a)", "expm1": "expm1(a)",
    "sqrt": "sqrt(a)", "abs": "abs(a)", "sign": "sign(a)", "tanh": "tanh(a)",
    "clip": "clip(a, low, high) -> a clipped; low or high may be None",
    "where": "where(condition, a, b)",
    # reductions (axis: None, an int or a tuple of ints; axis and keepdims passed by keyword)
    "sum": "sum(a, axis=None, keepdims=False)",
    "max": "max(a, axis=None, keepdims=False)",
    "min": "min(a, axis=None, keepdims=False)",
    "argmax": "argmax(a, axis) -> int64 indices",
    # linear algebra
    "matmul": "matmul(a, b) -> a @ b, 2-D or batched with NumPy's matmul rules",
    # movement
    "reshape": "reshape(a, shape)",
    "transpose": "transpose(a, axes) -> permuted view",
    "broadcast_to": "broadcast_to(a, shape)",
    "getitem": "getitem(a, index) -> a[index] (basic slicing and integer-array indexing)",
    "index_add": ("index_add(shape, index, values) -> zeros(shape) with values scatter-added at "
                  "index"),
    "concatenate": "concatenate(arrays, axis)",
    "stack": "stack(arrays, axis)",
}

OPTIONAL = {
    # activations; y is the activation's output
    "sigmoid": "sigmoid(x) -> 1 / (1 + exp(-x)), stable for any x",
    "relu": "relu(x)",
    "leaky_relu": "leaky_relu(x, slope)",
    "softplus": "softplus(x) -> log(1 + exp(x)), stable for any x",
    "act_grad": "act_grad(y, gy, act, slope) -> gy * act'(x), computed from the output y = act(x)",
    "softmax": "softmax(x, axis)",
    "log_softmax": "log_softmax(x, axis)",
    # fused layer: one pass for the bias and the activation over the GEMM's output
    "linear_act": "linear_act(x, w, b, act, slope) -> act(x @ w + b); b may be None",
    "linear_act_grad": ("linear_act_grad(x, w, y, gy, act, slope, need_x, need_w, need_b) -> "
                        "(gx, gw, gb) of y = act(x @ w + b), x and gy 2-D; None where not needed"),
    "linear_act_grad_mixed": ("linear_act_grad_mixed(x, w, y, gy, act, slope, need_x, need_w, "
                              "need_b, dtype) -> linear_act_grad's (gx, gw, gb) with gw and gb "
                              "in dtype (autocast's float32 master weights; where the backend "
                              "can, straight from the float32 accumulator); gx in gy's dtype"),
    # fused losses: the loss and, in the same pass, d(loss)/d(logits) scaled by the reduction
    "sigmoid_bce": "sigmoid_bce(z, y, reduction) -> (loss, dz) with dz = (sigmoid(z) - y) * scale",
    "softmax_ce": "softmax_ce(z, labels, reduction) -> (loss, dz); z (N, C), labels int (N,)",
    # fused optimizer updates over lists of parameters, in place
    "sgd_step": ("sgd_step(params, grads, bufs, first, lr, momentum, dampening, weight_decay, "
                 "nesterov, maximize) -> None; bufs is None when momentum == 0; first: the "
                 "momentum buffers are new and start as the (decayed) gradient, as in PyTorch"),
    "adam_step": ("adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, "
                  "beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize) -> None; steps "
                  "are "
                  "the per-parameter step counts after this step; decoupled=True is AdamW; "
                  "max_exp_avg_sqs is None unless amsgrad"),
    "rmsprop_step": ("rmsprop_step(params, grads, square_avgs, grad_avgs, bufs, lr, alpha, eps, "
                     "weight_decay, momentum, centered, maximize) -> None"),
    "adagrad_step": ("adagrad_step(params, grads, state_sums, steps, lr, lr_decay, weight_decay, "
                     "eps, "
                     "maximize) -> None"),
    # counter-based randomness (deeplite/kernels/dl_philox.h): the same bits on every backend
    "dropout_mask": ("dropout_mask(shape, dtype, p, key, counter) -> array of shape: 1 / (1 - p) "
                     "where the Philox4x32-10 stream keeps an element, else 0; p in [0, 1); key: "
                     "the seed's (low, high) 32-bit words; counter: the (low, high) words of the "
                     "stream's first 4-word block (the offset / 4)"),
}

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus")
REDUCTIONS = ("none", "mean", "sum")


def reduction_scale(op: str, reduction: str, count: int) -> float:
    """What a loss reduction multiplies the summed loss and each gradient by: 1/count for
    "mean" (1 for an empty input), else 1; ValueError naming ``op`` for an unknown reduction."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {', '.join(REDUCTIONS)}, "
                         f"got {reduction!r}")
    return 1.0 / max(count, 1) if reduction == "mean" else 1.0


def is_basic_index(index) -> bool:
    """Whether ``index`` holds only ints, slices, None and Ellipsis (NumPy's basic indexing, which
    never selects an element twice)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, slice)) for item in items)
