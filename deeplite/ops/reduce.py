"""Reductions over an axis (None, an int or a tuple), with NumPy's ``keepdims``."""
import builtins

from .. import dtypes
from .autocast import float32_op
from ..autograd import Function
from ..tensor import Tensor
from .movement import broadcast_to


def _axes(axis, ndim: int, name: str = "reduce") -> tuple:
    """``axis`` as a sorted tuple of non-negative ints, checked against ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of bounds for a tensor with {ndim} dimensions")
    return tuple(sorted(a % builtins.max(ndim, 1) for a in axes))


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(grad: Tensor, shape: tuple, axes: tuple, keepdims: bool) -> Tensor:
    """Broadcast a reduced gradient back over ``shape``."""
    if not keepdims:
        grad = grad.reshape(_kept_shape(shape, axes))
    return broadcast_to(grad, shape)


class Sum(Function):
    name = "sum"
    saved_inputs = False

    def forward(self, b, x, axis, keepdims):
        self.axes, self.keepdims = _axes(axis, x.ndim, self.name), keepdims
        return b.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, gy):
        return _expand(gy, self.inputs[0].shape, self.axes, self.keepdims)


class Mean(Function):
    name = "mean"
    saved_inputs = False

    def forward(self, b, x, axis, keepdims):
        self.axes, self.keepdims = _axes(axis, x.ndim, self.name), keepdims
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        # float16 sums and divides in float32: float16(70000) is inf (backward scales likewise).
        wide = b.astype(x, "float32") if x.dtype == "float16" else x
        total = b.sum(wide, axis=axis, keepdims=keepdims)
        mean = b.div(total, wide.dtype.type(self.count))
        return b.astype(mean, x.dtype) if wide is not x else mean

    def backward(self, gy):
        wide = gy.float() if gy.dtype == "float16" else gy
        scaled = (wide / self.count).to(gy.dtype)
        return _expand(scaled, self.inputs[0].shape, self.axes, self.keepdims)


class _Extreme(Function):
    """max/min: the gradient goes to the extreme elements, split evenly among ties."""

    kernel = ""
    save_output = True

    def forward(self, b, x, axis, keepdims):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.axes, self.keepdims = _axes(axis, x.ndim, self.name), keepdims
        return getattr(b, self.kernel)(x, axis=axis, keepdims=keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        b = x._backend
        peak = b.reshape(self.output().data, _kept_shape(x.shape, self.axes))  # no second reduction
        hits = b.astype(b.eq(x.data, peak), gy.dtype)
        share = b.div(hits, b.sum(hits, axis=self.axes, keepdims=True))
        return _expand(gy, x.shape, self.axes, self.keepdims) * Tensor._wrap(share, b)


class Max(_Extreme):
    name, kernel = "max", "max"


class Min(_Extreme):
    name, kernel = "min", "min"


class ArgMax(Function):
    name = "argmax"
    differentiable = False

    def forward(self, b, x, axis):
        return b.argmax(x, axis)


@float32_op
def sum(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Sum over ``axis`` (all elements by default). PyTorch's ``dim``/``keepdim`` work too."""
    axis, keepdims = _pytorch_names(axis, keepdims, dim, keepdim)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


@float32_op
def mean(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Mean over ``axis`` (all elements by default)."""
    axis, keepdims = _pytorch_names(axis, keepdims, dim, keepdim)
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"mean: needs a floating-point tensor, got {x.dtype}; call .float() first")
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Largest value over ``axis``; ties share the gradient."""
    axis, keepdims = _pytorch_names(axis, keepdims, dim, keepdim)
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Smallest value over ``axis``; ties share the gradient."""
    axis, keepdims = _pytorch_names(axis, keepdims, dim, keepdim)
    return Min.apply(x, axis=axis, keepdims=keepdims)


def argmax(x: Tensor, axis=None) -> Tensor:
    """Index of the largest value (of the flattened tensor when ``axis`` is None)."""
    return ArgMax.apply(x, axis=axis)


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis`` with Bessel's ``correction`` (1 by default, as PyTorch)."""
    count = 1
    for a in _axes(axis, x.ndim):
        count *= x.shape[a]
    centered = x - mean(x, axis=axis, keepdims=True)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / builtins.max(count - correction, 1)


def std(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Standard deviation over ``axis``."""
    return var(x, axis, keepdims, correction).sqrt()


def _pytorch_names(axis, keepdims, dim, keepdim) -> tuple:
    return (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
