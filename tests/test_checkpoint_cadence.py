"""How often ``deeplite train`` writes its checkpoint (deeplite/cli/checkpoint_cadence.py): when
due by the clock, always after the last epoch, and on every way out for the last finished one."""
import json

import pytest

from deeplite.cli import checkpoint_cadence, main, run_files
from deeplite.cli.checkpoint_cadence import CheckpointCadence
from deeplite.train import DivergenceMonitor

RUN = ["--hidden", "16", "--batch-size", "16", "--lr", "0.01", "--quiet", "--device", "numpy",
       "--seed", "0"]


@pytest.fixture
def written(monkeypatch):
    """The epochs whose checkpoint ``deeplite train`` writes, in order."""
    epochs: list = []
    real = run_files.write_checkpoint

    def counting(path, contents, config, kept_epoch=None):
        epochs.append(config["epoch"])
        real(path, contents, config, kept_epoch)

    monkeypatch.setattr(run_files, "write_checkpoint", counting)
    return epochs


@pytest.fixture
def never_due(monkeypatch):
    """A write takes so long next to an epoch that none falls due by the clock."""
    monkeypatch.setattr(checkpoint_cadence, "FACTOR", 1e9)


def _config(run):
    return run_files.read_config(run / run_files.CHECKPOINT)


def test_due_follows_the_last_writes_duration():
    clock = [100.0]
    cadence = CheckpointCadence(clock=lambda: clock[0])
    assert cadence.due()  # nothing written yet
    started = clock[0]
    clock[0] += 0.002  # a 2 ms write
    cadence.wrote(started)
    clock[0] += 0.019
    assert not cadence.due()  # 19 ms after it: under 10 writes' time
    clock[0] += 0.0011
    assert cadence.due()
    assert CheckpointCadence(every_epoch=True).due()  # --distributed: never skipped


def test_a_skipped_epoch_is_never_the_last(tmp_path, noisy_csv, never_due, written):
    run = tmp_path / "r"
    assert main(["train", "--dataset", str(noisy_csv), "--out", str(run), "--epochs", "5",
                 *RUN]) == 0
    assert written == [0, 5]
    assert _config(run)["epoch"] == 5
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["checkpoint_epoch"] == 5 and metrics["history"]["epoch"] == [1, 2, 3, 4, 5]


def test_the_final_checkpoint_does_not_depend_on_the_cadence(tmp_path, noisy_csv, monkeypatch):
    runs = {}
    for factor in (0.0, 1e9):  # every epoch written, and none but the last
        monkeypatch.setattr(checkpoint_cadence, "FACTOR", factor)
        run = tmp_path / f"r{factor}"
        assert main(["train", "--dataset", str(noisy_csv), "--out", str(run), "--epochs", "4",
                     *RUN]) == 0
        runs[factor] = run
    a, b = (_config(run) for run in runs.values())
    assert a["monitor"] == b["monitor"]
    for record_a, record_b in zip(a["history"], b["history"], strict=True):
        assert {**record_a, "seconds": 0} == {**record_b, "seconds": 0}  # all but the timing
    weights = [run_files.load_checkpoint(run, "numpy")[0].state_dict() for run in runs.values()]
    for name, value in weights[0].items():
        assert (value.numpy() == weights[1][name].numpy()).all(), name


STEPS_PER_EPOCH = -(-240 // 16)  # 300 rows, a fifth held out; batches of 16
WATCH = DivergenceMonitor.update


@pytest.fixture
def at_step(monkeypatch):
    """``at_step(n, effect)``: the divergence watch's n-th look at a loss runs ``effect()``."""
    seen: list = []

    def arm(number, effect):
        def update(self, loss):
            seen.append(loss)
            return effect() if len(seen) == number else WATCH(self, loss)

        monkeypatch.setattr(DivergenceMonitor, "update", update)

    return arm


def _interrupt():
    raise KeyboardInterrupt


def test_ctrl_c_keeps_the_last_finished_epoch_and_resume_finishes_the_run(
        tmp_path, noisy_csv, never_due, written, at_step, monkeypatch):
    """Interrupted in epoch 4, none of epochs 1-3 written yet: the way out writes epoch 3, and
    the resumed run ends as the straight run does."""
    straight, run = tmp_path / "straight", tmp_path / "r"
    assert main(["train", "--dataset", str(noisy_csv), "--out", str(straight), "--epochs", "6",
                 *RUN]) == 0
    written.clear()
    at_step(3 * STEPS_PER_EPOCH + 2, _interrupt)  # the second step of epoch 4
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--dataset", str(noisy_csv), "--out", str(run), "--epochs", "6", *RUN])
    assert written == [0, 3]
    assert _config(run)["epoch"] == 3
    assert json.loads((run / "metrics.json").read_text())["history"]["epoch"] == [1, 2, 3]
    monkeypatch.setattr(DivergenceMonitor, "update", WATCH)  # the resumed run, watched as usual
    assert main(["train", "--resume", str(run), "--epochs", "6", "--quiet"]) == 0
    a, b = (json.loads((path / "metrics.json").read_text()) for path in (straight, run))
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    assert a["test_accuracy"] == b["test_accuracy"]


def test_a_divergence_keeps_the_last_good_epoch(tmp_path, noisy_csv, never_due, written, at_step,
                                                capsys):
    run = tmp_path / "r"
    at_step(4 * STEPS_PER_EPOCH + 3, lambda: "loss grew 99x")  # in epoch 5
    assert main(["train", "--dataset", str(noisy_csv), "--out", str(run), "--epochs", "30",
                 *RUN]) == 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stopped"] == "epoch 5: loss grew 99x"
    assert metrics["history"]["epoch"] == [1, 2, 3, 4]
    assert written == [0, 4]
    assert _config(run)["epoch"] == metrics["checkpoint_epoch"] == 4
    assert "kept the last good checkpoint (epoch 4)" in capsys.readouterr().out
