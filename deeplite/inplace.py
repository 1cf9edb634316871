"""In-place writes (``+=``, ``add_``, ``copy_``, ``fill_``, ``x[i] = v``) with PyTorch's rules.

Without a graph to keep (grad mode off, or nothing involved requires grad) the new values are
written into the storage and its version counter ticks, so any node that saved the old values
raises at backward time instead of computing a wrong gradient.

With a graph (a non-leaf, or a value that requires grad), the write is *rebased* as in PyTorch:
the tensor keeps its identity and storage, takes the new node as its ``grad_fn``, and a snapshot
of its earlier value (with the earlier node) stands in for it in the nodes recorded before the
write. Leaves that require grad stay read-only in grad mode, as in PyTorch.
"""
import weakref

from .autograd import Function, bump_version, mark_rebased
from .grad_mode import _mode, no_grad
from .ops.movement import GetItem, index_steps, unbroadcast
from .ops.scalars import lift
from .tensor import Tensor


class Overwrite(Function):
    """The source broadcast over the target's shape and cast to its dtype (copy_ / fill_)."""

    name = "copy_"
    saved_inputs = False

    def forward(self, b, before, source):
        return b.astype(b.broadcast_to(source, before.shape), before.dtype).copy()

    def backward(self, gy):
        source = self.inputs[1]
        return None, unbroadcast(gy.to(dtype=source.dtype), source.shape)


class SetItem(Function):
    """A copy of ``before`` with ``value`` written at ``index`` (``x[index] = value``)."""

    name = "setitem"
    saved_inputs = False

    def forward(self, b, before, value, steps):
        self.steps = steps
        out = b.copy(before)
        write_items(out, steps, value)
        return out

    def backward(self, gy):
        before, value = self.inputs
        zero = Tensor._wrap(gy._backend.full((), 0, gy.dtype), gy._backend)
        grad_before = SetItem.apply(gy, zero, steps=self.steps) if before.requires_grad else None
        grad_value = None
        if value.requires_grad:
            picked = gy
            for step in self.steps:
                picked = GetItem.apply(picked, index=step)
            grad_value = unbroadcast(picked, value.shape).to(dtype=value.dtype)
        return grad_before, grad_value


def write_items(array, steps, values) -> None:
    """``array[index] = values`` for an index in (one or two) steps (``index_steps``): every step
    but the last is basic indexing, a view, so the write lands in ``array``."""
    for step in steps[:-1]:
        array = array[step]
    array[steps[-1]] = values


def update(target: Tensor, op: str, function, other) -> Tensor:
    """``target = function(target, other)`` in place (``+=`` and friends)."""
    if not _needs_graph(target, other):
        with no_grad():
            _store(target, function(target, other), op)
        return target
    return _rebase(target, op, lambda before: function(before, other))


def overwrite(target: Tensor, op: str, source) -> Tensor:
    """Write ``source`` (a tensor or a number, broadcast) over all of ``target``."""
    if not isinstance(source, Tensor):
        source = lift(source, target)
    elif source._backend is not target._backend:
        raise ValueError(f"{op}: source on {source.device}, target on {target.device}; "
                         f"call .to({target.device!r}) on the source first")
    if not _needs_graph(target, source):
        # Straight into the storage: no full-size copy first (fill_ and copy_ under no_grad are
        # how weights get initialised and loaded).
        backend = target._backend
        backend.copyto(target.data, backend.astype(source.data, target.dtype))
        bump_version(target)
        return target
    return _rebase(target, op, lambda before: Overwrite.apply(before, source))


def set_items(target: Tensor, index, value) -> None:
    """``target[index] = value``."""
    steps = index_steps(index, target._backend, target.shape)
    if isinstance(value, Tensor):
        if value._backend is not target._backend:
            raise ValueError(f"__setitem__: value on {value.device}, tensor on {target.device}; "
                             f"call .to({target.device!r}) on the value first")
    else:
        value = Tensor._wrap(target._backend.asarray(value, target.dtype), target._backend)
    if not _needs_graph(target, value):
        write_items(target.data, steps, value.data)
        bump_version(target)
        return
    _rebase(target, "__setitem__", lambda before: SetItem.apply(before, value, steps=steps))


def _needs_graph(target: Tensor, other) -> bool:
    return _mode.enabled and (target.requires_grad
                              or (isinstance(other, Tensor) and other.requires_grad))


def _store(target: Tensor, result: Tensor, op: str) -> None:
    """Copy ``result`` into ``target``'s storage, refusing what PyTorch refuses."""
    if result.shape != target.shape:
        raise ValueError(f"{op}: output with shape {target.shape} doesn't match the broadcast "
                         f"shape {result.shape}")
    if not target._backend.xp.can_cast(result.dtype, target.dtype, "same_kind"):
        raise TypeError(f"{op}: result type {result.dtype} can't be cast to the desired output "
                        f"type {target.dtype}; convert the tensor first, e.g. "
                        f"x = x.to({str(result.dtype)!r})")
    target._backend.copyto(target.data, result.data)
    bump_version(target)


def _rebase(target: Tensor, op: str, compute) -> Tensor:
    """Write ``compute(snapshot)`` into ``target`` and make the new node its history."""
    if target._node is None and target.requires_grad:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place "
                           f"while grad mode is on; wrap the update in `with deeplite.no_grad():`")
    counter = getattr(target, "_version_counter", None)
    if counter is not None and counter.viewed:
        raise RuntimeError(f"{op}: this tensor shares memory with a view (slicing, reshape, "
                           f"transpose), and in-place changes of views are not tracked in grad "
                           f"mode; use the out-of-place op, or .clone() first")
    before = Tensor._wrap(target._backend.copy(target.data), target._backend,
                          target.requires_grad)
    before._node = target._node  # its node keeps reading ``target``: a saved output raises
    result = compute(before)
    _store(target, result, op)
    target._node, target.requires_grad = result._node, result.requires_grad
    _point_output(result._node, target)
    target._history = getattr(target, "_history", ()) + ((mark_rebased(), before),)
    return target


def _point_output(node, tensor: Tensor) -> None:
    """Make a node that reads its output find it in ``tensor`` (which now holds that output)."""
    if node is not None and node.save_output:
        node._output = weakref.ref(tensor)
