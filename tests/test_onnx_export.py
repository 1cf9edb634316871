"""deeplite.onnx.export: checker-valid models whose onnxruntime outputs equal deeplite's (1e-5,
float32) for several batch sizes, one test per supported layer; unsupported layers name themselves.
"""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import deeplite  # noqa: E402
from deeplite import nn  # noqa: E402
from deeplite.onnx import UnsupportedLayerError, export  # noqa: E402

BATCHES = (1, 3, 17)


def _trained_batch_norm(features: int, rng) -> nn.BatchNorm1d:
    """A BatchNorm1d whose running statistics and affine weights are not the defaults."""
    norm = nn.BatchNorm1d(features)
    for _ in range(3):
        norm(deeplite.tensor(rng.standard_normal((32, features)) * 3 + 1, dtype="float32"))
    with deeplite.no_grad():
        norm.weight.copy_(deeplite.tensor(rng.standard_normal(features), dtype="float32"))
        norm.bias.copy_(deeplite.tensor(rng.standard_normal(features), dtype="float32"))
    return norm


def _layer_norm(shape, rng) -> nn.LayerNorm:
    norm = nn.LayerNorm(shape)
    with deeplite.no_grad():
        norm.weight.copy_(deeplite.tensor(rng.standard_normal(shape), dtype="float32"))
        norm.bias.copy_(deeplite.tensor(rng.standard_normal(shape), dtype="float32"))
    return norm


MODELS = {
    "linear": lambda rng: nn.Linear(5, 3),
    "linear_no_bias": lambda rng: nn.Linear(5, 3, bias=False),
    "linear_fused_acts": lambda rng: nn.Sequential(
        nn.Linear(5, 6, activation="relu"), nn.Linear(6, 6, activation="tanh"),
        nn.Linear(6, 6, activation="sigmoid"), nn.Linear(6, 6, activation="softplus"),
        nn.Linear(6, 2, activation="leaky_relu", negative_slope=0.2)),
    "activation_modules": lambda rng: nn.Sequential(
        nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Linear(8, 8),
        nn.Tanh(), nn.Linear(8, 8), nn.Sigmoid(), nn.Identity(), nn.Linear(8, 4),
        nn.Softmax(dim=-1)),
    "step": lambda rng: nn.Sequential(nn.Step(0.5), nn.Linear(5, 4)),
    "dropout_eval": lambda rng: nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 2)),
    "mlp_with_dropout": lambda rng: nn.MLP([5, 16, 16, 3], activation="tanh", dropout=0.3),
    "layer_norm": lambda rng: nn.Sequential(nn.Linear(5, 6), _layer_norm(6, rng)),
    "batch_norm": lambda rng: nn.Sequential(nn.Linear(5, 6), _trained_batch_norm(6, rng),
                                            nn.ReLU(), nn.Linear(6, 1)),
}


def _deeplite(model, x: np.ndarray) -> np.ndarray:
    """The model's eval-mode output for ``x``."""
    model.eval()
    with deeplite.no_grad():
        return model(deeplite.tensor(x)).numpy()


def _run(path, x: np.ndarray, input_name="input") -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {input_name: x})[0]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_matches_deeplite(name, tmp_path, rng):
    model = MODELS[name](rng)
    path = tmp_path / f"{name}.onnx"
    export(model, deeplite.randn(4, 5), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for batch in BATCHES:
        x = rng.standard_normal((batch, 5)).astype(np.float32)
        x[0, :2] = 0.0  # exact zeros: Step's middle case
        np.testing.assert_allclose(_run(path, x), _deeplite(model, x), atol=1e-5, rtol=1e-5)


def test_flatten_and_3d_inputs(tmp_path, rng):
    """Flatten (and Linear/LayerNorm on 3-D input: MatMul + Add) with a dynamic batch."""
    model = nn.Sequential(nn.Linear(4, 6, activation="relu"), _layer_norm(6, rng),
                          nn.Flatten(), nn.Linear(18, 2))
    path = tmp_path / "flat.onnx"
    export(model, deeplite.randn(2, 3, 4), path, input_names=["x"], output_names=["y"])
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert "MatMul" in ops and "Reshape" in ops and "Gemm" in ops
    for batch in BATCHES:
        x = rng.standard_normal((batch, 3, 4)).astype(np.float32)
        np.testing.assert_allclose(_run(path, x, "x"), _deeplite(model, x),
                                   atol=1e-5, rtol=1e-5)


def test_batch_norm_3d_input(tmp_path, rng):
    norm = nn.BatchNorm1d(3)
    norm(deeplite.tensor(rng.standard_normal((8, 3, 5)) + 2, dtype="float32"))
    path = tmp_path / "bn3d.onnx"
    export(norm, deeplite.randn(2, 3, 5), path)
    x = rng.standard_normal((7, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(_run(path, x), _deeplite(norm, x),
                               atol=1e-5, rtol=1e-5)


def test_weight_layout_is_in_by_out(tmp_path):
    """deeplite's Linear.weight is (in, out): the initialiser is stored as is, Gemm transB=0."""
    layer = nn.Linear(5, 3)
    model = export(layer, deeplite.randn(2, 5), tmp_path / "l.onnx")
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    (weight,) = [w for n, w in weights.items() if "weight" in n]
    np.testing.assert_array_equal(weight, layer.weight.detach().numpy())
    gemm = model.graph.node[0]
    assert gemm.op_type == "Gemm" and all(a.name != "transB" or a.i == 0
                                          for a in gemm.attribute)


def test_fixed_batch_and_restored_mode(tmp_path, rng):
    model = nn.MLP([5, 8, 2], dropout=0.5)
    model.train()
    onnx_model = export(model, deeplite.randn(3, 5), tmp_path / "m.onnx", dynamic_batch=False)
    assert model.training and all(m.training for m in model.modules())
    dims = onnx_model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 5]
    x = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", x),
                               _deeplite(model, x), atol=1e-5)


class Custom(nn.Module):
    def forward(self, x):
        return x * 2


def test_unsupported_layer_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(5, 4), Custom())
    with pytest.raises(UnsupportedLayerError, match=r"layer 1 \(Custom\) is not supported"):
        export(model, deeplite.randn(2, 5), tmp_path / "x.onnx")
    with pytest.raises(UnsupportedLayerError, match="RMSNorm"):
        export(nn.RMSNorm(5), deeplite.randn(2, 5), tmp_path / "x.onnx")


def test_bad_arguments(tmp_path):
    model = nn.Linear(5, 2)
    with pytest.raises(ValueError, match="opset 11 is too old"):
        export(model, deeplite.randn(2, 5), tmp_path / "x.onnx", opset=11)
    with pytest.raises(ValueError, match="LayerNorm needs opset >= 17"):
        export(nn.LayerNorm(5), deeplite.randn(2, 5), tmp_path / "x.onnx", opset=15)
    with pytest.raises(ValueError, match="input_names must hold one"):
        export(model, deeplite.randn(2, 5), tmp_path / "x.onnx", input_names=["a", "b"])
    with pytest.raises(ValueError, match="floating tensor"):
        export(model, deeplite.tensor([[1, 2, 3, 4, 5]]), tmp_path / "x.onnx")
