"""The drawn graph's parts: a Node per tensor or op, an Edge per use of a tensor by an op.

Kinds follow the lecture's colours: ``input`` and ``output`` white, ``param`` red, ``op`` blue;
``group`` (blue, drawn as a stack) is several ops folded into one by ``collapse``.
"""
from dataclasses import dataclass, field

LEAF_KINDS = ("input", "param")

# Fill colours of the lecture's figures: white inputs and outputs, red parameters, blue ops.
FILL = {"input": "#ffffff", "output": "#ffffff", "param": "#f28b82", "op": "#8ab4f8",
        "group": "#8ab4f8"}
# Graphviz shapes: leaves and outputs are values (ellipses), ops are boxes, folded ops a stack.
SHAPE = {"input": "ellipse", "output": "ellipse", "param": "ellipse", "op": "box",
         "group": "box3d"}


@dataclass(eq=False)  # identity hash: nodes are dict keys while collapsing
class Node:
    """One drawn node: what it is (``kind``), its title, shape and optional value/gradient text."""

    kind: str
    title: str
    shape: tuple = ()
    value: str | None = None
    grad: str | None = None
    module: str | None = None  # dotted module name owning this op or parameter, when known
    signature: tuple = ()  # what makes two nodes "the same layer" when folding repeats
    count: int = 1  # how many tape nodes this node stands for

    def lines(self) -> list:
        """The label, line by line: title, shape, then value and gradient when shown."""
        lines = [self.title, str(self.shape)]
        if self.value is not None:
            lines.append(f"value {self.value}")
        if self.grad is not None:
            lines.append(f"grad {self.grad}")
        return lines


@dataclass
class Edge:
    """``source`` feeds ``target`` (indices into the node list); ``label`` is drawn on the edge."""

    source: int
    target: int
    label: str | None = None


@dataclass
class Parts:
    """Nodes in topological order (every node after the nodes feeding it) and the edges."""

    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
