"""deeplite.autocast: the dtype of every op family inside it, gradients, nesting, the cpu rules."""
import pathlib
import warnings

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn
from deeplite.amp import autocast_mode
from deeplite.backends import amx as cpu

pytest.importorskip("ml_dtypes")
HOST = ["numpy", "cpu"]


@pytest.fixture(params=HOST)
def host(request):
    """A host backend on which bfloat16 autocast is honoured (cpu: only with AMX + oneDNN)."""
    if request.param == "cpu" and cpu.bf16_gemm() is None:
        pytest.skip(f"cpu bf16 autocast is off here: {cpu.why_no_bf16_gemm()}")
    return request.param


def _inputs(rng, device):
    x = dl.tensor(rng.standard_normal((6, 5)).astype(np.float32), device=device)
    w = dl.tensor(rng.standard_normal((5, 4)).astype(np.float32), device=device,
                  requires_grad=True)
    return x, w


def test_op_dtype_rules(host, rng):
    x, w = _inputs(rng, host)
    bias = dl.zeros(4, device=host, requires_grad=True)
    labels = dl.tensor(rng.integers(0, 4, 6), device=host)
    bf16, f32 = dl.bfloat16, dl.float32
    with dl.autocast(host, dtype=bf16):
        assert dl.is_grad_enabled() and dl.amp.get_autocast_dtype(host) == bf16
        y = x @ w
        rules = {"@": y, "matmul": dl.matmul(x, w), "Tensor.matmul": x.matmul(w),
                 "linear": dl.functional.linear(x, w, bias, activation="relu"),
                 "nn.Linear": nn.Linear(5, 4, device=host)(x)}
        for name, out in rules.items():
            assert out.dtype == bf16, name
        fp32_rules = {"softmax": dl.softmax(y, 1), "log_softmax": dl.log_softmax(y, 1),
                      "sum": y.sum(), "mean": y.mean(),
                      "cross_entropy": dl.functional.cross_entropy(y, labels),
                      "mse_loss": dl.functional.mse_loss(y, dl.zeros(6, 4, device=host)),
                      "bce_with_logits": dl.functional.binary_cross_entropy_with_logits(
                          y, dl.ones(6, 4, device=host))}
        for name, out in fp32_rules.items():
            assert out.dtype == f32, name
        assert (y + x[:, :4]).dtype == f32  # other ops: the widest input dtype
        assert (y * 2.0).dtype == bf16
    assert w.dtype == f32 and (x @ w).dtype == f32  # parameters untouched; off after the block


def test_gradients_come_back_in_the_parameters_dtype(host, rng):
    x, w = _inputs(rng, host)
    with dl.autocast(host):
        loss = dl.functional.cross_entropy(x @ w, dl.tensor([0, 1, 2, 3, 0, 1], device=host))
    loss.backward()
    assert w.grad.dtype == dl.float32
    # against float64 on the bfloat16-rounded operands: bf16 GEMM inputs, float32 accumulation
    x64 = x.numpy().astype(dl.bfloat16).astype(np.float64)
    w64 = w.detach().numpy().astype(dl.bfloat16).astype(np.float64)
    z = x64 @ w64
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), [0, 1, 2, 3, 0, 1]] -= 1
    np.testing.assert_allclose(w.grad.numpy(), x64.T @ p / 6, atol=3e-2)


def test_matches_torch_autocast_linear(rng):
    torch = pytest.importorskip("torch")
    x, w = _inputs(rng, "numpy")
    with dl.autocast("numpy"):
        ours = dl.functional.linear(x, w, activation="relu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        theirs = torch.relu(torch.nn.functional.linear(torch.tensor(x.numpy()),
                                                       torch.tensor(w.detach().numpy()).T))
    assert theirs.dtype == torch.bfloat16
    np.testing.assert_allclose(ours.float().detach().numpy(), theirs.float().numpy(),
                               rtol=1e-2, atol=1e-2)


def test_nesting_disabling_and_decorator(rng):
    x, w = _inputs(rng, "numpy")
    with dl.autocast("numpy"):
        with dl.autocast("numpy", enabled=False):
            assert (x @ w).dtype == dl.float32
        assert (x @ w).dtype == dl.bfloat16
        with dl.autocast("numpy", dtype=dl.float16):
            assert (x @ w).dtype == dl.float16
        assert (x @ w).dtype == dl.bfloat16
    assert not dl.amp.is_autocast_enabled("numpy")

    @dl.autocast("numpy", dtype="float16")
    def forward(a, b):
        return a @ b

    assert forward(x, w).dtype == dl.float16


def test_only_tensors_of_its_device_are_cast(rng):
    x, w = _inputs(rng, "numpy")
    with dl.autocast("cpu", dtype=dl.bfloat16):
        warnings.simplefilter("ignore")
        assert (x @ w).dtype == dl.float32


def test_cpu_without_fast_bf16_warns_once_and_stays_float32(monkeypatch, rng):
    monkeypatch.setattr(cpu, "why_no_bf16_gemm", lambda: "this CPU has no AMX")
    monkeypatch.setattr(autocast_mode, "_warned", set())
    x, w = _inputs(rng, "cpu")
    with pytest.warns(RuntimeWarning, match="no AMX.*float32"):
        with dl.autocast("cpu", dtype=dl.bfloat16):
            assert (x @ w).dtype == dl.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second region does not warn again
        with dl.autocast("cpu", dtype=dl.bfloat16):
            pass


@pytest.mark.parametrize("kwargs, message", [
    ({"device_type": "tpu"}, "device_type"),
    ({"device_type": "cpu", "dtype": "float32"}, "bfloat16 or deeplite.float16"),
    ({"device_type": "cuda", "dtype": "bfloat16"}, "float16"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dl.autocast(**kwargs)


@pytest.mark.skipif(cpu.bf16_gemm() is None, reason="no AMX + oneDNN here")
def test_onednn_runs_the_bf16_gemms_on_amx(rng):
    onednn = cpu.bf16_gemm()
    a = rng.standard_normal((64, 48)).astype(dl.bfloat16)
    b = rng.standard_normal((96, 48)).astype(dl.bfloat16).T  # a transposed view
    assert "amx" in onednn.implementation(a, b, a.dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    got = dl.backends.get("cpu").matmul(a, b)
    np.testing.assert_allclose(got.astype(np.float64), expected, atol=2e-2 * np.abs(expected).max())


@pytest.mark.cuda
def test_cuda_float16_autocast(rng):
    x, w = _inputs(rng, "cuda")
    with dl.autocast("cuda"):
        y = x @ w
        loss = y.sum()
    assert y.dtype == dl.float16 and loss.dtype == dl.float32
    loss.backward()
    assert w.grad.dtype == dl.float32


@pytest.mark.skipif(cpu.bf16_gemm() is None, reason="no AMX + oneDNN here")
def test_onednn_rounds_to_bfloat16_as_ml_dtypes(rng):
    values = rng.standard_normal((300, 257)).astype(np.float32) * 1e3
    values[0, :4] = [np.inf, -np.inf, np.nan, 0.0]
    # ties: a float32 whose low 16 bits are exactly half way rounds to even
    values[1, :2] = np.array([0x3F808000, 0x3F818000], np.uint32).view(np.float32)
    for array in (values, values.T):  # C- and F-ordered
        ours = dl.backends.get("cpu").astype(array, dl.bfloat16)
        reference = array.astype(dl.bfloat16)
        np.testing.assert_array_equal(ours.view(np.uint16)[~np.isnan(array)],
                                      reference.view(np.uint16)[~np.isnan(array)])
        assert np.isnan(ours.astype(np.float32)[np.isnan(array)]).all()


def test_import_deeplite_loads_no_optional_package():
    import subprocess
    import sys

    code = ("import sys, deeplite\n"
            "(deeplite.randn(4, 4, device='cpu') @ deeplite.randn(4, 4)).sum()\n"
            "print(sorted(m for m in ('ml_dtypes', 'deeplite.backends.onednn', 'deeplite.amp')"
            " if m in sys.modules))")
    # cwd beside the package under test: with -c the current folder comes first on sys.path
    package_parent = str(pathlib.Path(dl.__file__).parent.parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=package_parent)
    assert out.stdout.strip() == "[]"
