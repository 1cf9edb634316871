"""The CUDA path's host-side logic, checked without a GPU: the cuBLAS capture plan against NumPy,
the scatter-add index math, deeplite.jit's CUDA-graph bookkeeping with a stand-in CuPy, and the
conformance suite's device views. (The probes and the shared rules: test_cuda_rules.py.)"""
import contextlib
import ctypes
import types

import numpy as np
import pytest

import deeplite
from deeplite import backends
from deeplite.backends import cuda_gemm, segments
from deeplite.backends.capture_errors import capture_failure


# ---- the capture-time GEMM: row-major operands as column-major cuBLAS reads them --------------
def _column_major(buffer, offset, rows, cols, ld):
    """The (rows x cols) column-major matrix with leading dimension ``ld`` in ``buffer``."""
    item = buffer.itemsize
    return np.lib.stride_tricks.as_strided(buffer[offset:], (rows, cols), (item, ld * item))


def _emulate(p, a, b):
    """What cublasGemmEx computes with plan ``p`` on A's and B's own buffers, as row-major C."""
    def operand(x, op, rows, cols, ld):  # op(X) must be (rows x cols)
        base, offset = x.base if x.base is not None else x, 0
        offset = (x.__array_interface__["data"][0] - base.__array_interface__["data"][0])
        flat = base.reshape(-1)
        stored = (rows, cols) if op == cuda_gemm.OP_N else (cols, rows)
        matrix = _column_major(flat, offset // x.itemsize, *stored, ld)
        return matrix if op == cuda_gemm.OP_N else matrix.T

    first = operand(b, p.transa, p.m, p.k, p.lda)
    second = operand(a, p.transb, p.k, p.n, p.ldb)
    c_column_major = first @ second  # (m' x n') = (n x m): C^T
    assert p.ldc == c_column_major.shape[0]
    return c_column_major.T


def _layouts(rng, rows, cols):
    """The same (rows, cols) matrix as CuPy would hand it over: contiguous, a transposed view, a
    slice of a wider array (row stride > cols), a transposed slice."""
    data = rng.standard_normal((rows, cols))
    wide = np.zeros((rows, cols + 3))
    wide[:, 1:cols + 1] = data
    tall = np.zeros((cols + 2, rows))
    tall[1:cols + 1] = data.T
    return {"contiguous": data.copy(), "transposed": np.ascontiguousarray(data.T).T,
            "sliced": wide[:, 1:cols + 1], "transposed slice": tall[1:cols + 1].T}


@pytest.mark.parametrize("m, k, n", [(5, 7, 3), (1, 4, 6), (4, 1, 1), (6, 3, 1), (1, 1, 1)])
def test_gemm_plan_reads_every_layout_as_numpy_matmul(m, k, n, rng):
    for a_name, a in _layouts(rng, m, k).items():
        for b_name, b in _layouts(rng, k, n).items():
            p = cuda_gemm.plan(a.shape, cuda_gemm.element_strides(a.strides, 8), b.shape,
                               cuda_gemm.element_strides(b.strides, 8))
            assert p is not None, (a_name, b_name)
            np.testing.assert_allclose(_emulate(p, a, b), a @ b, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{a_name} @ {b_name}")


def test_gemm_plan_asks_for_a_copy_when_no_layout_fits_and_refuses_oversized_products():
    assert cuda_gemm.operand_layout(4, 5, (10, 2)) is None  # every other column: not BLAS-readable
    assert cuda_gemm.operand_layout(4, 5, (-5, 1)) is None
    assert cuda_gemm.plan((4, 5), (10, 2), (5, 3), (3, 1)) is None
    assert cuda_gemm.element_strides((12, 6), 4) is None
    with pytest.raises(ValueError, match="not aligned"):
        cuda_gemm.plan((4, 5), (5, 1), (6, 3), (3, 1))
    with pytest.raises(ValueError, match="32-bit sizes cuBLAS takes"):
        cuda_gemm.plan((2 ** 31, 2), (2, 1), (2, 3), (3, 1))


def test_gemm_scalars_pick_the_compute_type_and_alpha_type():
    assert cuda_gemm.scalars(np.float32, False)[0] == cuda_gemm.COMPUTE_32F
    assert cuda_gemm.scalars(np.float32, True)[0] == cuda_gemm.COMPUTE_32F_FAST_TF32
    assert cuda_gemm.scalars(np.float16, True)[0] == cuda_gemm.COMPUTE_32F  # TF32 is float32's
    compute, alpha, beta = cuda_gemm.scalars(np.float64, True)
    assert compute == cuda_gemm.COMPUTE_64F and isinstance(alpha, ctypes.c_double)
    assert alpha.value == 1.0 and beta.value == 0.0


def test_cublas_is_found_where_cupy_mapped_it_and_missing_says_what_to_do():
    maps = ("7f00-7f10 r-xp 00000000 08:01 12 /venv/nvidia/cublas/lib/libcublasLt.so.13\n"
            "7f20-7f30 r-xp 00000000 08:01 13 /venv/nvidia/cublas/lib/libcublas.so.13\n")
    found = cuda_gemm.find_cublas(maps, lambda name: None)
    assert found == "/venv/nvidia/cublas/lib/libcublas.so.13"  # not libcublasLt
    assert cuda_gemm.find_cublas("", lambda name: "libcublas.so.12") == "libcublas.so.12"
    with pytest.raises(RuntimeError, match="cannot find libcublas.*capture"):
        cuda_gemm.find_cublas("", lambda name: None)


def test_cublas_status_errors_name_the_call_and_the_status():
    cuda_gemm.Cublas.check(0, "cublasGemmEx")
    with pytest.raises(cuda_gemm.CublasError,
                       match=r"cublasGemmEx failed .* CUBLAS_STATUS_NOT_SUPPORTED \(15\)"):
        cuda_gemm.Cublas.check(15, "cublasGemmEx")


# ---- deterministic scatter-add: the index math in NumPy ------------------------------------------
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sorted_targets_sum_to_numpy_add_at(index_dtype, rng):
    shape = (6, 5)
    rows = rng.integers(-6, 6, 40).astype(index_dtype)  # repeats and negative indices
    cases = [(rows,), (rows, slice(None)), (slice(1, 4), rng.integers(0, 5, 7).astype(index_dtype))]
    for index in cases:
        index = index if len(index) > 1 else index[0]
        values = rng.standard_normal(np.zeros(shape)[index].shape)
        expected = np.zeros(shape)
        np.add.at(expected, index, values)
        flat, order, targets = segments.sorted_targets(np, shape, index, values)
        assert np.all(np.diff(targets) >= 0)
        got = np.zeros(shape).reshape(-1)
        starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])  # the kernel's runs
        got[targets[starts]] = np.add.reduceat(flat[order], starts)
        np.testing.assert_allclose(got.reshape(shape), expected, rtol=1e-12, atol=1e-12)


# ---- deeplite.jit's CUDA graph (jit/cuda_graph.py), with a stand-in CuPy ----------------------
class _FakeArray(np.ndarray):
    def set(self, host, stream=None):
        self[...] = host


def _fake_cuda_backend(log):
    """A backend posing as cuda: streams that capture callables into a graph that reruns them."""
    class Stream:
        capturing = False
        recorded: list = []

        def __init__(self, non_blocking=False):
            pass

        def begin_capture(self):
            Stream.capturing, Stream.recorded = True, []

        def end_capture(self):
            Stream.capturing = False
            work = list(Stream.recorded)

            def launch(stream):
                log.append("launch")
                for op in work:
                    op()
            return types.SimpleNamespace(launch=launch)

    cuda = types.SimpleNamespace(
        Stream=Stream, MemoryPool=lambda: types.SimpleNamespace(malloc=None),
        using_allocator=lambda malloc: contextlib.nullcontext(),
        Device=lambda: types.SimpleNamespace(synchronize=lambda: None))
    cupy = types.SimpleNamespace(cuda=cuda, ndarray=_FakeArray,
                                 zeros=lambda shape, dtype: np.zeros(shape, dtype).view(_FakeArray))
    module = types.SimpleNamespace(capturing_gemms=lambda stream: contextlib.nullcontext("gemms"))
    return types.SimpleNamespace(xp=cupy, module=module), Stream


def _kernel_run(values, stream, seen):
    """A replay call as replay.py makes them: its scalar read from ``values`` when it runs; a
    kernel launched under capture reads a DeviceScalar's slot of the block at each launch."""
    def run():
        lr, step = values[0], values[1]
        if stream.capturing:
            stream.recorded.append(lambda: seen.append(
                ("graph", float(lr.block[lr.slot]), float(step.block[step.slot]))))
        else:
            seen.append(("python", float(lr), float(step)))
    return run


def test_jit_graph_is_captured_once_and_reads_each_replays_scalars_from_the_block():
    from deeplite.jit.cuda_graph import GraphedRuns

    log, seen = [], []
    backend, stream = _fake_cuda_backend(log)
    values = [0.1, 1]
    graph = GraphedRuns(backend, [_kernel_run(values, stream, seen)], values, capturable=True)
    for lr, step in ((0.1, 1), (0.05, 2), (0.025, 3)):  # a schedule and Adam's step counts
        values[0], values[1] = lr, step
        graph()
    assert graph.captures == 1 and log == ["launch"] * 3
    assert seen == [("graph", 0.1, 1.0), ("graph", 0.05, 2.0), ("graph", 0.025, 3.0)]
    assert values == [0.025, 3]  # the plan's numbers are back after the capture


def test_a_step_that_cannot_be_captured_replays_from_python():
    from deeplite.jit.cuda_graph import GraphedRuns

    log, seen = [], []
    backend, stream = _fake_cuda_backend(log)
    values = [0.1, 1]

    def host_arithmetic():  # a reference composition: computes with the scalar on the host
        seen.append(("python", float(values[0]) * 2, float(values[1])))

    graph = GraphedRuns(backend, [host_arithmetic], values, capturable=True)
    graph()
    values[0] = 0.2
    graph()
    assert graph.graph is None and not graph.capturable and not stream.capturing and log == []
    assert seen == [("python", 0.2, 1.0), ("python", 0.4, 1.0)]
    never = GraphedRuns(backend, [_kernel_run(values, stream, seen)], values, capturable=False)
    never()
    assert never.captures == 0 and seen[-1] == ("python", 0.2, 1.0)


def test_cuda_graph_helper_was_removed_and_names_its_replacement():
    with pytest.raises(AttributeError, match="CUDAGraph was removed.*deeplite.jit"):
        deeplite.cuda.CUDAGraph  # noqa: B018


@pytest.mark.parametrize("error, says, not_says", [
    (RuntimeError("cudaErrorStreamCaptureUnsupported: operation not permitted when stream is "
                  "capturing"), "host sync", "cuBLAS"),
    (NotImplementedError("calling cuBLAS API during stream capture is currently unsupported"),
     "CuPy refuses cuBLAS during capture", "host sync"),
    (cuda_gemm.CublasError("cuBLAS cublasGemmEx failed during CUDA-graph capture with "
                           "CUBLAS_STATUS_NOT_SUPPORTED (15)"), "capture-time GEMM path",
     "host sync"),
    (ValueError("linear: shapes (8, 3) and (4, 5) are not aligned"), "not aligned", "host sync"),
])
def test_capture_failure_names_the_cause_it_points_to(error, says, not_says):
    message = capture_failure(error)
    assert message.startswith("capturing the step as a CUDA graph failed") and says in message
    assert not_says not in message


def test_views_are_rebuilt_as_views_of_a_copied_base(rng):
    from _device_views import on_device

    numpy_backend = backends.get("numpy")
    base = rng.normal(size=(9, 12))
    for view in (base[1:, 2:], base[::2, ::3], base.T, base[3:7].T[::2]):
        moved = on_device(numpy_backend, view, force=True)
        assert moved.strides == view.strides and not np.shares_memory(moved, base)
        np.testing.assert_array_equal(moved, view)
    flipped = base[::-1]
    assert on_device(numpy_backend, flipped, force=True).shape == flipped.shape
