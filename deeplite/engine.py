"""The backward pass: walk the tape from the outputs back to the leaves, once, without recursion.

``backward`` accumulates into leaves' ``.grad``; ``grad`` returns the gradients instead. Both run
an iterative topological order (chains of any depth work), sum gradients out of place, call the
tensor hooks, and run the callbacks queued while they ran.
"""
from . import versions
from .grad_mode import set_grad_enabled
from .tensor import Tensor


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
        for parent in versions.parents(node):
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


_hooks_in_use = False  # set by the first Tensor.register_*hook: until then no tensor is looked at


def hooks_in_use() -> None:
    """Note that some tensor has a hook (called by Tensor.register_hook and friends)."""
    global _hooks_in_use
    _hooks_in_use = True


_callbacks: list = []  # queued by queue_callback during a backward pass, run when it ends
_depth = 0  # backward passes running (a hook may start another)


def queue_callback(callback) -> None:
    """Run ``callback()`` once when the backward pass now running ends (as PyTorch's engine's
    ``queue_callback``; data-parallel training reduces its gradients there)."""
    if not _depth:
        raise RuntimeError("queue_callback: only valid while a backward pass is running "
                           "(call it from a tensor hook)")
    _callbacks.append(callback)


def _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """Propagate grad_outputs back through the tape.

    With ``inputs`` None, accumulate into leaves' ``.grad``; otherwise return the gradients of
    ``inputs`` (None where unused) and leave every ``.grad`` untouched.
    """
    global _depth
    grads: dict = {}
    for out, seed in zip(outputs, grad_outputs):
        previous = grads.get(id(out))
        grads[id(out)] = seed if previous is None else previous + seed
    order = _topological_order(outputs)
    waiting = _outputs_to_wait_for(order)
    wanted = None if inputs is None else {id(tensor): i for i, tensor in enumerate(inputs)}
    results: list = [] if inputs is None else [None] * len(inputs)
    handed_out = {id(seed) for seed in grad_outputs}  # tensors that must not become a leaf's .grad
    _depth += 1
    try:
        with set_grad_enabled(create_graph):
            for tensor in reversed(order):
                gradient = grads.pop(id(tensor), None)
                node = tensor._node
                if gradient is None:
                    if node is not None and node.multiple_outputs:
                        _step_multiple(node, tensor, None, waiting, grads, retain_graph)
                    continue
                if _hooks_in_use and getattr(tensor, "_hooks", None):
                    gradient = _run_hooks(tensor._hooks.get("grad", {}), gradient)
                if wanted is not None:
                    if id(tensor) in wanted:
                        results[wanted[id(tensor)]] = gradient
                elif node is None or getattr(tensor, "_retains_grad", False):
                    _accumulate(tensor, gradient, handed_out, create_graph)
                if node is None:
                    continue
                if node.multiple_outputs:
                    _step_multiple(node, tensor, gradient, waiting, grads, retain_graph)
                    continue
                _step(node, gradient, grads, retain_graph)
        if _depth == 1:
            while _callbacks:
                _callbacks.pop(0)()
    finally:
        _depth -= 1
        if not _depth:
            _callbacks.clear()
    return results


def _step(node, gradient, grads, retain_graph) -> None:
    """Run one node's backward and hand its input gradients on."""
    if node.clock != versions.clock:  # something was written in place since it was recorded
        versions.check_saved(node)
    _propagate(node, gradient, grads)
    if not retain_graph:
        node.release()


def _step_multiple(node, tensor, gradient, waiting, grads, retain_graph) -> None:
    """Collect one output's gradient of a node with several; run it once the last has come."""
    node.output_grads[node.output_ids[id(tensor)]] = gradient
    waiting[id(node)] -= 1
    if waiting[id(node)]:
        return
    collected = tuple(node.output_grads)
    node.output_grads = [None] * len(collected)  # ready for the next pass (retain_graph=True)
    if any(g is not None for g in collected):
        _step(node, collected, grads, retain_graph)


def _outputs_to_wait_for(order) -> dict:
    """For each node with several outputs, how many of them this backward pass will reach."""
    waiting: dict = {}
    for tensor in order:
        node = tensor._node
        if node is not None and node.multiple_outputs:
            waiting[id(node)] = waiting.get(id(node), 0) + 1
    return waiting


def _propagate(node, gradient, grads) -> None:
    """Add the node's input gradients into ``grads``, checking each one's shape."""
    input_grads = node.backward(gradient)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for parent, parent_grad in zip(versions.parents(node), input_grads):
        if parent_grad is None or not parent.requires_grad:
            continue
        if parent_grad.data.shape != parent.data.shape:
            raise RuntimeError(f"{node.name} backward: gradient of shape {parent_grad.shape} "
                               f"for an input of shape {parent.shape}")
        previous = grads.get(id(parent))
        grads[id(parent)] = parent_grad if previous is None else previous + parent_grad


def _run_hooks(hooks, gradient):
    """Tensor.register_hook semantics: each hook sees the gradient and may replace it."""
    for hook in list(hooks.values()):
        replaced = hook(gradient)
        if replaced is not None:
            gradient = replaced
    return gradient


def _accumulate(tensor, gradient, handed_out, create_graph) -> None:
    """Add ``gradient`` into ``tensor.grad`` as PyTorch does, never aliasing another's memory."""
    if tensor.grad is not None:
        tensor.grad = tensor.grad + gradient
    else:
        if not create_graph:
            # A gradient can be a view of, or the same object as, another leaf's gradient (add
            # passes its gradient to both inputs): copy those, so an in-place update stays local.
            if id(gradient) in handed_out or getattr(gradient.data, "base", None) is not None:
                gradient = Tensor._wrap(gradient._backend.copy(gradient.data), gradient._backend)
            elif gradient._node is not None:
                gradient = gradient.detach()
            handed_out.add(id(gradient))
        tensor.grad = gradient
    if _hooks_in_use and getattr(tensor, "_hooks", None):
        for hook in list(tensor._hooks.get("post_accumulate", {}).values()):
            hook(tensor)


def _seeds(outputs, gradients, caller: str) -> list:
    """The gradient each output starts from: given ones checked, else ones for scalar outputs."""
    seeds = []
    for out, gradient in zip(outputs, gradients):
        if not out.requires_grad:
            raise RuntimeError(f"{caller}: the tensor does not require grad and has no grad_fn; "
                               f"create its inputs with requires_grad=True")
        if gradient is None:
            if out.data.size != 1:
                raise RuntimeError(f"{caller}: grad can be implicitly created only for scalar "
                                   f"outputs, got shape {out.shape}; pass the output gradient")
            gradient = out._backend.full(out.shape, 1, out.dtype)
        if not isinstance(gradient, Tensor):
            gradient = Tensor._wrap(out._backend.asarray(gradient, out.dtype), out._backend)
        if gradient.shape != out.shape:
            raise ValueError(f"{caller}: gradient of shape {gradient.shape} for an output of "
                             f"shape {out.shape}")
        if gradient._backend is not out._backend:
            raise ValueError(f"{caller}: gradient on {gradient.device} for an output on "
                             f"{out.device}; call .to({out.device!r}) on the gradient")
        seeds.append(gradient)
    return seeds


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(tensor)/d(leaf) into each leaf's ``.grad`` (``Tensor.backward`` calls this)."""
    seeds = _seeds([tensor], [gradient], "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        _run_backward([tensor], seeds, retain, create_graph)
        return
    inputs = _as_tuple(inputs)
    for leaf, leaf_grad in zip(inputs, _run_backward([tensor], seeds, retain, create_graph,
                                                     inputs)):
        if leaf_grad is not None:
            _accumulate(leaf, leaf_grad, set(), create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, leaving ``.grad`` untouched.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the backward pass is itself recorded,
    so the results can be differentiated again (second derivatives, Hessian-vector products).
    """
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    seeds = _seeds(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    results = _run_backward(list(outputs), seeds, retain, create_graph, inputs)
    if not allow_unused and any(result is None for result in results):
        raise RuntimeError("grad: one of the inputs was not used to compute the outputs; "
                           "pass allow_unused=True if this is expected")
    if not create_graph:
        results = [None if result is None else result.detach() for result in results]
    return tuple(results)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
