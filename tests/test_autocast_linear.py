"""autocast's fused linear node (ops/autocast_linear.py): dtypes, values, second order."""
import numpy as np
import pytest

import deeplite as dl
from deeplite.backends import amx

pytest.importorskip("ml_dtypes")


@pytest.fixture(params=["numpy", "cpu"])
def host(request):
    if request.param == "cpu" and amx.bf16_gemm() is None:
        pytest.skip(f"cpu bf16 autocast is off here: {amx.why_no_bf16_gemm()}")
    return request.param


def _layer(rng, device, rows=37, fan_in=70, fan_out=129):
    def make(*shape, grad=True):
        return dl.tensor(rng.standard_normal(shape).astype(np.float32), device=device,
                         requires_grad=grad)
    return make(rows, fan_in), make(fan_in, fan_out), make(fan_out), make(rows, fan_out,
                                                                          grad=False)


def _bf16_as_float64(t):
    return t.detach().numpy().astype(dl.bfloat16).astype(np.float64)


def test_one_node_and_gradients_in_each_inputs_dtype(host, rng):
    x, w, b, weights = _layer(rng, host)
    with dl.autocast(host, dtype=dl.bfloat16):
        y = dl.functional.linear(x, w, b, activation="relu")
    assert y.dtype == dl.bfloat16
    assert y._node.inputs[:2] == (x, w)  # the parameters themselves: no separate cast nodes
    (y.float() * weights).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == dl.float32
    # float64 reference on the bfloat16 operands the GEMMs read (the upstream gradient is cast
    # to bfloat16 by y.float()'s backward).
    x64, w64, b64, c64 = (_bf16_as_float64(t) for t in (x, w, b, weights))
    mask = (x64 @ w64 + b64) > 0
    gz = c64 * mask
    np.testing.assert_allclose(y.float().detach().numpy(), np.maximum(x64 @ w64 + b64, 0),
                               rtol=1e-2, atol=1e-2)
    # Rounded to bfloat16 on numpy (composed kernels); straight from float32 on cpu.
    tolerance = 1e-5 if host == "cpu" else 8e-3
    np.testing.assert_allclose(w.grad.numpy(), x64.T @ gz, rtol=tolerance,
                               atol=tolerance * np.abs(x64.T @ gz).max())
    np.testing.assert_allclose(b.grad.numpy(), gz.sum(0), rtol=tolerance,
                               atol=tolerance * np.abs(gz.sum(0)).max())
    gx = gz @ w64.T
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-2, atol=1e-2 * np.abs(gx).max())


def test_numpy_fused_node_equals_the_casts_composed_by_hand(rng):
    x, w, b, weights = _layer(rng, "numpy")
    with dl.autocast("numpy", dtype=dl.bfloat16):
        fused = dl.functional.linear(x, w, b, activation="tanh")
    (fused.float() * weights).sum().backward()
    fused_grads = [t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    by_hand = dl.functional.linear(x.bfloat16(), w.bfloat16(), b.bfloat16(), activation="tanh")
    (by_hand.float() * weights).sum().backward()
    np.testing.assert_array_equal(fused.float().detach().numpy(),
                                  by_hand.float().detach().numpy())
    for got, t in zip(fused_grads, (x, w, b), strict=True):
        np.testing.assert_array_equal(got, t.grad.numpy())


def test_second_order_gradients_flow_through_the_casts(host, rng):
    x, w, b, weights = _layer(rng, host, rows=5, fan_in=4, fan_out=3)

    def grad_of_weight_gradient(autocast: bool):
        if autocast:
            with dl.autocast(host, dtype=dl.bfloat16):
                y = dl.functional.linear(x, w, b, activation="sigmoid")
        else:
            y = dl.functional.linear(x.bfloat16(), w.bfloat16(), b.bfloat16(),
                                     activation="sigmoid")
        (gw,) = dl.autograd.grad((y.float() * weights).sum(), [w], create_graph=True)
        assert gw.dtype == dl.float32
        (gx,) = dl.autograd.grad((gw * gw).sum(), [x])
        return gx.numpy()

    # Equal up to where two bfloat16 gradients meet: by hand they are summed in bfloat16 at
    # x.bfloat16(), the fused node sums them in float32 at x.
    fused, by_hand = grad_of_weight_gradient(True), grad_of_weight_gradient(False)
    assert np.abs(by_hand).max() > 0.1
    np.testing.assert_allclose(fused, by_hand, rtol=2e-2, atol=1e-2 * np.abs(by_hand).max())


def test_batched_input_matches_its_rows(host, rng):
    x, w, b, _ = _layer(rng, host, rows=12, fan_in=6, fan_out=5)
    batched = x.detach().reshape(3, 4, 6).requires_grad_()
    with dl.autocast(host, dtype=dl.bfloat16):
        y3 = dl.functional.linear(batched, w, b, activation="leaky_relu")
        y2 = dl.functional.linear(x, w, b, activation="leaky_relu")
    assert y3.shape == (3, 4, 5) and y3.dtype == dl.bfloat16
    np.testing.assert_array_equal(y3.float().detach().numpy().reshape(12, 5),
                                  y2.float().detach().numpy())
    y3.float().sum().backward()
    assert batched.grad.shape == (3, 4, 6) and batched.grad.dtype == dl.float32
    w3 = w.grad.numpy().copy()
    w.grad = None
    y2.float().sum().backward()
    np.testing.assert_array_equal(batched.grad.numpy().reshape(12, 6), x.grad.numpy())
    np.testing.assert_array_equal(w3, w.grad.numpy())
