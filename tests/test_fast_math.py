"""dl_math.h's own exp, expm1 and log1p, through the kernels that use them, against NumPy.

The cpu and cuda kernels compute sigmoid, softplus, tanh, the softplus gradient and the fused
binary cross-entropy with dl_math.h's branch-free exp/expm1/log1p (a libm call per element would
keep the C++ loops scalar). Those functions are checked here in ulps of the output type against an
extended-precision NumPy reference, over every input the kernels can give them: logits of +-1e4,
inputs whose exp is denormal, tiny inputs where expm1 and log1p must not cancel, 0 and +-inf.
"""
import numpy as np
import pytest

from deeplite import backends

from _devices import device_params

# The backends whose kernels run dl_math.h: every registered one but numpy, the reference itself.
FAST_MATH_DEVICES = device_params([name for name in backends.MODULES if name != "numpy"])
DTYPES = [np.float32, np.float64]
# dl_math.h promises ~1-2 ulp per function; a kernel chains two or three of them (exp, then log1p
# or a division), and the float64 reference itself is rounded once more: 4 ulp.
MAX_ULPS = 4
# Where exp(x) turns denormal and then 0, per dtype (float32: 2^-126 .. 2^-150).
DENORMAL_RANGE = {np.float32: (-104.0, -87.0), np.float64: (-746.0, -708.0)}
EXTENDED = np.longdouble  # the reference's precision: 64-bit mantissa on x86


def wide_inputs(rng, dtype) -> np.ndarray:
    """Shuffled inputs over the whole range, an odd count so the vector loops' tails run too."""
    low, high = DENORMAL_RANGE[dtype]
    magnitudes = 10.0 ** rng.uniform(-30, 4, 3001)
    parts = [
        rng.uniform(-120, 120, 4001),  # exp's whole finite range in float32
        rng.uniform(low, high, 2001) * rng.choice([-1, 1], 2001),  # denormal exp(-|x|)
        magnitudes * rng.choice([-1, 1], magnitudes.size),  # tiny to 1e4, both signs
        rng.standard_normal(2001) * 5,
        [0.0, -0.0, 1e4, -1e4, np.inf, -np.inf],
    ]
    return rng.permutation(np.concatenate(parts)).astype(dtype)


def assert_within_ulps(actual, expected, dtype, scale=None):
    """Infinities and NaNs where the reference has them; elsewhere at most MAX_ULPS ulps of
    `scale` (default: of the result itself)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=EXTENDED)
    assert actual.dtype == dtype
    special = ~np.isfinite(expected)
    np.testing.assert_array_equal(actual[special], expected[special].astype(dtype))
    size = np.abs(expected if scale is None else np.asarray(scale, dtype=EXTENDED))
    spacing = np.spacing(size.astype(dtype)).astype(EXTENDED)
    with np.errstate(invalid="ignore"):  # inf - inf at the special elements, checked above
        error = np.abs(actual.astype(EXTENDED) - expected) / spacing
    worst = int(np.argmax(np.where(special, 0, error)))
    assert error[~special].max() <= MAX_ULPS, (
        f"{error[worst]:.1f} ulp at element {worst}: got {actual[worst]!r}, "
        f"want {expected[worst].astype(dtype)!r}")


def run(device: str, kernel: str, *arrays, **options):
    """A kernel of `device` on host arrays, its results back on the host."""
    backend = backends.get(device)
    arguments = [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays]
    results = getattr(backend, kernel)(*arguments, **options)
    if isinstance(results, tuple):
        return tuple(backend.to_numpy(r) for r in results)
    return backend.to_numpy(results)


def softplus_reference(x) -> np.ndarray:
    """log(1 + exp(x)) in extended precision, by the stable formula."""
    x = np.asarray(x, dtype=EXTENDED)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@pytest.mark.parametrize("device", FAST_MATH_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_exp_over_whole_range(device, dtype, rng):
    """sigmoid = 1/(1+e) or e/(1+e), e = exp(-|x|): exp down to denormals and 0, at +-1e4, +-inf."""
    x = wide_inputs(rng, dtype)
    wide = x.astype(EXTENDED)
    with np.errstate(over="ignore", invalid="ignore"):  # inf / inf where exp overflows, unused
        expected = np.where(wide >= 0, 1 / (1 + np.exp(-wide)), np.exp(wide) / (1 + np.exp(wide)))
    assert_within_ulps(run(device, "sigmoid", x), expected, dtype)


@pytest.mark.parametrize("device", FAST_MATH_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_log1p_over_whole_range(device, dtype, rng):
    """softplus = max(x, 0) + log1p(exp(-|x|)): log1p over [0, 1], including denormal arguments."""
    x = wide_inputs(rng, dtype)
    assert_within_ulps(run(device, "softplus", x), softplus_reference(x), dtype)


@pytest.mark.parametrize("device", FAST_MATH_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_expm1_over_whole_range(device, dtype, rng):
    """tanh (through linear_act with a 1x1 identity weight) = -m/(2+m), m = expm1(-2|x|)."""
    x = wide_inputs(rng, dtype)[:, None]
    identity = np.ones((1, 1), dtype=dtype)  # x @ [[1]] is x exactly, inf included
    out = run(device, "linear_act", x, identity, None, "tanh", 0.0)
    assert_within_ulps(out, np.tanh(x.astype(EXTENDED)), dtype)


@pytest.mark.parametrize("device", FAST_MATH_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_grad_expm1(device, dtype, rng):
    """softplus'(x) from y = softplus(x) is -gy * expm1(-y): y from denormal-small to 1e4."""
    y = np.abs(wide_inputs(rng, dtype))
    y = y[np.isfinite(y)]
    gy = rng.standard_normal(y.size).astype(dtype)
    expected = -gy.astype(EXTENDED) * np.expm1(-y.astype(EXTENDED))
    assert_within_ulps(run(device, "act_grad", y, gy, "softplus", 0.0), expected, dtype)


@pytest.mark.parametrize("device", FAST_MATH_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_bce_per_element(device, dtype, rng):
    """The fused loss and gradient per element; soft targets, logits up to +-1e4 (finite)."""
    z = wide_inputs(rng, dtype)
    z = z[np.isfinite(z)]
    y = rng.random(z.size).astype(dtype)
    loss, dz = run(device, "sigmoid_bce", z, y, "none")
    wide_z, wide_y = z.astype(EXTENDED), y.astype(EXTENDED)
    sigmoid = np.where(wide_z >= 0, 1 / (1 + np.exp(-np.abs(wide_z))),
                       np.exp(-np.abs(wide_z)) / (1 + np.exp(-np.abs(wide_z))))
    # max(z,0) - z*y cancels: the error is bounded by the ulps of the terms, not of the loss.
    term_size = np.maximum(wide_z, 0) + np.abs(wide_z * wide_y) + softplus_reference(-np.abs(z))
    assert_within_ulps(loss, softplus_reference(z) - wide_z * wide_y, dtype, scale=term_size)
    assert_within_ulps(dz, sigmoid - wide_y, dtype, scale=sigmoid + wide_y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_bce_mean_is_accurate_and_independent_of_threads(dtype, rng):
    """Over several blocks of the cpu kernel: the double-accumulated mean matches the extended
    reference, and is bit-identical on 1 and 2 threads (fixed blocks, added in order)."""
    if not backends.is_available("cpu"):
        pytest.skip(f"cpu unavailable: {backends.why_unavailable('cpu')}")
    from deeplite.backends import cpu_backend

    z = (rng.standard_normal(200_003) * 6).astype(dtype)
    y = (rng.random(z.size) > 0.5).astype(dtype)
    threads = cpu_backend.num_threads()
    try:
        cpu_backend.set_num_threads(1)
        one_thread = cpu_backend.sigmoid_bce(z, y, "mean")
        cpu_backend.set_num_threads(2)
        two_threads = cpu_backend.sigmoid_bce(z, y, "mean")
    finally:
        cpu_backend.set_num_threads(threads)
    np.testing.assert_array_equal(one_thread[0], two_threads[0])
    np.testing.assert_array_equal(one_thread[1], two_threads[1])
    expected = np.mean(softplus_reference(z) - z.astype(EXTENDED) * y)
    # float32 terms are each within a few ulps; their double sum adds nothing noticeable.
    np.testing.assert_allclose(float(one_thread[0]), float(expected),
                               rtol=1e-6 if dtype == np.float32 else 1e-13)
