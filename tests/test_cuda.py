"""The cuda backend: what can be checked without a GPU (lazy import, reasons, kernel compiles) and,
under the ``cuda`` marker, the native kernels, float16 storage, memory, TF32 and CUDA graphs.

The conformance suite (test_kernels.py) and the op and gradcheck tests (test_ops.py) already run
every kernel on ``cuda`` when it is available; this file covers what is particular to the GPU.
"""
import ctypes
import ctypes.util
import gc
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import deeplite
from deeplite import backends

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "deeplite" / "kernels"
CUDA = backends.is_available("cuda")
needs_no_gpu = pytest.mark.skipif(CUDA, reason="checks the behaviour without a GPU")
# Every kernel the cuda backend launches, by source file and storage-type suffix.
EXPECTED_KERNELS = {
    "fused.cu": [f"{name}_{suffix}" for name in ("bias_act", "act_grad", "sigmoid_bce",
                                                 "softmax_ce", "sum_partials", "segment_sum")
                 for suffix in ("f16", "f32", "f64")] + ["segment_sum_i32", "segment_sum_i64"],
    "optim.cu": [f"{name}_{suffix}" for name in ("sgd_step", "adam_step", "rmsprop_step",
                                                 "adagrad_step")
                 for suffix in ("f32", "f64")],
}


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (imports start from nothing); returns its stdout."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# ---- without a GPU ------------------------------------------------------------------------------
def test_import_deeplite_never_imports_cupy():
    out = _python("import sys, deeplite, deeplite.cuda\n"
                  "deeplite.cuda.allow_tf32 = True\n"
                  "print('cupy' in sys.modules, deeplite.cuda.allow_tf32)")
    assert out == "False True"


@needs_no_gpu
def test_without_a_gpu_cuda_is_unavailable_and_says_why():
    assert deeplite.cuda.is_available() is False
    reason = deeplite.cuda.why_unavailable()
    assert isinstance(reason, str) and ("CuPy" in reason or "GPU" in reason)
    with pytest.raises(RuntimeError, match="device 'cuda' is not available here"):
        backends.get("cuda")
    assert deeplite.cuda.memory_allocated() == 0 and deeplite.cuda.device_count() == 0
    deeplite.cuda.empty_cache()
    deeplite.cuda.synchronize()
    with pytest.raises(RuntimeError, match="CUDAGraph: CUDA is not available"):
        deeplite.cuda.CUDAGraph(lambda: None)


# A stand-in for libcuda that reports a driver version, so the reasons can be checked anywhere.
_FAKE_DRIVER = """
import ctypes, ctypes.util, sys
sys.modules["cupy"] = None  # CuPy "not installed"
class FakeDriver:
    def cuDriverGetVersion(self, out):
        ctypes.cast(out, ctypes.POINTER(ctypes.c_int))[0] = {version}
        return 0
def fake_cdll(name):
    if {version} < 0:
        raise OSError(name)
    return FakeDriver()
ctypes.CDLL = fake_cdll
ctypes.util.find_library = lambda name: "libcuda.so.1"
import deeplite.cuda
print(deeplite.cuda.why_unavailable())
"""


@pytest.mark.parametrize("driver, expected", [
    (12080, "supports CUDA 12.8: pip install 'deeplite[cuda12]'"),
    (13000, "supports CUDA 13.0: pip install 'deeplite[cuda13]'"),
    (11080, "update the driver"),
    (-1, "no NVIDIA driver was found"),
])
def test_reason_when_cupy_is_missing_names_the_extra(driver, expected):
    assert expected in _python(_FAKE_DRIVER.format(version=driver))


@pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="needs CuPy installed")
@pytest.mark.parametrize("driver, devices, expected", [
    (0, 1, "no NVIDIA driver was found"),
    (12040, 1, "pip uninstall cupy-cuda13x && pip install 'deeplite[cuda12]'"),
    (13000, 0, "found no CUDA GPU"),
])
def test_reason_when_cupy_cannot_use_the_gpu(driver, devices, expected):
    out = _python(f"import cupy\n"
                  f"runtime = cupy.cuda.runtime\n"
                  f"runtime.runtimeGetVersion = lambda: 13000\n"
                  f"runtime.driverGetVersion = lambda: {driver}\n"
                  f"runtime.getDeviceCount = lambda: {devices}\n"
                  f"import deeplite.cuda\n"
                  f"print(deeplite.cuda.why_unavailable())")
    assert expected in out


def _ptx_entries(source: pathlib.Path, arch: str, tmp_path) -> set:
    ptx = tmp_path / f"{source.stem}_{arch}.ptx"
    subprocess.run(["nvcc", "-std=c++17", "--ptx", f"-arch={arch}", "-I", str(KERNELS), str(source),
                    "-o", str(ptx)], check=True, capture_output=True, timeout=300)
    return set(re.findall(r"\.entry\s+(\w+)\(", ptx.read_text()))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
@pytest.mark.parametrize("file", sorted(EXPECTED_KERNELS))
def test_kernels_compile_with_nvcc_and_export_every_launched_name(file, tmp_path):
    # .ci/compile-cuda builds sm_80 and sm_90; here sm_90 also checks the names Python launches.
    entries = _ptx_entries(KERNELS / file, "sm_90", tmp_path)
    assert set(EXPECTED_KERNELS[file]) <= entries


def _nvrtc():
    """libnvrtc as CuPy would load it, or None."""
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib
        return ctypes.CDLL(load_nvidia_dynamic_lib("nvrtc").abs_path)
    except Exception:  # no cuda-pathfinder, or no NVRTC in it: try the system's
        name = ctypes.util.find_library("nvrtc")
        return ctypes.CDLL(name) if name else None


@pytest.mark.parametrize("file", sorted(EXPECTED_KERNELS))
def test_kernels_compile_with_nvrtc_as_cupy_rawmodule_does(file):
    nvrtc = _nvrtc()
    if nvrtc is None:
        pytest.skip("needs the NVRTC library")
    program = ctypes.c_void_p()
    source = (KERNELS / file).read_bytes()
    created = nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, file.encode(), 0, None, None)
    assert created == 0
    options = [b"--std=c++17", b"-I" + str(KERNELS).encode(), b"-arch=compute_80",
               b"-DDL_MATH_DIGEST=0x0"]
    status = nvrtc.nvrtcCompileProgram(program, len(options),
                                       (ctypes.c_char_p * len(options))(*options))
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    assert status == 0, log.value.decode()


# ---- on a GPU -----------------------------------------------------------------------------------
NATIVE = {"sigmoid", "relu", "leaky_relu", "softplus", "act_grad", "linear_act", "sigmoid_bce",
          "softmax_ce", "sgd_step", "adam_step", "rmsprop_step", "adagrad_step"}


@pytest.fixture
def cuda():
    return backends.get("cuda")


def _reference(kernel, *args):
    """The numpy backend's (reference) result of ``kernel`` on host arrays."""
    return getattr(backends.get("numpy"), kernel)(*args)


def _on_gpu(cuda, kernel, *args):
    """``kernel`` on the GPU with host arrays moved there; results back on the host."""
    result = getattr(cuda, kernel)(*[cuda.asarray(a) if isinstance(a, np.ndarray) else a
                                     for a in args])
    return tuple(map(cuda.to_numpy, result)) if isinstance(result, tuple) else cuda.to_numpy(result)


@pytest.mark.cuda
def test_fused_kernels_are_native(cuda):
    assert NATIVE <= cuda.native


@pytest.mark.cuda
@pytest.mark.parametrize("offset", [0, 1])  # 1: a view off the 16-byte boundary, element by element
@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "tanh", "softplus"])
def test_activation_kernels_aligned_and_not(cuda, act, offset, rng):
    x = rng.normal(0, 3, 4099 + offset).astype(np.float32)
    gy = rng.normal(size=4099 + offset).astype(np.float32)
    slope = (0.1,) if act == "leaky_relu" else ()
    want = getattr(backends.get("numpy"), act)(x[offset:], *slope)
    if act != "tanh":  # tanh is a REQUIRED kernel (CuPy's); the others are fused here
        got = getattr(cuda, act)(cuda.asarray(x)[offset:], *slope)
        np.testing.assert_allclose(cuda.to_numpy(got), want, rtol=1e-6, atol=1e-6)
    got_grad = cuda.act_grad(cuda.asarray(want), cuda.asarray(gy)[offset:], act, 0.1)
    np.testing.assert_allclose(cuda.to_numpy(got_grad), _reference("act_grad", want, gy[offset:],
                                                                   act, 0.1), rtol=1e-6, atol=1e-6)
    # Bias over rows whose length is not a multiple of 4: the column of every element matters.
    inputs = (rng.normal(size=(7, 13)).astype(np.float32),
              rng.normal(size=(13, 5)).astype(np.float32),
              rng.normal(size=5).astype(np.float32), act, 0.1)
    np.testing.assert_allclose(_on_gpu(cuda, "linear_act", *inputs),
                               _reference("linear_act", *inputs),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.cuda
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_losses_on_logits_of_1e4_are_finite_and_exact(cuda, reduction):
    z = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    loss, dz = _on_gpu(cuda, "sigmoid_bce", z, y, reduction)
    expected = np.array([0.0, 0.0, 1e4, 1e4, np.log(2.0)])
    reduced = {"none": expected, "mean": expected.mean(), "sum": expected.sum()}[reduction]
    np.testing.assert_allclose(loss, reduced, rtol=1e-6)
    assert np.isfinite(dz).all()
    rows = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=np.float32)
    ce_loss, ce_dz = _on_gpu(cuda, "softmax_ce", rows, np.array([1, 1]), reduction)
    assert np.isfinite(ce_loss).all() and np.isfinite(ce_dz).all()
    np.testing.assert_allclose(ce_loss, {"none": [2e4, 0.0], "mean": 1e4, "sum": 2e4}[reduction],
                               rtol=1e-6)


@pytest.mark.cuda
def test_loss_reduction_over_many_elements_keeps_float32_accuracy(cuda, rng):
    # Partial sums in double: a float32 running sum over 2^24 terms would be off by ~1e-4.
    z = rng.normal(0, 4, (1 << 24) + 3).astype(np.float32)
    y = (rng.random(z.size) < 0.5).astype(np.float32)
    loss, _ = _on_gpu(cuda, "sigmoid_bce", z, y, "mean")
    z64 = z.astype(np.float64)
    expected = np.mean(np.maximum(z64, 0) - z64 * y + np.log1p(np.exp(-np.abs(z64))))
    assert abs(float(loss) - expected) <= 2e-7 * abs(expected)


@pytest.mark.cuda
def test_float16_storage_computes_in_float32(cuda, rng):
    z = rng.normal(0, 3, (64, 10)).astype(np.float16)
    y = (rng.random(z.shape) < 0.5).astype(np.float16)
    wide = z.astype(np.float32)
    # float16 results carry ~5e-4 relative rounding; the arithmetic itself is float32.
    close = dict(rtol=2e-3, atol=2e-3)
    for act in ("relu", "sigmoid", "softplus"):
        got = _on_gpu(cuda, act, z)
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), _reference(act, wide), **close)
    for (got, want) in zip(_on_gpu(cuda, "sigmoid_bce", z, y, "mean"),
                           _reference("sigmoid_bce", wide, y.astype(np.float32), "mean"),
                           strict=True):
        np.testing.assert_allclose(np.float32(got), want, **close)
    labels = rng.integers(0, 10, 64)
    for (got, want) in zip(_on_gpu(cuda, "softmax_ce", z, labels, "sum"),
                           _reference("softmax_ce", wide, labels, "sum"), strict=True):
        np.testing.assert_allclose(np.float32(got), want, rtol=2e-3, atol=2e-3 * np.abs(want).max())


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("flags", [dict(decoupled=False, amsgrad=False, maximize=False),
                                   dict(decoupled=True, amsgrad=True, maximize=False),
                                   dict(decoupled=False, amsgrad=True, maximize=True)])
def test_adam_kernel_options_follow_the_reference(cuda, dtype, flags, rng):
    shapes = [(33, 7), (5,)]
    host = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(5)]
    host[3] = [np.abs(v) for v in host[3]]  # second moments are non-negative
    host[4] = [np.abs(v) + 0.5 for v in host[4]]
    device = [[cuda.asarray(a) for a in group] for group in host]
    args = ([3, 3], 1e-2, 0.9, 0.999, 1e-8, 0.01, flags["decoupled"], flags["amsgrad"],
            flags["maximize"])
    _reference("adam_step", *host, *args)
    cuda.adam_step(*device, *args)
    for want, got in zip(sum(host, []), sum(device, []), strict=True):
        tolerance = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(cuda.to_numpy(got), want, rtol=tolerance, atol=tolerance)


@pytest.mark.cuda
@pytest.mark.parametrize("nesterov, first", [(False, True), (True, False)])
def test_sgd_kernel_momentum_options_follow_the_reference(cuda, nesterov, first, rng):
    host = [[rng.normal(size=(65, 3))] for _ in range(3)]
    device = [[cuda.asarray(a) for a in group] for group in host]
    args = (first, 0.1, 0.9, 0.1, 1e-3, nesterov, False)
    _reference("sgd_step", *host, *args)
    cuda.sgd_step(*device, *args)
    for want, got in zip(sum(host, []), sum(device, []), strict=True):
        np.testing.assert_allclose(cuda.to_numpy(got), want, rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("centered, momentum, maximize", [(False, 0.0, False), (True, 0.9, True)])
def test_rmsprop_and_adagrad_kernels_follow_the_reference(cuda, dtype, centered, momentum,
                                                          maximize, rng):
    shapes = [(33, 7), (5,)]
    host = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(5)]
    host[2] = [np.abs(v) + 1 for v in host[2]]  # square averages
    host[3] = [0.1 * v for v in host[3]]  # grad averages: sq - ga^2 stays positive
    device = [[cuda.asarray(a) for a in group] for group in host]
    args = (1e-2, 0.99, 1e-8, 0.01, momentum, centered, maximize)
    _reference("rmsprop_step", *host, *args)
    cuda.rmsprop_step(*device, *args)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for want, got in zip(sum(host, []), sum(device, []), strict=True):
        np.testing.assert_allclose(cuda.to_numpy(got), want, rtol=tolerance, atol=tolerance)
    sums = [np.abs(v) for v in host[2]]
    device_sums = [cuda.asarray(v) for v in sums]
    _reference("adagrad_step", host[0], host[1], sums, [1, 5], 1e-2, 0.1, 0.01, 1e-10, maximize)
    cuda.adagrad_step(device[0], device[1], device_sums, [1, 5], 1e-2, 0.1, 0.01, 1e-10,
                      maximize)
    for want, got in zip(sums, device_sums, strict=True):
        np.testing.assert_allclose(cuda.to_numpy(got), want, rtol=tolerance, atol=tolerance)


@pytest.mark.cuda
def test_out_of_memory_is_a_clear_error(cuda):
    with pytest.raises(MemoryError, match=r"zeros: CUDA out of memory: .*bytes.*empty_cache"):
        cuda.zeros((1 << 46,), np.float32)  # 256 TiB
    with pytest.raises(MemoryError, match="out of memory"):
        deeplite.zeros(1 << 46, device="cuda")


@pytest.mark.cuda
def test_memory_allocated_follows_live_tensors():
    gc.collect()
    before = deeplite.cuda.memory_allocated()
    x = deeplite.zeros(1 << 20, device="cuda")
    assert deeplite.cuda.memory_allocated() >= before + 4 * (1 << 20)
    del x
    assert deeplite.cuda.memory_allocated() <= before
    deeplite.cuda.empty_cache()
    assert deeplite.cuda.memory_reserved() >= deeplite.cuda.memory_allocated()


@pytest.mark.cuda
def test_tensors_move_between_devices_and_mixing_is_an_error(rng):
    data = rng.normal(size=(3, 4)).astype(np.float32)
    on_gpu = deeplite.tensor(data).to("cuda")
    assert on_gpu.device == "cuda"
    np.testing.assert_array_equal(on_gpu.to("cpu").numpy(), data)
    np.testing.assert_array_equal(on_gpu.numpy(), data)
    with pytest.raises(ValueError, match="cuda"):
        on_gpu + deeplite.tensor(data, device="numpy")


@pytest.mark.cuda
def test_manual_seed_gives_the_same_draws_on_every_device():
    deeplite.cuda.manual_seed(7)
    on_gpu = deeplite.randn(5, device="cuda").numpy()
    deeplite.cuda.manual_seed(7)
    np.testing.assert_array_equal(deeplite.randn(5, device="numpy").numpy(), on_gpu)


@pytest.mark.cuda
def test_allow_tf32_takes_effect_on_matmul(cuda, rng):
    import cupy

    if int(cupy.cuda.Device().compute_capability) < 80:
        pytest.skip("TF32 needs compute capability 8.0")
    a, b = rng.normal(size=(2, 512, 512)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)

    def error() -> float:
        got = cuda.to_numpy(cuda.matmul(cuda.asarray(a), cuda.asarray(b)))
        return float(np.abs(got - exact).max() / np.abs(exact).max())

    try:
        deeplite.cuda.allow_tf32 = True
        with_tf32 = error()
    finally:
        deeplite.cuda.allow_tf32 = False
    assert error() < 1e-5 < with_tf32  # TF32 keeps 10 mantissa bits: ~1e-3 relative


def _model_and_step(seed: int):
    """A 20-32-4 ReLU MLP with SGD momentum on the GPU, and its training step as users write it."""
    deeplite.manual_seed(seed)
    model = deeplite.nn.MLP([20, 32, 4], device="cuda")
    optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        optimizer.zero_grad()
        loss = deeplite.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return model, step


@pytest.mark.cuda
@pytest.mark.parametrize("warmup", [1, 2])
def test_cuda_graph_run_equals_the_eager_run_step_for_step(rng, warmup):
    # Warm-up steps are the run's first real steps, so the momentum of SGD's first step and every
    # later one match: the same batches, once each, give the same losses and parameters.
    batches = [(rng.normal(size=(16, 20)).astype(np.float32),
                (rng.random((16, 4)) < 0.5).astype(np.float32)) for _ in range(6)]
    eager_model, eager = _model_and_step(0)
    graph_model, graph_step = _model_and_step(0)
    x0, y0 = (deeplite.tensor(a, device="cuda") for a in batches[0])
    graphed = deeplite.cuda.CUDAGraph(graph_step, x0, y0, warmup=warmup)
    for x, y in batches:
        want = float(eager(deeplite.tensor(x, device="cuda"), deeplite.tensor(y, device="cuda")))
        # The captured GEMMs may run other cuBLAS algorithms than CuPy's: rounding-level
        # differences. A lost momentum step or an extra step would differ by far more.
        assert float(graphed(x, y)) == pytest.approx(want, rel=1e-5)
    assert graphed.captured
    for a, b in zip(eager_model.parameters(), graph_model.parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="captured with"):
        graphed(batches[0][0][:8], batches[0][1][:8])


@pytest.mark.cuda
def test_cuda_graph_capture_of_a_host_sync_says_so(rng):
    _, step = _model_and_step(1)
    x = deeplite.tensor(rng.normal(size=(8, 20)).astype(np.float32), device="cuda")
    y = deeplite.zeros(8, 4, device="cuda")
    graph = deeplite.cuda.CUDAGraph(lambda a, b: float(step(a, b)), x, y, warmup=1)
    graph(x, y)  # the eager warm-up step: a host sync is fine there
    with pytest.raises(RuntimeError, match="host sync") as caught:
        graph(x, y)
    assert "cuBLAS" not in str(caught.value)  # the matmuls captured; the sync is the cause


@pytest.mark.cuda
@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-5), (np.float64, 1e-12),
                                              (np.float16, 2e-2)])
def test_capture_gemm_path_matches_numpy_on_every_layout(dtype, tolerance, rng):
    import cupy

    from deeplite.backends.cuda_gemm import GraphCapture

    gemm = GraphCapture(cupy, cupy.cuda.get_current_stream(), tf32=False)
    host_a = rng.normal(size=(3, 9, 7)).astype(dtype)
    host_b = rng.normal(size=(7, 5)).astype(dtype)
    a, b = cupy.asarray(host_a), cupy.asarray(host_b)
    wide = cupy.zeros((9, 12), dtype)
    wide[:, 2:9] = a[0]
    cases = [(a[0], b, host_a[0], host_b),  # contiguous 2-D
             (a[0].T.copy().T, b.T.copy().T, host_a[0], host_b),  # transposed views
             (wide[:, 2:9], b, host_a[0], host_b),  # a slice: row stride 12, offset 2
             (a, b, host_a, host_b),  # a batch against one matrix (stride 0)
             (a, cupy.stack([b] * 3), host_a, np.stack([host_b] * 3)),  # strided batch
             (a[0, 0], b, host_a[0, 0], host_b),  # vector @ matrix
             (a[0], b[:, 0], host_a[0], host_b[:, 0])]  # matrix @ vector
    for got_a, got_b, want_a, want_b in cases:
        got = cupy.asnumpy(gemm.matmul(got_a, got_b)).astype(np.float64)
        want = want_a.astype(np.float64) @ want_b.astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * 10)


@pytest.mark.cuda
def test_library_probe_passes_on_a_working_gpu():
    import cupy

    from deeplite.backends import cuda_probe

    assert cuda_probe.library_problem(cupy) is None


@pytest.mark.cuda
def test_index_add_is_deterministic_and_takes_int64(cuda, rng):
    rows = rng.integers(0, 50, 200_000)  # many repeats per target
    values = rng.normal(size=(200_000, 3)).astype(np.float32)
    expected = np.zeros((50, 3), np.float64)
    np.add.at(expected, rows, values.astype(np.float64))
    runs = [cuda.to_numpy(cuda.index_add((50, 3), (cuda.asarray(rows.astype(np.int64)),),
                                         cuda.asarray(values))) for _ in range(3)]
    for run in runs[1:]:
        np.testing.assert_array_equal(run, runs[0])  # bit for bit
    np.testing.assert_allclose(runs[0], expected, rtol=1e-4, atol=1e-3)
    ones = cuda.asarray(np.ones(rows.size, np.int64))
    counts = cuda.index_add((50,), (cuda.asarray(rows),), ones)
    np.testing.assert_array_equal(cuda.to_numpy(counts), np.bincount(rows, minlength=50))


@pytest.mark.cuda
@pytest.mark.parametrize("view", ["offset", "strided", "transposed"])
def test_fused_kernels_take_device_views(cuda, view, rng):
    # Views made on the device (cupy.asarray of a host view would be a contiguous copy).
    import cupy

    host = rng.normal(0, 2, (33, 18)).astype(np.float32)
    base = cupy.asarray(host)
    make = {"offset": lambda a: a.reshape(-1)[1:1 + 32 * 16].reshape(32, 16),  # unaligned
            "strided": lambda a: a[::2, ::3], "transposed": lambda a: a.T}[view]
    x = make(base)
    x_host = cupy.asnumpy(x)
    labels = rng.integers(0, x.shape[1], x.shape[0])
    y_host = (rng.random(x.shape) < 0.5).astype(np.float32)
    y = cupy.asarray(y_host)
    for kernel, args, host_args in [
            ("relu", (x,), (x_host,)), ("sigmoid", (x,), (x_host,)),
            ("act_grad", (x, x, "softplus", 0.0), (x_host, x_host, "softplus", 0.0)),
            ("sigmoid_bce", (x, y, "mean"), (x_host, y_host, "mean")),
            ("softmax_ce", (x, cupy.asarray(labels), "sum"), (x_host, labels, "sum")),
            ("linear_act", (x, x.T, None, "relu", 0.0), (x_host, x_host.T, None, "relu", 0.0))]:
        got = getattr(cuda, kernel)(*args)
        want = _reference(kernel, *host_args)
        for g, w in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,), strict=True):
            np.testing.assert_allclose(cuda.to_numpy(g), w, rtol=1e-5, atol=1e-5, err_msg=kernel)


@pytest.mark.cuda
def test_softmax_ce_reduction_over_many_rows_is_two_stage_and_exact(cuda, rng):
    z = rng.normal(0, 3, (300_000, 5)).astype(np.float32)
    labels = rng.integers(0, 5, z.shape[0])
    loss, _ = _on_gpu(cuda, "softmax_ce", z, labels, "mean")
    want, _ = _reference("softmax_ce", z.astype(np.float64), labels, "mean")
    assert abs(float(loss) - float(want)) <= 1e-6 * abs(float(want))


@pytest.mark.cuda
def test_linear_act_on_3d_input_folds_the_batch_into_rows(cuda, rng):
    x = rng.normal(size=(4, 6, 8)).astype(np.float32)
    w = rng.normal(size=(8, 5)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    got = _on_gpu(cuda, "linear_act", x, w, b, "sigmoid", 0.0)
    assert got.shape == (4, 6, 5)
    np.testing.assert_allclose(got, _reference("linear_act", x, w, b, "sigmoid", 0.0), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.cuda
def test_setitem_takes_host_values_on_the_gpu(rng):
    t = deeplite.zeros(4, 3, device="cuda")
    row = rng.normal(size=3).astype(np.float32)
    t[1] = row
    t[2] = [1.0, 2.0, 3.0]
    t[0, 0] = 7.0
    expected = np.zeros((4, 3), np.float32)
    expected[1], expected[2], expected[0, 0] = row, [1.0, 2.0, 3.0], 7.0
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.cuda
def test_float16_mean_and_adam_on_the_gpu(rng):
    x = deeplite.tensor(np.ones(70_000, np.float16), device="cuda")
    assert float(x.mean()) == 1.0
    p = deeplite.tensor(rng.normal(size=64).astype(np.float16), device="cuda", requires_grad=True)
    optimizer = deeplite.optim.Adam([p], lr=1e-3)
    p.grad = deeplite.zeros(64, device="cuda", dtype=deeplite.float16)
    optimizer.step()
    assert np.isfinite(p.detach().numpy()).all()
