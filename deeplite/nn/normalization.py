"""Normalisation layers as in PyTorch: LayerNorm, RMSNorm, BatchNorm1d.

All three are composed from differentiable ops (mean, multiply, sqrt), so their gradients come
from the tape and pass ``deeplite.gradcheck``; BatchNorm1d keeps its running statistics as
buffers (``running_mean``, ``running_var``, ``num_batches_tracked``), so they move with ``.to()``
and are saved in the state dict.
"""
from typing import Optional

import numpy as np

from ..autograd import no_grad
from ..creation import ones, tensor, zeros
from ..ops import add, div, mean, mul, reshape, sqrt, sub
from ..tensor import Tensor
from .module import Module, Parameter


def _shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(size) for size in normalized_shape)


def _moments(x: Tensor, axes: tuple) -> tuple:
    """(mean, x - mean, the biased variance) over ``axes``, keeping the reduced axes."""
    average = mean(x, axis=axes, keepdims=True)
    centered = sub(x, average)
    return average, centered, mean(mul(centered, centered), axis=axes, keepdims=True)


def _scaled(out: Tensor, weight, bias) -> Tensor:
    """``out * weight + bias``, each factor only when present."""
    if weight is not None:
        out = mul(out, weight)
    return out if bias is None else add(out, bias)


def _check_trailing(name: str, x: Tensor, shape: tuple) -> tuple:
    """The axes ``shape`` covers at the end of ``x``, after checking they match."""
    if x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(f"{name}: expected an input whose last dimensions are {shape}, got shape "
                         f"{x.shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


class LayerNorm(Module):
    """Normalise over the last dimensions: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    The mean and the (biased) variance are taken over the trailing ``normalized_shape``
    dimensions of each sample, as PyTorch's LayerNorm.

    Args:
        normalized_shape: an int or the tuple of trailing dimensions to normalise over.
        eps: added to the variance for stability (1e-5).
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape``.
        bias: learn the bias (only when ``elementwise_affine``).
    Shapes:
        x (..., *normalized_shape) -> same shape.
    Example:
        >>> import deeplite
        >>> norm = deeplite.nn.LayerNorm(4)
        >>> y = norm(deeplite.tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 4.0, 4.0]]))
        >>> y.shape
        (2, 4)
        >>> [round(v, 4) for v in y[0].tolist()]  # mean 0, variance 1 over the last dimension
        [-1.3416, -0.4472, 0.4472, 1.3416]
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape, device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        """Normalised ``x`` of the same shape."""
        axes = _check_trailing("LayerNorm", x, self.normalized_shape)
        _, centered, variance = _moments(x, axes)
        return _scaled(div(centered, sqrt(add(variance, self.eps))), self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalisation: ``x / sqrt(mean(x^2) + eps) * weight``, as PyTorch's.

    Args:
        normalized_shape: an int or the tuple of trailing dimensions to normalise over.
        eps: added to the mean square; None (default) uses the machine epsilon of x's dtype.
        elementwise_affine: learn ``weight`` (ones).
    Example:
        >>> import deeplite
        >>> y = deeplite.nn.RMSNorm(2)(deeplite.tensor([[3.0, 4.0], [1.0, 1.0]]))
        >>> y.shape
        (2, 2)
        >>> [round(v, 4) for v in y[0].tolist()]  # divided by sqrt((9 + 16) / 2)
        [0.8485, 1.1314]
    """

    def __init__(self, normalized_shape, eps: Optional[float] = None,
                 elementwise_affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype)) \
            if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        """Normalised ``x`` of the same shape."""
        axes = _check_trailing("RMSNorm", x, self.normalized_shape)
        eps = float(np.finfo(x.dtype).eps) if self.eps is None else self.eps
        out = div(x, sqrt(add(mean(mul(x, x), axis=axes, keepdims=True), eps)))
        return _scaled(out, self.weight, None)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) inputs, as PyTorch's BatchNorm1d.

    In training mode each channel is normalised by the batch's mean and biased variance, and the
    running statistics are updated: ``running = (1 - momentum) * running + momentum * batch``
    (the unbiased batch variance goes into ``running_var``; ``momentum=None`` gives a cumulative
    average). In eval mode the running statistics are used. With ``track_running_stats=False``
    there are no running statistics and batch statistics are used in both modes.

    Args:
        num_features: C. eps: 1e-5. momentum: 0.1 (or None). affine: learn weight (ones) and bias
        (zeros). track_running_stats: True. bias: with ``affine``, learn the bias too (True).
    Buffers:
        running_mean (C,) zeros, running_var (C,) ones, num_batches_tracked () int64.
    Example:
        >>> import deeplite
        >>> norm = deeplite.nn.BatchNorm1d(2)
        >>> y = norm(deeplite.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> y.shape
        (2, 2)
        >>> [[round(v, 3) for v in row] for row in y.tolist()]  # each column normalised
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> [round(v, 4) for v in norm.running_mean.tolist()]  # 0.9 * 0 + 0.1 * batch mean
        [0.2, 2.0]
    """

    running_mean: Optional[Tensor]
    running_var: Optional[Tensor]
    num_batches_tracked: Optional[Tensor]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        count = self.num_features
        self.weight = Parameter(ones(count, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(count, device=device, dtype=dtype)) if affine and bias \
            else None
        tracked = track_running_stats
        self.register_buffer("running_mean",
                             zeros(count, device=device, dtype=dtype) if tracked else None)
        self.register_buffer("running_var",
                             ones(count, device=device, dtype=dtype) if tracked else None)
        self.register_buffer("num_batches_tracked",
                             tensor(0, dtype="int64", device=device) if tracked else None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch count 0."""
        if self.running_mean is not None and self.running_var is not None and \
                self.num_batches_tracked is not None:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def forward(self, x: Tensor) -> Tensor:
        """Normalised ``x`` of the same shape."""
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)  # per-channel values broadcast over x
        if self.training or self.running_mean is None or self.running_var is None:
            count = x.numel() // self.num_features
            if count <= 1:
                raise ValueError(f"BatchNorm1d: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            batch_mean, centered, batch_var = _moments(x, axes)
            if self.training and self.track_running_stats:
                self._update_running(batch_mean, batch_var, count)
            out = div(centered, sqrt(add(batch_var, self.eps)))
        else:
            out = div(sub(x, reshape(self.running_mean, shape)),
                      sqrt(add(reshape(self.running_var, shape), self.eps)))
        weight = None if self.weight is None else reshape(self.weight, shape)
        return _scaled(out, weight, None if self.bias is None else reshape(self.bias, shape))

    def _update_running(self, batch_mean: Tensor, batch_var: Tensor, count: int) -> None:
        """Fold one batch's statistics into the running ones (PyTorch's update, in place)."""
        tracked, running_mean, running_var = (self.num_batches_tracked, self.running_mean,
                                              self.running_var)
        if tracked is None or running_mean is None or running_var is None:
            return
        with no_grad():
            tracked.copy_(add(tracked, 1))
            factor = 1.0 / int(tracked.item()) if self.momentum is None else self.momentum
            means = reshape(batch_mean.detach(), -1)
            unbiased = mul(reshape(batch_var.detach(), -1), count / (count - 1))
            new_mean = add(mul(running_mean, 1 - factor), mul(means, factor))
            new_var = add(mul(running_var, 1 - factor), mul(unbiased, factor))
            running_mean.copy_(new_mean.to(dtype=running_mean.dtype))
            running_var.copy_(new_var.to(dtype=running_var.dtype))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")
