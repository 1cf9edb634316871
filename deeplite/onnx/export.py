"""``deeplite.onnx.export``: write a deeplite model as an ONNX file that onnxruntime runs."""
import numpy as np
import onnx
from onnx import helper

from .. import Tensor, no_grad, tensor
from .converters import convert
from .graph import GraphBuilder

DEFAULT_OPSET = 17  # the first with LayerNormalization
MIN_OPSET = 13  # Softmax over one axis, Gemm without C


def export(model, example_input, path, input_names=None, output_names=None,
           dynamic_batch: bool = True, opset=None):
    """Export ``model`` to the ONNX file ``path`` (as ``torch.onnx.export``), in eval mode.

    Args:
        model: a deeplite Module built from Linear (any fused activation), ReLU, LeakyReLU,
            Sigmoid, Tanh, Softmax, Step, Identity, Dropout, LayerNorm, BatchNorm1d, Flatten,
            Sequential and MLP. Any other layer raises naming it.
        example_input: a tensor (or array) of the input's shape and dtype; the model runs on it
            once, which fixes every shape but the batch dimension.
        path: the file to write (str or path-like).
        input_names / output_names: one name each (default ["input"], ["output"]).
        dynamic_batch: make the first dimension symbolic ("batch"), so any batch size runs.
        opset: the ONNX opset (default 17; LayerNorm needs >= 17; at least 13).

    Returns:
        The ``onnx.ModelProto`` written (checked with ``onnx.checker.check_model``).

    Example:
        >>> import deeplite, deeplite.onnx, tempfile, os
        >>> model = deeplite.nn.MLP([4, 8, 3])
        >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
        >>> _ = deeplite.onnx.export(model, deeplite.randn(2, 4), path)
    """
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if opset < MIN_OPSET:
        raise ValueError(f"onnx export: opset {opset} is too old; use {MIN_OPSET} or newer")
    input_name, output_name = _single_name("input_names", input_names, "input"), \
        _single_name("output_names", output_names, "output")
    x = example_input if isinstance(example_input, Tensor) else tensor(example_input)
    if x.ndim < 1 or x.dtype.kind != "f":
        raise ValueError(f"onnx export: example_input must be a floating tensor with a batch "
                         f"dimension, got shape {x.shape} and dtype {x.dtype}")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            graph, y = _graph(model, x, input_name, output_name, dynamic_batch, opset)
    finally:
        for module, training in modes:
            module.training = training
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                   producer_name="deeplite")
    onnx_model.ir_version = helper.find_min_ir_version_for(list(onnx_model.opset_import))
    onnx.checker.check_model(onnx_model, full_check=True)
    onnx.save(onnx_model, str(path))
    return onnx_model


def _graph(model, x, input_name: str, output_name: str, dynamic_batch: bool, opset: int):
    builder = GraphBuilder(x.dtype)
    value, y = convert(model, builder, input_name, x)
    needs_17 = [n.op_type for n in builder.nodes if n.op_type == "LayerNormalization"]
    if needs_17 and opset < 17:
        raise ValueError(f"onnx export: LayerNorm needs opset >= 17, got opset={opset}")
    builder.rename_output(value, output_name)
    element = helper.np_dtype_to_tensor_dtype(np.dtype(x.dtype))
    graph = helper.make_graph(
        builder.nodes, "deeplite_model",
        [helper.make_tensor_value_info(input_name, element, _dims(x.shape, dynamic_batch))],
        [helper.make_tensor_value_info(output_name, element, _dims(y.shape, dynamic_batch))],
        initializer=builder.initializers)
    return graph, y


def _dims(shape: tuple, dynamic_batch: bool) -> list:
    dims = list(shape)
    if dynamic_batch and dims:
        dims[0] = "batch"
    return dims


def _single_name(argument: str, names, default: str) -> str:
    if names is None:
        return default
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != 1 or not isinstance(names[0], str) or not names[0]:
        raise ValueError(f"onnx export: {argument} must hold one non-empty name (deeplite "
                         f"models have one input and one output), got {names!r}")
    return names[0]
