"""Checkpoints: safetensors round trips, foreign files, corruption, atomic writes, exact resume."""
import importlib.util
import json
import os
import struct

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim, safetensors_file, serialization
from deeplite.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _arrays(rng):
    return {"weight": rng.standard_normal((3, 4)).astype(np.float32),
            "double": rng.standard_normal(5),
            "half": rng.standard_normal((2, 2)).astype(np.float16),
            "labels": rng.integers(-50, 50, 7),
            "small": rng.integers(-100, 100, 3).astype(np.int8),
            "bytes": rng.integers(0, 255, 4).astype(np.uint8),
            "int32": rng.integers(-9, 9, (2, 1)).astype(np.int32),
            "mask": rng.random(6) > 0.5,
            "scalar": np.array(rng.standard_normal()),
            "empty": np.zeros((0, 3), np.float32)}


def _raw_file(path, header: dict, body: bytes, pad: bool = True) -> None:
    """Write a safetensors-framed file by hand (to craft foreign and broken files)."""
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + body)


def test_round_trip_every_dtype_and_shape(device, rng, tmp_path):
    arrays = _arrays(rng)
    tensors = {name: dl.tensor(value, device=device) for name, value in arrays.items()}
    path = tmp_path / "all.safetensors"
    dl.save(tensors, path, metadata={"config": json.dumps({"sizes": [2, 3]})})
    loaded = dl.load(path, device=device)
    assert list(loaded) == list(arrays)  # the caller's order
    for name, value in arrays.items():
        assert loaded[name].device == device and loaded[name].dtype == value.dtype, name
        assert loaded[name].shape == value.shape, name  # a 0-d scalar stays 0-d
        np.testing.assert_array_equal(loaded[name].numpy(), value)
    metadata = serialization.load_metadata(path)
    assert json.loads(metadata["config"]) == {"sizes": [2, 3]}
    assert metadata["deeplite.version"] == dl.__version__
    assert metadata["deeplite.checksum"].startswith("crc32:")


def test_arrays_not_written_as_they_are_are_converted(rng, tmp_path):
    # Big-endian, strided and 0-d arrays take the converting path, not the as-is one.
    arrays = {"big_endian": rng.standard_normal((3, 4)).astype(">f4"),
              "big_int": rng.integers(-9, 9, 5).astype(">i8"),
              "transposed": rng.standard_normal((4, 3)).astype(np.float32).T,
              "strided": rng.standard_normal(10)[::3],
              "scalar": np.array(rng.standard_normal(), dtype=">f8")}
    path = tmp_path / "converted.safetensors"
    dl.save(arrays, path)
    for name, value in safetensors_numpy.load_file(str(path)).items():
        assert value.dtype == arrays[name].dtype.newbyteorder("<"), name
        assert value.shape == arrays[name].shape, name
        np.testing.assert_array_equal(value, arrays[name])


def test_files_interoperate_with_the_safetensors_library(rng, tmp_path):
    arrays = _arrays(rng)
    ours = tmp_path / "ours.safetensors"
    dl.save(arrays, ours)
    for name, value in safetensors_numpy.load_file(str(ours)).items():
        np.testing.assert_array_equal(value, arrays[name])
    foreign = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(arrays, str(foreign), metadata={"format": "np"})
    loaded = dl.load(foreign)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name].numpy(), value)
    assert serialization.load_metadata(foreign) == {"format": "np"}  # no checksum: not verified


def test_bfloat16_from_other_tools_loads_exactly(rng, tmp_path):
    values = rng.standard_normal(5).astype(np.float32)
    top_halves = (values.view(np.uint32) >> 16).astype("<u2")  # truncation to bfloat16
    path = tmp_path / "bf16.safetensors"
    _raw_file(path, {"x": {"dtype": "BF16", "shape": [5], "data_offsets": [0, 10]}},
              top_halves.tobytes(), pad=False)
    loaded = dl.load(path)["x"]
    # bfloat16 with ml_dtypes installed (deeplite[bf16]), float32 without: the same values.
    assert loaded.dtype == (dl.bfloat16 if importlib.util.find_spec("ml_dtypes") else dl.float32)
    widened = (top_halves.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(loaded.numpy().astype(np.float32), widened)
    np.testing.assert_allclose(widened, values, rtol=2 ** -7)


def test_model_checkpoint_moves_between_devices(device, rng, tmp_path):
    model = nn.MLP([4, 6, 2])
    path = tmp_path / "model.safetensors"
    dl.save(model.state_dict(), path)
    other = nn.MLP([4, 6, 2]).to(device)
    other.load_state_dict(dl.load(path))  # loaded on the default device, copied to `device`
    for a, b in zip(model.parameters(), other.parameters()):
        assert b.device == device
        np.testing.assert_array_equal(a.detach().numpy(), np.asarray(b.detach()))


@pytest.mark.parametrize("state, metadata, error, message", [
    ({"x": {1, 2}}, None, TypeError, r"obj\['x'\] is a set; deeplite.save stores dicts"),
    ({"x": np.zeros(2, np.complex64)}, None, TypeError, "'x' has dtype complex64"),
    ({"": np.zeros(2)}, None, TypeError, "tensor names must be non-empty strings"),
    ({"x": np.zeros(2)}, {"deeplite.structure": "{}"}, ValueError, "deeplite reserves"),
    ({"x": np.zeros(2)}, {"epoch": 3}, TypeError, "metadata must map str to str"),
])
def test_save_rejects_what_safetensors_cannot_hold(tmp_path, state, metadata, error, message):
    with pytest.raises(error, match=message):
        dl.save(state, tmp_path / "bad.safetensors", metadata=metadata)
    assert os.listdir(tmp_path) == []


# ---- broken and foreign files --------------------------------------------------------------------
def _saved(rng, tmp_path) -> bytes:
    path = tmp_path / "good.safetensors"
    dl.save({"a": rng.standard_normal((4, 3)), "b": rng.standard_normal(8).astype(np.float32)},
            path)
    return path.read_bytes()


def test_every_truncation_is_detected(rng, tmp_path):
    blob = _saved(rng, tmp_path)
    path = tmp_path / "cut.safetensors"
    for length in sorted({0, 3, 8, 9, 40, len(blob) // 2, len(blob) - 1}):
        path.write_bytes(blob[:length])
        with pytest.raises(CheckpointError, match="truncated"):
            dl.load(path)


def test_flipped_data_byte_fails_the_checksum(rng, tmp_path):
    blob = bytearray(_saved(rng, tmp_path))
    blob[-5] ^= 0x40
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="corrupt: the file's CRC-32"):
        dl.load(path)


def test_trailing_garbage_is_refused(rng, tmp_path):
    path = tmp_path / "long.safetensors"
    path.write_bytes(_saved(rng, tmp_path) + b"junk")
    with pytest.raises(CheckpointError, match="not fully covered"):
        dl.load(path)


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04" + bytes(60), "not a safetensors file"),  # a zip (torch.save) file
    (b"\x80\x04\x95" + bytes(40), "not a safetensors file"),  # a pickle
    (struct.pack("<Q", 4) + b"\xff\xfe{}", "header is not JSON"),
    (struct.pack("<Q", 2) + b"[]", "header is not a JSON object"),
])
def test_foreign_bytes_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "foreign.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        dl.load(path)


@pytest.mark.parametrize("entry, body, message", [
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}, bytes(12),
     "invalid shape, data type, or offset"),
    ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, bytes(8),
     "invalid value: integer `-2`"),
    ({"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}, bytes(8), "dtype 'C64'"),
    ({"dtype": "F32", "shape": [2]}, bytes(8), "missing field `data_offsets`"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}, bytes(12),
     "invalid offset for tensor `x`"),
])
def test_corrupt_headers_are_named(tmp_path, entry, body, message):
    path = tmp_path / "corrupt.safetensors"
    _raw_file(path, {"x": entry}, body)
    with pytest.raises(CheckpointError, match=message):
        dl.load(path)


def test_overlapping_tensors_and_bad_metadata_are_refused(tmp_path):
    path = tmp_path / "overlap.safetensors"
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    _raw_file(path, {"x": entry, "y": entry}, bytes(8))
    with pytest.raises(CheckpointError, match="invalid offset for tensor"):
        dl.load(path)
    _raw_file(path, {"__metadata__": {"epoch": 3}, "x": entry}, bytes(8))
    with pytest.raises(CheckpointError, match="__metadata__ must map str to str"):
        dl.load(path)
    with pytest.raises(FileNotFoundError):
        dl.load(tmp_path / "missing.safetensors")


# ---- atomic writes -------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["mid-write", "fsync"])
def test_a_failed_save_keeps_the_previous_checkpoint(rng, tmp_path, monkeypatch, where):
    path = tmp_path / "model.safetensors"
    old = {"w": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    dl.save(old, path)
    before = path.read_bytes()
    if where == "mid-write":
        written = []
        original = safetensors_file._write_array

        def failing(file, array):
            if written:  # the first tensor is on disk, the second never arrives
                raise OSError("disk full")
            written.append(array)
            original(file, array)

        monkeypatch.setattr(safetensors_file, "_write_array", failing)
    else:
        def failing_fsync(descriptor):
            raise OSError("I/O error")

        monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        dl.save({"w": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    assert path.read_bytes() == before
    np.testing.assert_array_equal(dl.load(path)["w"].numpy(), old["w"])


# ---- training state: resume exactly --------------------------------------------------------------
def _make(kind):
    model = nn.MLP([3, 16, 2], dropout=0.2)
    optimizer = {"SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 "Adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
                 "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
                 "Adagrad": lambda p: optim.Adagrad(p, lr=0.1)}[kind](model.parameters())
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _train(model, optimizer, scheduler, batches):
    for x, labels in batches:
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(x), labels).backward()  # dropout draws from the generator
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("kind", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(rng, tmp_path, kind):
    batches = [(dl.tensor(rng.standard_normal((8, 3)), dtype=dl.float32),
                dl.tensor(rng.integers(0, 2, 8))) for _ in range(6)]
    seed = int(rng.integers(1 << 30))
    dl.manual_seed(seed)
    model, optimizer, scheduler = _make(kind)
    _train(model, optimizer, scheduler, batches)  # uninterrupted: 6 steps

    dl.manual_seed(seed)
    first, first_optimizer, first_scheduler = _make(kind)
    _train(first, first_optimizer, first_scheduler, batches[:3])
    path = tmp_path / "run.safetensors"
    serialization.save_training_state(path, first, first_optimizer, {"epoch": "3"},
                                      scheduler=first_scheduler)
    dl.manual_seed(seed + 1)  # a fresh process: other initial weights, other random stream
    resumed, resumed_optimizer, resumed_scheduler = _make(kind)
    info = serialization.load_training_state(path, resumed, resumed_optimizer,
                                             scheduler=resumed_scheduler)
    assert info == {"epoch": "3"}
    _train(resumed, resumed_optimizer, resumed_scheduler, batches[3:])

    for (name, a), b in zip(model.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)
    assert resumed_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_training_state_layout_and_errors(rng, tmp_path):
    model, optimizer, scheduler = _make("Adam")
    _train(model, optimizer, scheduler, [(dl.tensor(rng.standard_normal((4, 3)),
                                                    dtype=dl.float32), dl.tensor([0, 1, 1, 0]))])
    path = tmp_path / "state.safetensors"
    serialization.save_training_state(path, model, optimizer)
    names = set(safetensors_numpy.load_file(str(path)))
    assert "model.layers.0.weight" in names and "optimizer.state.0.exp_avg" in names
    assert "optimizer.state.3.max_exp_avg_sq" in names
    with pytest.raises(ValueError, match="holds Adam state, but the optimizer given is a SGD"):
        serialization.load_training_state(path, model, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="holds no scheduler state"):
        serialization.load_training_state(path, model, optimizer, scheduler=scheduler)
    with pytest.raises(ValueError, match="reserves"):
        serialization.save_training_state(path, model, metadata={"deeplite.version": "9"})
    dl.save(model.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a training state"):
        serialization.load_training_state(tmp_path / "plain.safetensors", model)
    with pytest.raises(ValueError, match="load_state_dict for MLP: missing keys"):
        serialization.load_training_state(path, nn.MLP([3, 16, 16, 2]))


def test_optimizer_state_flattens_and_back(rng):
    params = [nn.Parameter(dl.tensor(rng.standard_normal(3)))]
    optimizer = optim.Adam(params, betas=(0.8, 0.9))
    params[0].grad = dl.tensor(rng.standard_normal(3))
    optimizer.step()
    tensors, info = serialization.flatten_optimizer_state(optimizer.state_dict())
    assert sorted(tensors) == ["optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq"]
    restored = serialization.unflatten_optimizer_state(tensors, json.loads(json.dumps(info)))
    assert restored["param_groups"][0]["betas"] == (0.8, 0.9)
    assert restored["state"][0]["step"] == 1
    assert restored["state"][0]["exp_avg"] is tensors["optimizer.state.0.exp_avg"]
