"""On a GPU: capture-time GEMMs straight to cuBLAS on every layout (the CUDA graphs themselves:
tests/test_jit_cuda.py), the library probe, deterministic scatter-add, fused kernels on device
views, the two-stage softmax-CE sum, 3-D linear_act, host values in setitem and float16
accumulation. Every test here carries the ``cuda`` marker."""
import numpy as np
import pytest
from _gpu import on_gpu as _on_gpu
from _gpu import reference as _reference

import deeplite
from deeplite import backends


@pytest.fixture
def cuda():
    return backends.get("cuda")


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
