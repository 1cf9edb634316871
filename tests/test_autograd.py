"""The tape: accumulation, grad mode, freeing, deep graphs, higher order, forward mode,
gradcheck."""
import gc
import weakref

import numpy as np
import pytest

import deeplite as dl

F = dl.functional


def _randn(rng, *shape, device="numpy", requires_grad=True):
    return dl.tensor(rng.standard_normal(shape), device=device, requires_grad=requires_grad)


def test_gradient_sums_over_multiple_uses(device, rng):
    x = _randn(rng, 4, 3, device=device)
    y = (x * x + x * 3.0 - x / 2.0).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 2.5, rtol=1e-12)


def test_grad_accumulates_across_backward_calls(rng):
    x = _randn(rng, 5)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 + 2 * x.detach().numpy(), rtol=1e-12)


def test_leaf_gradients_never_share_memory(rng):
    a, b = _randn(rng, 3, 4), _randn(rng, 3, 4)
    (a + b).sum().backward()  # add hands the same gradient to both inputs
    with dl.no_grad():
        a.grad *= 5.0
    np.testing.assert_allclose(b.grad.numpy(), np.ones((3, 4)))
    seed = dl.ones(3, 4, dtype=dl.float64, device="numpy")
    c = _randn(rng, 3, 4)
    c.backward(seed)  # a leaf's own backward: the seed must not become its .grad object
    assert c.grad is not seed


def test_broadcast_gradients_sum_back_to_input_shape(rng):
    x, bias = _randn(rng, 6, 4), _randn(rng, 4)
    (x * bias).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), x.detach().numpy().sum(axis=0), rtol=1e-12)


def test_no_grad_records_nothing(rng):
    x = _randn(rng, 3)
    with dl.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad and y.grad_fn is None

    @dl.no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None

    @dl.no_grad
    def triple(t):
        return t * 3

    assert triple(x).grad_fn is None and triple.__name__ == "triple"
    assert (x * 2).grad_fn is not None  # the mode is restored after the block and the call
    with dl.no_grad():
        with dl.enable_grad():
            assert (x * 2).requires_grad


def test_tape_is_freed_after_backward(rng):
    x = _randn(rng, 100, 100)
    hidden = x.exp()
    probe = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert probe() is not None  # the graph keeps the intermediate result alive until backward
    loss.backward()
    gc.collect()
    assert probe() is None
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_retain_graph_allows_a_second_backward(rng):
    x = _randn(rng, 3)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_deep_chain_does_not_recurse(rng):
    x = _randn(rng, 3)
    h = x
    for _ in range(10_000):
        h = h * 1.0001 + 0.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 1.0001 ** 10_000), rtol=1e-9)


def test_grad_leaves_dot_grad_untouched_and_reports_unused(rng):
    x, unused = _randn(rng, 4), _randn(rng, 4)
    (gx,) = dl.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(gx.numpy(), 3 * x.detach().numpy() ** 2, rtol=1e-12)
    assert x.grad is None
    with pytest.raises(RuntimeError, match="not used"):
        dl.grad((x * 2).sum(), [x, unused])
    assert dl.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


def test_second_derivatives_match_closed_forms(device, rng):
    x = _randn(rng, 6, device=device)
    xs = x.detach().numpy()
    cases = [
        (lambda t: t ** 3, lambda v: 6 * v),
        (F.sigmoid, lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s) * (1 - 2 * s)),
        (F.tanh, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
        (F.softplus, lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s)),
        (dl.exp, np.exp),
        (lambda t: dl.log(t * t + 1), lambda v: (2 - 2 * v ** 2) / (v ** 2 + 1) ** 2),
    ]
    for function, second in cases:
        (first,) = dl.grad(function(x).sum(), x, create_graph=True)
        (curvature,) = dl.grad(first.sum(), x)
        np.testing.assert_allclose(curvature.numpy(), second(xs), rtol=1e-9, atol=1e-12)


def test_hessian_vector_product_of_logistic_regression(device, rng):
    features = rng.standard_normal((20, 4))
    targets = rng.uniform(0, 1, 20)
    w = _randn(rng, 4, device=device)
    loss = F.binary_cross_entropy_with_logits(dl.tensor(features, device=device) @ w,
                                              dl.tensor(targets, device=device))
    (g,) = dl.grad(loss, w, create_graph=True)
    v = rng.standard_normal(4)
    (hv,) = dl.grad((g * dl.tensor(v, device=device)).sum(), w)
    p = 1 / (1 + np.exp(-features @ w.detach().numpy()))
    hessian = features.T @ (features * (p * (1 - p))[:, None]) / 20
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-10)


def test_hessian_vector_product_through_softmax_cross_entropy(rng):
    logits = _randn(rng, 1, 5)
    labels = dl.tensor([3], device="numpy")
    (g,) = dl.grad(F.cross_entropy(logits, labels), logits, create_graph=True)
    v = rng.standard_normal((1, 5))
    (hv,) = dl.grad((g * dl.tensor(v, device="numpy")).sum(), logits)
    p = np.exp(logits.detach().numpy()[0])
    p /= p.sum()
    np.testing.assert_allclose(hv.numpy()[0], (np.diag(p) - np.outer(p, p)) @ v[0], rtol=1e-10)


def _jacobian(function, x):
    out = function(x)
    rows = []
    for k in range(out.numel()):
        seed = np.zeros(out.numel())
        seed[k] = 1
        seed = dl.tensor(seed.reshape(out.shape), device=out.device)
        (row,) = dl.grad(out, x, seed, retain_graph=True)
        rows.append(row.numpy().ravel())
    return np.array(rows)


@pytest.mark.parametrize("function", [
    lambda t: F.softmax(t, axis=-1), lambda t: (t ** 2).sum(axis=0), lambda t: F.tanh(t @ t.T),
    lambda t: F.linear(t, dl.tensor(np.arange(12.0).reshape(4, 3) / 10, device=t.device), None,
                       "sigmoid"),
], ids=["softmax", "sum_squares", "tanh_gram", "linear_sigmoid"])
def test_jvp_matches_reverse_mode_jacobian(function, rng):
    x = _randn(rng, 3, 4, requires_grad=False)
    tangent = _randn(rng, 3, 4, requires_grad=False)
    output, jvp_out = dl.jvp(function, (x,), (tangent,))
    np.testing.assert_allclose(output.numpy(), function(x).numpy(), rtol=1e-12)
    jacobian = _jacobian(function, x.detach().requires_grad_())
    expected = (jacobian @ tangent.numpy().ravel()).reshape(output.shape)
    np.testing.assert_allclose(jvp_out.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_jvp_with_several_primals(rng):
    a, b = _randn(rng, 3, requires_grad=False), _randn(rng, 3, requires_grad=False)
    ta, tb = _randn(rng, 3, requires_grad=False), _randn(rng, 3, requires_grad=False)
    _, tangent = dl.jvp(lambda u, v: u * v, (a, b), (ta, tb))
    np.testing.assert_allclose(tangent.numpy(), ta.numpy() * b.numpy() + a.numpy() * tb.numpy())


def test_gradcheck_reports_the_worst_element(rng):
    class WrongSquare(dl.Function):
        name = "wrong_square"

        def forward(self, backend, x):
            return backend.mul(x, x)

        def backward(self, gy):
            return gy * self.inputs[0] * 3  # should be 2

    x = _randn(rng, 2, 3)
    with pytest.raises(dl.GradcheckError, match=r"input 0 at index \(\d, \d\).*numerical"):
        dl.gradcheck(WrongSquare.apply, (x,))
    assert dl.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    with pytest.raises(ValueError, match="float64"):
        dl.gradcheck(lambda t: t * 2, (dl.randn(3, requires_grad=True),))


def test_backward_errors_are_clear(rng):
    x = _randn(rng, 3)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        dl.tensor([1.0, 2.0]).sum().backward()
    with pytest.raises(TypeError, match="floating-point"):
        dl.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="gradient of shape"):
        (x * 2).backward(dl.ones(4, dtype=dl.float64))


def test_inplace_update_of_a_leaf_needs_no_grad(rng):
    w = _randn(rng, 3)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    before = w.detach().numpy().copy()
    with dl.no_grad():
        w -= 1.0
    np.testing.assert_allclose(w.detach().numpy(), before - 1.0)
    assert w.is_leaf and w.requires_grad


def test_retain_grad_and_detach(rng):
    x = _randn(rng, 3)
    hidden = x * 2
    hidden.retain_grad()
    (hidden * hidden).sum().backward()
    np.testing.assert_allclose(hidden.grad.numpy(), 2 * hidden.detach().numpy())
    assert hidden.detach().grad_fn is None and not hidden.detach().requires_grad
