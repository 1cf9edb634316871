"""The one comparison every kernel test uses: ``close(actual, expected)`` and its tolerances.

Tolerances are relative to the result's scale (its largest finite magnitude, at least 1), per dtype:
float16 1e-3 (half a dozen ulps); float32 1e-5 (a few ulps after sums of ~1000 terms taken in
another order); float64 1e-12 (the same, with room for a differently ordered reduction).
Integers and booleans must be equal.
"""
import numpy as np

TOLERANCE = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def close(actual, expected, dtype=None, check_dtype: bool = True) -> None:
    """Assert ``actual`` equals ``expected`` (arrays, or tuples/lists of them, or None) in shape,
    dtype (unless ``check_dtype`` is False) and value within the tolerance of ``dtype`` (default:
    the expected array's own)."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), (
            f"expected {len(expected)} results, got {actual!r}")
        for got, want in zip(actual, expected):
            close(got, want, dtype, check_dtype)
        return
    if expected is None:
        assert actual is None, f"expected None, got {actual!r}"
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if check_dtype:
        assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
        return
    tolerance = TOLERANCE[np.dtype(dtype or expected.dtype)]
    scale = np.max(np.abs(expected[np.isfinite(expected)]), initial=1.0)
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance * scale)


def close_to_float64_product(got, a, b) -> None:
    """Assert the float32 ``got`` is ``a @ b`` within float32 GEMM rounding of the float64
    product: sums of k products of O(1) numbers err like sqrt(k) * eps * |terms|."""
    expected = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.sqrt(np.abs(a.astype(np.float64)) ** 2 @ np.abs(b.astype(np.float64)) ** 2)
    assert got.dtype == np.float32
    assert np.all(np.abs(got - expected) <= 1e-5 * scale + 1e-6), np.max(np.abs(got - expected))
