"""One converter per supported deeplite layer: the ONNX nodes that compute what it computes.

A converter takes ``(module, builder, value, x, path)`` — the ONNX value holding the layer's input
and the deeplite example input ``x`` it stands for — and returns ``(value, y)``, the ONNX value of
the output and the deeplite output ``module(x)``. Shapes come from the example, so converters
never guess them. Linear's weight is (in_features, out_features): ``x @ W`` is MatMul(x, W), or
Gemm(x, W) with transB=0 for 2-D inputs.
"""
import numpy as np

from .. import nn

# Linear's fused activation (and the activation modules) -> ONNX op and attributes.
_ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}


class UnsupportedLayerError(TypeError):
    """A layer that deeplite.onnx cannot export (the message names it and the supported ones)."""


def _array(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def activation(builder, value: str, name: str, negative_slope: float = 0.01) -> str:
    """The ONNX nodes of deeplite's named activation ``name`` applied to ``value``."""
    if name == "identity":
        return value
    if name == "leaky_relu":
        return builder.node("LeakyRelu", [value], "leaky_relu", alpha=float(negative_slope))
    return builder.node(_ACTIVATION_OPS[name], [value], name)


def linear(module, builder, value, x, path):
    """Gemm (2-D input) or MatMul + Add, then the fused activation."""
    weight = builder.constant(f"{path}.weight", _array(module.weight))
    inputs = [value, weight]
    if module.bias is not None:
        inputs.append(builder.constant(f"{path}.bias", _array(module.bias)))
    if x.ndim == 2:
        out = builder.node("Gemm", inputs, path or "linear")  # transB=0: W is (in, out)
    else:
        out = builder.node("MatMul", inputs[:2], path or "matmul")
        if module.bias is not None:
            out = builder.node("Add", [out, inputs[2]], path or "bias")
    out = activation(builder, out, module.activation, module.negative_slope)
    return out, module(x)


def mlp(module, builder, value, x, path):
    """Each Linear in turn (dropout is the identity at export: eval mode)."""
    for index, layer in enumerate(module.layers):
        value, x = linear(layer, builder, value, x, f"{path}.layers.{index}".lstrip("."))
    return value, x


def sequential(module, builder, value, x, path):
    """Each child in turn."""
    for name, child in module.named_children():
        value, x = convert(child, builder, value, x, f"{path}.{name}".lstrip("."))
    return value, x


def activation_module(module, builder, value, x, path):
    """ReLU, LeakyReLU, Sigmoid, Tanh."""
    name = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Sigmoid: "sigmoid",
            nn.Tanh: "tanh"}[type(module)]
    return activation(builder, value, name, getattr(module, "negative_slope", 0.01)), module(x)


def softmax(module, builder, value, x, path):
    """Softmax along ``module.axis`` (opset >= 13 semantics: one axis)."""
    return builder.node("Softmax", [value], path or "softmax", axis=int(module.axis)), module(x)


def step(module, builder, value, x, path):
    """Heaviside: 1 where x > 0, ``value`` where x == 0, 0 elsewhere."""
    zero = builder.constant("zero", 0.0)
    at_zero = builder.node("Where", [builder.node("Equal", [value, zero], "is_zero"),
                                     builder.constant("step_value", module.value), zero], "step0")
    positive = builder.node("Greater", [value, zero], "is_positive")
    return builder.node("Where", [positive, builder.constant("one", 1.0), at_zero],
                        path or "step"), module(x)


def identity(module, builder, value, x, path):
    """Identity and Dropout (eval): the value passes through."""
    return value, module(x)


def flatten(module, builder, value, x, path):
    """Reshape to the flattened shape; dimensions before ``start_dim`` are copied (0 in ONNX),
    so a dynamic batch stays dynamic."""
    start, end = module.start_dim % max(x.ndim, 1), module.end_dim % max(x.ndim, 1)
    shape = [0] * start + [-1] + list(x.shape[end + 1:])
    target = builder.constant("shape", shape, dtype=np.int64)
    return builder.node("Reshape", [value, target], path or "flatten"), module(x)


def layer_norm(module, builder, value, x, path):
    """LayerNormalization (opset 17) over the trailing ``normalized_shape`` dimensions."""
    shape = module.normalized_shape
    scale = np.ones(shape) if module.weight is None else _array(module.weight)
    inputs = [value, builder.constant(f"{path}.weight", scale)]
    if module.bias is not None:
        inputs.append(builder.constant(f"{path}.bias", _array(module.bias)))
    out = builder.node("LayerNormalization", inputs, path or "layer_norm", axis=-len(shape),
                       epsilon=float(module.eps))
    return out, module(x)


def batch_norm(module, builder, value, x, path):
    """BatchNormalization with the running statistics (eval mode)."""
    if module.running_mean is None or module.running_var is None:
        raise UnsupportedLayerError(f"onnx export: {path or 'BatchNorm1d'} has no running "
                                    "statistics (track_running_stats=False); only eval-mode "
                                    "BatchNorm1d with running statistics exports")
    count = module.num_features
    scale = np.ones(count) if module.weight is None else _array(module.weight)
    shift = np.zeros(count) if module.bias is None else _array(module.bias)
    inputs = [value] + [builder.constant(f"{path}.{n}", v) for n, v in [
        ("weight", scale), ("bias", shift), ("running_mean", _array(module.running_mean)),
        ("running_var", _array(module.running_var))]]
    out = builder.node("BatchNormalization", inputs, path or "batch_norm",
                       epsilon=float(module.eps))
    return out, module(x)


CONVERTERS = {
    nn.Linear: linear, nn.MLP: mlp, nn.Sequential: sequential, nn.ReLU: activation_module,
    nn.LeakyReLU: activation_module, nn.Sigmoid: activation_module, nn.Tanh: activation_module,
    nn.Softmax: softmax, nn.Step: step, nn.Identity: identity, nn.Dropout: identity,
    nn.Flatten: flatten, nn.LayerNorm: layer_norm, nn.BatchNorm1d: batch_norm,
}


def convert(module, builder, value, x, path=""):
    """The ONNX value and deeplite output of ``module`` (its converter chosen by exact type)."""
    converter = CONVERTERS.get(type(module))
    if converter is None:
        supported = ", ".join(sorted(c.__name__ for c in CONVERTERS))
        raise UnsupportedLayerError(f"onnx export: layer {path or '<model>'} "
                                    f"({type(module).__name__}) is not supported; supported "
                                    f"layers: {supported}")
    return converter(module, builder, value, x, path)
