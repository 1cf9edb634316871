"""Module hooks: forward pre-hooks, forward hooks and full backward hooks, as in PyTorch.

``Module.__call__`` only comes here when a module has a hook, so a model without hooks pays one
attribute check per call. The backward hook is built on the tape itself: the tensors that go into
the module and the ones that come out pass through a ``_Gate`` (an identity ``Function``) whose
backward sees their gradients together, so the hook gets every ``grad_input`` and ``grad_output``
at once and may replace ``grad_input``.
"""
import itertools
import weakref
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np

from ..autograd import Function
from ..ops import getitem, reshape
from ..tensor import Tensor

_ids = itertools.count()


class RemovableHandle:
    """What ``register_*_hook`` returns: ``handle.remove()`` unregisters the hook (also a context
    manager, removing it on exit)."""

    def __init__(self, table: OrderedDict, on_remove: Optional[Callable[[], None]] = None):
        self.id = next(_ids)
        self._table = weakref.ref(table)
        self._on_remove = on_remove

    def remove(self) -> None:
        """Unregister the hook; removing twice is harmless."""
        table = self._table()
        if table is not None and self.id in table:
            del table[self.id]
            if self._on_remove is not None:
                self._on_remove()

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


class ModuleHooks:
    """The hooks of one module, each table ordered as the hooks run: id -> (hook, options)."""

    def __init__(self):
        self.forward_pre = OrderedDict()
        self.forward = OrderedDict()
        self.backward = OrderedDict()

    def add(self, table: OrderedDict, hook, prepend: bool, on_remove: Callable[[], None],
            **options) -> RemovableHandle:
        """Register ``hook`` in ``table`` (first when ``prepend``) and return its handle, which
        calls ``on_remove`` after removing it."""
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(table, on_remove)
        table[handle.id] = (hook, options)
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def empty(self) -> bool:
        """True when no hook is registered (the module can skip this machinery)."""
        return not (self.forward_pre or self.forward or self.backward)


def call_with_hooks(module, args: tuple, kwargs: dict):
    """Run ``module.forward`` with its pre-hooks, forward hooks and backward hooks, as PyTorch."""
    hooks = module._hooks
    for hook, options in list(hooks.forward_pre.values()):
        if options["with_kwargs"]:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TypeError(f"forward pre-hook {hook!r} with with_kwargs=True must return "
                                    f"None or a tuple (args, kwargs), got {type(result).__name__}")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    record = None
    if hooks.backward:
        record = _BackwardRecord(module, args)
        args = record.gate_inputs(args)
    try:
        output = module.forward(*args, **kwargs)
    except Exception:
        for hook, options in list(hooks.forward.values()):
            if options["always_call"]:
                _call_forward_hook(hook, options, module, args, kwargs, None)
        raise
    for hook, options in list(hooks.forward.values()):
        result = _call_forward_hook(hook, options, module, args, kwargs, output)
        if result is not None:
            output = result
    if record is not None:
        output = record.gate_outputs(output)
    return output


def _call_forward_hook(hook, options, module, args, kwargs, output):
    if options["with_kwargs"]:
        return hook(module, args, kwargs, output)
    return hook(module, args, output)


class _Gate(Function):
    """Identity on one or more tensors (joined into one flat array when several), whose backward
    hands the gradients to ``on_grad`` and passes on what it returns."""

    name = "backward_hook"
    inputs: tuple  # set by Function.apply while the tape holds this node

    def forward(self, b, *arrays, on_grad, dtype):
        self.on_grad = on_grad
        if len(arrays) == 1:
            return arrays[0]
        return b.concatenate([b.astype(b.reshape(a, (-1,)), dtype) for a in arrays], 0)

    def backward(self, gy):
        shapes = [tensor.shape for tensor in self.inputs]
        pieces = _split(gy, shapes, [tensor.dtype for tensor in self.inputs])
        return tuple(self.on_grad(pieces))


def _split(flat: Tensor, shapes: list, dtypes: list) -> list:
    """The tensors a _Gate joined, cut back out of its (differentiable) output."""
    if len(shapes) == 1:
        return [flat]
    pieces, start = [], 0
    for shape, dtype in zip(shapes, dtypes, strict=True):
        size = 1
        for extent in shape:
            size *= extent
        piece = reshape(getitem(flat, slice(start, start + size)), shape)
        pieces.append(piece.to(dtype=dtype))
        start += size
    return pieces


def _gate(tensors: list, on_grad) -> list:
    """``tensors`` passed through one _Gate, as the tensors the module should use instead."""
    dtype = np.result_type(*[tensor.dtype for tensor in tensors])
    joined = _Gate.apply(*tensors, on_grad=on_grad, dtype=dtype)
    return _split(joined, [t.shape for t in tensors], [t.dtype for t in tensors])


class _BackwardRecord:
    """One forward call's link between its output gradients and its input gradients."""

    def __init__(self, module, args: tuple):
        self.module = module
        self.input_count = len(args)
        self.input_slots: list = []  # positions of the inputs that pass through the input gate
        self.output_slots: list = []
        self.output_count = 0
        self.grad_outputs: Optional[tuple] = None

    def gate_inputs(self, args: tuple) -> tuple:
        """``args`` with every tensor that requires grad routed through the input gate."""
        self.input_slots = [i for i, arg in enumerate(args)
                            if isinstance(arg, Tensor) and arg.requires_grad]
        if not self.input_slots:
            return args
        gated = _gate([args[i] for i in self.input_slots], self._on_input_grads)
        routed = list(args)
        for slot, tensor in zip(self.input_slots, gated, strict=True):
            routed[slot] = tensor
        return tuple(routed)

    def gate_outputs(self, output):
        """``output`` (a Tensor or a tuple of them) routed through the output gate."""
        items = list(output) if isinstance(output, tuple) else [output]
        slots = [i for i, item in enumerate(items) if isinstance(item, Tensor)
                 and item.requires_grad]
        if not slots:
            return output
        self.output_slots, self.output_count = slots, len(items)
        gated = _gate([items[i] for i in slots], self._on_output_grads)
        for slot, tensor in zip(slots, gated, strict=True):
            items[slot] = tensor
        return tuple(items) if isinstance(output, tuple) else items[0]

    def _on_output_grads(self, grads: list) -> list:
        full: list[Any] = [None] * self.output_count
        for slot, grad in zip(self.output_slots, grads, strict=True):
            full[slot] = grad
        self.grad_outputs = tuple(full)
        if not self.input_slots:
            # No input needs a gradient: PyTorch still calls the hook, with grad_input all None.
            self._run_hooks((None,) * self.input_count)
        return grads

    def _on_input_grads(self, grads: list) -> list:
        full: list[Any] = [None] * self.input_count
        for slot, grad in zip(self.input_slots, grads, strict=True):
            full[slot] = grad
        replaced = self._run_hooks(tuple(full))
        return [replaced[slot] for slot in self.input_slots]

    def _run_hooks(self, grad_input: tuple) -> tuple:
        grad_output = self.grad_outputs or (None,)
        for hook, _ in list(self.module._hooks.backward.values()):
            result = hook(self.module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise ValueError(f"backward hook {hook!r} returned {len(result)} gradients; the "
                                 f"module has {len(grad_input)} inputs")
            for old, new in zip(grad_input, result, strict=True):
                if old is not None and new is not None and new.shape != old.shape:
                    raise ValueError(f"backward hook {hook!r} returned a gradient of shape "
                                     f"{new.shape} for an input of shape {old.shape}")
            grad_input = result
        return grad_input
