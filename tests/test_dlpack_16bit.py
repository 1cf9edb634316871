"""bfloat16 and float16 through DLPack, both ways, zero copy: with PyTorch and with NumPy.

Shared memory is shown by a write on one side being seen on the other; lifetime by deleting the
producer (and collecting garbage) before using the consumer.
"""
import gc

import numpy as np
import pytest

import deeplite
from deeplite import creation
from deeplite.interop import dlpack_capsule

from _devices import device_params

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")
HOST_DEVICES = device_params(["numpy", "cpu"])
PAIRS = [pytest.param("bfloat16", torch.bfloat16, id="bfloat16"),
         pytest.param("float16", torch.float16, id="float16")]


@pytest.fixture
def use_default_device(monkeypatch):
    """Set the default device for one test only (from_dlpack lands host memory there)."""
    return lambda name: monkeypatch.setitem(creation._settings, "device", name)


def _values(rng, shape=(3, 4)) -> np.ndarray:
    """Fresh float32 values exactly representable in bfloat16 and float16 (8 mantissa bits)."""
    return (rng.integers(-256, 256, shape) / 8.0).astype(np.float32)


@pytest.mark.parametrize("name, torch_dtype", PAIRS)
@pytest.mark.parametrize("device", HOST_DEVICES)
def test_deeplite_to_torch_and_back_shares_memory(device, name, torch_dtype, rng,
                                                  use_default_device):
    use_default_device(device)
    values = _values(rng)
    t = deeplite.tensor(values, dtype=name, device=device)
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch_dtype and tuple(tt.shape) == t.shape
    np.testing.assert_array_equal(tt.float().numpy(), values)
    assert tt.data_ptr() == t.data.ctypes.data  # zero copy
    tt[0, 0] = 99.0  # a write through torch ...
    assert float(t.data[0, 0]) == 99.0  # ... is seen by deeplite
    back = deeplite.from_dlpack(tt)
    assert back.dtype == t.dtype and back.device == device
    assert back.data.ctypes.data == tt.data_ptr()
    back.data[2, 3] = -7.5  # and a write through the re-imported tensor by both
    assert tt[2, 3].item() == float(t.data[2, 3]) == -7.5


@pytest.mark.parametrize("name, torch_dtype", PAIRS)
def test_torch_to_deeplite_strided_and_outliving_the_producer(name, torch_dtype, rng):
    values = _values(rng, (5, 6))
    source = torch.tensor(values, dtype=torch_dtype).T[1:, ::2]  # strided, offset view
    expected = source.float().numpy().copy()
    t = deeplite.from_dlpack(source)
    assert t.dtype == deeplite.dtypes.resolve(name) and t.shape == tuple(source.shape)
    np.testing.assert_array_equal(t.data.astype(np.float32), expected)
    source[0, 1] = 3.25
    assert float(t.data[0, 1]) == 3.25
    expected[0, 1] = 3.25
    del source
    gc.collect()
    torch.ones(5, 6, dtype=torch_dtype)  # reuse freed memory if it had been freed
    np.testing.assert_array_equal((t.float() * 1.0).numpy(), expected)  # deeplite ops read it

    exported = deeplite.tensor(values, dtype=name)
    view = torch.from_dlpack(exported)
    del exported
    gc.collect()
    np.testing.assert_array_equal(view.float().numpy(), values)


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_both_capsule_kinds_carry_bfloat16(max_version, rng):
    values = _values(rng)
    t = deeplite.tensor(values, dtype="bfloat16")
    capsule = t.__dlpack__(max_version=max_version)
    dtype = dlpack_capsule.capsule_dtype(capsule)
    assert (dtype.code, dtype.bits, dtype.lanes) == (dlpack_capsule.KDL_BFLOAT, 16, 1)
    np.testing.assert_array_equal(torch.from_dlpack(capsule).float().numpy(), values)


@pytest.mark.parametrize("device", HOST_DEVICES)
def test_numpy_float16_and_bfloat16_arrays_share_memory(device, rng, use_default_device):
    use_default_device(device)
    for dtype in (np.float16, ml_dtypes.bfloat16):
        source = _values(rng).astype(dtype)
        t = deeplite.from_dlpack(source)
        assert t.dtype == np.dtype(dtype) and t.device == device
        source[1, 1] = 5.0
        assert float(t.data[1, 1]) == 5.0
    half = deeplite.tensor(_values(rng), dtype="float16", device=device)
    back = np.from_dlpack(half)  # NumPy reads float16 DLPack; bfloat16 it cannot (np.asarray can)
    back[0, 0] = 11.0
    assert back.dtype == np.float16 and float(half.data[0, 0]) == 11.0
    low = deeplite.tensor(_values(rng), dtype="bfloat16", device=device)
    assert np.shares_memory(np.asarray(low), low.data)


def test_dtypes_dlpack_or_deeplite_cannot_carry_are_clear_errors():
    with pytest.raises(TypeError, match="float8_e4m3fn.*convert it to float32"):
        deeplite.from_dlpack(torch.ones(2, dtype=torch.float8_e4m3fn))
    with pytest.raises(TypeError, match="complex64 is not supported"):
        deeplite.from_dlpack(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        torch.from_dlpack(deeplite.ones(2, dtype="bfloat16", requires_grad=True))
    with pytest.raises(ValueError, match="not an unconsumed DLPack tensor"):
        capsule = torch.ones(2).__dlpack__()
        torch.from_dlpack(capsule)  # consumed: renamed "used_dltensor"
        dlpack_capsule.capsule_dtype(capsule)
