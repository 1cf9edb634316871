"""Reductions over dims: sum, mean, amax/amin, max/min (values and indices with a dim), argmax.

Every reduction takes PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` (either
spelling; both at once is an error). ``dim`` is None (all dims), an int or a tuple; a 0-d tensor
takes dim 0 or -1, as in PyTorch. A dim out of range raises ``deeplite.errors.DimError`` (an
IndexError, as PyTorch's, and a ValueError).
"""
from .. import dtypes, return_types
from ..autograd import Function
from ..errors import normalize_dim
from ..tensor import Tensor
from .autocast import float32_op
from .movement import broadcast_to


def dims_of(dim, ndim: int, name: str = "reduce") -> tuple:
    """``dim`` (None, an int or a sequence) as a sorted tuple of distinct non-negative dims.

    A 0-d tensor reduces over no dims at all, whichever of 0 / -1 was asked for.
    """
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    normalized = tuple(sorted({normalize_dim(d, ndim, name) for d in dims}))
    if len(normalized) != len(dims):
        raise ValueError(f"{name}: dim {tuple(dims)} names a dimension twice")
    return normalized if ndim else ()


def pick_names(name: str, axis, keepdims, dim, keepdim) -> tuple:
    """PyTorch's (dim, keepdim) or NumPy's (axis, keepdims), whichever the caller spelled."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and axis={axis!r}; pass one")
    if keepdim is not None and keepdims is not None:
        raise TypeError(f"{name}: got both keepdim and keepdims; pass one")
    return (axis if dim is None else dim), bool(keepdims if keepdim is None else keepdim)


def kept_shape(shape: tuple, dims: tuple) -> tuple:
    """The shape a reduction over ``dims`` has with keepdim=True."""
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def expand_reduced(grad: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over ``shape``."""
    if not keepdim:
        grad = grad.reshape(kept_shape(shape, dims))
    return broadcast_to(grad, shape)


class Sum(Function):
    name = "sum"
    saved_inputs = False

    def forward(self, b, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        # axis=None for every dim: the kernel call deeplite.jit lowers natively (an accuracy count).
        return b.sum(x, axis=None if len(dims) == x.ndim else dims, keepdims=keepdim)

    def backward(self, gy):
        return expand_reduced(gy, self.inputs[0].shape, self.dims, self.keepdim)


class Mean(Function):
    name = "mean"
    saved_inputs = False

    def forward(self, b, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        self.count = 1
        for d in dims:
            self.count *= x.shape[d]
        # float16 sums and divides in float32: float16(70000) is inf (backward scales likewise).
        wide = b.astype(x, "float32") if x.dtype == "float16" else x
        total = b.sum(wide, axis=dims, keepdims=keepdim)
        mean = b.div(total, wide.dtype.type(self.count))
        return b.astype(mean, x.dtype) if wide is not x else mean

    def backward(self, gy):
        wide = gy.float() if gy.dtype == "float16" else gy
        scaled = (wide / self.count).to(gy.dtype)
        return expand_reduced(scaled, self.inputs[0].shape, self.dims, self.keepdim)


class _Extreme(Function):
    """amax/amin: the gradient goes to the extreme elements, split evenly among ties, as PyTorch."""

    kernel = ""
    save_output = True

    def forward(self, b, x, dims, keepdim):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.dims, self.keepdim = dims, keepdim
        return getattr(b, self.kernel)(x, axis=dims, keepdims=keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        b = x._backend
        peak = b.reshape(self.output().data, kept_shape(x.shape, self.dims))  # no second reduction
        hits = b.astype(b.eq(x.data, peak), gy.dtype)
        share = b.div(hits, b.sum(hits, axis=self.dims, keepdims=True))
        return expand_reduced(gy, x.shape, self.dims, self.keepdim) * Tensor._wrap(share, b)


class AMax(_Extreme):
    name, kernel = "amax", "max"


class AMin(_Extreme):
    name, kernel = "amin", "min"


class ArgExtreme(Function):
    """Index of the first largest (argmax) or smallest (argmin) element along one dim."""

    name = "argmax"  # each instance names itself argmax or argmin
    differentiable = False

    def forward(self, b, x, dim, keepdim, largest):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.name = "argmax" if largest else "argmin"
        if largest:
            out = b.argmax(x, dim)
        else:
            out = b.xp.argmin(x, axis=dim)  # argmin is the array library's (NumPy, CuPy)
        if keepdim:
            shape = (1,) * x.ndim if dim is None else kept_shape(x.shape, (dim,))
            out = b.reshape(out, shape)
        return out if out.dtype == b.xp.int64 else b.astype(out, b.xp.int64)


@float32_op
def sum(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None,
        dtype=None) -> Tensor:
    """Sum over ``dim`` (all elements by default), as ``torch.sum``.

    Integer and bool tensors sum to int64, as in PyTorch; ``dtype`` casts the input first.
    Example:
        >>> import deeplite
        >>> deeplite.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0).tolist()
        [4.0, 6.0]
    """
    dim, keepdim = pick_names("sum", axis, keepdims, dim, keepdim)
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind == "u":  # NumPy sums bool and signed ints to int64 already, unsigned not
        x = x.to(dtype="int64")
    return Sum.apply(x, dims=dims_of(dim, x.ndim, "sum"), keepdim=keepdim)


@float32_op
def mean(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None,
         dtype=None) -> Tensor:
    """Mean over ``dim`` (all elements by default), as ``torch.mean``; needs a float tensor."""
    dim, keepdim = pick_names("mean", axis, keepdims, dim, keepdim)
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"mean: needs a floating-point tensor, got {x.dtype}; call .float() first")
    return Mean.apply(x, dims=dims_of(dim, x.ndim, "mean"), keepdim=keepdim)


def amax(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Largest value over ``dim`` (an int, a tuple, or all), values only (as ``torch.amax``).

    Ties share the gradient evenly.
    """
    dim, keepdim = pick_names("amax", axis, keepdims, dim, keepdim)
    return AMax.apply(x, dims=dims_of(dim, x.ndim, "amax"), keepdim=keepdim)


def amin(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Smallest value over ``dim``, values only (as ``torch.amin``); ties share the gradient."""
    dim, keepdim = pick_names("amin", axis, keepdims, dim, keepdim)
    return AMin.apply(x, dims=dims_of(dim, x.ndim, "amin"), keepdim=keepdim)


def _values_and_indices(x: Tensor, dim, keepdim: bool, largest: bool, kind):
    """(values, indices) of the extreme along one dim; the gradient goes to the indexed element."""
    from .indexing import take_along_dim  # indexing builds on movement, as this module does

    name = kind.__name__
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: with dim, it reduces one dim and returns (values, indices); "
                        f"for several dims use amax/amin")
    dim = normalize_dim(dim, x.ndim, name)
    if x.ndim == 0:
        zero = Tensor._wrap(x._backend.full((), 0, x._backend.xp.int64), x._backend)
        return kind(x, zero)
    indices = ArgExtreme.apply(x, dim=dim, keepdim=True, largest=largest)
    values = take_along_dim(x, indices, dim)
    if not keepdim:
        squeezed = tuple(n for d, n in enumerate(x.shape) if d != dim)
        values, indices = values.reshape(squeezed), indices.reshape(squeezed)
    return kind(values, indices)


def max(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None):
    """As ``torch.max``: the largest value of all elements, or with ``dim`` a named tuple
    ``(values, indices)`` along that dim, or ``max(a, b)`` elementwise for a tensor ``b``.

    Example:
        >>> import deeplite
        >>> values, indices = deeplite.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
        >>> values.tolist(), indices.tolist()
        ([5.0, 7.0], [1, 0])
    """
    return _extreme(x, dim, keepdim, axis, keepdims, True)


def min(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None):
    """As ``torch.min``: the smallest value, ``(values, indices)`` along ``dim``, or elementwise
    ``min(a, b)``."""
    return _extreme(x, dim, keepdim, axis, keepdims, False)


def _extreme(x: Tensor, dim, keepdim, axis, keepdims, largest: bool):
    """torch.max / torch.min's three forms."""
    if isinstance(dim, Tensor):
        from .arithmetic import maximum, minimum  # arithmetic does not import reductions

        return (maximum if largest else minimum)(x, dim)
    kind = return_types.max if largest else return_types.min
    dim, keepdim = pick_names(kind.__name__, axis, keepdims, dim, keepdim)
    if dim is None:
        return (AMax if largest else AMin).apply(x, dims=dims_of(None, x.ndim), keepdim=keepdim)
    return _values_and_indices(x, dim, keepdim, largest, kind)


def _arg(x: Tensor, dim, keepdim, largest: bool) -> Tensor:
    name = "argmax" if largest else "argmin"
    if dim is not None:
        dim = normalize_dim(dim, x.ndim, name)
        if x.ndim == 0:
            dim = None
    return ArgExtreme.apply(x, dim=dim, keepdim=keepdim, largest=largest)


def argmax(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Index of the first largest value along ``dim`` (of the flattened tensor when None)."""
    dim, keepdim = pick_names("argmax", axis, keepdims, dim, keepdim)
    return _arg(x, dim, keepdim, True)


def argmin(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Index of the first smallest value along ``dim`` (of the flattened tensor when None)."""
    dim, keepdim = pick_names("argmin", axis, keepdims, dim, keepdim)
    return _arg(x, dim, keepdim, False)



from .statistics import std, var  # noqa: E402,F401  (until ops/__init__ imports statistics)
