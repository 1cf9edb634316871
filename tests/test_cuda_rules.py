"""Rules of the CUDA path checked without a GPU: the probes' reasons and the TF32 switch, float16
accumulation, the codes and constants shared across languages, collection without the optional
packages, and the GPU benchmark runner."""
import pathlib
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import deeplite
from deeplite import backends
from deeplite.backends import contract, cuda_probe

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "deeplite" / "kernels"


# ---- probes: every failure records its reason ---------------------------------------------------
def _cupy_without(library: str):
    """A stand-in CuPy 14 whose NVRTC or cuBLAS cannot be loaded."""
    def kernel(*args, **kwargs):
        if library == "nvrtc":
            raise RuntimeError('Failure finding "libnvrtc.so": No such file')
        return lambda grid, block, arguments: arguments[0].__iadd__(1)

    def matmul(a, b):
        if library == "cublas":
            raise ImportError('Failure finding "libcublasLt.so"')
        return a @ b

    runtime = types.SimpleNamespace(runtimeGetVersion=lambda: 13000)
    return types.SimpleNamespace(__version__="14.0.1", float32=np.float32, zeros=np.zeros,
                                 full=np.full, RawKernel=kernel, matmul=matmul,
                                 cuda=types.SimpleNamespace(runtime=runtime))


@pytest.mark.parametrize("library, says", [("nvrtc", "NVRTC (libnvrtc)"),
                                           ("cublas", "cuBLAS (libcublas)")])
def test_library_probe_names_the_missing_library_and_the_ctk_fix(library, says):
    reason = cuda_probe.library_problem(_cupy_without(library))
    assert says in reason and "deeplite[cuda13]" in reason and "cupy-cuda13x[ctk]" in reason
    assert cuda_probe.library_problem(_cupy_without("none")) is None


def test_gpu_probe_that_raises_becomes_a_reason():
    broken = types.SimpleNamespace(__version__="13.6.0", cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(runtimeGetVersion=lambda: 1 / 0)))
    assert "failed its GPU check: ZeroDivisionError" in cuda_probe.gpu_problem(broken)


def test_a_backend_failing_with_any_exception_records_its_reason(monkeypatch):
    monkeypatch.setattr(backends, "_failures", {})
    monkeypatch.setattr(backends, "_loaded", {})

    def fail(name, package):
        raise OSError("libcudart.so.13: cannot open shared object file")

    monkeypatch.setattr(backends.importlib, "import_module", fail)
    assert backends.is_available("cuda") is False
    assert "OSError while loading the backend: libcudart.so.13" in backends.why_unavailable("cuda")
    with pytest.raises(RuntimeError, match="device 'cuda' is not available here: OSError"):
        backends.get("cuda")


def test_tf32_switch_applies_now_when_bound_and_on_every_change():
    switch, applied = cuda_probe.Tf32Switch(), []
    switch.set(True)  # before the backend loads: only recorded
    switch.bind(applied.append)
    switch.set(False)
    assert applied == [True, False] and switch.enabled is False


def test_extras_pull_cupy_with_its_cuda_libraries():
    text = (ROOT / "pyproject.toml").read_text()
    for major in (12, 13):
        assert re.search(rf'cuda{major} = \["cupy-cuda{major}x\[ctk\]>=14', text)


# ---- float16: counts and epsilons in float32 -----------------------------------------------------
@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_float16_mean_of_more_than_65504_elements(device):
    if not backends.is_available(device):
        pytest.skip(f"{device} unavailable")
    x = deeplite.tensor(np.ones(70_000, np.float16), device=device, requires_grad=True)
    mean = x.mean()
    assert mean.dtype == np.float16 and float(mean) == 1.0
    mean.backward()
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), 1 / 70_000, rtol=2e-3)


def test_float16_reference_losses_reduce_in_float32(rng):
    b = backends.get("numpy")
    z = rng.normal(0, 2, 70_000).astype(np.float16)
    y = (rng.random(z.size) < 0.5).astype(np.float16)
    loss, dz = b.sigmoid_bce(z, y, "mean")
    z64, y64 = z.astype(np.float64), y.astype(np.float64)
    expected = np.mean(np.maximum(z64, 0) - z64 * y64 + np.log1p(np.exp(-np.abs(z64))))
    assert loss.dtype == np.float16 and abs(float(loss) - expected) < 2e-3 * expected
    np.testing.assert_allclose(dz.astype(np.float64), (1 / (1 + np.exp(-z64)) - y64) / z.size,
                               rtol=5e-3, atol=6e-8)  # 6e-8: float16's subnormal step


def test_float16_adam_reference_keeps_eps_and_never_makes_nan(rng):
    b = backends.get("numpy")
    p = rng.normal(size=64).astype(np.float16)
    g = np.zeros(64, np.float16)  # zero gradients: sqrt(v) = 0, so eps alone keeps 0/0 away
    m, v = np.zeros(64, np.float16), np.zeros(64, np.float16)
    before = p.copy()
    b.adam_step([p], [g], [m], [v], None, [1], 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    assert p.dtype == np.float16 and np.isfinite(p).all()
    np.testing.assert_array_equal(p, before)


# ---- one source for each rule that crosses languages --------------------------------------------
def test_dl_math_codes_match_the_contract():
    header = (KERNELS / "dl_math.h").read_text()

    def enum(name):
        body = re.search(rf"enum {name} {{([^}}]*)}}", header).group(1)
        return {int(code): label for label, code in re.findall(r"(\w+) = (\d+)", body)}

    def snake(label):
        return re.sub(r"(?<!^)([A-Z])", r"_\1", label[1:]).lower()

    assert tuple(snake(enum("Act")[i]) for i in range(6)) == contract.ACTIVATIONS
    assert tuple(snake(enum("Reduction")[i]) for i in range(3)) == contract.REDUCTIONS


def test_c_extension_exports_the_contract_codes():
    if not backends.is_available("cpu"):
        pytest.skip("cpu backend unavailable")
    from deeplite import _C

    assert _C.ACTIVATIONS == contract.ACTIVATIONS and _C.REDUCTIONS == contract.REDUCTIONS


def test_block_size_lives_in_one_header_line_used_by_every_kernel():
    header = (KERNELS / "dl_cuda.h").read_text()
    assert len(re.findall(r"#define DL_BLOCK_THREADS \d+", header)) == 1
    for source in KERNELS.glob("*.cu"):
        text = source.read_text()
        assert "__launch_bounds__(DL_BLOCK_THREADS)" in text
        assert not re.search(r"__launch_bounds__\(\d", text) and '#include "dl_cuda.h"' in text
    threads = cuda_probe.block_threads()  # what cuda_backend launches
    assert threads == int(re.search(r"#define DL_BLOCK_THREADS (\d+)", header).group(1))
    assert threads % 32 == 0  # whole warps: BlockSum relies on it


def test_every_test_module_collects_without_the_optional_packages(tmp_path):
    blocker = tmp_path / "block_optional.py"
    blocker.write_text("import sys\nfor name in ('hypothesis', 'torch', 'cupy'):\n"
                       "    sys.modules[name] = None\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                             "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p",
                             "block_optional", "tests"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={**__import__("os").environ,
                                 "PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "tests/test_cuda.py::" in result.stdout  # the cuda tests are among the collected
    assert "property tests need hypothesis" in result.stdout  # skipped, not an error


# ---- the GPU benchmark runner: a failing case leaves a row, the others still run ----------------
def test_gpu_bench_keeps_going_past_a_failed_case_and_reports_targets(monkeypatch):
    from benchmarks import gpu_bench
    from benchmarks.cases import gpu

    def fine(ctx, floor):
        yield [{"case": "gpu_relu_forward", "shape": "(8,)", "framework": "deeplite",
                "fraction_of_limit": 0.85, "limit": "gpu copy", "target": ">= 80% of the floor",
                "met": True},
               {"case": "gpu_train_step", "shape": "b256", "framework": "deeplite",
                "speedup": 0.9, "target": ">= 1.00x torch eager", "met": False}]

    def broken(ctx, floor):
        raise RuntimeError("cuBLAS exploded\nsecond line")
        yield

    monkeypatch.setattr(gpu, "CASES", (broken, fine))
    records, failures = gpu_bench.run_cases(ctx=None)
    assert len(records) == 2 and failures == [("broken", "RuntimeError: cuBLAS exploded")]
    lines = gpu_bench.verdicts(records, failures)
    assert "| gpu_relu_forward | (8,) | 85% of gpu copy | >= 80% of the floor | yes |" in lines
    assert "| gpu_train_step | b256 | 0.90x torch | >= 1.00x torch eager | NO |" in lines
    assert lines[-1] == "| broken | | FAILED: RuntimeError: cuBLAS exploded | | NO |"


def test_one_flop_formula_skips_the_first_layers_input_gradient():
    from benchmarks.mlp import MLPSpec

    spec = MLPSpec((784, 1024, 10), 256, "ce")
    forward = 2 * 256 * (784 * 1024 + 1024 * 10)
    weight_grads = forward
    input_grads = 2 * 256 * 1024 * 10  # only the second layer's input needs a gradient
    assert spec.flops == forward + weight_grads + input_grads
