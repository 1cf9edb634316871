"""The cpu backend's float32 GEMMs (oneDNN's dnnl_sgemm, OpenBLAS's, deeplite's own AVX-512
kernel), each against NumPy float64 on shapes large enough to reach the external one
(deeplite/backends/cpu_sgemm.py, csrc/cpu/small_gemm.cpp)."""
import os

import numpy as np
import pytest

from deeplite import backends

from _compare import close_to_float64_product

if not backends.is_available("cpu"):
    pytest.skip(f"cpu backend unavailable: {backends.why_unavailable('cpu')}",
                allow_module_level=True)

from deeplite import _C  # noqa: E402  (only importable when cpu is available)
from deeplite.backends import cpu_sgemm  # noqa: E402

CPU = backends.get("cpu")
# Odd sizes, each above the 2^20 multiply-adds from which the external sgemm runs.
SHAPES = [(129, 65, 257), (33, 1031, 97), (256, 128, 256)]
CHOICES = ["openblas",
           pytest.param("deeplite", marks=pytest.mark.skipif(
               not _C.small_gemm_available(), reason="no AVX-512 on this CPU")),
           pytest.param("onednn", marks=pytest.mark.skipif(
               not cpu_sgemm._dnnl_sgemm_address(),
               reason="libdnnl (deeplite[bf16]) not installed"))]


@pytest.fixture(params=CHOICES)
def sgemm(request):
    """Each float GEMM in turn: OpenBLAS alone, deeplite's own kernel on every product it takes
    (OpenBLAS on the rest), oneDNN; afterwards the ones the environment chose again."""
    library = "openblas" if request.param == "deeplite" else request.param
    assert cpu_sgemm.select(_C, library) == library
    _C.set_small_gemm(0, 1 << 62 if request.param == "deeplite" else 0)
    assert _C.has_external_sgemm() == (request.param == "onednn")
    yield request.param
    _C.set_small_gemm()
    cpu_sgemm.select(_C)


def operands(rng, rows, cols):
    """A contiguous (rows, cols) float32 array, a transposed view and a strided slice of it."""
    base = rng.standard_normal((rows, cols)).astype(np.float32)
    flipped = np.ascontiguousarray(base.T).T
    strided = rng.standard_normal((rows * 2, cols + 3)).astype(np.float32)[::2, 1:-2]
    return base, flipped, strided


def test_matmul_of_views_matches_numpy_float64(sgemm):
    rng = np.random.default_rng(7)
    for m, k, n in SHAPES:
        for a in operands(rng, m, k):
            for b in operands(rng, k, n):
                close_to_float64_product(CPU.matmul(a, b), a, b)


def test_linear_act_gradients_match_numpy_float64(sgemm):
    rng = np.random.default_rng(8)
    for rows, inputs, outputs in SHAPES:
        x = rng.standard_normal((rows, inputs)).astype(np.float32)
        w = rng.standard_normal((inputs, outputs)).astype(np.float32)
        gy = rng.standard_normal((rows, outputs)).astype(np.float32)
        gx, gw, gb = CPU.linear_act_grad(x, w, None, gy, "identity", 0.0, True, True, True)
        close_to_float64_product(gx, gy, w.T)
        close_to_float64_product(gw, x.T, gy)
        np.testing.assert_allclose(gb, gy.astype(np.float64).sum(0), rtol=1e-4, atol=1e-4)


def test_the_thread_split_never_changes_a_gemm(sgemm):
    # Products of 2^25 multiply-adds, which 2 threads split (by rows, then by columns): the
    # library is chosen for the whole product, so 1 and 2 threads give the same bits.
    rng = np.random.default_rng(11)
    before = CPU.module.num_threads()
    try:
        for m, k, n in [(256, 1024, 128), (128, 1024, 256)]:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            results = []
            for threads in (1, 2):
                CPU.module.set_num_threads(threads)
                results.append(CPU.matmul(a, b))
            np.testing.assert_array_equal(results[0], results[1])
    finally:
        CPU.module.set_num_threads(before)


def test_gemm_overwrites_its_output_without_reading_it(sgemm):
    # A replay writes into a buffer that holds the last step's values: beta = 0 must not read
    # them (NaN there would otherwise survive).
    rng = np.random.default_rng(9)
    x = rng.standard_normal((128, 256)).astype(np.float32)
    w = rng.standard_normal((256, 64)).astype(np.float32)
    out = np.empty((128, 64), np.float32)
    plan = _C.Plan(np.zeros(1))
    plan.linear_act(x, w, None, "identity", 0.0, out)
    out.fill(np.nan)
    plan.run()
    close_to_float64_product(out, x, w)


def test_float64_and_small_gemms_agree_with_either_choice():
    rng = np.random.default_rng(10)
    small = rng.standard_normal((32, 16)).astype(np.float32), rng.standard_normal((16, 8))
    results = []
    for choice in ("openblas", "auto"):
        cpu_sgemm.select(_C, choice)
        results.append((CPU.matmul(small[0], small[0].T), CPU.matmul(small[1], small[1].T)))
    cpu_sgemm.select(_C)
    # Both below the threshold or float64: OpenBLAS either way.
    for first, second in zip(*results, strict=True):
        np.testing.assert_array_equal(first, second)


def test_only_onednn_is_warmed_up_and_the_warm_up_ends(monkeypatch):
    warmed = []
    monkeypatch.setattr(cpu_sgemm, "_warm_up", warmed.append)
    cpu_sgemm.select(_C, "openblas")
    assert warmed == []
    monkeypatch.undo()
    thread = cpu_sgemm._warm_up(_C)  # one GEMM on its own thread, then it ends
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.daemon
    if cpu_sgemm._dnnl_sgemm_address():
        monkeypatch.setattr(cpu_sgemm, "_warm_up", warmed.append)
        cpu_sgemm.select(_C, "onednn")
        assert warmed == [_C]
    cpu_sgemm.select(_C)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_fork_waits_for_the_warm_up_and_the_child_multiplies():
    import time

    cpu_sgemm._warm_up(_C)
    child = os.fork()  # at once: the before-fork hook joins the warm-up first
    if child == 0:
        # The warm-up's own shape: oneDNN's path on one thread (libgomp's pool does not survive
        # a fork, whatever deeplite does, so the child starts no OpenMP team).
        a = np.ones((16, 8192), np.float32)
        os._exit(0 if np.all(CPU.matmul(a, a.T) == 8192) else 1)
    assert cpu_sgemm._warm_ups == []
    deadline = time.monotonic() + 60
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(child, 9)
        os.waitpid(child, 0)
        pytest.fail("the forked child's GEMM hung")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_a_process_may_end_while_onednn_compiles():
    import subprocess
    import sys

    import deeplite

    # The cpu backend loads (starting the warm-up GEMM) and the interpreter exits at once. The
    # child runs beside the deeplite under test, never the source tree in the current
    # directory, whose deeplite/ has no compiled _C after a plain `pip install .`.
    code = "from deeplite import backends; backends.get('cpu'); print('ok')"
    home = os.path.dirname(os.path.dirname(os.path.realpath(deeplite.__file__)))
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=home)
        assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "ok", "")


def test_bad_choices_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="DEEPLITE_SGEMM must be one of"):
        cpu_sgemm.select(_C, "mkl")
    monkeypatch.setitem(cpu_sgemm._loaded, "lib", None)  # as if libdnnl were not installed
    with pytest.raises(ValueError, match="deeplite\\[bf16\\]"):
        cpu_sgemm.select(_C, "onednn")
    assert cpu_sgemm.select(_C, "auto") == "openblas"
    monkeypatch.undo()
    cpu_sgemm.select(_C)


def test_doctor_names_the_float32_gemm(capsys):
    from deeplite.cli import main

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"float32 GEMMs on cpu: {CPU.module.SGEMM} (" in out
    own = (f"deeplite's AVX-512 kernel: those of {1 << 20} (a transposed B: {1 << 13}) to "
           f"{1 << 24} multiply-adds that oneDNN does not take")
    assert (own in out) == _C.small_gemm_available(), out
