"""The places where deeplite used to differ silently from PyTorch, each pinned to PyTorch 2.x's
documented behaviour (and, where torch is installed, checked against torch itself)."""
import warnings

import numpy as np
import pytest

import deeplite as dl

F = dl.functional


def _torch():
    return pytest.importorskip("torch")


def test_transpose_swaps_two_dims_of_a_matrix(device, rng):
    data = rng.standard_normal((3, 5))
    x = dl.tensor(data, device=device)
    np.testing.assert_array_equal(x.transpose(0, 1).numpy(), data.T)  # was the identity
    np.testing.assert_array_equal(x.transpose(-1, 0).numpy(), data.T)
    np.testing.assert_array_equal(dl.transpose(x, 1, 1).numpy(), data)
    cube = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(dl.tensor(cube, device=device).transpose(0, 2).numpy(),
                                  np.swapaxes(cube, 0, 2))
    np.testing.assert_array_equal(dl.matrix_transpose(dl.tensor(cube)).numpy(),
                                  np.swapaxes(cube, -1, -2))
    with pytest.raises(IndexError, match="transpose: dim 2 is out of range"):
        x.transpose(0, 2)


def test_permute_checks_its_dims(rng):
    x = dl.tensor(rng.standard_normal((2, 3, 4)))
    assert x.permute(-1, 0, 1).shape == (4, 2, 3)
    with pytest.raises(ValueError, match="repeat a dimension"):
        x.permute(0, 0, 1)
    with pytest.raises(ValueError, match="give each of its 3 dims once"):
        x.permute(1, 0)


def test_max_with_dim_returns_values_and_indices(device, rng):
    data = rng.standard_normal((4, 6))
    x = dl.tensor(data, device=device)
    values, indices = x.max(dim=1)  # used to unpack the rows of the values
    np.testing.assert_array_equal(values.numpy(), data.max(1))
    np.testing.assert_array_equal(indices.numpy(), data.argmax(1))
    assert indices.dtype == dl.int64
    result = dl.min(x, 0, keepdim=True)
    assert type(result).__name__ == "min" and result.values.shape == (1, 6)
    np.testing.assert_array_equal(result.indices.numpy(), data.argmin(0)[None])
    assert dl.amax(x, dim=(0, 1)).shape == () and dl.amin(x, 1).shape == (4,)
    other = dl.tensor(rng.standard_normal(6), device=device)
    np.testing.assert_array_equal(dl.max(x, other).numpy(), np.maximum(data, other.numpy()))
    assert x.max().shape == ()


def test_max_with_dim_sends_the_gradient_to_the_first_index_only():
    torch = _torch()
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = dl.tensor(data, requires_grad=True)
    x.max(dim=1).values.sum().backward()
    reference = torch.tensor(data, requires_grad=True)
    reference.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), reference.grad.numpy())
    y = dl.tensor(data, requires_grad=True)
    dl.amax(y, dim=1).sum().backward()  # amax shares the gradient among ties, as torch.amax
    reference = torch.tensor(data, requires_grad=True)
    torch.amax(reference, dim=1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), reference.grad.numpy())


@pytest.mark.parametrize("spelling", [dict(dim=1, keepdim=True), dict(axis=1, keepdims=True)])
def test_dim_and_axis_are_both_accepted(spelling, rng):
    data = rng.standard_normal((3, 4))
    x = dl.tensor(data)
    single = {"dim" if "dim" in spelling else "axis": 1}
    np.testing.assert_allclose(x.sum(**spelling).numpy(), data.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(x.mean(**spelling).numpy(), data.mean(1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(x.var(**spelling).numpy(), data.var(1, ddof=1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_allclose(x.std(**spelling).numpy(), data.std(1, ddof=1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_array_equal(dl.argmax(x, **spelling).numpy(), data.argmax(1)[:, None])
    np.testing.assert_array_equal(dl.argmin(x, **spelling).numpy(), data.argmin(1)[:, None])
    np.testing.assert_allclose(F.softmax(x, **single).numpy().sum(1), np.ones(3), rtol=1e-6)
    np.testing.assert_allclose(np.exp(F.log_softmax(x, **single).numpy()).sum(1), np.ones(3),
                               rtol=1e-6)
    assert dl.cat([x, x], **single).shape == (3, 8)
    assert dl.stack([x, x], **single).shape == (3, 2, 4)
    with pytest.raises(TypeError, match="both dim"):
        x.sum(dim=0, axis=0)


def test_integer_promotion_follows_pytorch(device):
    ints = dl.tensor([1, 2, 3], device=device)
    assert dl.div(ints, ints).dtype == dl.float32  # true division of ints: the default float
    for function in (dl.exp, dl.log, dl.sqrt, F.sigmoid, F.tanh, dl.sin, dl.erf):
        assert function(ints).dtype == dl.float32, function.__name__
    assert dl.add(ints, dl.tensor(2.5, device=device)).dtype == dl.float32  # NumPy: float64
    assert dl.add(ints, dl.tensor(2.5, dtype=dl.float64, device=device)).dtype == dl.float64
    floats = dl.tensor([1.0, 2.0], device=device)
    assert dl.add(floats, dl.tensor(2.0, dtype=dl.float64, device=device)).dtype == dl.float32
    assert dl.full((2,), 4).dtype == dl.int64 and dl.full((2,), True).dtype == dl.bool_
    assert dl.full((2,), 4.0).dtype == dl.float32
    assert dl.sum(dl.tensor([1, 2], dtype=dl.int32)).dtype == dl.int64


def test_promotion_table_matches_torch():
    torch = _torch()
    dtypes = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    for left in dtypes:
        for right in dtypes:
            for right_shape in ((2,), ()):
                ours = dl.add(dl.tensor(np.ones(2, left)), dl.tensor(np.ones(right_shape, right)))
                theirs = torch.ones(2, dtype=getattr(torch, left)) + torch.ones(
                    right_shape, dtype=getattr(torch, right))
                if left == right == "bool":
                    continue  # torch adds bools as a logical or; deeplite follows NumPy there
                assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), \
                    (left, right, right_shape)


def test_var_with_correction_divides_by_n_minus_correction():
    x = dl.tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose(dl.var(x, correction=2).item(), np.var([1, 2, 4]) * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf and nan come quietly, as in PyTorch
        assert dl.var(x, correction=3).item() == np.inf  # was clamped to a divisor of 1
        assert np.isnan(dl.var(dl.tensor([5.0])).item())
        assert dl.std(x, correction=5).item() == np.inf


def test_var_matches_torch_for_every_correction(rng):
    torch = _torch()
    data = rng.standard_normal((4, 3))
    for correction in (0, 1, 2, 4, 6):
        ours = dl.var(dl.tensor(data), dim=0, correction=correction).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about a non-positive divisor
            theirs = torch.var(torch.tensor(data), dim=0, correction=correction).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_zero_dim_tensors_take_dim_0_and_minus_1(device):
    x = dl.tensor(1.5, dtype=dl.float64, device=device, requires_grad=True)
    for dim in (0, -1):
        for reduce in (dl.sum, dl.mean, dl.amax, dl.prod, dl.logsumexp):
            out = reduce(x, dim=dim)
            assert out.shape == () and np.isclose(out.item(), 1.5), reduce.__name__
        values, indices = dl.max(x, dim=dim)
        assert values.item() == 1.5 and indices.item() == 0
        assert F.softmax(x, dim=dim).item() == 1.0
        assert dl.cumsum(x, dim).item() == 1.5
    (dl.sum(x, dim=0) + F.log_softmax(x, dim=-1) * 2).backward()
    assert x.grad.item() == 1.0  # log_softmax of one element is constant
    with pytest.raises(IndexError, match="out of range"):
        dl.sum(x, dim=1)


def test_power_gradients_at_zero_are_zero_not_nan():
    torch = _torch()
    base = dl.tensor([0.0, 0.0, 2.0], dtype=dl.float64, requires_grad=True)
    exponent = dl.tensor([0.5, 0.0, 0.0], dtype=dl.float64, requires_grad=True)
    (base ** exponent).sum().backward()
    tb = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    te = torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    (tb ** te).sum().backward()
    np.testing.assert_array_equal(exponent.grad.numpy(), te.grad.numpy())  # d(0^x)/dx = 0
    np.testing.assert_array_equal(base.grad.numpy()[1:], tb.grad.numpy()[1:])  # d(x^0)/dx = 0
    assert np.isfinite(exponent.grad.numpy()).all()


def test_where_takes_python_scalars(device):
    mask = dl.tensor([True, False, True], device=device)
    out = dl.where(mask, 1, 3)
    assert out.dtype == dl.int64 and out.tolist() == [1, 3, 1] and out.device == device
    assert dl.where(mask, 1.0, 3).dtype == dl.float32
    x = dl.tensor([1.0, 2.0, 3.0], dtype=dl.float64, device=device)
    assert dl.where(mask, x, 0).dtype == dl.float64


def test_an_int_beside_index_tensors_selects_first(rng):
    data = rng.standard_normal((2, 3, 4))
    x = dl.tensor(data)
    index = dl.tensor([0, 3])
    assert x[1, :, index].shape == (3, 2)  # NumPy would say (2, 3)
    np.testing.assert_array_equal(x[1, :, index].numpy(), data[1][:, [0, 3]])
    assert x[index[:1], 1].shape == (1, 4)
    torch = pytest.importorskip("torch")
    reference = torch.tensor(data)
    for key in [(1, slice(None), [0, 3]), ([1, 0], 2), (0, [2, 1], slice(1, 3)),
                (Ellipsis, 1, [0, 0]), (1, None, [2, 0])]:
        ours = x[tuple(dl.tensor(k) if isinstance(k, list) else k for k in key)]
        theirs = reference[tuple(torch.tensor(k) if isinstance(k, list) else k for k in key)]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=str(key))


def test_setitem_with_an_int_beside_an_index_tensor_writes_where_pytorch_does():
    x = dl.zeros(2, 3, 4)
    x[1, :, dl.tensor([0, 3])] = dl.ones(3, 2)
    expected = np.zeros((2, 3, 4))
    expected[1][:, [0, 3]] = 1
    np.testing.assert_array_equal(x.numpy(), expected)


def test_a_boolean_mask_of_the_wrong_length_raises_index_error():
    x = dl.arange(12).reshape(3, 4)
    with pytest.raises(IndexError, match=r"mask of shape \(2,\) does not match"):
        x[dl.tensor([True, False])]
    with pytest.raises(IndexError, match="dims 1 to 1"):
        x[:, dl.tensor([True, False, True])]
    assert x[..., dl.tensor([True, False, True, False])].shape == (3, 2)


def test_errors_have_the_types_pytorch_users_catch():
    x = dl.ones(2, 3)
    with pytest.raises(IndexError):
        dl.sum(x, dim=2)
    with pytest.raises(ValueError):
        dl.sum(x, dim=2)
    assert issubclass(dl.ShapeError, ValueError) and issubclass(dl.ShapeError, RuntimeError)
    assert issubclass(dl.DimError, IndexError) and issubclass(dl.DimError, ValueError)
    for bad in (lambda: dl.gather(x, 0, dl.zeros(2, dtype=dl.int64)),
                lambda: dl.split(x, [1, 1], dim=1), lambda: F.glu(x, dim=1)):
        with pytest.raises(RuntimeError):
            bad()


def test_nan_producing_math_is_quiet(device):
    x = dl.tensor([-1.0, 0.0, 4.0], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(dl.sqrt(x).numpy()[0]) and np.isnan(dl.log(x).numpy()[0])
        assert np.isnan(dl.asin(x * 2).numpy()[0]) and dl.log2(x).numpy()[1] == -np.inf
        assert (x / 0).numpy()[2] == np.inf and np.isnan(dl.rsqrt(x).numpy()[0])


def test_integer_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError):
        dl.floor_divide(dl.tensor([1, 2]), dl.tensor([1, 0]))
    with pytest.raises(ZeroDivisionError):
        dl.remainder(dl.tensor([1, 2]), 0)


def test_integer_rounding_modes_match_torch(rng):
    torch = _torch()
    a = rng.integers(-20, 20, 30)
    b = rng.choice([-1, 1], 30) * rng.integers(1, 7, 30)
    for mode in ("trunc", "floor"):
        ours = dl.div(dl.tensor(a), dl.tensor(b), rounding_mode=mode)
        theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(dl.remainder(dl.tensor(a), dl.tensor(b)).numpy(),
                                  torch.remainder(torch.tensor(a), torch.tensor(b)).numpy())
    np.testing.assert_array_equal(dl.fmod(dl.tensor(a), dl.tensor(b)).numpy(),
                                  torch.fmod(torch.tensor(a), torch.tensor(b)).numpy())
