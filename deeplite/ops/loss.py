"""Fused losses: one kernel pass gives the loss and d(loss)/d(logits); the backward is a Function
whose forward reuses that gradient and whose backward is composed, so Hessian-vector products work.
"""
import numpy as np

from ..autograd import Function
from ..backends.contract import REDUCTIONS, reduction_scale
from ..tensor import Tensor
from .activation import Act
from .arithmetic import log, maximum
from .movement import unbroadcast


def check_reduction(name: str, reduction: str) -> None:
    """Raise a ValueError naming the loss when ``reduction`` is not one of PyTorch's."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {', '.join(REDUCTIONS)}, "
                         f"got {reduction!r}")


class SigmoidBCE(Function):
    """Binary cross-entropy on logits, through the fused ``sigmoid_bce`` kernel."""

    name = "binary_cross_entropy_with_logits"

    def forward(self, b, z, y, reduction):
        self.reduction = reduction
        loss, self.dz = b.sigmoid_bce(z, y, reduction)
        return loss

    def backward(self, g):
        z, y = self.inputs
        grad_z = SigmoidBCEGrad.apply(z, y, g, dz=self.dz, reduction=self.reduction) \
            if z.requires_grad else None
        # d loss / d y = -z (the loss is linear in the target)
        scale = reduction_scale(self.name, self.reduction, z.numel())
        grad_y = -z * g * scale if y.requires_grad else None
        return grad_z, grad_y


class SigmoidBCEGrad(Function):
    """g * (sigmoid(z) - y) * scale: forward reuses the fused kernel's gradient."""

    name = "binary_cross_entropy_with_logits_backward"

    def forward(self, b, z, y, g, dz, reduction):
        self.reduction = reduction
        return b.mul(dz, g)

    def backward(self, upstream):
        z, y, g = self.inputs
        scale = reduction_scale(self.name, self.reduction, z.numel())
        p = Act.apply(z, act="sigmoid", slope=0.0)
        weighted = upstream * scale
        grad_z = weighted * g * p * (1 - p) if z.requires_grad else None
        grad_y = -weighted * g if y.requires_grad else None
        grad_g = unbroadcast(weighted * (p - y), g.shape) if g.requires_grad else None
        return grad_z, grad_y, grad_g


class SoftmaxCE(Function):
    """Cross-entropy of integer labels under softmax(z), through the fused ``softmax_ce`` kernel."""

    name = "cross_entropy"

    def forward(self, b, z, labels, reduction):
        self.reduction = reduction
        loss, self.dz = b.softmax_ce(z, labels, reduction)
        return loss

    def backward(self, g):
        z, labels = self.inputs
        return SoftmaxCEGrad.apply(z, g, labels, dz=self.dz, reduction=self.reduction), None


class SoftmaxCEGrad(Function):
    """g * (softmax(z) - onehot) * scale, per row: forward reuses the fused kernel's gradient."""

    name = "cross_entropy_backward"

    def forward(self, b, z, g, labels, dz, reduction):
        self.reduction = reduction
        return b.mul(dz, g if reduction != "none" else b.reshape(g, (-1, 1)))

    def backward(self, upstream):
        z, g, labels = self.inputs
        scale = reduction_scale(self.name, self.reduction, z.shape[0])
        per_row = g if self.reduction != "none" else g.reshape(-1, 1)
        p = z.softmax(axis=1)
        grad_z = None
        if z.requires_grad:
            h = upstream * per_row * scale
            grad_z = p * (h - (h * p).sum(axis=1, keepdims=True))
        grad_g = None
        if g.requires_grad:
            b = z._backend
            rows = b.arange(0, z.shape[0], 1, labels.dtype)
            onehot = b.index_add(z.shape, (rows, labels.data), b.full((z.shape[0],), 1, z.dtype))
            contribution = upstream * (p - Tensor._wrap(onehot, b)) * scale
            grad_g = contribution.sum(axis=1) if self.reduction == "none" else contribution.sum()
        return grad_z, grad_g, None


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)) per element, logs clamped at -100 as in PyTorch."""

    name = "binary_cross_entropy"

    def forward(self, b, p, t):
        log_p, log_q = _clamped_log(b, p), _clamped_log(b, b.sub(p.dtype.type(1), p))
        return b.neg(b.add(b.mul(t, log_p), b.mul(b.sub(p.dtype.type(1), t), log_q)))

    def backward(self, g):
        p, t = self.inputs
        # PyTorch's gradient: (p - t) / max(p (1 - p), 1e-12), finite even at p = 0 or 1.
        grad_p = g * (p - t) / maximum(p * (1 - p), 1e-12) if p.requires_grad else None
        grad_t = None
        if t.requires_grad:
            grad_t = g * (maximum(log(1 - p), -100.0) - maximum(log(p), -100.0))
        return grad_p, grad_t


def _clamped_log(b, x):
    """max(log(x), -100) as PyTorch's BCE, without evaluating log(0) (no divide-by-zero warning)."""
    floor = x.dtype.type(-100)
    return b.maximum(b.log(b.maximum(x, x.dtype.type(np.exp(-100.0)))), floor)


def check_label_range(labels, classes: int) -> None:
    """Raise ValueError unless every label (a host array) is in [0, classes)."""
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise ValueError(f"cross_entropy: label {bad} is out of range for {classes} classes")
