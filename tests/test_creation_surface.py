"""Creation ops a PyTorch user expects: eye, linspace, logspace, full's dtype, *_like, normal,
and the in-place random fills."""
import numpy as np
import pytest

import deeplite as dl


def test_eye_linspace_logspace(device):
    np.testing.assert_array_equal(dl.eye(3, device=device).numpy(), np.eye(3))
    assert dl.eye(2, 4, dtype=dl.int64).dtype == dl.int64 and dl.eye(2, 4).shape == (2, 4)
    line = dl.linspace(-1, 2, 7, device=device)
    assert line.dtype == dl.float32
    np.testing.assert_allclose(line.numpy(), np.linspace(-1, 2, 7), rtol=1e-6)
    np.testing.assert_allclose(dl.logspace(0, 3, 4, base=2.0, dtype=dl.float64).numpy(),
                               [1, 2, 4, 8])
    assert dl.linspace(0, 1, 0).shape == (0,)
    with pytest.raises(ValueError, match="non-negative"):
        dl.linspace(0, 1, -1)


def test_against_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(dl.linspace(-3, 5, 11).numpy(), torch.linspace(-3, 5, 11).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(dl.logspace(-1, 1, 5).numpy(), torch.logspace(-1, 1, 5).numpy(),
                               rtol=1e-6)
    for value in (4, 4.0, True):
        assert str(dl.full((2,), value).dtype) == str(torch.full((2,), value).dtype).replace(
            "torch.", "")


def test_full_dtype_follows_the_fill_value():
    assert dl.full((2,), 4).dtype == dl.int64
    assert dl.full((2,), 4.5).dtype == dl.float32
    assert dl.full((2,), False).dtype == dl.bool_
    assert dl.full((2,), 4, dtype=dl.float64).dtype == dl.float64
    assert dl.zeros(2).dtype == dl.float32 and dl.ones(2, dtype=dl.int32).dtype == dl.int32


def test_like_constructors(device):
    x = dl.ones(2, 3, dtype=dl.float64, device=device)
    assert dl.empty_like(x).shape == (2, 3) and dl.empty_like(x).dtype == dl.float64
    assert dl.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    assert dl.randn_like(x).device == device


def test_normal_draws_are_seeded_and_broadcast():
    dl.manual_seed(3)
    first = dl.normal(2.0, 0.5, size=(4000,))
    dl.manual_seed(3)
    np.testing.assert_array_equal(first.numpy(), dl.normal(2.0, 0.5, size=(4000,)).numpy())
    assert abs(first.numpy().mean() - 2.0) < 0.05 and abs(first.numpy().std() - 0.5) < 0.05
    means = dl.tensor([0.0, 100.0])
    draws = dl.normal(means, 1e-3)
    assert draws.shape == (2,) and abs(draws.numpy()[1] - 100.0) < 0.1
    with pytest.raises(TypeError, match="size"):
        dl.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        dl.normal(0.0, -1.0, size=(2,))


def test_unsigned_dtypes_round_trip_through_checkpoints(tmp_path):
    path = tmp_path / "unsigned.safetensors"
    state = {"u16": dl.tensor([1, 60000], dtype=dl.uint16), "u32": dl.tensor([2 ** 31 + 5],
                                                                               dtype=dl.uint32),
             "u64": dl.tensor([2 ** 40], dtype=dl.uint64)}
    dl.save(state, path)
    loaded = dl.load(path)
    for name, value in state.items():
        assert loaded[name].dtype == value.dtype and loaded[name].tolist() == value.tolist()
    safetensors = pytest.importorskip("safetensors.numpy")
    assert safetensors.load_file(str(path))["u16"].dtype == np.uint16  # the library agrees
