"""F.pad for N-d tensors: constant, reflect, replicate and circular, and one_hot.

``pad`` lists (left, right) pairs starting from the last dim, as in PyTorch. Constant padding
joins constant blocks with concatenate (negative pads crop); the other modes gather along each
padded dim with an index array, so repeated source elements accumulate their gradients.
"""
import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from .movement import GetItem, concatenate

MODES = ("constant", "reflect", "replicate", "circular")


def _source_positions(size: int, left: int, right: int, mode: str) -> np.ndarray:
    """For each position of the padded dim, the position of x it copies."""
    positions = np.arange(-left, size + right)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    # reflect: mirror about the edges without repeating them (as PyTorch's ReflectionPad)
    period = 2 * (size - 1)
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= size, period - folded, folded)


def pad(x: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """x padded by ``pad`` = (last_left, last_right, second_last_left, ...), as ``F.pad``.

    Modes: "constant" (``value``, default 0; negative pads crop), "reflect" (mirror without the
    edge; each pad smaller than the dim), "replicate" (repeat the edge), "circular" (wrap around;
    each pad at most the dim). Works for any number of dims.
    Example:
        >>> import deeplite
        >>> images = deeplite.zeros(8, 3, 28, 28)
        >>> pad(images, (1, 1, 2, 2), mode="reflect").shape  # (N, C, H + 4, W + 2)
        (8, 3, 32, 30)
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {len(pad)} values for a tensor of shape {x.shape}; give an even "
                         f"number, two per padded dim, at most {2 * x.ndim}")
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode != "constant" and value:
        raise ValueError(f"pad: value is only used by mode='constant', not {mode!r}")
    for i in range(len(pad) // 2):
        dim = x.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        x = _pad_constant(x, dim, left, right, value or 0) if mode == "constant" else \
            _pad_gather(x, dim, left, right, mode)
    return x


def _pad_constant(x: Tensor, dim: int, left: int, right: int, value) -> Tensor:
    size = x.shape[dim]
    lead = (slice(None),) * dim
    if left < 0 or right < 0:  # negative padding crops, as in PyTorch
        x = x[lead + (slice(max(-left, 0), size - max(-right, 0)),)]
        left, right = max(left, 0), max(right, 0)
    b = x._backend
    parts = []
    for width in (left, None, right):
        if width is None:
            parts.append(x)
        elif width:
            shape = x.shape[:dim] + (width,) + x.shape[dim + 1:]
            parts.append(Tensor._wrap(b.full(shape, value, x.dtype), b))
    return concatenate(parts, dim) if len(parts) > 1 else x


def _pad_gather(x: Tensor, dim: int, left: int, right: int, mode: str) -> Tensor:
    size = x.shape[dim]
    limit = size - 1 if mode == "reflect" else size
    if mode != "replicate" and (max(left, right) > limit or min(left, right) < 0):
        raise ShapeError(f"pad: {mode} padding of ({left}, {right}) on dim {dim} of size {size}; "
                         f"each pad must be between 0 and {limit}")
    if mode == "replicate" and (size == 0 or min(left, right) < 0):
        raise ShapeError(f"pad: replicate padding needs a non-empty dim {dim} and pads >= 0")
    positions = _source_positions(size, left, right, mode)
    return GetItem.apply(x, index=(slice(None),) * dim + (x._backend.asarray(positions),))


class OneHot(Function):
    name = "one_hot"
    differentiable = False

    def forward(self, b, labels, classes):
        shape = (1,) * labels.ndim + (classes,)
        grid = b.reshape(b.arange(0, classes, 1, labels.dtype), shape)
        return b.astype(b.eq(b.reshape(labels, labels.shape + (1,)), grid), dtypes.int64)


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: shape (*labels.shape, num_classes), as ``F.one_hot``; with
    ``num_classes=-1``, one more than the largest label."""
    if not isinstance(labels, Tensor) or labels.dtype.kind not in "iu":
        raise TypeError("one_hot: labels must be an integer tensor (int64)")
    if num_classes == -1:
        num_classes = int(labels.data.max()) + 1 if labels.numel() else 0
    if labels.numel() and labels._backend.cheap_host_sync:
        low, high = int(labels.data.min()), int(labels.data.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"one_hot: label {low if low < 0 else high} is out of range for "
                             f"{num_classes} classes")
    return OneHot.apply(labels, classes=int(num_classes))
