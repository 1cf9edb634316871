"""Walk the tape from the outputs back to the leaves and describe it as drawable ``Parts``.

A recorded tensor's node is ``tensor._node`` (a Function instance); the tensors it was computed
from are ``node.inputs``. Leaves (``_node`` None) are the inputs, parameters and constants.
"""
import numpy as np

from .nodes import Edge, Node, Parts

SMALL = 8  # tensors with at most this many elements get their values and gradients printed


def op_name(node) -> str:
    """The op's name: the instance's when it sets one (activations do), else the class's.

    A fused activation is named too: ``linear (relu)`` is one kernel doing both.
    """
    name = getattr(node, "name", None) or type(node).__name__.lower()
    activation = getattr(node, "act", None)
    if isinstance(activation, str) and activation not in ("identity", name):
        return f"{name} ({activation})"
    return name


def format_array(array) -> str:
    """A small tensor's numbers, compactly: ``0.25`` or ``[0.1, -2, 3.5]``."""
    array = np.asarray(array)
    if array.size == 1:
        return f"{array.reshape(()).item():.4g}"
    return np.array2string(array, separator=", ", formatter={"float_kind": "{:.4g}".format})


def topological_tensors(outputs) -> list:
    """Every tensor reachable from ``outputs``, each after the inputs it was computed from.

    Iterative depth-first post-order (no recursion: a chain of 10,000 ops must not hit Python's
    recursion limit), visiting each node's inputs in argument order so the drawing reads the way
    the code was written.
    """
    order, seen = [], set()
    stack = [(tensor, False) for tensor in reversed(outputs)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if node is None:
            continue
        if not hasattr(node, "inputs"):
            raise ValueError("graph: this part of the tape was freed by backward(); call "
                             "deeplite.viz.graph(...) before backward(), or pass "
                             "retain_graph=True to backward()")
        # Computed inputs first, leaves last: each leaf is then listed just before the op that
        # reads it (w1, x, mul, sigmoid, w2, mul, ...), not all leaves at the start.
        fresh = [parent for parent in node.inputs if id(parent) not in seen]
        stack.extend((parent, False) for parent in reversed(fresh) if parent._node is None)
        stack.extend((parent, False) for parent in reversed(fresh) if parent._node is not None)
    return order


def describe(tensors: list, outputs, names: dict, param_names, show_values: bool, grads: dict,
             edge_labels: dict) -> Parts:
    """The nodes and edges of the tape below ``outputs``.

    Args:
        tensors: ``topological_tensors(outputs)``.
        outputs: the tensors drawn as white output nodes.
        names: id(tensor) -> the name to show (dotted parameter names, the lecture's u1..u8).
        param_names: ids of the tensors drawn red; None: every leaf that requires grad.
        show_values: print the values of small tensors.
        grads: id(tensor) -> d(outputs)/d(tensor) as an array, for the tensors to annotate.
        edge_labels: (id(input), id(output)) -> text drawn on that edge.
    """
    index = {id(tensor): position for position, tensor in enumerate(tensors)}
    parts = Parts()
    # An output's name goes on its white output node, not also on the op that computed it.
    op_names = {key: name for key, name in names.items()
                if key not in {id(tensor) for tensor in outputs}}
    for tensor in tensors:
        node = _leaf(tensor, names, param_names) if tensor._node is None \
            else _op(tensor, op_names, parts, index, edge_labels)
        if tensor.numel() <= SMALL:
            if show_values and not (node.kind == "input" and node.title == format_array(tensor)):
                node.value = format_array(tensor)  # (a constant's title is its value already)
            if id(tensor) in grads:
                node.grad = format_array(grads[id(tensor)])
        parts.nodes.append(node)
    for position, tensor in enumerate(outputs):
        title = names.get(id(tensor), "output" if len(outputs) == 1 else f"output {position}")
        parts.nodes.append(Node("output", title, tuple(tensor.shape), signature=("output",)))
        parts.edges.append(Edge(index[id(tensor)], len(parts.nodes) - 1))
    return parts


def _leaf(tensor, names: dict, param_names) -> Node:
    """A white input/constant or a red parameter node."""
    name = names.get(id(tensor))
    is_param = tensor.requires_grad if param_names is None else id(tensor) in param_names
    shape = tuple(tensor.shape)
    if name is not None:
        title = name
    elif is_param:
        title = "parameter"
    elif tensor.numel() == 1:
        title = format_array(tensor)  # a constant such as the 2 in x * 2, or the lecture's λ
    else:
        title = "input"
    module = name.rsplit(".", 1)[0] if is_param and name and "." in name else None
    kind = "param" if is_param else "input"
    return Node(kind, title, shape, module=module, signature=(kind, shape))


def _op(tensor, names: dict, parts: Parts, index: dict, edge_labels: dict) -> Node:
    """A blue op node, its input edges, and the module it belongs to (see ``_owning_module``)."""
    operation = op_name(tensor._node)
    name = names.get(id(tensor))
    shape = tuple(tensor.shape)
    parents = tensor._node.inputs
    sources = [index[id(parent)] for parent in parents]
    target = len(parts.nodes)
    parts.edges.extend(Edge(source, target, edge_labels.get((id(parent), id(tensor))))
                       for source, parent in zip(sources, parents, strict=True))
    module = _owning_module([parts.nodes[source] for source in sources], shape)
    return Node("op", operation if name is None else f"{name} = {operation}", shape,
                module=module, signature=("op", operation, shape))


def _owning_module(inputs: list, shape: tuple):
    """The module an op belongs to: that of the parameters it reads, else that of its inputs.

    An op without parameters joins a module only when it is elementwise (a separate activation,
    a residual add: its output has its inputs' shape), every input it computes from comes out of
    that module and the rest are constants. A loss reading targets, a reduction, or an op mixing
    modules belongs to none.
    """
    for source in inputs:
        if source.kind == "param" and source.module is not None:
            return source.module
    modules = {source.module for source in inputs if source.kind == "op" and
               source.shape == shape}
    constants_only = all(source.kind == "op" or
                         (source.kind == "input" and source.shape in ((), (1,)))
                         for source in inputs)
    if len(modules) == 1 and constants_only:
        return modules.pop()
    return None
