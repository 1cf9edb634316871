"""Backend conformance: every kernel of every available backend against the NumPy reference.

REQUIRED kernels are compared with ``numpy_backend``; OPTIONAL (fused) kernels with their reference
composition from ``fallbacks.py`` run on the numpy backend. A new backend only has to register in
``deeplite.backends.MODULES`` to be tested here. Sizes include 1, 7 and 1023, empty arrays and
non-contiguous views.
"""
import functools
import os

import numpy as np
import pytest
from _device_views import on_device

from deeplite import backends
from deeplite.backends import contract, fallbacks

REFERENCE = backends.get("numpy")
DTYPES = [np.float32, np.float64]
# float32: 1e-5 of the result's scale (a few ulps after sums of ~1000 terms); float64: 1e-12.
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _close(actual, expected, dtype=None) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
        return
    tolerance = TOLERANCE[np.dtype(dtype or expected.dtype)]
    scale = np.max(np.abs(expected), initial=1.0)
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance * scale)


def _run(backend, kernel, *args, **kwargs):
    """Call ``kernel`` on ``backend`` with host arrays moved there; results come back to the host."""
    moved = [on_device(backend, a) for a in args]  # views stay views on the device
    result = getattr(backend, kernel)(*moved, **kwargs)
    if isinstance(result, tuple):
        return tuple(backend.to_numpy(r) for r in result)
    return None if result is None else backend.to_numpy(result)


def _against_reference(backend, kernel, *args, **kwargs):
    expected = _run(REFERENCE, kernel, *args, **kwargs)
    actual = _run(backend, kernel, *args, **kwargs)
    pairs = zip(actual, expected) if isinstance(expected, tuple) else [(actual, expected)]
    for got, want in pairs:
        _close(got, want)


@pytest.fixture
def backend(device):
    return backends.get(device)


def test_every_backend_implements_the_contract(backend):
    for kernel in list(contract.REQUIRED) + list(contract.OPTIONAL):
        assert callable(getattr(backend, kernel)), kernel
    assert backend.native <= set(contract.OPTIONAL)


def test_numpy_reference_has_no_native_fused_kernels():
    # The reference's fused kernels ARE the fallbacks: a native one there would test nothing.
    assert REFERENCE.native == frozenset()


def test_missing_required_kernel_is_refused():
    class Incomplete:
        xp = np

    with pytest.raises(ImportError, match="lacks required kernels"):
        backends.Backend("broken", Incomplete)


@pytest.mark.skipif(os.environ.get("DEEPLITE_ALLOW_NO_CPU") == "1",
                    reason="DEEPLITE_ALLOW_NO_CPU=1: testing a build without a C++ compiler")
def test_cpu_backend_is_built():
    # Without this, a failed C++ build would only skip the cpu tests and CI would stay green.
    assert backends.is_available("cpu"), backends.why_unavailable("cpu")


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        backends.get("gpu")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 7, 1023, 0])
@pytest.mark.parametrize("kernel", ["add", "sub", "mul", "div", "maximum", "minimum", "pow",
                                    "eq", "ne", "lt", "le", "gt", "ge"])
def test_binary_kernels(backend, kernel, size, dtype, rng):
    a = rng.uniform(0.5, 2.0, (3, size)).astype(dtype)
    b = rng.uniform(0.5, 2.0, (size,)).astype(dtype)
    b[::3] = a[0, ::3]  # some exact ties for the comparisons and extrema
    _against_reference(backend, kernel, a, b)
    _against_reference(backend, kernel, a.T, b[:, None])  # non-contiguous and column broadcast


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["neg", "exp", "log", "log1p", "expm1", "sqrt", "abs", "sign",
                                    "tanh", "sigmoid", "relu", "softplus"])
def test_unary_kernels(backend, kernel, dtype, rng):
    low = {"log": 0.1, "sqrt": 0.1, "log1p": -0.9}.get(kernel)  # inside the kernel's domain
    for shape in [(1,), (7,), (1023,), (0,), (5, 6)]:
        x = rng.uniform(low, 3.0, shape) if low is not None else rng.standard_normal(shape) * 4
        x = x.astype(dtype)
        _against_reference(backend, kernel, x)
        if x.ndim == 2:
            _against_reference(backend, kernel, x[:, ::2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_give_finite_activations(backend, dtype):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    for kernel in ("sigmoid", "softplus"):
        values = _run(backend, kernel, x)
        assert np.all(np.isfinite(values)), kernel
        _close(values, _run(REFERENCE, kernel, x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_where_and_leaky_relu(backend, dtype, rng):
    x = rng.standard_normal((4, 9)).astype(dtype)
    _against_reference(backend, "clip", x, -0.5, 0.7)
    _against_reference(backend, "clip", x, None, 0.3)
    _against_reference(backend, "where", x > 0, x, x * 3)
    _against_reference(backend, "leaky_relu", x, 0.1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["sum", "max", "min"])
def test_reductions(backend, kernel, dtype, rng):
    x = rng.standard_normal((6, 1023)).astype(dtype)
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            _against_reference(backend, kernel, x, axis=axis, keepdims=keepdims)
    _against_reference(backend, kernel, x[:, ::3].T, axis=0)  # strided, transposed view
    _against_reference(backend, "argmax", x, 1)


def test_sum_of_empty_and_integer_arrays(backend, rng):
    _against_reference(backend, "sum", np.zeros((0, 3)), axis=0)
    _against_reference(backend, "sum", rng.integers(-5, 5, (4, 7)), axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 3, 5), (64, 1023, 33), (0, 4, 3), (5, 0, 2)])
def test_matmul_with_transposed_operands(backend, shape, dtype, rng):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    _against_reference(backend, "matmul", a, b)
    _against_reference(backend, "matmul", np.ascontiguousarray(a.T).T, b)  # A stored transposed
    _against_reference(backend, "matmul", a, np.ascontiguousarray(b.T).T)  # B stored transposed
    _against_reference(backend, "matmul", a[:, ::1], b[:, ::-1])  # negative stride


def test_batched_and_vector_matmul(backend, rng):
    _against_reference(backend, "matmul", rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)))
    _against_reference(backend, "matmul", rng.standard_normal(4), rng.standard_normal((4, 5)))
    _against_reference(backend, "matmul", rng.standard_normal(4), rng.standard_normal(4))


def test_movement_kernels(backend, rng):
    x = rng.standard_normal((3, 4, 5))
    _against_reference(backend, "reshape", x, (12, 5))
    _against_reference(backend, "transpose", x, (2, 0, 1))
    _against_reference(backend, "broadcast_to", x[:, :1], (3, 4, 5))
    _against_reference(backend, "getitem", x, (slice(1, None), 2))
    _against_reference(backend, "astype", x, np.float32)
    _against_reference(backend, "copy", x[:, ::2])


def test_gather_and_scatter_add(backend, rng):
    x = rng.standard_normal((5, 3))
    index = np.array([0, 4, 0, 2])
    got = backend.getitem(backend.asarray(x), backend.asarray(index))
    _close(backend.to_numpy(got), x[index])
    values = rng.standard_normal((4, 3))
    added = backend.index_add((5, 3), backend.asarray(index), backend.asarray(values))
    expected = np.zeros((5, 3))
    np.add.at(expected, index, values)
    _close(backend.to_numpy(added), expected)  # the repeated row 0 accumulates


def test_joins_and_creation(backend, rng):
    parts = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    moved = [backend.asarray(p) for p in parts]
    _close(backend.to_numpy(backend.concatenate(moved, 1)), np.concatenate(parts, 1))
    _close(backend.to_numpy(backend.stack(moved, 0)), np.stack(parts, 0))
    _close(backend.to_numpy(backend.full((2, 3), 1.5, np.float32)), np.full((2, 3), 1.5, np.float32))
    _close(backend.to_numpy(backend.zeros((4,), np.float64)), np.zeros(4))
    _close(backend.to_numpy(backend.arange(0, 7, 2, np.int64)), np.arange(0, 7, 2))
    target = backend.asarray(np.zeros((2, 3)))
    backend.copyto(target, backend.asarray(parts[0]))
    _close(backend.to_numpy(target), parts[0])


# ---- OPTIONAL (fused) kernels against their reference compositions on the numpy backend ----------

def _fallback(kernel):
    return functools.partial(getattr(fallbacks, kernel), REFERENCE)


def _against_fallback(backend, kernel, *args, **kwargs):
    moved = [on_device(backend, a) for a in args]  # views stay views on the device
    actual = getattr(backend, kernel)(*moved, **kwargs)
    expected = _fallback(kernel)(*args, **kwargs)
    if not isinstance(expected, tuple):
        actual, expected = (actual,), (expected,)
    for got, want in zip(actual, expected):
        _close(backend.to_numpy(got), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", contract.ACTIVATIONS)
def test_linear_act_and_act_grad(backend, act, dtype, rng):
    for n, k, m in [(1, 1, 1), (7, 5, 3), (128, 33, 1023)]:
        x = rng.standard_normal((n, k)).astype(dtype)
        w = rng.standard_normal((k, m)).astype(dtype)
        b = rng.standard_normal(m).astype(dtype)
        _against_fallback(backend, "linear_act", x, w, b, act, 0.1)
        _against_fallback(backend, "linear_act", np.ascontiguousarray(x.T).T, w, None, act, 0.1)
        y = np.asarray(_fallback("linear_act")(x, w, b, act, 0.1))
        _against_fallback(backend, "act_grad", y, rng.standard_normal(y.shape).astype(dtype), act, 0.1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
def test_softmax_kernels(backend, kernel, dtype, rng):
    x = (rng.standard_normal((7, 1023)) * 5).astype(dtype)
    x[0, 0] = 1e4
    _against_fallback(backend, kernel, x, -1)
    _against_fallback(backend, kernel, x[:, :9], 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", contract.REDUCTIONS)
def test_fused_losses(backend, reduction, dtype, rng):
    for n in (1, 7, 1023):
        z = (rng.standard_normal((n, 3)) * 4).astype(dtype)
        z[0, 0], z[-1, -1] = 1e4, -1e4
        y = rng.uniform(0, 1, (n, 3)).astype(dtype)
        _against_fallback(backend, "sigmoid_bce", z, y, reduction)
        labels = rng.integers(0, 3, n)
        _against_fallback(backend, "softmax_ce", z, labels, reduction)
        loss, grad = _run(backend, "sigmoid_bce", z, y, reduction)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_kernels_follow_the_reference(backend, dtype, rng):
    shapes = [(7,), (33, 5), (1023,)]

    def arrays(scale=1.0):
        return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]

    def compare(kernel, state_lists, **hyper):
        """Run the kernel here and in the reference from equal copies; compare every list."""
        here = [None if s is None else [backend.asarray(a.copy()) for a in s] for s in state_lists]
        there = [None if s is None else [a.copy() for a in s] for s in state_lists]
        getattr(backend, kernel)(*here, **hyper)
        _fallback(kernel)(*there, **hyper)
        for got_list, want_list in zip(here, there):
            for got, want in zip(got_list or [], want_list or []):
                _close(backend.to_numpy(got), want)

    params, grads = arrays(), arrays()
    for first in (True, False):
        for nesterov in (False, True):
            compare("sgd_step", [params, grads, arrays()], first=first, lr=0.1, momentum=0.9,
                    dampening=0.0 if nesterov else 0.1, weight_decay=0.01, nesterov=nesterov,
                    maximize=False)
    compare("sgd_step", [params, grads, None], first=True, lr=0.1, momentum=0.0, dampening=0.0,
            weight_decay=0.0, nesterov=False, maximize=True)
    for decoupled in (False, True):
        for amsgrad in (False, True):
            compare("adam_step", [params, grads, arrays(), [np.abs(a) for a in arrays()],
                                  [np.abs(a) for a in arrays()] if amsgrad else None],
                    steps=[3, 3, 3], lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                    decoupled=decoupled, amsgrad=amsgrad, maximize=False)
    compare("rmsprop_step", [params, grads, [np.abs(a) + 1 for a in arrays()], arrays(0.1),
                             arrays()], lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
            momentum=0.9, centered=True, maximize=False)
    compare("adagrad_step", [params, grads, [np.abs(a) for a in arrays()]], steps=[2, 2, 2],
            lr=0.01, lr_decay=0.001, weight_decay=0.01, eps=1e-10, maximize=False)
