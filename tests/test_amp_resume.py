"""GradScaler state in the training checkpoint: ``save/load_training_state(scaler=)`` and
``deeplite train --amp fp16 --resume`` continue the loss scaling exactly."""
import json
import math
import re

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim, serialization
from deeplite.cli import main
from deeplite.safetensors_file import CheckpointError, read_file, write_file

pytest.importorskip("ml_dtypes")
SCALER_KEY = "deeplite.grad_scaler"
OVERFLOW_STEPS = {1, 6}  # the loss times inf here: the scale backs off, the step is skipped


# ---- the public API ------------------------------------------------------------------------------
def _make():
    model = nn.MLP([3, 8, 1], device="numpy")
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, dl.amp.GradScaler("numpy", init_scale=512.0, growth_interval=3)


def _train(model, optimizer, scaler, batches, first_step):
    for step, (x, y) in enumerate(batches, start=first_step):
        optimizer.zero_grad()
        with dl.autocast("numpy", dtype=dl.float16):
            loss = nn.functional.mse_loss(model(x), y)
        factor = math.inf if step in OVERFLOW_STEPS else 1.0
        scaler.scale(loss * factor).backward()
        scaler.step(optimizer)
        scaler.update()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the injected inf losses
def test_resume_with_the_scaler_equals_the_uninterrupted_run(rng, tmp_path):
    batches = [(dl.tensor(rng.standard_normal((8, 3)).astype(np.float32), device="numpy"),
                dl.tensor(rng.standard_normal((8, 1)).astype(np.float32), device="numpy"))
               for _ in range(10)]
    seed = int(rng.integers(1 << 30))
    dl.manual_seed(seed)
    model, optimizer, scaler = _make()
    _train(model, optimizer, scaler, batches, 0)

    dl.manual_seed(seed)
    first, first_optimizer, first_scaler = _make()
    _train(first, first_optimizer, first_scaler, batches[:6], 0)
    # mid-way the scale has backed off (step 1) and grown once, and the tracker is part-way
    assert first_scaler.state_dict()["scale"] == 512.0 and \
        first_scaler.state_dict()["_growth_tracker"] == 1
    path = tmp_path / "amp.safetensors"
    serialization.save_training_state(path, first, first_optimizer, scaler=first_scaler)
    dl.manual_seed(seed + 1)
    resumed, resumed_optimizer, resumed_scaler = _make()
    resumed_scaler.set_growth_interval(1000)  # the checkpoint's schedule wins, as PyTorch's
    serialization.load_training_state(path, resumed, resumed_optimizer, scaler=resumed_scaler)
    assert resumed_scaler.state_dict() == first_scaler.state_dict()
    _train(resumed, resumed_optimizer, resumed_scaler, batches[6:], 6)

    assert resumed_scaler.state_dict() == scaler.state_dict()
    for (name, a), b in zip(model.named_parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)


def _rewrite(path, **changes):
    """The checkpoint with metadata entries replaced (None: removed), checksum recomputed."""
    arrays, metadata = read_file(path)
    for key, value in changes.items():
        metadata.pop(key, None) if value is None else metadata.__setitem__(key, value)
    write_file(path, arrays, metadata)


@pytest.mark.parametrize("entry, message", [
    (None, "holds no grad_scaler state; it was saved without one"),
    ("{not json", "the grad_scaler entry is damaged"),
    (json.dumps({"type": "GradScaler", "state": {}}), "saved from a disabled GradScaler"),
    (json.dumps({"type": "GradScaler", "state": {"scale": 8.0}}),
     "the grad_scaler entry does not load .*missing keys"),
    (json.dumps({"type": "GradScaler", "state": {
        "scale": -1.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
        "_growth_tracker": 0}}), "the grad_scaler entry does not load .*out of range"),
    (json.dumps({"type": "GradScaler", "state": {
        "scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2.5,
        "_growth_tracker": 0}}), "the grad_scaler entry does not load .*numbers"),
])
def test_missing_or_damaged_scaler_state_is_one_clear_error_and_changes_nothing(
        rng, tmp_path, entry, message):
    model, optimizer, scaler = _make()
    path = tmp_path / "amp.safetensors"
    serialization.save_training_state(path, model, optimizer, scaler=scaler)
    _rewrite(path, **{SCALER_KEY: entry})
    target, target_optimizer, target_scaler = _make()
    target_scaler.update(new_scale=4.0)
    weights = [p.detach().numpy().copy() for p in target.parameters()]
    with pytest.raises(CheckpointError, match=message) as error:
        serialization.load_training_state(path, target, target_optimizer, scaler=target_scaler)
    assert "\n" not in str(error.value)
    assert target_scaler.get_scale() == 4.0
    for before, after in zip(weights, target.parameters(), strict=True):
        np.testing.assert_array_equal(before, after.detach().numpy())


def test_a_disabled_scaler_saves_and_loads_nothing():
    scaler = dl.amp.GradScaler("numpy", enabled=False)
    assert scaler.state_dict() == {}
    scaler.load_state_dict({})  # as PyTorch: a disabled scaler ignores what it is given


# ---- deeplite train --amp fp16 --resume ----------------------------------------------------------
@pytest.fixture
def csv(tmp_path, rng):
    labels = rng.integers(0, 2, 120)
    x = rng.standard_normal((120, 3)) + 2.5 * labels[:, None]
    path = tmp_path / "tiny.csv"
    path.write_text("f1,f2,f3,answer\n" + "\n".join(
        f"{a:.5f},{b:.5f},{c:.5f},{y}" for (a, b, c), y in zip(x, labels, strict=True)) + "\n")
    return path


def _train_cli(csv, out, *extra):
    return main(["train", "--dataset", str(csv), "--target", "answer", "--out", str(out),
                 "--device", "numpy", "--hidden", "8", "--batch-size", "16", "--quiet", *extra])


def _scaler_state(run):
    return json.loads(serialization.load_metadata(run / "checkpoint.safetensors")[SCALER_KEY])


def test_train_amp_fp16_resumed_equals_the_uninterrupted_run(tmp_path, csv):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert _train_cli(csv, whole, "--epochs", "4", "--amp", "fp16") == 0
    assert _train_cli(csv, part, "--epochs", "2", "--amp", "fp16") == 0
    assert _scaler_state(part)["state"]["_growth_tracker"] == 12  # 6 clean steps an epoch
    # --amp is the run's own: resuming without it continues in fp16
    assert main(["train", "--resume", str(part), "--epochs", "4", "--quiet"]) == 0
    histories = [json.loads((run / "metrics.json").read_text())["history"]
                 for run in (whole, part)]
    assert histories[1]["epoch"] == [1, 2, 3, 4]
    assert histories[0]["train_loss"] == histories[1]["train_loss"]
    assert _scaler_state(part) == _scaler_state(whole)
    assert _scaler_state(whole)["state"]["_growth_tracker"] == 24
    weights = [dl.load(str(run / "checkpoint.safetensors")) for run in (whole, part)]
    for name, value in weights[0].items():
        np.testing.assert_array_equal(value.numpy(), weights[1][name].numpy(), err_msg=name)


@pytest.mark.parametrize("saved, given, advice", [
    ([], "fp16", r"was trained in float32 \(without --amp\); .*: drop --amp, or start a new run "
                 "with --amp fp16"),
    (["--amp", "fp16"], "bf16", "was trained with --amp fp16; .*: pass --amp fp16 or no --amp"),
])
def test_resume_in_another_precision_is_refused(tmp_path, csv, capsys, saved, given, advice):
    run = tmp_path / "run"
    assert _train_cli(csv, run, "--epochs", "1", *saved) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--amp", given]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(advice, err), err


def test_resume_of_an_fp16_run_without_scaler_state_is_refused(tmp_path, csv, capsys):
    run = tmp_path / "run"
    assert _train_cli(csv, run, "--epochs", "1", "--amp", "fp16") == 0
    _rewrite(run / "checkpoint.safetensors", **{SCALER_KEY: None})
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot resume" in err
    assert "holds no grad_scaler state" in err
