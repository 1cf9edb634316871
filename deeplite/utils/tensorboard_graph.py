"""``add_graph``: the model's tape (``deeplite.viz``) as a GraphDef for TensorBoard's Graphs tab.

One TensorBoard node per op, parameter, input and output; module names become name scopes
(``layers.0/linear``, ``layers.0/weight``), so TensorBoard folds each module into one box that
opens on a click, as it does for PyTorch models. Each node carries its output shape.
"""
import re

from tensorboardX.proto.attr_value_pb2 import AttrValue  # type: ignore[import-untyped]
from tensorboardX.proto.graph_pb2 import GraphDef  # type: ignore[import-untyped]
from tensorboardX.proto.node_def_pb2 import NodeDef  # type: ignore[import-untyped]
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto  # type: ignore[import-untyped]
from tensorboardX.proto.versions_pb2 import VersionDef  # type: ignore[import-untyped]

from ..autograd import enable_grad
from ..tensor import Tensor
from ..viz import graph

# TensorBoard's op names for the nodes that are not ops (torch writes "IO Node" too).
LEAF_OPS = {"input": "IO Node", "output": "IO Node", "param": "Parameter"}


def graph_def(model, input_to_model) -> GraphDef:
    """The GraphDef of one forward pass of ``model`` on ``input_to_model``."""
    if input_to_model is None:
        raise ValueError("add_graph: pass input_to_model, a Tensor (or a tuple of Tensors) to run "
                         "the model on")
    inputs = tuple(input_to_model) if isinstance(input_to_model, (tuple, list)) \
        else (input_to_model,)
    if not all(isinstance(item, Tensor) for item in inputs):
        raise TypeError("add_graph: input_to_model must be a deeplite Tensor or a tuple of them")
    if not callable(model):
        raise TypeError(f"add_graph: model must be a deeplite Module (or a callable), got "
                        f"{type(model).__name__}")
    with enable_grad():
        output = model(*inputs)
    outputs = list(output) if isinstance(output, (tuple, list)) else [output]
    if not any(isinstance(item, Tensor) and item.requires_grad for item in outputs):
        raise ValueError("add_graph: the model's output was not recorded on the tape, because "
                         "nothing it read requires grad; give it parameters that require grad")
    params = model if hasattr(model, "named_parameters") else None
    names = {f"input_{index}": tensor for index, tensor in enumerate(inputs)}
    drawn = graph(outputs, params, names=names)
    node_names = _unique_names(drawn.nodes)
    sources: list = [[] for _ in drawn.nodes]
    for edge in drawn.edges:
        sources[edge.target].append(node_names[edge.source])
    nodes = []
    for index, node in enumerate(drawn.nodes):
        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=size) for size in node.shape])
        nodes.append(NodeDef(
            name=node_names[index], op=LEAF_OPS.get(node.kind, node.title),
            input=sources[index],
            attr={"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=[shape])),
                  "attr": AttrValue(s=f"shape {node.shape}".encode())}))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


def _unique_names(nodes: list) -> list:
    """Scoped, unique node names: ``input/input_0``, ``layers.0/weight``, ``layers.0/linear_2``."""
    names = []
    for index, node in enumerate(nodes):
        if node.kind == "param" and node.module:
            names.append(f"{node.module}/{node.title[len(node.module) + 1:]}")
        elif node.kind in ("input", "output"):
            names.append(f"{node.kind}/{node.title.replace(' ', '_')}_{index}")
        else:
            scope = f"{node.module}/" if node.module else ""
            op = re.sub(r"[^\w.]+", "_", node.title).strip("_")  # "linear (relu)" -> linear_relu
            names.append(f"{scope}{op}_{index}")
    return names
