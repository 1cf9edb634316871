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
from _gpu import on_gpu as _on_gpu
from _gpu import reference as _reference

import deeplite
from deeplite import backends

from _compare import close

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = pathlib.Path(deeplite.__file__).parent / "kernels"  # the installed package data
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
    with pytest.raises(AttributeError, match="decorate the training step with @deeplite.jit"):
        deeplite.cuda.CUDAGraph  # noqa: B018  removed: the message names deeplite.jit


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
        close(cuda.to_numpy(got), want)
    got_grad = cuda.act_grad(cuda.asarray(want), cuda.asarray(gy)[offset:], act, 0.1)
    close(cuda.to_numpy(got_grad), _reference("act_grad", want, gy[offset:], act, 0.1))
    # Bias over rows whose length is not a multiple of 4: the column of every element matters.
    inputs = (rng.normal(size=(7, 13)).astype(np.float32),
              rng.normal(size=(13, 5)).astype(np.float32),
              rng.normal(size=5).astype(np.float32), act, 0.1)
    close(_on_gpu(cuda, "linear_act", *inputs), _reference("linear_act", *inputs))


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
    # float16 results carry ~5e-4 relative rounding (float16's tolerance); the arithmetic itself is
    # float32, against which they are compared.
    for act in ("relu", "sigmoid", "softplus"):
        got = _on_gpu(cuda, act, z)
        assert got.dtype == np.float16
        close(got.astype(np.float32), _reference(act, wide), dtype=np.float16)
    for (got, want) in zip(_on_gpu(cuda, "sigmoid_bce", z, y, "mean"),
                           _reference("sigmoid_bce", wide, y.astype(np.float32), "mean")):
        close(got.astype(np.float32), want, dtype=np.float16)
    labels = rng.integers(0, 10, 64)
    for (got, want) in zip(_on_gpu(cuda, "softmax_ce", z, labels, "sum"),
                           _reference("softmax_ce", wide, labels, "sum")):
        close(got.astype(np.float32), want, dtype=np.float16)


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
    for want, got in zip(sum(host, []), sum(device, [])):
        close(cuda.to_numpy(got), want)


@pytest.mark.cuda
@pytest.mark.parametrize("nesterov, first", [(False, True), (True, False)])
def test_sgd_kernel_momentum_options_follow_the_reference(cuda, nesterov, first, rng):
    host = [[rng.normal(size=(65, 3))] for _ in range(3)]
    device = [[cuda.asarray(a) for a in group] for group in host]
    args = (first, 0.1, 0.9, 0.1, 1e-3, nesterov, False)
    _reference("sgd_step", *host, *args)
    cuda.sgd_step(*device, *args)
    for want, got in zip(sum(host, []), sum(device, [])):
        close(cuda.to_numpy(got), want)


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
    for want, got in zip(sum(host, []), sum(device, []), strict=True):
        close(cuda.to_numpy(got), want)
    sums = [np.abs(v) for v in host[2]]
    device_sums = [cuda.asarray(v) for v in sums]
    _reference("adagrad_step", host[0], host[1], sums, [1, 5], 1e-2, 0.1, 0.01, 1e-10, maximize)
    cuda.adagrad_step(device[0], device[1], device_sums, [1, 5], 1e-2, 0.1, 0.01, 1e-10,
                      maximize)
    for want, got in zip(sums, device_sums, strict=True):
        close(cuda.to_numpy(got), want)


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
