"""Moving elements without arithmetic: reshape, transpose, broadcast, indexing, joins, casts."""
from .. import backends, versions
from ..autograd import Function
from ..tensor import Tensor


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
            raise ValueError(f"reshape: shape {x.shape} ({x.size} elements) cannot be reshaped "
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
            raise ValueError(f"concatenate: shapes {shapes} do not match outside the joined axis "
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
            raise ValueError(f"stack: shapes {shapes} must all be the same ({error})") from None

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
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return Reshape.apply(x, shape=tuple(shape))


def transpose(x: Tensor, *axes) -> Tensor:
    """Permute dimensions: ``transpose(x)`` reverses them, ``transpose(x, 0, 1)`` swaps two (as
    PyTorch), and a full permutation ``transpose(x, 2, 0, 1)`` reorders them (as NumPy)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        axes = tuple(reversed(range(x.ndim)))
    elif len(axes) == 2 and x.ndim != 2:
        first, second = (axis % x.ndim for axis in axes)
        order = list(range(x.ndim))
        order[first], order[second] = second, first
        axes = tuple(order)
    if len(axes) != x.ndim:
        raise ValueError(f"transpose: axes {axes} do not fit a tensor of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(axes))


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder all dimensions (as ``torch.permute``)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims for a tensor of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(dims))


def broadcast_to(x: Tensor, shape) -> Tensor:
    """``x`` repeated (without copying) to ``shape`` by NumPy's broadcasting rules."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def raw_index(index, backend):
    """A user's index as the backend indexes with it: tensors as arrays, boolean masks as their
    integer coordinates, lists as arrays (shared by getitem and Tensor.__setitem__)."""
    index = _raw_parts(index, backend)
    if isinstance(index, _MaskCoords):
        return tuple(index)
    if isinstance(index, list):
        return backend.asarray(index)
    return index


def _raw_parts(index, backend):
    if isinstance(index, tuple):
        parts = []
        for item in index:
            item = _raw_parts(item, backend)
            parts.extend(item if isinstance(item, _MaskCoords) else (item,))
        return tuple(parts)
    if isinstance(index, Tensor):
        if index._backend is not backend:  # devices never mix, indices included
            raise ValueError(f"getitem: index tensor on {index.device}, indexed tensor on "
                             f"{backend.name}; call .to({backend.name!r}) on the index")
        if index.dtype.kind == "b":
            return _MaskCoords(index.data.nonzero())
        if index.dtype.kind not in "iu":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, "
                             f"got {index.dtype}")
        return index.data
    return index


class _MaskCoords(tuple):
    """The coordinates of a boolean mask, spliced into the surrounding index tuple."""


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: ints, slices, None, Ellipsis, integer arrays/tensors (gather), bool masks."""
    return GetItem.apply(x, index=raw_index(index, x._backend))


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    return Stack.apply(*tensors, axis=axis)
