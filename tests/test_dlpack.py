"""DLPack and the array protocols: zero-copy hand-offs both ways with NumPy, PyTorch, JAX, CuPy.

Shared memory is shown by a write on one side being seen on the other; lifetime by deleting the
producer (and collecting garbage) before using the consumer.
"""
import gc

import numpy as np
import pytest

import deeplite
from deeplite import creation, dtypes

from _devices import device_params

HOST_DEVICES = device_params(["numpy", "cpu"])
DTYPES = [pytest.param(d, id=str(d)) for d in dtypes.SUPPORTED]


@pytest.fixture
def use_default_device(monkeypatch):
    """Set the default device for one test only."""
    return lambda name: monkeypatch.setitem(creation._settings, "device", name)


def _sample(rng, dtype, shape=(3, 4)) -> np.ndarray:
    """Fresh random values representable in ``dtype`` (bools, small ints, floats)."""
    if dtype == dtypes.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _other_value(array: np.ndarray):
    """A value that differs from ``array``'s first element, of its dtype."""
    return np.logical_not(array.flat[0]) if array.dtype == bool else array.flat[0] + 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", HOST_DEVICES)
def test_numpy_round_trip_shares_memory(device, dtype, rng, use_default_device):
    use_default_device(device)
    source = _sample(rng, dtype)
    t = deeplite.from_dlpack(source)
    assert t.device == device and t.dtype == dtype and t.shape == source.shape
    source[0, 0] = _other_value(source)  # write on the producer side ...
    assert t.data[0, 0] == source[0, 0]  # ... seen through the tensor
    back = np.from_dlpack(t)
    back[1, 2] = _other_value(back[1:, 2:])  # write on the consumer side, seen by both
    assert source[1, 2] == back[1, 2] and t.numpy()[1, 2] == back[1, 2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", HOST_DEVICES)
def test_torch_round_trip_shares_memory(device, dtype, rng, use_default_device):
    torch = pytest.importorskip("torch")
    use_default_device(device)
    values = _sample(rng, dtype)
    t = deeplite.tensor(values)
    tt = torch.from_dlpack(t)
    assert tt.shape == t.shape and tt.numpy().dtype == dtype
    np.testing.assert_array_equal(tt.numpy(), values)
    # The new value is computed by NumPy: torch has no arithmetic for uint16/32/64.
    tt[0, 0] = torch.from_numpy(np.asarray(_other_value(tt[:1, :1].numpy()), dtype=dtype))
    np.testing.assert_array_equal(t.numpy()[0, 0], tt[0, 0].numpy())
    back = deeplite.from_dlpack(tt)
    assert back.dtype == dtype and back.device == device
    back.data[2, 3] = _other_value(back.data[2:, 3:])
    assert tt[2, 3].item() == back.data[2, 3].item() == t.data[2, 3].item()


def test_consumer_outlives_deleted_producer(rng):
    torch = pytest.importorskip("torch")
    expected = rng.standard_normal((1000, 50))
    producer = torch.from_numpy(expected.copy())
    consumer = deeplite.from_dlpack(producer)
    del producer
    gc.collect()
    torch.ones(1000, 50, dtype=torch.float64)  # reuse freed memory if it had been freed
    np.testing.assert_array_equal((consumer * 1.0).numpy(), expected)

    t = deeplite.tensor(expected)
    torch_view, numpy_view = torch.from_dlpack(t), np.from_dlpack(t)
    del t
    gc.collect()
    np.testing.assert_array_equal(torch_view.numpy(), expected)
    np.testing.assert_array_equal(numpy_view, expected)


def test_strided_views_cross_without_copy():
    torch = pytest.importorskip("torch")
    source = torch.arange(12.0).reshape(3, 4).T  # non-contiguous
    t = deeplite.from_dlpack(source)
    np.testing.assert_array_equal(t.numpy(), source.numpy())
    source[0, 1] = -5.0
    assert t.data[0, 1] == -5.0
    # deeplite's own ops accept the strided data
    np.testing.assert_allclose((t @ deeplite.ones(3, 2)).numpy(), source.numpy() @ np.ones((3, 2)))


def test_tensor_copies_from_torch(rng):
    torch = pytest.importorskip("torch")
    values = rng.standard_normal((2, 3)).astype(np.float32)
    source = torch.tensor(values, requires_grad=True)  # deeplite.tensor reads its values
    t = deeplite.tensor(source, dtype=deeplite.float64, requires_grad=True)
    assert t.dtype == deeplite.float64 and t.requires_grad and t.is_leaf
    np.testing.assert_allclose(t.detach().numpy(), values)
    with torch.no_grad():
        source.add_(1.0)  # a copy: the source's later writes do not show
    np.testing.assert_allclose(t.detach().numpy(), values)
    assert deeplite.tensor(torch.tensor(3)).dtype == deeplite.int64
    assert deeplite.tensor(torch.tensor([True])).dtype == deeplite.bool_


def test_jax_round_trip(rng):
    jnp = pytest.importorskip("jax.numpy")
    values = rng.standard_normal((4, 3)).astype(np.float32)
    t = deeplite.from_dlpack(jnp.asarray(values))
    np.testing.assert_array_equal(t.numpy(), values)
    back = jnp.from_dlpack(deeplite.tensor(values * 2))
    np.testing.assert_array_equal(np.asarray(back), values * 2)


def test_dlpack_refusals():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        torch.from_dlpack(deeplite.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="complex64 is not supported"):
        deeplite.from_dlpack(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(TypeError, match="float8_e5m2.*float32"):  # bfloat16: test_dlpack_16bit
        deeplite.from_dlpack(torch.ones(2, dtype=torch.float8_e5m2))
    with pytest.raises(TypeError, match="list does not implement the DLPack protocol"):
        deeplite.from_dlpack([1.0, 2.0])
    assert not hasattr(deeplite.ones(2), "__cuda_array_interface__")
    assert deeplite.ones(2).__dlpack_device__() == (1, 0)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_cupy_round_trip_shares_memory(dtype, rng):
    cupy = pytest.importorskip("cupy")
    source = cupy.asarray(_sample(rng, dtype))
    t = deeplite.from_dlpack(source)
    assert t.device == "cuda" and t.dtype == dtype
    source[0, 0] = _other_value(source.get())
    assert bool((t.data[0, 0] == source[0, 0]).get())
    assert t.__cuda_array_interface__["data"][0] == source.data.ptr
    back = cupy.from_dlpack(t)
    back[1, 1] = _other_value(back[1:, 1:].get())
    assert bool((source[1, 1] == back[1, 1]).get())
    del source
    gc.collect()
    np.testing.assert_array_equal(cupy.asnumpy(back), t.numpy())
    copied = deeplite.tensor(back, device="cuda")
    assert copied.data.data.ptr != back.data.ptr
    np.testing.assert_array_equal(copied.numpy(), back.get())


@pytest.mark.cuda
def test_torch_cuda_tensor_round_trip(rng):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch build has no CUDA")
    source = torch.randn(3, 4, device="cuda")
    t = deeplite.from_dlpack(source)
    source[0, 0] = 42.0
    assert t.device == "cuda" and float(t.data[0, 0].get()) == 42.0
    np.testing.assert_allclose(deeplite.tensor(source, device="cpu").numpy(),
                               source.cpu().numpy())
