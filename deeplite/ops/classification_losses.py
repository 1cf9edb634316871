"""Class-label losses with PyTorch's options: cross_entropy (weight, ignore_index,
label_smoothing, probability targets, (N, C, d...) and unbatched (C,) inputs), nll_loss, and
multi_margin_loss (the multi-class SVM hinge).

Without options, cross_entropy takes the fused ``softmax_ce`` kernel (one pass for the loss and
its gradient); with them it composes log_softmax and a gather, in PyTorch's formulas.
"""
from .. import dtypes
from ..errors import ShapeError
from ..jit import hooks as jit_hooks
from ..tensor import Tensor
from . import loss as loss_ops
from .activation import log_softmax
from .arithmetic import clip, where
from .autocast import float32_op
from .loss import SoftmaxCE, check_reduction
from .scalars import lift
from .upcast import in_float32


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """The per-element ``loss`` reduced by "mean", "sum" or kept ("none")."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def as_labels(target, like: Tensor, name: str) -> Tensor:
    """``target`` as an integer label tensor on ``like``'s device."""
    labels = target if isinstance(target, Tensor) else lift(target, like).to(dtype=dtypes.int64)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integers, got {labels.dtype}")
    return labels


def as_rows(scores: Tensor, labels: Tensor, name: str) -> tuple:
    """(rows of scores (M, C), labels (M,), the per-position output shape, unbatched?) for
    inputs (C,), (N, C) or (N, C, d1, ...) with classes on dim 1, as PyTorch lays them out."""
    if scores.ndim == 1:
        if labels.ndim != 0:
            raise ShapeError(f"{name}: an unbatched input of shape {scores.shape} takes a 0-d "
                             f"label, got shape {labels.shape}")
        return scores.reshape(1, -1), labels.reshape(1), (), True
    expected = scores.shape[:1] + scores.shape[2:]
    if labels.shape != expected:
        raise ShapeError(f"{name}: labels of shape {labels.shape} for input of shape "
                         f"{scores.shape}; expected {expected}")
    if scores.ndim == 2:
        return scores, labels, expected, False
    classes = scores.shape[1]
    rows = scores.permute(0, *range(2, scores.ndim), 1).reshape(-1, classes)
    return rows, labels.reshape(-1), expected, False


def check_label_range(labels: Tensor, classes: int, ignore_index: int, name: str) -> bool:
    """Raise when a label (other than ignore_index) is outside [0, classes); return whether any
    label equals ignore_index. Only where a host read is cheap (numpy/cpu): on cuda it would
    stall every step. Inside a deeplite.jit trace the check reruns on every replay."""
    if not labels._backend.cheap_host_sync or labels.numel() == 0:
        return False
    any_ignored = _labels_in_range(labels.data, classes, ignore_index, name, None)
    if name == "cross_entropy" and not any_ignored:
        # The fused path's own check, which a native jit replay runs in C++ (an ignored label,
        # being out of range, fails it too).
        jit_hooks.guard(loss_ops.check_label_range, labels.data, classes)
    else:
        jit_hooks.guard(_labels_in_range, labels.data, classes, ignore_index, name, any_ignored)
    return any_ignored


def _labels_in_range(labels, classes: int, ignore_index: int, name: str, expect_ignored) -> bool:
    """The range check on a host array; with ``expect_ignored`` (a replay), also that the batch
    takes the same path (fused, or composed for ignored labels) as the traced one."""
    ignored = labels == ignore_index
    kept = labels[~ignored]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        bad = kept.min() if kept.min() < 0 else kept.max()
        raise ValueError(f"{name}: label {int(bad)} is out of range for {classes} classes")
    any_ignored = bool(ignored.any())
    if expect_ignored is not None and any_ignored != expect_ignored:
        raise ValueError(f"{name}: this batch {'has' if any_ignored else 'has no'} labels equal to "
                         f"ignore_index={ignore_index}, unlike the batch the step was traced "
                         f"with; pass weight= (which always takes the composed path) or run "
                         f"without deeplite.jit")
    return any_ignored


def _picked(log_probs: Tensor, labels: Tensor) -> Tensor:
    """log_probs[i, labels[i]] for each row i."""
    b = log_probs._backend
    rows = Tensor._wrap(b.arange(0, log_probs.shape[0], 1, dtypes.int64), b)
    return log_probs[rows, labels]


def _nll_rows(log_probs: Tensor, labels: Tensor, weight, ignore_index: int, reduction: str,
              label_smoothing: float = 0.0) -> Tensor:
    """PyTorch's nll_loss (and cross_entropy's label smoothing) on rows (M, C), labels (M,)."""
    b = log_probs._backend
    classes = log_probs.shape[1]
    valid = Tensor._wrap(b.ne(labels.data, ignore_index), b)
    safe = Tensor._wrap(b.where(valid.data, labels.data, 0), b)
    row_weight = valid.to(dtype=log_probs.dtype)
    if weight is not None:
        row_weight = row_weight * weight[safe]
    nll = -_picked(log_probs, safe) * row_weight
    smooth = None
    if label_smoothing:
        per_class = log_probs if weight is None else log_probs * weight
        smooth = -per_class.sum(dim=1) * valid.to(dtype=log_probs.dtype)
    if reduction == "none":
        loss = nll
        if smooth is not None:
            loss = (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)
        return loss
    total_weight = row_weight.sum()
    loss = nll.sum() / total_weight if reduction == "mean" else nll.sum()
    if smooth is not None:
        # PyTorch normalises the smoothing term by the same total weight under "mean".
        smooth_total = smooth.sum() / total_weight if reduction == "mean" else smooth.sum()
        loss = (1 - label_smoothing) * loss + smooth_total * (label_smoothing / classes)
    return loss


def _check_weight(weight, classes: int, name: str):
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != (classes,):
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{name}: weight must be a tensor of shape ({classes},), got {shape}")
    return weight


@float32_op
@in_float32
def nll_loss(log_probs: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer labels given log-probabilities, as ``F.nll_loss``.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...). ``weight``
    (C,) rescales each class; labels equal to ``ignore_index`` count for nothing, and "mean"
    divides by the total weight of the labels that count.
    """
    check_reduction("nll_loss", reduction)
    labels = as_labels(target, log_probs, "nll_loss")
    rows, labels, shape, _ = as_rows(log_probs, labels, "nll_loss")
    weight = _check_weight(weight, rows.shape[1], "nll_loss")
    check_label_range(labels, rows.shape[1], ignore_index, "nll_loss")
    loss = _nll_rows(rows, labels, weight, ignore_index, reduction)
    return loss.reshape(shape) if reduction == "none" else loss


@float32_op
@in_float32
def cross_entropy(logits: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, *,
                  check_labels: bool = True) -> Tensor:
    """Softmax cross-entropy, as ``F.cross_entropy``.

    Args:
        logits: (C,), (N, C) or (N, C, d1, ...) with classes on dim 1.
        target: integer labels of shape (), (N,) or (N, d1, ...), or class probabilities shaped
            like logits.
        weight: (C,) per-class rescaling. ignore_index: a label that contributes nothing.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.
    Without weight, smoothing or ignored labels this is one fused kernel pass. A label out of
    range raises ValueError on numpy/cpu (``check_labels=False`` skips that host read); on cuda
    it makes the loss NaN.
    Example:
        >>> import deeplite
        >>> logits = deeplite.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
        >>> labels = deeplite.tensor([0, -100])  # the second row is ignored
        >>> cross_entropy(logits, labels, label_smoothing=0.1).item()
        0.3913
    """
    check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if isinstance(target, Tensor) and dtypes.is_floating(target.dtype):
        return _soft_cross_entropy(logits, target, weight, reduction, label_smoothing)
    labels = as_labels(target, logits, "cross_entropy")
    rows, labels, shape, _ = as_rows(logits, labels, "cross_entropy")
    weight = _check_weight(weight, rows.shape[1], "cross_entropy")
    any_ignored = check_labels and check_label_range(labels, rows.shape[1], ignore_index,
                                                     "cross_entropy")
    if weight is None and not label_smoothing and not any_ignored:
        loss = SoftmaxCE.apply(rows, labels, reduction=reduction)
    else:
        loss = _nll_rows(log_softmax(rows, dim=1), labels, weight, ignore_index, reduction,
                         label_smoothing)
    return loss.reshape(shape) if reduction == "none" else loss


def _soft_cross_entropy(logits: Tensor, target: Tensor, weight, reduction: str,
                        label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c t_c log p_c per sample."""
    if target.shape != logits.shape:
        raise ShapeError(f"cross_entropy: probability targets of shape {target.shape} for logits "
                         f"of shape {logits.shape}")
    dim = 0 if logits.ndim == 1 else 1
    classes = logits.shape[dim]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    log_probs = log_softmax(logits, dim=dim)
    if weight is not None:
        weight = _check_weight(weight, classes, "cross_entropy")
        shape = [1] * logits.ndim
        shape[dim] = classes
        log_probs = log_probs * weight.reshape(shape)
    return reduce_loss(-(target * log_probs).sum(dim=dim), reduction)


@float32_op
@in_float32
def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """The multi-class SVM hinge (Weston & Watkins; Crammer & Singer use the max), as
    ``F.multi_margin_loss``: per sample, sum over j != y of max(0, margin - x_y + x_j)^p / C.

    Shapes: input (N, C) or (C,); target (N,) or (). ``p`` is 1 or 2; ``weight`` (C,) scales each
    sample's loss by the weight of its label.
    """
    check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    labels = as_labels(target, input, "multi_margin_loss")
    rows, labels, shape, _ = as_rows(input, labels, "multi_margin_loss")
    if rows.ndim != 2 or len(shape) > 1:
        raise ShapeError(f"multi_margin_loss: input must be (N, C) or (C,), got {input.shape}")
    classes = rows.shape[1]
    weight = _check_weight(weight, classes, "multi_margin_loss")
    check_label_range(labels, classes, -(2 ** 62), "multi_margin_loss")
    true_score = _picked(rows, labels).reshape(-1, 1)
    hinge = clip(margin - true_score + rows, min=0.0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[labels].reshape(-1, 1)
    b = rows._backend
    others = b.ne(b.reshape(b.arange(0, classes, 1, labels.dtype), (1, -1)),
                  b.reshape(labels.data, (-1, 1)))
    loss = where(Tensor._wrap(others, b), hinge, 0.0).sum(dim=1) / classes
    return reduce_loss(loss.reshape(shape), reduction)


