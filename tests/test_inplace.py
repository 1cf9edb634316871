"""In-place writes: PyTorch's semantics on non-leaves, and version counters that turn an overwritten
saved value into an error at backward time instead of a silently wrong gradient."""
import numpy as np
import pytest

import deeplite as dl

MODIFIED = "modified by an inplace operation"


def _leaf(rng, *shape, device=None):
    return dl.tensor(rng.standard_normal(shape), dtype=dl.float64, device=device,
                     requires_grad=True)


def test_add_in_place_on_a_non_leaf_backpropagates_like_pytorch(device, rng):
    a = _leaf(rng, 4, device=device)
    c = a * 2
    alias = c
    c += c + 1  # c = 2a + (2a + 1) = 4a + 1
    assert c is alias and not c.is_leaf
    np.testing.assert_allclose(c.detach().numpy(), 4 * a.detach().numpy() + 1)
    c.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full(4, 4.0))


def test_mul_in_place_reads_the_value_before_the_write(device, rng):
    a, b = _leaf(rng, 3, device=device), _leaf(rng, 3, device=device)
    c = a + 0
    c.mul_(b)  # d(a*b)/db = a: needs c's value from before the write
    (c * c).sum().backward()
    av, bv = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), 2 * av * bv ** 2)
    np.testing.assert_allclose(b.grad.numpy(), 2 * bv * av ** 2)


def test_nodes_recorded_before_the_write_see_the_old_history(rng):
    a = _leaf(rng, 3)
    c = a * 2
    d = c * 3  # Mul saves c's value ...
    e = c + 0  # ... Add does not
    c.mul_(10)
    e.sum().backward(retain_graph=True)  # Add never read c: fine, routed to the earlier c
    np.testing.assert_allclose(a.grad.numpy(), np.full(3, 2.0))
    with pytest.raises(RuntimeError, match=MODIFIED):
        d.sum().backward()


@pytest.mark.parametrize("write", [
    lambda x: x.__iadd__(1.0), lambda x: x.__setitem__(0, 5.0), lambda x: x.copy_(x * 0 + 2),
    lambda x: x.fill_(3.0), lambda x: x.zero_(), lambda x: x.mul_(2.0)],
    ids=["iadd", "setitem", "copy_", "fill_", "zero_", "mul_"])
def test_overwriting_an_input_a_node_saved_raises_at_backward(write, rng):
    w = _leaf(rng, 3)
    x = dl.tensor(rng.standard_normal(3), dtype=dl.float64)  # no grad: plain writes allowed
    y = (w * x).sum()  # Mul saved x to compute dy/dw
    version = x._version
    write(x)
    assert x._version == version + 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_overwriting_a_saved_output_under_no_grad_raises(rng):
    x = _leaf(rng, 5)
    s = dl.sigmoid(x)  # sigmoid's backward reads its output
    with dl.no_grad():
        s *= 0
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()


def test_writes_through_a_detached_alias_or_a_view_are_seen(rng):
    w = _leaf(rng, 4)
    x = dl.tensor(rng.standard_normal(4), dtype=dl.float64)
    y = (w * x).sum()
    x.detach().add_(1.0)  # detach() shares the storage, hence the version counter
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()
    x2 = dl.tensor(rng.standard_normal(4), dtype=dl.float64)
    y2 = (w * x2).sum()
    x2[1:3].fill_(0.0)  # a slice is a view of x2's storage
    with pytest.raises(RuntimeError, match=MODIFIED):
        y2.backward()


def test_writes_to_unsaved_tensors_leave_backward_alone(rng):
    w = _leaf(rng, 3)
    x = dl.tensor(rng.standard_normal(3), dtype=dl.float64)
    y = (w + x).sum()  # add needs no input values
    x += 1
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones(3))


def test_setitem_on_a_non_leaf_routes_gradients_to_the_value_and_the_rest(device, rng):
    a, v = _leaf(rng, 5, device=device), _leaf(rng, 2, device=device)
    c = a * 1
    c[1:3] = v
    weights = dl.tensor(np.arange(1.0, 6.0), dtype=dl.float64, device=device)
    (c * weights).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 0.0, 0.0, 4.0, 5.0])
    np.testing.assert_allclose(v.grad.numpy(), [2.0, 3.0])


def test_copy_into_a_buffer_makes_it_require_grad(rng):
    w = _leaf(rng, 3)
    buffer = dl.zeros(3, dtype=dl.float64)
    buffer.copy_(w * 2)
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * buffer).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * w.detach().numpy())


def test_leaves_that_require_grad_stay_read_only_in_grad_mode(rng):
    w = _leaf(rng, 3)
    for write in (lambda: w.add_(1.0), lambda: w.copy_(w.detach()), lambda: w.__setitem__(0, 1)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            write()
    with dl.no_grad():
        w.add_(1.0)
    assert w.is_leaf and w.requires_grad


def test_in_place_refuses_what_pytorch_refuses(rng):
    counts = dl.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="can't be cast"):
        counts += 0.5  # int64 cannot hold a float result
    x = dl.zeros(3)
    with pytest.raises(ValueError, match="doesn't match the broadcast shape"):
        x += dl.ones(2, 3)
    base = _leaf(rng, 4) * 1
    view = base[:2]
    with pytest.raises(RuntimeError, match="view"):
        view += 1  # a view's write would bypass its base's history: refused, not silent


def test_numpy_backend_refuses_an_index_tensor_of_another_device():
    if "cpu" not in dl.available_devices():
        pytest.skip("needs the cpu backend beside numpy")
    x = dl.arange(6, device="numpy")
    with pytest.raises(ValueError, match="index tensor on cpu"):
        x[dl.tensor([0, 1], device="cpu")]


def test_an_optimizer_step_between_two_backwards_raises(rng):
    w = _leaf(rng, 3)
    loss = (w * w).sum()  # Mul saved w's values
    loss.backward(retain_graph=True)
    dl.optim.SGD([w], lr=0.1).step()  # rewrites w in place
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()  # PyTorch raises here too; the old values are gone
