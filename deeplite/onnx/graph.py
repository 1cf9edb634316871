"""A small ONNX graph builder: fresh names, constant initialisers and nodes, in order."""
import numpy as np
from onnx import helper, numpy_helper


class GraphBuilder:
    """Collects the nodes and initialisers of one graph, naming every value uniquely."""

    def __init__(self, dtype: np.dtype):
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        """A value name not used before, readable from ``hint``."""
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value, dtype=None) -> str:
        """An initialiser holding ``value`` (in the graph's dtype unless ``dtype``); its name."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list, hint: str, **attributes) -> str:
        """Append one ``op`` node reading ``inputs``; the name of its (single) output."""
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def rename_output(self, value: str, name: str) -> None:
        """Make the graph's final value carry the user's output ``name``."""
        self.nodes.append(helper.make_node("Identity", [value], [name], name=f"{name}_identity"))
