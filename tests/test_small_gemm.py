"""deeplite's own AVX-512 float GEMM (csrc/cpu/small_gemm.cpp), forced onto every shape here:
against NumPy float64 on its edge tiles and layouts, exactly on integers, and the per-element
invariant that keeps 1 and 2 threads equal (tests/test_cpu_sgemm.py runs its thread split, views
and gradients as it does OpenBLAS's and oneDNN's)."""
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
ALL = 1 << 62


@pytest.fixture
def everywhere():
    """The kernel on every float GEMM it can take (OpenBLAS chosen, so oneDNN takes none)."""
    if not _C.small_gemm_available():
        pytest.skip("this CPU has no AVX-512: OpenBLAS serves every float GEMM")
    cpu_sgemm.select(_C, "openblas")
    _C.set_small_gemm(0, ALL)
    assert _C.small_gemm_serves(8, 16, 8)
    yield
    _C.set_small_gemm()
    cpu_sgemm.select(_C)


def layouts(rng, rows, cols):
    """A contiguous array, a strided slice, a transposed view and a transposed strided one."""
    base = rng.standard_normal((rows, cols)).astype(np.float32)
    strided = rng.standard_normal((rows, cols * 2 + 3)).astype(np.float32)[:, 1:1 + 2 * cols:2]
    flipped = rng.standard_normal((cols, rows + 5)).astype(np.float32)[:, 2:2 + rows].T
    return [base, strided, np.ascontiguousarray(base.T).T, flipped]


# Rows around the 12-row tile, columns around the 16-lane vector and the 32-column panel.
ROWS = (1, 5, 11, 12, 13, 25)
COLUMNS = (8, 10, 16, 17, 31, 32, 33, 47, 64, 100)
DEPTHS = (1, 2, 7, 17, 64)


def test_every_edge_tile_and_layout_matches_numpy_float64(everywhere):
    rng = np.random.default_rng(21)
    for m in ROWS:
        for n in COLUMNS:
            for k in DEPTHS:
                assert _C.small_gemm_serves(m, n, k)
                for a in layouts(rng, m, k):
                    for b in layouts(rng, k, n):
                        close_to_float64_product(CPU.matmul(a, b), a, b)


def test_integer_products_are_exact(everywhere):
    # Small integers multiply and sum exactly in float32: any lost or doubled term shows.
    rng = np.random.default_rng(22)
    for m, k, n in [(13, 64, 47), (25, 300, 33), (12, 1, 16)]:
        a = rng.integers(-3, 4, (m, k)).astype(np.float32)
        b = rng.integers(-3, 4, (k, n)).astype(np.float32)
        expected = a.astype(np.int64) @ b.astype(np.int64)
        np.testing.assert_array_equal(CPU.matmul(a, b), expected)
        np.testing.assert_array_equal(CPU.matmul(np.ascontiguousarray(a.T).T, b), expected)
        np.testing.assert_array_equal(CPU.matmul(a, np.ascontiguousarray(b.T).T), expected)


def test_blocks_of_rows_and_columns_give_the_same_bits(everywhere):
    # Each element is one FMA chain whatever tile holds it: the rows or columns of a product,
    # multiplied on their own (as a thread's block is), equal the whole product's bit for bit.
    rng = np.random.default_rng(23)
    a = rng.standard_normal((37, 70)).astype(np.float32)
    b = rng.standard_normal((70, 90)).astype(np.float32)
    whole = CPU.matmul(a, b)
    for lo, hi in [(0, 5), (5, 17), (17, 37)]:
        np.testing.assert_array_equal(CPU.matmul(a[lo:hi], b), whole[lo:hi])
    for lo, hi in [(0, 16), (16, 35), (35, 90)]:  # 8 columns or more: its own kernel too
        np.testing.assert_array_equal(CPU.matmul(a, b[:, lo:hi]), whole[:, lo:hi])


def test_linear_act_runs_it_with_the_bias_and_activation(everywhere):
    rng = np.random.default_rng(25)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    w = rng.standard_normal((64, 512)).astype(np.float32)
    bias = rng.standard_normal(512).astype(np.float32)
    got = CPU.linear_act(x, w, bias, "relu", 0.0)
    expected = np.maximum(x.astype(np.float64) @ w + bias, 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    gy = rng.standard_normal((32, 512)).astype(np.float32)
    _, gw, _ = CPU.linear_act_grad(x, w, None, gy, "identity", 0.0, False, True, False)
    close_to_float64_product(gw, x.T, gy)  # x.T: the transposed A of the weight gradient


def test_its_fused_bias_and_relu_equal_the_separate_epilogue(everywhere):
    # The tile adds the bias and applies relu as it stores; BiasAct's arithmetic, so the bits
    # are those of the product followed by x + b, then x > 0 ? x : 0 (a NaN row gives 0).
    rng = np.random.default_rng(26)
    x = rng.standard_normal((29, 70)).astype(np.float32)
    x[3] = np.nan
    w = rng.standard_normal((70, 45)).astype(np.float32)
    bias = rng.standard_normal(45).astype(np.float32)
    pre = CPU.matmul(x, w) + bias  # float32 adds, as the tile's
    np.testing.assert_array_equal(CPU.linear_act(x, w, bias, "identity", 0.0), pre)
    fused = CPU.linear_act(x, w, bias, "relu", 0.0)
    np.testing.assert_array_equal(fused, np.where(pre > 0, pre, np.float32(0)))
    assert not np.isnan(fused).any() and (fused[3] == 0).all()
    product = CPU.matmul(x, w)
    np.testing.assert_array_equal(CPU.linear_act(x, w, None, "relu", 0.0),
                                  np.where(product > 0, product, np.float32(0)))
    # Other activations run after the product, as before.
    np.testing.assert_allclose(CPU.linear_act(x[4:], w, bias, "sigmoid", 0.0),
                               1 / (1 + np.exp(-pre[4:].astype(np.float64))), rtol=1e-6)


def test_the_default_range():
    if not _C.small_gemm_available():
        pytest.skip("this CPU has no AVX-512: OpenBLAS serves every float GEMM")
    assert _C.small_gemm_serves(32, 512, 64)  # digits' first layer: 2^20 multiply-adds
    least, most = _C.SMALL_GEMM_MIN_MACS, _C.SMALL_GEMM_MAX_MACS
    assert (least, most) == (1 << 20, 1 << 24)
    assert not _C.small_gemm_serves(32, 512, 64 - 1)  # below 2^20
    assert _C.small_gemm_serves(256, 256, 256) and not _C.small_gemm_serves(256, 256, 257)
    assert _C.small_gemm_serves(359, 10, 512)  # digits' test-set output layer
    assert not _C.small_gemm_serves(1 << 16, 7, 64)  # most of a vector's lanes idle
    # An input gradient g @ W^T (B transposed) pays from 2^13 multiply-adds.
    assert _C.SMALL_GEMM_TRANSPOSED_MIN_MACS == 1 << 13
    assert _C.small_gemm_serves(32, 16, 16, b_trans=True)
    assert not _C.small_gemm_serves(16, 16, 16, b_trans=True)
    assert not _C.small_gemm_serves(32, 16, 16)
    assert not _C.small_gemm_serves(1, 16, 4097)  # a deeper panel than L2 holds: OpenBLAS
