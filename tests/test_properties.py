"""Property-based tests (hypothesis): random broadcastable shapes and axes for the binary ops and
reductions, checked against NumPy, with gradients that always come back in the inputs' shapes."""
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="property tests need hypothesis (pip install hypothesis)")
from hypothesis import given, settings  # noqa: E402  (after the skip, so collection never stops)
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import deeplite as dl  # noqa: E402

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b ** 2)),
}


def _sum_to(grad, shape):
    """NumPy version of unbroadcast: sum a broadcast gradient back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**31))
def test_binary_ops_broadcast_like_numpy(shapes, op, seed):
    rng = np.random.default_rng(seed)
    left, right = (rng.uniform(0.5, 2.0, shape) for shape in shapes.input_shapes)
    forward, gradients = BINARY[op]
    a = dl.tensor(left, requires_grad=True)
    b = dl.tensor(right, requires_grad=True)
    out = forward(a, b)
    np.testing.assert_allclose(out.detach().numpy(), forward(left, right), rtol=1e-12)
    weights = rng.standard_normal(shapes.result_shape)
    (out * dl.tensor(weights)).sum().backward()
    expected_a, expected_b = gradients(left, right, weights)
    assert a.grad.shape == left.shape and b.grad.shape == right.shape
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(np.broadcast_to(expected_a, weights.shape),
                                                       left.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(np.broadcast_to(expected_b, weights.shape),
                                                       right.shape), rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kernel=st.sampled_from(["sum", "mean", "amax", "amin"]),
       keepdims=st.booleans())
def test_reductions_over_random_axes(data, kernel, keepdims):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    axis = data.draw(st.none() | hnp.valid_tuple_axes(len(shape), min_size=1))
    values = np.random.default_rng(data.draw(st.integers(0, 2**31))).standard_normal(shape)
    x = dl.tensor(values, requires_grad=True)
    out = getattr(dl, kernel)(x, axis=axis, keepdims=keepdims)
    expected = getattr(np, kernel)(values, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    out.sum().backward()
    assert x.grad.shape == values.shape
    if kernel == "sum":
        np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))
    elif kernel in ("amax", "amin"):  # continuous random values: exactly one winner per slice
        count = np.prod([shape[a] for a in (axis if axis is not None else range(len(shape)))])
        assert x.grad.numpy().sum() == np.prod(shape) / count
