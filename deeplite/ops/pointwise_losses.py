"""Elementwise losses with PyTorch's options: binary cross-entropy with ``weight`` and
``pos_weight``, l1, smooth_l1, huber, kl_div, hinge_embedding, and cosine_similarity.

Every loss takes ``reduction`` in {"mean", "sum", "none"} (kl_div also "batchmean").
"""
from ..errors import ShapeError
from ..tensor import Tensor
from .activation import Act
from .arithmetic import abs, clip, exp, log, maximum, where
from .autocast import float32_op
from .classification_losses import reduce_loss
from .loss import BinaryCrossEntropy, SigmoidBCE, check_reduction
from .scalars import lift
from .upcast import in_float32


def as_float_target(target, like: Tensor, name: str) -> Tensor:
    """``target`` as a tensor of ``like``'s shape and dtype (shape mismatches raise)."""
    target = target if isinstance(target, Tensor) else lift(target, like)
    if target.shape != like.shape:
        raise ShapeError(f"{name}: target shape {target.shape} does not match input shape "
                         f"{like.shape}")
    return target if target.dtype == like.dtype else target.to(dtype=like.dtype)


@float32_op
@in_float32
def binary_cross_entropy_with_logits(logits: Tensor, target, weight: Tensor | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], stable for any
    logits, as ``F.binary_cross_entropy_with_logits``.

    ``weight`` (broadcast to the input) rescales each element; ``pos_weight`` (broadcast along the
    last dim, one per class) weighs the positive term: -w [pos_weight y log s + (1 - y) log(1 - s)].
    Without either, one fused kernel pass gives the loss and its gradient.
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(name, reduction)
    target = as_float_target(target, logits, name)
    if pos_weight is None:
        if weight is None:
            return SigmoidBCE.apply(logits, target, reduction=reduction)
        return reduce_loss(SigmoidBCE.apply(logits, target, reduction="none") * weight, reduction)
    # stable computation: log sigmoid(z) = -softplus(-z) and log(1 - sigmoid(z)) = -softplus(z).
    loss = (pos_weight * target * Act.apply(-logits, act="softplus", slope=0.0)
            + (1 - target) * Act.apply(logits, act="softplus", slope=0.0))
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


@float32_op
@in_float32
def binary_cross_entropy(input: Tensor, target, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1], logs clamped at -100 (as
    ``F.binary_cross_entropy``); ``weight`` rescales each element.

    Prefer ``binary_cross_entropy_with_logits``: it is fused and exact for confident predictions.
    """
    check_reduction("binary_cross_entropy", reduction)
    target = as_float_target(target, input, "binary_cross_entropy")
    loss = BinaryCrossEntropy.apply(input, target)
    return reduce_loss(loss if weight is None else loss * weight, reduction)


@float32_op
@in_float32
def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - y)^2, as ``F.mse_loss``."""
    check_reduction("mse_loss", reduction)
    diff = input - as_float_target(target, input, "mse_loss")
    return reduce_loss(diff * diff, reduction)


@float32_op
@in_float32
def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x - y|, as ``F.l1_loss``."""
    check_reduction("l1_loss", reduction)
    return reduce_loss(abs(input - as_float_target(target, input, "l1_loss")), reduction)


@float32_op
@in_float32
def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y), as ``F.smooth_l1_loss``;
    beta = 0 is the l1 loss."""
    check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    diff = abs(input - as_float_target(target, input, "smooth_l1_loss"))
    if beta == 0:
        return reduce_loss(diff, reduction)
    return reduce_loss(where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta), reduction)


@float32_op
@in_float32
def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), as ``F.huber_loss``."""
    check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = abs(input - as_float_target(target, input, "huber_loss"))
    return reduce_loss(where(diff < delta, 0.5 * diff * diff, delta * (diff - 0.5 * delta)),
                       reduction)


@float32_op
@in_float32
def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence sum target (log target - input) with ``input`` log-probabilities, as
    ``F.kl_div``; ``log_target`` says the target is given as log-probabilities too.

    reduction "batchmean" divides the sum by the batch size (the true KL per sample); "mean"
    averages over every element, as PyTorch does.
    """
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be one of none, mean, sum, batchmean, got "
                         f"{reduction!r}")
    target = as_float_target(target, input, "kl_div")
    if log_target:
        pointwise = exp(target) * (target - input)
    else:
        # t log t is 0 at t = 0 (xlogy), and the safe log keeps that branch free of -inf.
        zero = target == 0
        pointwise = where(zero, 0.0, target * (log(where(zero, 1.0, target)) - input))
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return reduce_loss(pointwise, reduction)


@float32_op
@in_float32
def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1 and max(0, margin - x) where y = -1, as ``F.hinge_embedding_loss``."""
    check_reduction("hinge_embedding_loss", reduction)
    target = as_float_target(target, input, "hinge_embedding_loss")
    below_margin = where(target != 1, clip(margin - input, min=0.0), 0.0)
    return reduce_loss(below_margin + where(target != -1, input, 0.0), reduction)


@float32_op
@in_float32
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (broadcasting), as
    ``F.cosine_similarity``."""
    from .statistics import norm

    norms = [maximum(norm(x, 2, dim, keepdim=True), eps) for x in (x1, x2)]
    return ((x1 / norms[0]) * (x2 / norms[1])).sum(dim=dim)
