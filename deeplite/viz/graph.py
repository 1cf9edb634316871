"""``deeplite.viz.graph``: the tape drawn as the lecture draws computational graphs."""
from pathlib import Path

import numpy as np

from ..autograd import grad
from ..creation import ones_like
from ..tensor import Tensor
from . import dot, draw
from .collapse import collapse as collapse_parts
from .tape import describe, format_array, topological_tensors

ENGINES = ("auto", "graphviz", "matplotlib")
FORMATS = ("png", "svg")


class Graph:
    """A drawn tape: ``nodes`` (topological order) and ``edges``, as DOT text or an image.

    Shows itself in notebooks (``_repr_svg_``/``_repr_png_``); ``render(path)`` writes a PNG or
    SVG file through Graphviz's ``dot`` when it is installed, else through matplotlib.
    """

    def __init__(self, parts):
        self.nodes = parts.nodes
        self.edges = parts.edges
        self._parts = parts

    def __repr__(self) -> str:
        return f"<deeplite.viz.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text (always available, no Graphviz needed)."""
        return dot.to_dot(self._parts)

    def image(self, fmt: str = "png", engine: str = "auto") -> bytes:
        """The drawing as PNG or SVG bytes; ``engine`` is "auto", "graphviz" or "matplotlib"."""
        if fmt not in FORMATS:
            raise ValueError(f"render: cannot write {fmt!r} images; use .png or .svg")
        if engine not in ENGINES:
            raise ValueError(f"render: unknown engine {engine!r}; choose one of "
                             f"{', '.join(ENGINES)}")
        if engine == "graphviz" and not dot.graphviz_available():
            raise ValueError("render: Graphviz's dot program is not installed; install it "
                             "(apt-get install graphviz, brew install graphviz) or pass "
                             "engine='matplotlib'")
        if engine == "graphviz" or (engine == "auto" and dot.graphviz_available()):
            return dot.render_with_graphviz(self.to_dot(), fmt)
        return draw.render_with_matplotlib(self._parts, fmt)

    def render(self, path, engine: str = "auto") -> Path:
        """Write the drawing to ``path`` (``.png`` or ``.svg``, by its suffix); return the path."""
        path = Path(path)
        data = self.image(path.suffix.lower().lstrip("."), engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def _repr_svg_(self) -> str:
        return self.image("svg").decode()

    def _repr_png_(self) -> bytes:
        return self.image("png")


def graph(output, params=None, show_values: bool = False, show_grads: bool = False,
          collapse: bool = False, *, names: dict | None = None,
          show_local_grads: bool = False) -> Graph:
    """Draw the tape that computed ``output``: the lecture's computational graph.

    Nodes are coloured as in the lecture: inputs and outputs white, parameters red, ops blue
    (each op shows its name and output shape). Call it before ``backward()``, which frees the
    tape (or pass ``retain_graph=True`` to backward).

    Args:
        output: a Tensor, or a list/tuple of them, computed with grad mode on.
        params: a Module (parameters named by their dotted names, e.g. ``layers.0.weight``), a
            dict of name -> Tensor, or a list of Tensors. Those tensors are drawn red. None:
            every leaf that requires grad is drawn red, unnamed.
        show_values: print the values of small tensors (at most 8 elements) in their nodes.
        show_grads: print d(output)/d(tensor) in each small tensor's node (computed here with
            ``deeplite.grad``, ``.grad`` left untouched; a non-scalar output is seeded with ones).
        collapse: group ops by module and fold repeated layers into one node each ("… ×N"), so
            graphs of thousands of ops stay readable.
        names: dict of name -> Tensor: names to show for any tensor (the lecture's u1..u8).
        show_local_grads: label each edge between single-element tensors with the local
            derivative d(op output)/d(input), so a path's product can be read off the drawing.
    Returns:
        a ``Graph`` with ``to_dot()``, ``render(path)`` and notebook display.

    Example:
        >>> import deeplite
        >>> import deeplite.viz
        >>> w = deeplite.tensor([0.5, -1.0, 2.0], requires_grad=True)
        >>> loss = deeplite.sigmoid(w * 2).sum()
        >>> drawing = deeplite.viz.graph(loss, {"w": w})  # then drawing.render("graph.png")
        >>> [(node.kind, node.title, node.shape) for node in drawing.nodes]
        [('param', 'w', (3,)), ('input', '2', ()), ('op', 'mul', (3,)),
         ('op', 'sigmoid', (3,)), ('op', 'sum', ()), ('output', 'output', ())]
        >>> drawing.to_dot().splitlines()[0]
        'digraph tape {'
    """
    outputs = _as_outputs(output)
    named = _named_tensors(params, "params")
    param_ids = None if params is None else {id(tensor) for _, tensor in named}
    labels = {id(tensor): name for name, tensor in named if name}
    labels.update({id(tensor): name for name, tensor in _named_tensors(names, "names")})
    tensors = topological_tensors(outputs)
    grads = _output_grads(outputs, tensors) if show_grads else {}
    edge_labels = _local_grads(tensors) if show_local_grads else {}
    parts = describe(tensors, outputs, labels, param_ids, show_values, grads, edge_labels)
    if collapse:
        modules = params.named_modules() if hasattr(params, "named_modules") else ()
        parts = collapse_parts(parts, {name: type(module).__name__
                                       for name, module in modules if name})
    return Graph(parts)


def _as_outputs(output) -> list:
    outputs = list(output) if isinstance(output, (list, tuple)) else [output]
    for item in outputs:
        if not isinstance(item, Tensor):
            raise TypeError(f"graph: output must be a Tensor or a list of Tensors, got "
                            f"{type(item).__name__}")
    if not outputs:
        raise ValueError("graph: no output given; pass the tensor to draw (e.g. the loss)")
    return outputs


def _named_tensors(source, argument: str) -> list:
    """(name, Tensor) pairs from a Module, a dict or a list (whose names are empty)."""
    if source is None:
        return []
    if hasattr(source, "named_parameters"):
        return list(source.named_parameters())
    if isinstance(source, dict):
        items = list(source.items())
    elif isinstance(source, (list, tuple)):
        items = [("", tensor) for tensor in source]
    else:
        raise TypeError(f"graph: {argument} must be a Module, a dict of name -> Tensor or a list "
                        f"of Tensors, got {type(source).__name__}")
    for name, tensor in items:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"graph: {argument}[{name!r}] is a {type(tensor).__name__}, "
                            f"not a Tensor")
    return items


def _output_grads(outputs: list, tensors: list) -> dict:
    """id(tensor) -> d(sum of outputs)/d(tensor) as an array, for every tensor needing grad."""
    live = [out for out in outputs if out.requires_grad]
    targets = [tensor for tensor in tensors if tensor.requires_grad]
    if not live:
        raise ValueError("graph: show_grads needs an output computed from tensors that require "
                         "grad; create the parameters with requires_grad=True")
    seeds = [ones_like(out) for out in live]
    found = grad(live, targets, seeds, retain_graph=True, allow_unused=True)
    return {id(tensor): np.asarray(value) for tensor, value in zip(targets, found, strict=True)
            if value is not None}


def _local_grads(tensors: list) -> dict:
    """(id(input), id(output)) -> d(output)/d(input) text, for single-element tensors."""
    labels = {}
    for tensor in tensors:
        if tensor._node is None or tensor.numel() != 1:
            continue
        for parent in dict.fromkeys(tensor._node.inputs):
            if parent.requires_grad and parent.numel() == 1:
                (local,) = grad(tensor, parent, retain_graph=True)
                labels[(id(parent), id(tensor))] = format_array(local)
    return labels
