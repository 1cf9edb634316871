"""deeplite.save / deeplite.load of nested structures, the PyTorch way (issue 12, checkpoints)."""
import json

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim, serialization
from deeplite.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _assert_same(loaded, saved, where="obj"):
    """Structure, types and values equal (Tensors compared by value, on the host)."""
    if isinstance(saved, dl.Tensor):
        assert isinstance(loaded, dl.Tensor), where
        assert loaded.dtype == saved.dtype and loaded.requires_grad == saved.requires_grad, where
        np.testing.assert_array_equal(loaded.detach().numpy(), saved.detach().numpy(),
                                      err_msg=where)
    elif isinstance(saved, (np.ndarray, np.generic)):
        assert type(loaded) is type(saved) and loaded.dtype == saved.dtype, where
        np.testing.assert_array_equal(loaded, saved, err_msg=where)
    elif isinstance(saved, dict):
        assert isinstance(loaded, dict) and list(loaded) == list(saved), where
        for key in saved:
            _assert_same(loaded[key], saved[key], f"{where}[{key!r}]")
    elif isinstance(saved, (list, tuple)):
        assert type(loaded) is type(saved) and len(loaded) == len(saved), where
        for index, (a, b) in enumerate(zip(loaded, saved, strict=True)):
            _assert_same(a, b, f"{where}[{index}]")
    elif isinstance(saved, float) and np.isnan(saved):
        assert isinstance(loaded, float) and np.isnan(loaded), where
    else:
        assert type(loaded) is type(saved) and loaded == saved, where


def _trained(rng):
    model = nn.MLP([3, 5, 2])
    optimizer = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    loss = model(dl.tensor(rng.standard_normal((4, 3)), dtype=dl.float32)).sum()
    loss.backward()
    optimizer.step()
    return model, optimizer


def test_a_pytorch_style_checkpoint_round_trips(device, rng, tmp_path):
    model, optimizer = _trained(rng)
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
                  "best": 0.125, "name": "run-1", "done": False, "note": None,
                  "history": [0.5, 0.25], "shape": (2, 3)}
    path = tmp_path / "ckpt.safetensors"
    dl.save(checkpoint, path)
    loaded = dl.load(path, device=device)
    _assert_same(loaded, checkpoint)
    assert all(t.device == device for t in loaded["model"].values())
    # it restores a fresh model and optimizer, which then step exactly as the originals
    other = nn.MLP([3, 5, 2]).to(device)
    other_optimizer = optim.Adam(other.parameters(), lr=0.5)
    other.load_state_dict(loaded["model"])
    other_optimizer.load_state_dict(loaded["optimizer"])
    assert other_optimizer.param_groups[0]["betas"] == (0.8, 0.95)  # a tuple again
    assert other_optimizer.param_groups[0]["lr"] == 0.01


def test_every_kind_of_value_round_trips(rng, tmp_path):
    obj = {"tensor": dl.tensor(rng.standard_normal((2, 2))),
           "grad": dl.tensor(rng.standard_normal(3), requires_grad=True),
           "ints": dl.tensor(rng.integers(-5, 5, 4)),
           "array": rng.standard_normal(3).astype(np.float32),
           "bools": rng.random(4) > 0.5,
           "scalar": np.float32(1.5), "count": np.int64(7),
           0: "int key", 2.5: "float key", True: "bool key", None: "none key",
           "nested": [{"a": [(), [], {}]}, (1, (2, [3]))],
           "floats": [float("inf"), -0.0, float("nan"), 1e-310],
           "text": "naïve ☃ \"quoted\" \\ back", "big": 2 ** 80}
    path = tmp_path / "all.safetensors"
    dl.save(obj, path)
    _assert_same(dl.load(path, device="numpy"), obj)


def test_tensors_are_stored_under_flattened_names(rng, tmp_path):
    model, optimizer = _trained(rng)
    path = tmp_path / "ckpt.safetensors"
    dl.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    names = set(safetensors_numpy.load_file(str(path)))  # what any safetensors tool sees
    assert "model.layers.0.weight" in names and "optimizer.state.0.exp_avg" in names
    structure = json.loads(serialization.load_metadata(path)["deeplite.structure"])
    assert "dict" in structure  # the structure rides in the metadata as JSON, never pickle


def test_colliding_flattened_names_stay_apart(rng, tmp_path):
    a, b = rng.standard_normal(2), rng.standard_normal(3)
    obj = {"a.b": a, "a": {"b": b}}
    path = tmp_path / "c.safetensors"
    dl.save(obj, path)
    _assert_same(dl.load(path), obj)


def test_a_flat_state_dict_stays_a_plain_safetensors_file(rng, tmp_path):
    state = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
    path = tmp_path / "flat.safetensors"
    dl.save(state, path)
    assert "deeplite.structure" not in serialization.load_metadata(path)
    loaded = dl.load(path)
    assert all(isinstance(value, dl.Tensor) for value in loaded.values())  # as before


@pytest.mark.parametrize("obj, message", [
    (lambda: nn.MLP([2, 2]), r"obj is a Module \(MLP\); save its weights with "
                             r"deeplite.save\(model.state_dict\(\), path\)"),
    (lambda: {"model": nn.Linear(2, 2)}, r"obj\['model'\] is a Module \(Linear\)"),
    (lambda: {"opt": optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)},
     r"obj\['opt'\] is an optimizer \(SGD\); save optimizer.state_dict\(\)"),
    (lambda: {"f": lambda: 1}, r"obj\['f'\] is a function; deeplite.save stores"),
    (lambda: [1, {2, 3}], r"obj\[1\] is a set"),
    (lambda: {(1, 2): 3}, "has a key of type tuple"),
    (lambda: {"x": np.zeros(2, np.complex64)}, "has dtype complex64"),
])
def test_what_cannot_be_saved_is_a_clear_error(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        dl.save(obj(), tmp_path / "bad.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_a_structure_that_contains_itself_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nests more than 64 levels deep"):
        dl.save({"loop": loop}, tmp_path / "loop.safetensors")


@pytest.mark.parametrize("structure", [
    '{"tensor": "missing"}', '{"dict": [[1]]}', '{"what": 1}', '[1, 2]', '{"list": 3}',
    '{"list": ' * 200 + "[]" + "}" * 200, "not json",
])
def test_a_damaged_structure_is_a_checkpoint_error(tmp_path, structure):
    from deeplite.safetensors_file import write_file

    path = tmp_path / "s.safetensors"
    write_file(path, {}, {"deeplite.structure": structure})
    with pytest.raises(CheckpointError, match="the saved structure is damaged"):
        dl.load(path)


def test_the_training_state_helpers_stay(rng, tmp_path):
    model, optimizer = _trained(rng)
    path = tmp_path / "state.safetensors"
    dl.save_training_state(path, model, optimizer, {"epoch": "1"})
    fresh = nn.MLP([3, 5, 2])
    assert dl.load_training_state(path, fresh, optim.Adam(fresh.parameters())) == {"epoch": "1"}
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
