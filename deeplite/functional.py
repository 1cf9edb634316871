"""Activations, losses and layers as functions (also ``deeplite.nn.functional``), as in PyTorch.

Every loss takes ``reduction`` in {"mean", "sum", "none"}. The two fused losses,
``binary_cross_entropy_with_logits`` and ``cross_entropy``, compute the loss and its gradient in one
kernel pass and stay finite for logits of any size (±1e4 included).
"""
import math

import numpy as np

from .dropout_stream import reserve as reserve_stream_words
from .ops import classification_losses as _classification
from .ops import linear as _linear
from .ops import pointwise_losses as _pointwise

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
from .ops.activation_functions import (
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    mish,
    normalize,
    relu6,
    selu,
    silu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from .ops.classification_losses import multi_margin_loss
from .ops.loss import check_reduction
from .ops.padding import one_hot, pad
from .ops.pointwise_losses import (
    cosine_similarity,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from .tensor import Tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "cosine_similarity",
    "cross_entropy", "dropout", "elu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish",
    "hardtanh", "heaviside", "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss",
    "leaky_relu", "linear", "log_sigmoid", "log_softmax", "logistic_loss", "mish", "mse_loss",
    "multi_margin_loss", "nll_loss", "normalize", "one_hot", "pad", "relu", "relu6", "selu",
    "sigmoid", "silu", "smooth_l1_loss", "softmax", "softmin", "softplus", "softshrink",
    "softsign", "step", "tanh", "tanhshrink", "threshold",
]



def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str = "identity",
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
    """Zero each element with probability ``p``, scaling the rest by 1 / (1 - p) (when training).

    The mask comes from the counter-based dropout stream (Philox4x32-10), computed by the
    tensor's own backend: ``deeplite.manual_seed`` makes it reproducible, every backend draws the
    same mask for the same seed, and a ``deeplite.jit`` replay draws the same masks as the eager
    steps would. The gradient is the upstream gradient times the same mask.

    Args:
        x: any shape. p: the probability of zeroing, in [0, 1]. training: False returns ``x``.
    Example:
        >>> import deeplite
        >>> _ = deeplite.manual_seed(0)
        >>> y = deeplite.functional.dropout(deeplite.ones(2, 4), p=0.5)
        >>> sorted(set(y.numpy().ravel().tolist()))  # each element 0 or 1 / (1 - p)
        [0.0, 2.0]
    """
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"dropout: probability must be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0
    backend = x._backend
    key, counter = reserve_stream_words(math.prod(x.shape))
    mask = backend.dropout_mask(tuple(x.shape), x.data.dtype, float(p), key, counter)
    return x * Tensor._wrap(mask, backend)


def _legacy_reduction(weight, reduction: str) -> tuple:
    """Older deeplite code passes ``reduction`` third, where PyTorch has ``weight``: a string
    there is read as the reduction."""
    return (None, weight) if isinstance(weight, str) else (weight, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target, weight: Tensor | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], fused and stable.

    One kernel pass computes ``max(z,0) - z*y + log1p(exp(-|z|))`` and, in the same pass, the
    gradient ``sigmoid(z) - y``. Logits of any size give finite losses and gradients. ``weight``
    rescales each element and ``pos_weight`` the positive term, as in PyTorch.

    Args:
        logits: any shape. target: same shape, values in [0, 1].
    Example:
        >>> import deeplite
        >>> import deeplite.functional as F
        >>> logits = deeplite.tensor([-1e4, 0.0, 1e4])  # finite for any logit
        >>> F.binary_cross_entropy_with_logits(logits, deeplite.tensor([0.0, 1.0, 1.0])).item()
        0.2310
    """
    weight, reduction = _legacy_reduction(weight, reduction)
    return _pointwise.binary_cross_entropy_with_logits(logits, target, weight, reduction,
                                                       pos_weight)


def logistic_loss(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """The lecture's logistic loss ``log(1 + exp(-y z))`` for labels y in {-1, +1}, stable.

    Equal to ``binary_cross_entropy_with_logits(z, (y + 1) / 2)``, so it uses the fused kernel.
    """
    check_reduction("logistic_loss", reduction)
    target = _pointwise.as_float_target(target, logits, "logistic_loss")
    return binary_cross_entropy_with_logits(logits, (target + 1) * 0.5, reduction=reduction)


def cross_entropy(logits: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, *,
                  check_labels: bool = True) -> Tensor:
    """Softmax cross-entropy, as ``F.cross_entropy``; fused when no option is used.

    Args:
        logits: (N, C), (C,) unbatched, or (N, C, d1, ...) with the classes on dim 1.
        target: integer labels (N,) / () / (N, d1, ...), or class probabilities shaped like logits.
            A label outside [0, C) raises ValueError on numpy/cpu; on cuda (where checking would
            stall every step) it makes the loss NaN.
        weight: (C,) per-class weights. ignore_index: a label that counts for nothing.
        label_smoothing: in [0, 1].
        check_labels: False skips the range check, which reads the labels on the host: for
            labels validated once up front (a CUDA graph capture forbids host reads). Skipped,
            labels equal to ``ignore_index`` are not looked for either: the fused kernel runs
            unless ``weight`` or ``label_smoothing`` asks for the composed path.
    Example:
        >>> import deeplite
        >>> logits = deeplite.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
        >>> deeplite.functional.cross_entropy(logits, deeplite.tensor([0, 2])).item()  # row mean
        0.6700
    """
    weight, reduction = _legacy_reduction(weight, reduction)
    return _classification.cross_entropy(logits, target, weight, ignore_index, reduction,
                                         label_smoothing, check_labels=check_labels)


def nll_loss(log_probs: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer labels given log-probabilities (N, C), (C,) or
    (N, C, d1, ...), with PyTorch's ``weight`` and ``ignore_index``."""
    weight, reduction = _legacy_reduction(weight, reduction)
    return _classification.nll_loss(log_probs, target, weight, ignore_index, reduction)


def binary_cross_entropy(input: Tensor, target, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1]; logs are clamped at -100, as in PyTorch.

    Prefer ``binary_cross_entropy_with_logits``: it is fused and exact for confident predictions.
    """
    weight, reduction = _legacy_reduction(weight, reduction)
    return _pointwise.binary_cross_entropy(input, target, weight, reduction)
