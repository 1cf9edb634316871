"""Activations, losses and layers as functions (also ``deeplite.nn.functional``), as in PyTorch.

Every loss takes ``reduction`` in {"mean", "sum", "none"}. The two fused losses,
``binary_cross_entropy_with_logits`` and ``cross_entropy``, compute the loss and its gradient in one
kernel pass and stay finite for logits of any size (±1e4 included).
"""
from . import dtypes
from .creation import generator
from .jit import hooks as jit_hooks
from .ops import linear as _linear

# The activations are ops (Tensor's methods call them); they are public here, as in PyTorch.
from .ops.activation import (
    heaviside,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    step,
    tanh,
)
from .ops.autocast import float32_op
from .ops.loss import (
    BinaryCrossEntropy,
    SigmoidBCE,
    SoftmaxCE,
    check_label_range,
    check_reduction,
)
from .ops.scalars import lift
from .tensor import Tensor

__all__ = [
    "step",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "heaviside", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "logistic_loss", "mse_loss",
    "nll_loss", "relu", "sigmoid", "softmax", "softplus", "tanh",
]


def linear(x: Tensor, weight: Tensor, bias: Tensor = None, activation: str = "identity",
           negative_slope: float = 0.01) -> Tensor:
    """``activation(x @ weight + bias)`` in one fused kernel.

    Args:
        x: (..., in_features).
        weight: (in_features, out_features) — the lecture's convention, transposed from PyTorch's.
        bias: (out_features,) or None.
        activation: "identity", "relu", "leaky_relu", "sigmoid", "tanh" or "softplus".
    Returns:
        (..., out_features).
    Example:
        >>> import deeplite
        >>> x, w, b = deeplite.randn(5, 3), deeplite.randn(3, 2), deeplite.randn(2)
        >>> h = deeplite.functional.linear(x, w, b, activation="relu")  # relu(x @ w + b)
        >>> h.shape
        (5, 2)
    """
    return _linear(x, weight, bias, activation, negative_slope)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (when training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0

    def draw():
        keep = generator().random(x.shape) >= p
        return (keep / (1.0 - p)).astype(x.dtype)

    host_mask = draw()
    jit_hooks.mark_random(host_mask, draw)  # a replayed step draws a fresh mask each time
    return x * lift(host_mask, x)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_float_target(target, like: Tensor, name: str) -> Tensor:
    target = target if isinstance(target, Tensor) else lift(target, like)
    if target.shape != like.shape:
        raise ValueError(f"{name}: target shape {target.shape} does not match input shape "
                         f"{like.shape}")
    return target if target.dtype == like.dtype else target.to(dtype=like.dtype)


@float32_op
def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], fused and stable.

    One kernel pass computes ``max(z,0) - z*y + log1p(exp(-|z|))`` and, in the same pass, the
    gradient ``sigmoid(z) - y``. Logits of any size give finite losses and gradients.

    Args:
        logits: any shape. target: same shape, values in [0, 1].
    Example:
        >>> import deeplite
        >>> import deeplite.functional as F
        >>> logits = deeplite.tensor([-1e4, 0.0, 1e4])  # finite for any logit
        >>> F.binary_cross_entropy_with_logits(logits, deeplite.tensor([0.0, 1.0, 1.0])).item()
        0.2310
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(name, reduction)
    return SigmoidBCE.apply(logits, _as_float_target(target, logits, name), reduction=reduction)


def logistic_loss(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """The lecture's logistic loss ``log(1 + exp(-y z))`` for labels y in {-1, +1}, stable.

    Equal to ``binary_cross_entropy_with_logits(z, (y + 1) / 2)``, so it uses the fused kernel.
    """
    check_reduction("logistic_loss", reduction)
    target = _as_float_target(target, logits, "logistic_loss")
    return binary_cross_entropy_with_logits(logits, (target + 1) * 0.5, reduction)


@float32_op
def cross_entropy(logits: Tensor, target, reduction: str = "mean", *,
                  check_labels: bool = True) -> Tensor:
    """Softmax cross-entropy, fused (log-softmax + NLL in one pass per row).

    Args:
        logits: (N, C), or (N, C, d1, ...) with the classes on axis 1, as in PyTorch.
        target: integer class labels (N,) / (N, d1, ...), or class probabilities shaped like logits.
            A label outside [0, C) raises ValueError on numpy/cpu; on cuda (where checking would
            stall every step) it makes the loss NaN.
        check_labels: False skips that range check, which reads the labels on the host: for
            labels validated once up front (a CUDA graph capture forbids host reads).
    Example:
        >>> import deeplite
        >>> logits = deeplite.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
        >>> deeplite.functional.cross_entropy(logits, deeplite.tensor([0, 2])).item()  # row mean
        0.6700
    """
    check_reduction("cross_entropy", reduction)
    if isinstance(target, Tensor) and dtypes.is_floating(target.dtype):
        return _soft_cross_entropy(logits, target, reduction)
    labels = target if isinstance(target, Tensor) else lift(target, logits).to(dtype=dtypes.int64)
    if logits.ndim == 1:  # one sample: a (C,) row and a scalar label
        loss = cross_entropy(logits.reshape(1, -1), labels.reshape(1), reduction,
                             check_labels=check_labels)
        return loss.reshape(()) if reduction == "none" else loss
    if logits.ndim > 2:  # classes on axis 1: move them last and treat every position as a row
        classes = logits.shape[1]
        rows = logits.transpose(0, *range(2, logits.ndim), 1).reshape(-1, classes)
        loss = cross_entropy(rows, labels.reshape(-1), reduction, check_labels=check_labels)
        return loss.reshape(labels.shape) if reduction == "none" else loss
    _check_labels(logits, labels, check_range=check_labels)
    return SoftmaxCE.apply(logits, labels, reduction=reduction)


def _check_labels(logits: Tensor, labels: Tensor, check_range: bool = True) -> None:
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got {labels.dtype}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy: labels of shape {labels.shape} for logits of shape "
                         f"{logits.shape}; expected ({logits.shape[0]},)")
    # The range check reads the labels on the host: free on numpy/cpu, but on cuda it would stall
    # every step (and break CUDA-graph capture), so there the fused kernel's NaN loss reports it.
    if check_range and labels.numel() and labels._backend.cheap_host_sync:
        check_label_range(labels.data, logits.shape[1])
        jit_hooks.guard(check_label_range, labels.data, logits.shape[1])  # rerun on each replay


def _soft_cross_entropy(logits: Tensor, target: Tensor, reduction: str) -> Tensor:
    if target.shape != logits.shape:
        raise ValueError(f"cross_entropy: probability targets of shape {target.shape} for logits "
                         f"of shape {logits.shape}")
    loss = -(target * log_softmax(logits, axis=1)).sum(axis=1)
    return _reduce(loss, reduction)


@float32_op
def nll_loss(log_probs: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer labels given log-probabilities (N, C)."""
    check_reduction("nll_loss", reduction)
    _check_labels(log_probs, target)
    rows = log_probs._backend.arange(0, log_probs.shape[0], 1, dtypes.int64)
    picked = log_probs[Tensor._wrap(rows, log_probs._backend), target]
    return _reduce(-picked, reduction)


@float32_op
def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - y)^2."""
    check_reduction("mse_loss", reduction)
    diff = input - _as_float_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction)


@float32_op
def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1]; logs are clamped at -100, as in PyTorch.

    Prefer ``binary_cross_entropy_with_logits``: it is fused and exact for confident predictions.
    """
    check_reduction("binary_cross_entropy", reduction)
    target = _as_float_target(target, input, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy.apply(input, target), reduction)
