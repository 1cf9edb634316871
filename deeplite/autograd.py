"""The tape: Function.apply records one node on each output; backward() replays the nodes in reverse.

A node is the Function instance itself: it keeps its input Tensors (the parents) and whatever its
forward saved. ``backward`` walks an iterative topological order (no recursion, so chains of any
depth work), sums gradients out of place, and writes ``.grad`` only on leaves.
"""
import contextlib
import threading
import weakref

from .tensor import Tensor

_new = object.__new__


class _GradMode(threading.local):
    """Per-thread grad-mode switch, on by default (as in PyTorch)."""

    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops record themselves on the tape."""
    return _mode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode on or off, restoring it on exit."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.previous = []

    def __enter__(self):
        self.previous.append(_mode.enabled)
        _mode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _mode.enabled = self.previous.pop()
        return False


class _FixedGradMode(set_grad_enabled):
    """A grad-mode switch with a fixed setting, usable as ``with m():``, ``@m()`` and ``@m``."""

    fixed_mode = True

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # bare ``@no_grad``: decorate at once, as PyTorch allows

    def __init__(self, func=None):
        super().__init__(self.fixed_mode)


class no_grad(_FixedGradMode):
    """Context manager and decorator under which no op is recorded."""

    fixed_mode = False


class enable_grad(_FixedGradMode):
    """Context manager and decorator that turns recording back on (inside ``no_grad``, say)."""

    fixed_mode = True


class Function:
    """A differentiable op: ``forward`` on raw arrays, ``backward`` in differentiable Tensor ops.

    Subclasses set ``name`` (used in error messages), implement ``forward(backend, *arrays,
    **params)`` and ``backward(grad_output)`` returning one gradient (or None) per input, and may
    save what backward needs on ``self``. ``self.inputs`` holds the input Tensors during backward.
    """

    name = "function"
    differentiable = True  # False: outputs never require grad (comparisons, argmax)
    save_output = False  # True: backward reads its output through self.output()
    shape_error = "cannot be broadcast together"

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record a node when grad mode is on and one needs grad."""
        first = inputs[0]
        backend = first._backend
        needs_grad = first.requires_grad
        fn = _new(cls)
        # Unary and binary ops are most calls: spell them out, small MLPs are overhead-bound.
        try:
            if len(inputs) == 2:
                second = inputs[1]
                if second._backend is not backend:
                    raise _device_mismatch(cls.name, inputs)
                needs_grad = needs_grad or second.requires_grad
                data = fn.forward(backend, first.data, second.data, **params)
            elif len(inputs) == 1:
                data = fn.forward(backend, first.data, **params)
            else:
                for tensor in inputs:
                    if tensor._backend is not backend:
                        raise _device_mismatch(cls.name, inputs)
                    needs_grad = needs_grad or tensor.requires_grad
                data = fn.forward(backend, *[tensor.data for tensor in inputs], **params)
        except ValueError as error:  # a device mismatch names the op already and passes through
            raise _shape_mismatch(cls, inputs, error) from None
        out = _new(Tensor)
        out.data = data
        out._backend = backend
        out.grad = None
        if needs_grad and cls.differentiable and _mode.enabled:
            fn.inputs = inputs
            out.requires_grad = True
            out._node = fn
            if cls.save_output:
                fn._output = weakref.ref(out)
        else:
            out.requires_grad = False
            out._node = None
        return out

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


def _shape_mismatch(cls, inputs, error) -> ValueError:
    message = str(error)
    if message.startswith(cls.name + ":"):
        return error  # the op already named itself
    shapes = " and ".join(str(tensor.shape) for tensor in inputs)
    return ValueError(f"{cls.name}: shapes {shapes} {cls.shape_error} ({message})")


def _topological_order(roots) -> list:
    """Tensors that need grad, reachable from ``roots``, each listed after all of its parents."""
    order, visited = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if node is None:
            continue
        if getattr(node, "released", False):
            raise RuntimeError(
                "Trying to backward through the graph a second time: its saved values were freed "
                "by the first backward(). Pass retain_graph=True to the first call if you need to.")
        for parent in node.inputs:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """Propagate grad_outputs back through the tape.

    With ``inputs`` None, accumulate into leaves' ``.grad``; otherwise return the gradients of
    ``inputs`` (None where unused) and leave every ``.grad`` untouched.
    """
    grads = {}
    for out, grad in zip(outputs, grad_outputs):
        previous = grads.get(id(out))
        grads[id(out)] = grad if previous is None else previous + grad
    order = _topological_order(outputs)
    wanted = None if inputs is None else {id(tensor): i for i, tensor in enumerate(inputs)}
    results = None if inputs is None else [None] * len(inputs)
    handed_out = {id(grad) for grad in grad_outputs}  # tensors that must not become a leaf's .grad
    with set_grad_enabled(create_graph):
        for tensor in reversed(order):
            grad = grads.pop(id(tensor), None)
            if grad is None:
                continue
            node = tensor._node
            if wanted is not None:
                if id(tensor) in wanted:
                    results[wanted[id(tensor)]] = grad
            elif node is None or getattr(tensor, "_retains_grad", False):
                _accumulate(tensor, grad, handed_out, create_graph)
            if node is None:
                continue
            input_grads = node.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, parent_grad in zip(node.inputs, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                if parent_grad.data.shape != parent.data.shape:
                    raise RuntimeError(f"{node.name} backward: gradient of shape {parent_grad.shape} "
                                       f"for an input of shape {parent.shape}")
                previous = grads.get(id(parent))
                grads[id(parent)] = parent_grad if previous is None else previous + parent_grad
            if not retain_graph:
                node.release()
    return results


def _accumulate(tensor, grad, handed_out, create_graph) -> None:
    """Add ``grad`` into ``tensor.grad`` as PyTorch does, never aliasing another tensor's memory."""
    if tensor.grad is not None:
        tensor.grad = tensor.grad + grad
        return
    if not create_graph:
        # A gradient can be a view of, or the same object as, another leaf's gradient (add passes
        # its gradient to both inputs): copy those, so an in-place update of one .grad stays local.
        if id(grad) in handed_out or _is_view(grad.data):
            grad = Tensor._wrap(grad._backend.copy(grad.data), grad._backend)
        elif grad._node is not None:
            grad = grad.detach()
        handed_out.add(id(grad))
    tensor.grad = grad


def _is_view(array) -> bool:
    return getattr(array, "base", None) is not None


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(tensor)/d(leaf) into each leaf's ``.grad`` (``Tensor.backward`` calls this)."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; "
                           "create its inputs with requires_grad=True")
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, "
                               f"got shape {tensor.shape}; pass gradient=...")
        gradient = Tensor._wrap(tensor._backend.full(tensor.shape, 1, tensor.dtype), tensor._backend)
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
        grads = _run_backward([tensor], [_as_grad(gradient, tensor)], retain, create_graph, inputs)
        for leaf, grad in zip(inputs, grads):
            if grad is not None:
                _accumulate(leaf, grad, set(), create_graph)
        return
    _run_backward([tensor], [_as_grad(gradient, tensor)], retain, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, leaving ``.grad`` untouched.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the backward pass is itself recorded,
    so the results can be differentiated again (second derivatives, Hessian-vector products).
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    roots, seeds = [], []
    for out, seed in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("grad: an output does not require grad and has no grad_fn")
        if seed is None:
            if out.data.size != 1:
                raise RuntimeError(f"grad: grad can be implicitly created only for scalar outputs, "
                                   f"got shape {out.shape}; pass grad_outputs=...")
            seed = Tensor._wrap(out._backend.full(out.shape, 1, out.dtype), out._backend)
        roots.append(out)
        seeds.append(_as_grad(seed, out))
    retain = create_graph if retain_graph is None else retain_graph
    results = _run_backward(roots, seeds, retain, create_graph, inputs)
    if not allow_unused and any(result is None for result in results):
        raise RuntimeError("grad: one of the inputs was not used to compute the outputs; "
                           "pass allow_unused=True if this is expected")
    if not create_graph:
        results = [None if result is None else result.detach() for result in results]
    return tuple(results)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _as_grad(gradient, like) -> Tensor:
    """A user-given gradient as a Tensor on ``like``'s device, checked against its shape."""
    if not isinstance(gradient, Tensor):
        gradient = Tensor._wrap(like._backend.asarray(gradient, like.dtype), like._backend)
    if gradient.shape != like.shape:
        raise ValueError(f"backward: gradient of shape {gradient.shape} for an output of shape "
                         f"{like.shape}")
    if gradient._backend is not like._backend:
        raise ValueError(f"backward: gradient on {gradient.device} for an output on {like.device}; "
                         f"call .to({like.device!r}) on the gradient")
    return gradient
