"""Tensor creation, dtype rules, conversion, devices, indexing and the errors users meet first."""
import numpy as np
import pytest

import deeplite as dl


def test_dtype_rules_follow_pytorch():
    assert dl.tensor([1.0, 2.0]).dtype == dl.float32
    assert dl.tensor(3.5).dtype == dl.float32
    assert dl.tensor([1, 2]).dtype == dl.int64
    assert dl.tensor([True, False]).dtype == dl.bool_
    assert dl.tensor(np.ones(3)).dtype == dl.float64  # a NumPy array keeps its dtype
    assert dl.tensor([1.0], dtype="float64").dtype == dl.float64
    assert dl.tensor([1.0], dtype=np.float64).dtype == dl.float64
    assert dl.zeros(2, 3).dtype == dl.float32 and dl.zeros(2, 3).shape == (2, 3)
    assert dl.ones((2, 3), dtype=dl.float64).dtype == dl.float64
    assert dl.arange(5).dtype == dl.int64 and dl.arange(0.0, 1.0, 0.25).dtype == dl.float32


def test_unknown_dtype_and_device_are_clear_errors():
    with pytest.raises(TypeError, match="unsupported dtype"):
        dl.tensor([1.0], dtype="float8")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        dl.tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match="unknown device"):
        dl.set_default_device("gpu0")


def test_creation_on_every_device(device, rng):
    data = rng.standard_normal((3, 4))
    t = dl.tensor(data, device=device)
    assert t.device == device and t.shape == (3, 4) and t.ndim == 2
    np.testing.assert_array_equal(t.numpy(), data)
    np.testing.assert_array_equal(np.asarray(t), data)
    assert dl.full((2,), 7.0, device=device).tolist() == [7.0, 7.0]
    assert dl.zeros_like(t).device == device and dl.ones_like(t).dtype == t.dtype
    assert dl.tensor(2.5, device=device).item() == 2.5


def test_tensor_copies_its_data_but_from_numpy_shares(rng):
    data = rng.standard_normal(4)
    copied, shared = dl.tensor(data), dl.from_numpy(data)
    data[0] = 100.0
    assert copied.numpy()[0] != 100.0
    assert shared.numpy()[0] == 100.0


def test_manual_seed_makes_draws_reproducible_on_every_device(device):
    dl.manual_seed(42)
    first = dl.randn(5, 3, device=device).numpy()
    dl.manual_seed(42)
    again = dl.randn(5, 3, device="numpy").numpy()
    np.testing.assert_array_equal(first, again)
    uniform = dl.rand(1000, device=device).numpy()
    assert uniform.min() >= 0 and uniform.max() < 1 and 0.4 < uniform.mean() < 0.6
    integers = dl.randint(0, 5, (100,), device=device).numpy()
    assert integers.dtype == np.int64 and set(integers) <= set(range(5))


def test_to_moves_between_devices_and_dtypes(device, rng):
    x = dl.tensor(rng.standard_normal(3), device="numpy", requires_grad=True)
    moved = x.to(device)
    assert moved.device == device
    (moved.to(dl.float32).to("numpy") * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
    assert x.to("numpy") is x
    assert x.detach().double().dtype == dl.float64 and x.detach().float().dtype == dl.float32


def test_mixing_devices_says_to_call_to():
    if "cpu" not in dl.backends.available():
        pytest.skip("needs a second device")
    a, b = dl.ones(3, device="numpy"), dl.ones(3, device="cpu")
    with pytest.raises(ValueError, match=r"add: inputs on numpy and cpu.*\.to\("):
        a + b


def test_shape_errors_name_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align"):
        dl.randn(3, 4) @ dl.randn(5, 2)
    with pytest.raises(ValueError, match=r"mul: shapes \(3,\) and \(4,\)"):
        dl.randn(3) * dl.randn(4)
    with pytest.raises(ValueError, match=r"linear: shapes \(2, 3\) and \(4, 5\)"):
        dl.functional.linear(dl.randn(2, 3), dl.randn(4, 5))
    with pytest.raises(ValueError, match=r"reshape"):
        dl.randn(3, 4).reshape(5, 2)


def test_python_scalars_on_either_side(rng):
    x = dl.tensor(rng.uniform(1, 2, 4))
    xs = x.numpy()
    for got, want in [(x + 1, xs + 1), (1 - x, 1 - xs), (2 * x, 2 * xs), (1 / x, 1 / xs),
                      (x ** 2, xs ** 2), (2 ** x, 2 ** xs), (-x, -xs), (abs(-x), xs)]:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert (dl.tensor([1.0]) * 2.0).dtype == dl.float32  # a scalar does not promote
    assert (dl.tensor([1, 2]) * 0.5).dtype == dl.float32  # int tensor * float -> default float


def test_comparisons_give_bool_without_grad(rng):
    x = dl.tensor(rng.standard_normal(5), requires_grad=True)
    mask = x > 0
    assert mask.dtype == dl.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), x.detach().numpy() > 0)
    np.testing.assert_array_equal((x == x).numpy(), np.ones(5, bool))


def test_indexing_and_setitem(rng):
    data = rng.standard_normal((4, 5))
    x = dl.tensor(data)
    np.testing.assert_array_equal(x[1].numpy(), data[1])
    np.testing.assert_array_equal(x[:, -1].numpy(), data[:, -1])
    np.testing.assert_array_equal(x[None, ..., 2].numpy(), data[None, ..., 2])
    np.testing.assert_array_equal(x[[3, 0]].numpy(), data[[3, 0]])
    np.testing.assert_array_equal(x[x > 0].numpy(), data[data > 0])
    x[0] = 5.0
    assert np.all(x.numpy()[0] == 5.0)
    assert [row.shape for row in x] == [(5,)] * 4 and len(x) == 4


def test_transpose_forms(rng):
    data = rng.standard_normal((2, 3, 4))
    x = dl.tensor(data)
    assert x.T.shape == (4, 3, 2)
    assert x.transpose(0, 2).shape == (4, 3, 2)  # PyTorch: swap two dims
    with pytest.raises(TypeError):
        x.transpose(2, 0, 1)  # a full permutation is permute's job, as in PyTorch
    assert x.permute(1, 0, 2).shape == (3, 2, 4)
    np.testing.assert_array_equal(dl.tensor(data[0]).T.numpy(), data[0].T)


def test_reductions_accept_pytorch_names(rng):
    data = rng.standard_normal((3, 4))
    x = dl.tensor(data)
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).numpy(), data.sum(1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_array_equal(x.argmax(axis=1).numpy(), data.argmax(1))
    with pytest.raises(IndexError, match="sum: dim 5 is out of range"):
        x.sum(axis=5)


def test_item_bool_and_repr(rng):
    with pytest.raises(ValueError, match="only one-element"):
        dl.randn(2).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(dl.randn(2))
    text = repr(dl.tensor([1.0, 2.0], requires_grad=True))
    assert text.startswith("tensor([1., 2.]") and "requires_grad=True" in text
    assert "grad_fn" in repr(dl.tensor([1.0], requires_grad=True) * 2)
    assert float(dl.tensor([3.0])) == 3.0 and int(dl.tensor([3])) == 3


def test_numpy_of_a_tensor_that_requires_grad_asks_for_detach():
    with pytest.raises(RuntimeError, match="detach"):
        dl.randn(3, requires_grad=True).numpy()


def test_default_device_prefers_cpu_when_built():
    expected = "cpu" if dl.backends.is_available("cpu") else "numpy"
    assert dl.get_default_device() in (expected, "numpy", "cpu")
    assert dl.available_devices() == dl.backends.available()
