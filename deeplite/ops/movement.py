"""Moving elements without arithmetic: reshape, transpose, broadcast, indexing, joins, casts."""
from .. import backends, versions
from ..autograd import Function
from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .index_rules import index_steps


def unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


class Reshape(Function):
    name = "reshape"
    saved_inputs = False
    view = True

    def forward(self, b, x, shape):
        try:
            return b.reshape(x, shape)
        except ValueError:
            raise ShapeError(f"reshape: shape {x.shape} ({x.size} elements) cannot be reshaped "
                             f"to {shape}") from None

    def backward(self, gy):
        return gy.reshape(self.inputs[0].shape)


class Transpose(Function):
    name = "transpose"
    saved_inputs = False
    view = True

    def forward(self, b, x, axes):
        self.axes = axes
        return b.transpose(x, axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return Transpose.apply(gy, axes=tuple(inverse))


class BroadcastTo(Function):
    name = "broadcast_to"
    saved_inputs = False
    view = True

    def forward(self, b, x, shape):
        return b.broadcast_to(x, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.inputs[0].shape)


class GetItem(Function):
    """x[index]; its gradient scatter-adds back, so repeated indices accumulate."""

    name = "getitem"
    saved_inputs = False
    view = True

    def forward(self, b, x, index):
        self.index = index
        return b.getitem(x, index)

    def backward(self, gy):
        return IndexAdd.apply(gy, shape=self.inputs[0].shape, index=self.index)


class IndexAdd(Function):
    """Zeros of ``shape`` with the input added at ``index``: the adjoint of GetItem."""

    name = "index_add"
    saved_inputs = False

    def forward(self, b, values, shape, index):
        self.index = index
        return b.index_add(shape, index, values)

    def backward(self, gy):
        return GetItem.apply(gy, index=self.index)


class Concatenate(Function):
    name = "concatenate"
    saved_inputs = False

    def forward(self, b, *arrays, axis):
        self.axis = axis
        try:
            return b.concatenate(arrays, axis)
        except ValueError as error:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"concatenate: shapes {shapes} do not match outside the joined axis "
                             f"{axis} ({error})") from None

    def backward(self, gy):
        grads, start = [], 0
        axis = self.axis % gy.ndim
        for x in self.inputs:
            stop = start + x.shape[axis]
            grads.append(gy[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return tuple(grads)


class Stack(Function):
    name = "stack"
    saved_inputs = False

    def forward(self, b, *arrays, axis):
        self.axis = axis
        try:
            return b.stack(arrays, axis)
        except ValueError as error:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: shapes {shapes} must all be the same ({error})") from None

    def backward(self, gy):
        axis = self.axis % gy.ndim
        return tuple(gy[(slice(None),) * axis + (i,)] for i in range(len(self.inputs)))


class Cast(Function):
    name = "cast"
    saved_inputs = False

    def forward(self, b, x, dtype):
        return b.astype(x, dtype)

    def backward(self, gy):
        return cast(gy, self.inputs[0].dtype)


class Clone(Function):
    """A copy in new memory that stays on the tape (``Tensor.clone``)."""

    name = "clone"

    def forward(self, b, x, row_major):
        return b.xp.ascontiguousarray(x) if row_major else b.copy(x)

    def backward(self, gy):
        return gy


def clone(x: Tensor) -> Tensor:
    """A copy of x in new memory; gradients flow back to x (as ``torch.clone``)."""
    return Clone.apply(x, row_major=False)


def contiguous(x: Tensor) -> Tensor:
    """x itself when its memory is row-major contiguous, else a row-major copy on the tape."""
    return x if x.data.flags.c_contiguous else Clone.apply(x, row_major=True)


class ToDevice(Function):
    """Move to another backend (differentiable: the gradient moves back)."""

    name = "to"
    saved_inputs = False
    special = True  # finish() puts the output on the target backend

    def forward(self, b, x, target):
        self.target = target
        # numpy and cpu share NumPy storage, so the array itself can cross between them.
        if b.host_storage and target.host_storage:
            return x
        return target.asarray(b.to_numpy(x))

    def finish(self, out, inputs):
        out._backend = self.target
        if out.data is inputs[0].data:
            versions.share(out, inputs[0])
        return out

    def backward(self, gy):
        return to_device(gy, self.inputs[0].device)


def to_device(x: Tensor, device: str) -> Tensor:
    """``x`` copied to ``device`` (differentiable: the gradient moves back)."""
    target = backends.get(device)
    if target is x._backend:
        return x
    return ToDevice.apply(x, target=target)


def cast(x: Tensor, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (differentiable between floating dtypes)."""
    return Cast.apply(x, dtype=dtype)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape; one dimension may be -1."""
    dims = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(x, shape=dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """``x`` with dimensions ``dim0`` and ``dim1`` swapped, for any number of dimensions (as
    ``torch.transpose``). For a full reordering use ``permute``."""
    ndim = x.ndim
    first, second = (normalize_dim(d, ndim, "transpose") for d in (dim0, dim1))
    if ndim < 2:
        return x  # PyTorch: transposing a 0-d or 1-d tensor returns it as is
    order = list(range(ndim))
    order[first], order[second] = second, first
    return Transpose.apply(x, axes=tuple(order))


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder all dimensions: ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))`` (as
    ``torch.permute``); each dim appears once, negative dims count from the end."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: {len(dims)} dims {tuple(dims)} for a tensor of shape "
                         f"{x.shape}; give each of its {x.ndim} dims once")
    axes = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"permute: dims {tuple(dims)} repeat a dimension")
    if x.ndim == 0:
        return x
    return Transpose.apply(x, axes=axes)


def reverse_dims(x: Tensor) -> Tensor:
    """All dimensions reversed: ``Tensor.T`` (the transpose of a matrix)."""
    if x.ndim < 2:
        return x
    return Transpose.apply(x, axes=tuple(reversed(range(x.ndim))))


def matrix_transpose(x: Tensor) -> Tensor:
    """The last two dimensions swapped: ``Tensor.mT`` (each matrix of a batch transposed)."""
    if x.ndim < 2:
        raise ShapeError(f"mT: needs a tensor with at least 2 dimensions, got shape {x.shape}")
    return transpose(x, -2, -1)


def broadcast_to(x: Tensor, shape) -> Tensor:
    """``x`` repeated (without copying) to ``shape`` by NumPy's broadcasting rules."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: ints, slices, None, Ellipsis, integer arrays/tensors (gather) and bool masks,
    placed as PyTorch places them (an int beside index tensors selects first)."""
    for step in index_steps(index, x._backend, x.shape):
        x = GetItem.apply(x, index=step)
    return x


def concatenate(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``dim`` or NumPy's ``axis``; 0 by default), as
    ``torch.cat``. The tensors must match outside that dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    dim = _join_dim(dim, axis, "cat")
    return Concatenate.apply(*tensors, axis=normalize_dim(dim, tensors[0].ndim, "cat"))


def stack(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim (``dim`` or ``axis``; 0 by default), as
    ``torch.stack``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    dim = _join_dim(dim, axis, "stack")
    return Stack.apply(*tensors, axis=normalize_dim(dim, tensors[0].ndim + 1, "stack"))


def _join_dim(dim, axis, name: str) -> int:
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and axis={axis!r}; pass one")
    if dim is not None:
        return dim
    return 0 if axis is None else axis
