"""The tape: Function.apply records one node on each output; backward replays them in reverse.

A node is the Function instance itself: it keeps its input Tensors (the parents) and whatever its
forward saved. ``backward`` walks an iterative topological order (no recursion, so chains of any
depth work), sums gradients out of place, and writes ``.grad`` only on leaves.

Each node remembers the version clock when it was recorded (``deeplite/versions.py``), so
backward can tell that a value it saved was overwritten in place. The backward walk itself is in
``deeplite/engine.py``; ``deeplite/inplace.py`` does the in-place writes.
"""
import operator
import weakref
from typing import Any

import numpy as np

from . import versions
from .engine import backward, grad, queue_callback
from .errors import ShapeError
from .grad_mode import _mode, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor
from .versions import bump_version, mark_rebased

__all__ = ["Function", "backward", "bump_version", "enable_grad", "grad", "is_grad_enabled",
           "mark_rebased", "no_grad", "queue_callback", "set_grad_enabled"]

_new = object.__new__
_data = operator.attrgetter("data")  # in C: a list comprehension would cost a Python call per op


class Function:
    """A differentiable op: ``forward`` on raw arrays, ``backward`` in differentiable Tensor ops.

    Subclasses set ``name`` (used in error messages), implement ``forward(backend, *arrays,
    **params)`` and ``backward(grad_output)`` returning one gradient (or None) per input, and may
    save what backward needs on ``self``. ``self.inputs`` holds the input Tensors during backward.
    """

    # Set on a recorded node (declared for readers and type checkers):
    inputs: tuple  # the input Tensors, while the node is alive
    _output: Any  # weak reference to the output, for nodes that save_output

    name = "function"
    differentiable = True  # False: outputs never require grad (comparisons, argmax)
    save_output = False  # True: backward reads its output through self.output()
    saved_inputs = True  # False: backward needs only the inputs' shapes, not their values
    view = False  # True: the output may share the first input's memory (reshape, slicing)
    broadcasts = False  # True: inputs broadcast together (elementwise binary ops)
    multiple_outputs = False  # True: forward returns a tuple of arrays (None where not needed)
    clock = 0  # the version clock when the node was recorded (see deeplite/versions.py)
    special = False  # apply hands the output to finish() (set for view/multiple_outputs)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.special = cls.special or cls.view or cls.multiple_outputs

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the arrays; record a node if grad mode is on and an input needs grad."""
        # Spelled out for one and two inputs (most ops): a starred call builds a list per op,
        # and small MLPs are overhead-bound. Every path checks devices and collects needs_grad.
        first = inputs[0]
        try:
            backend = first._backend
        except AttributeError:
            raise _not_a_tensor(cls.name, first) from None
        needs_grad = first.requires_grad
        node = _new(cls)
        try:
            count = len(inputs)
            if count == 2:
                second = inputs[1]
                if second._backend is not backend:
                    raise _device_mismatch(cls.name, inputs)
                needs_grad = needs_grad or second.requires_grad
                data = node.forward(backend, first.data, second.data, **params)
            elif count == 1:
                data = node.forward(backend, first.data, **params)
            else:
                for tensor in inputs:
                    if tensor._backend is not backend:
                        raise _device_mismatch(cls.name, inputs)
                    needs_grad = needs_grad or tensor.requires_grad
                data = node.forward(backend, *map(_data, inputs), **params)
        except ValueError:
            if cls.broadcasts:
                _check_broadcast(cls.name, inputs)  # raises the op-named error if that was it
            raise
        except AttributeError:
            for tensor in inputs:  # a NumPy array (or a list) where a Tensor belongs
                if not isinstance(tensor, Tensor):
                    raise _not_a_tensor(cls.name, tensor) from None
            raise
        # The recording, written out here rather than in a helper: a Python call costs about as
        # much as the rest of this method for a tiny op, and small MLPs are overhead-bound.
        out = _new(Tensor)
        out.data = data
        out._backend = backend
        out.grad = None
        if needs_grad and cls.differentiable and _mode.enabled:
            node.inputs = inputs
            if versions.clock:  # the class default 0 is right until the first in-place write
                node.clock = versions.clock
            out.requires_grad = True
            out._node = node
            if cls.save_output:
                node._output = weakref.ref(out)
        else:
            out.requires_grad = False
            out._node = None
        return node.finish(out, inputs) if cls.special else out

    def finish(self, out: Tensor, inputs: tuple):
        """The op's result from the recorded ``out``, for subclasses flagged ``view`` (the output
        shares the first input's version counter) or ``multiple_outputs`` (``out.data`` is a
        tuple of arrays: one Tensor each, None where forward gave None). Override to adjust."""
        if not self.multiple_outputs:
            versions.share(out, inputs[0])
            return out
        recorded = out._node is not None
        outputs = tuple(None if array is None else Tensor._wrap(array, out._backend, recorded)
                        for array in out.data)
        if recorded:
            self.output_ids = {id(t): i for i, t in enumerate(outputs) if t is not None}
            self.output_grads = [None] * len(outputs)
            for tensor in outputs:
                if tensor is not None:
                    tensor._node = self
        return outputs

    def forward(self, backend, *arrays, **params):
        """Compute the output array from the input arrays."""
        raise NotImplementedError

    def backward(self, grad_output):
        """Gradients with respect to each input, as Tensors (None where an input needs none)."""
        raise NotImplementedError

    def output(self) -> Tensor:
        """This node's output Tensor (alive while a backward pass runs through it)."""
        return self._output()

    def release(self) -> None:
        """Drop the inputs and saved arrays, so intermediate results can be freed."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backward>"


def _device_mismatch(name, inputs) -> ValueError:
    devices = " and ".join(dict.fromkeys(tensor.device for tensor in inputs))
    target = inputs[0].device
    return ValueError(f"{name}: inputs on {devices}; move them to one device first, "
                      f"e.g. call .to({target!r}) on the others")


def _check_broadcast(name, inputs) -> None:
    """The one broadcast check of every elementwise op, run only once its kernel has failed."""
    shapes = [tensor.shape for tensor in inputs]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{name}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                         f"together") from None


def _not_a_tensor(name, value) -> TypeError:
    kind = f"{type(value).__module__}.{type(value).__name__}".replace("builtins.", "")
    return TypeError(f"{name}: expected a deeplite Tensor, got {kind}; wrap it with "
                     f"deeplite.tensor(...)")
