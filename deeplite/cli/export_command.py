"""``deeplite export RUN --onnx out.onnx``: a trained run as a self-contained ONNX model.

The exported graph takes the raw feature columns (in the run's ``feature_names`` order): the
run's standardisation ``(x - mean) / scale`` comes first, as Sub and Div nodes (not folded into
the first layer's weights, which would cancel large offsets in float32), so deployments need no
separate scaler. It outputs
class probabilities (default) or the logits the model was trained to produce; for binary runs the
probabilities are the two columns [P(class 0), P(class 1)], as ``deeplite predict`` writes them.
"""
import json

import numpy as np

from .. import backends, nn, no_grad, tensor
from . import CommandError, run_files

RAW, SCALED = "input", "standardized"  # the graph's input, and what the model itself reads


def register(subparsers) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export", help="write a trained run as an ONNX model (needs deeplite[onnx])",
        description="Export a run's model to ONNX. The model takes the raw feature columns "
                    "(the run's standardisation is built in) and outputs class probabilities "
                    "or logits; the batch dimension is dynamic.")
    parser.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="file to write")
    parser.add_argument("--output", choices=("probabilities", "logits"),
                        default="probabilities", help="what the model outputs")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    parser.set_defaults(func=run_export)


def run_export(args) -> int:
    """Export the run's model and print what the ONNX model takes and gives."""
    try:
        from .. import onnx as deeplite_onnx
    except ImportError as error:
        raise CommandError(f"ONNX export needs the onnx package ({error}); install it with "
                           "pip install 'deeplite[onnx]'") from None
    device = "cpu" if backends.is_available("cpu") else "numpy"
    model, config, scaler, _ = run_files.load_checkpoint(args.checkpoint, device)
    if config.get("task") == "regression":
        raise CommandError(f"{args.checkpoint}: a regression run; deeplite export writes "
                           f"classifiers only for now (predicting values needs the target's "
                           f"scaling in the graph)")
    classes = config["classes"]
    exported = deployable(model, probabilities=args.output == "probabilities")
    example = tensor(np.zeros((1, config["sizes"][0]), dtype=np.float32), device=device)
    try:
        onnx_model = deeplite_onnx.export(exported, example, args.onnx, input_names=[SCALED],
                                          output_names=[args.output], opset=args.opset)
    except ValueError as error:
        raise CommandError(str(error)) from None
    _standardize_first(onnx_model.graph, scaler.mean, scaler.scale)
    metadata = {"classes": classes, "feature_names": config.get("feature_names"),
                "output": args.output}
    for key, value in metadata.items():
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = f"deeplite_{key}", json.dumps(value)
    import onnx  # deferred with the rest: an optional dependency

    onnx.checker.check_model(onnx_model, full_check=True)
    onnx.save(onnx_model, args.onnx)
    columns = exported(example).shape[1]
    print(f"wrote {args.onnx}: input 'input' (batch, {config['sizes'][0]}) raw features, output "
          f"{args.output!r} (batch, {columns}) for classes {', '.join(map(str, classes))}")
    return 0


def deployable(model: nn.MLP, probabilities: bool):
    """``model`` followed by Softmax (two columns for a binary run) when ``probabilities``."""
    if not probabilities:
        return model
    layers = list(model.layers)
    if layers[-1].out_features == 1:
        layers[-1] = _two_class(layers[-1])
    return nn.Sequential(*layers, nn.Softmax(dim=-1))


def _standardize_first(graph, mean: np.ndarray, scale: np.ndarray) -> None:
    """Make the graph read raw features: input -> (input - mean) / scale -> the model."""
    from onnx import helper, numpy_helper

    (scaled,) = [value for value in graph.input if value.name == SCALED]
    raw = helper.make_tensor_value_info(RAW, scaled.type.tensor_type.elem_type, None)
    raw.type.CopyFrom(scaled.type)
    graph.input.remove(scaled)
    graph.input.append(raw)
    graph.initializer.extend([numpy_helper.from_array(mean.astype(np.float32), "scaler_mean"),
                              numpy_helper.from_array(scale.astype(np.float32), "scaler_scale")])
    nodes = [helper.make_node("Sub", [RAW, "scaler_mean"], ["centered"], name="centered"),
             helper.make_node("Div", ["centered", "scaler_scale"], [SCALED], name="scaled")]
    for index, node in enumerate(nodes):
        graph.node.insert(index, node)


def _two_class(layer: nn.Linear) -> nn.Linear:
    """One logit z -> two logits [-z/2, z/2], whose softmax is [1 - sigmoid(z), sigmoid(z)]."""
    weight = layer.weight.detach().numpy()
    bias = np.zeros(1, weight.dtype) if layer.bias is None else layer.bias.detach().numpy()
    out = nn.Linear(weight.shape[0], 2, activation=layer.activation,
                    negative_slope=layer.negative_slope, device=layer.weight.device)
    with no_grad():
        out.weight.copy_(tensor(np.hstack([-weight, weight]) / 2, device=out.weight.device))
        out_bias = out.bias
        if out_bias is not None:  # always: the layer is made with a bias
            out_bias.copy_(tensor(np.hstack([-bias, bias]) / 2, device=out.weight.device))
    return out
