"""float16 and bfloat16 tensors: creation, casts, kernels (float32 accumulation), checkpoints."""
import numpy as np
import pytest

import deeplite as dl
from deeplite.backends import get

pytest.importorskip("ml_dtypes")

# Tolerances: one rounding of the result to 8 (bfloat16) or 11 (float16) significant bits, with
# float32 arithmetic before it: a few units in the last place.
TOLERANCE = {"bfloat16": 2e-2, "float16": 2e-3}
DTYPES = ["bfloat16", "float16"]


def _rounded(rng, shape, dtype):
    """Fresh float32 values exactly representable in ``dtype`` (and those values in ``dtype``)."""
    values = rng.standard_normal(shape).astype(np.float32)
    low = values.astype(dl.dtypes.resolve(dtype))
    return low, low.astype(np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_creation_and_casts(device, dtype):
    low = dl.dtypes.resolve(dtype)
    assert dl.zeros(2, 3, dtype=dtype, device=device).dtype == low
    assert dl.tensor([1.5, -2.0], dtype=dtype, device=device).tolist() == [1.5, -2.0]
    x = dl.randn(3, 4, device=device, requires_grad=True)
    y = x.half() if dtype == "float16" else x.bfloat16()
    assert y.dtype == low and dl.dtypes.is_floating(low)
    (y.float() * 3.0).sum().backward()
    assert x.grad.dtype == dl.float32  # the cast's gradient comes back in the input's dtype
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 3.0, np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["add", "mul", "exp", "tanh", "sigmoid", "relu", "softmax", "sum",
                                "mean", "max", "clip", "matmul"])
def test_ops_match_float64(device, dtype, op, rng):
    a, a64 = _rounded(rng, (7, 33), dtype)
    b, b64 = _rounded(rng, (7, 33), dtype)
    w, w64 = _rounded(rng, (33, 5), dtype)
    x, y, m = (dl.tensor(v, device=device) for v in (a, b, w))
    cases = {
        "add": (lambda: x + y, a64 + b64), "mul": (lambda: x * y, a64 * b64),
        "exp": (lambda: x.exp(), np.exp(a64)), "tanh": (lambda: x.tanh(), np.tanh(a64)),
        "sigmoid": (lambda: dl.sigmoid(x), 1 / (1 + np.exp(-a64))),
        "relu": (lambda: dl.relu(x), np.maximum(a64, 0)),
        "softmax": (lambda: dl.softmax(x, 1),
                    np.exp(a64) / np.exp(a64).sum(1, keepdims=True)),
        "sum": (lambda: x.sum(1), a64.sum(1)), "mean": (lambda: x.mean(), a64.mean()),
        "max": (lambda: x.amax(1), a64.max(1)), "clip": (lambda: x.clip(-0.5, 0.5),
                                                        np.clip(a64, -0.5, 0.5)),
        "matmul": (lambda: x @ m, a64 @ w64),
    }
    run, expected = cases[op]
    out = run()
    assert out.dtype == dl.dtypes.resolve(dtype), f"{op} changed the dtype to {out.dtype}"
    scale = np.abs(expected).max()
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected,
                               atol=TOLERANCE[dtype] * scale, rtol=TOLERANCE[dtype])


def test_bfloat16_sums_accumulate_in_float32(device):
    # ml_dtypes alone accumulates in bfloat16, where 256 + 1 == 256.
    assert dl.ones(4096, dtype="bfloat16", device=device).sum().item() == 4096.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["identity", "relu", "sigmoid", "tanh"])
def test_linear_and_its_gradients(device, dtype, act, rng):
    a, a64 = _rounded(rng, (16, 24), dtype)
    w, w64 = _rounded(rng, (24, 8), dtype)
    bias, bias64 = _rounded(rng, (8,), dtype)
    g, g64 = _rounded(rng, (16, 8), dtype)
    b = get(device)
    y = b.linear_act(a, w, bias, act, 0.01)
    assert y.dtype == a.dtype
    pre = a64 @ w64 + bias64
    expected = {"identity": pre, "relu": np.maximum(pre, 0), "sigmoid": 1 / (1 + np.exp(-pre)),
                "tanh": np.tanh(pre)}[act]
    tol = TOLERANCE[dtype] * max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(y.astype(np.float64), expected, atol=tol)
    gx, gw, gb = b.linear_act_grad(a, w, y, g, act, 0.01, True, True, True)
    y64 = y.astype(np.float64)
    slope = {"identity": 1.0, "relu": (y64 > 0) * 1.0, "sigmoid": y64 * (1 - y64),
             "tanh": 1 - y64 * y64}[act]
    gz = g64 * slope
    for got, want in ((gx, gz @ w64.T), (gw, a64.T @ gz), (gb, gz.sum(0))):
        assert got.dtype == a.dtype
        np.testing.assert_allclose(got.astype(np.float64), want,
                                   atol=TOLERANCE[dtype] * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_losses_and_optimizer_steps(device, dtype, rng):
    b = get(device)
    z, z64 = _rounded(rng, (6, 4), dtype)
    labels = rng.integers(0, 4, 6)
    loss, dz = b.softmax_ce(z, labels, "mean")
    shifted = z64 - z64.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    np.testing.assert_allclose(float(loss), -logp[np.arange(6), labels].mean(),
                               rtol=TOLERANCE[dtype])
    assert dz.dtype == z.dtype
    param, param64 = _rounded(rng, (5,), dtype)
    grad, grad64 = _rounded(rng, (5,), dtype)
    b.sgd_step([param], [grad], None, True, 0.1, 0.0, 0.0, 0.0, False, False)
    assert param.dtype == dl.dtypes.resolve(dtype)  # updated in place, in its own dtype
    np.testing.assert_allclose(param.astype(np.float64), param64 - 0.1 * grad64,
                               atol=TOLERANCE[dtype] * 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_checkpoints_round_trip(device, dtype, rng, tmp_path):
    pytest.importorskip("safetensors")
    low, _ = _rounded(rng, (3, 5), dtype)
    path = tmp_path / "low.safetensors"
    dl.save({"w": dl.tensor(low, device=device)}, path)
    loaded = dl.load(path)["w"]
    assert loaded.dtype == low.dtype
    np.testing.assert_array_equal(loaded.numpy().view(np.uint16), low.view(np.uint16))
    from safetensors.numpy import load_file  # the reference reader agrees on the header

    assert load_file(str(path))["w"].dtype.itemsize == 2


def test_bad_dtype_names_the_choices():
    with pytest.raises(TypeError, match="bfloat16"):
        dl.zeros(2, dtype="bfloat17")
