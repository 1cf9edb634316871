"""``deeplite train --tensorboard``: per-epoch curves, histograms, hparams, and resuming them."""
import json
import sys

import pytest

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from deeplite.cli import (
    main,  # noqa: E402
    tensorboard_run,  # noqa: E402
)
from deeplite.utils.tensorboard import SummaryWriter  # noqa: E402

SMALL = ["--hidden", "16", "--batch-size", "64", "--quiet"]


def read(log_dir) -> EventAccumulator:
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def steps(events, tag: str) -> list:
    return [event.step for event in events.Scalars(tag)]


def test_train_logs_every_epoch_and_the_hparams(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(run), "--tensorboard", *SMALL]) == 0
    assert "tensorboard --logdir" in capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())["history"]
    events = read(run / "tb")
    for tag, key in (("loss/train", "train_loss"), ("accuracy/train", "train_accuracy"),
                     ("loss/test", "test_loss"), ("accuracy/test", "test_accuracy")):
        got = events.Scalars(tag)
        assert [event.step for event in got] == [1, 2, 3]
        assert [event.value for event in got] == pytest.approx(metrics[key], rel=1e-6)
    assert steps(events, "learning_rate") == [1, 2, 3]
    assert events.Scalars("learning_rate")[0].value == pytest.approx(1e-3)  # adam's default
    assert steps(events, "grad_norm/layers.0") == [1, 2, 3]
    assert all(event.value > 0 for event in events.Scalars("grad_norm/layers.1"))
    histograms = events.Tags()["histograms"]
    assert {"weights/layers.0.weight", "weights/layers.1.bias",
            "gradients/layers.0.weight", "gradients/layers.1.bias"} <= set(histograms)
    for tag in histograms:  # the first and the last epoch always carry histograms
        assert {1, 3} <= {event.step for event in events.Histograms(tag)}
    weight = events.Histograms("weights/layers.0.weight")[0].histogram_value
    assert weight.num == 64 * 16  # digits: 64 features into 16 hidden units
    hparams = read(run / "tb" / "hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        hparams.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["optimizer"].string_value == "adam"
    assert start.hparams["hidden"].string_value == "16"
    assert start.hparams["batch_size"].number_value == 64
    (final,) = hparams.Scalars("hparam/test_accuracy")
    assert (final.step, final.value) == (3, pytest.approx(metrics["test_accuracy"][-1]))


def test_diagnose_logs_the_epoch_mean_gradient_norms_and_dead_relus(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--out", str(run), "--tensorboard", "--diagnose",
                 *SMALL]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["history"]
    events = read(run / "tb")
    for layer, norms in metrics["grad_norms"].items():
        assert [e.value for e in events.Scalars(f"grad_norm/{layer}")] == pytest.approx(norms)
    assert steps(events, "dead_relu/layers.0") == [1, 2]


def test_histograms_go_out_every_epoch_when_the_budget_allows(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_run, "HISTOGRAM_BUDGET", 1e9)
    run = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(run), "--tensorboard", *SMALL]) == 0
    events = read(run / "tb")
    assert [e.step for e in events.Histograms("gradients/layers.0.weight")] == [1, 2, 3]
    monkeypatch.setattr(tensorboard_run, "HISTOGRAM_BUDGET", 0.0)  # only the first and last
    assert main(["train", "--epochs", "4", "--out", str(tmp_path / "tight"), "--tensorboard",
                 *SMALL]) == 0
    events = read(tmp_path / "tight" / "tb")
    assert [e.step for e in events.Histograms("gradients/layers.0.weight")] == [1, 4]
    assert steps(events, "loss/train") == [1, 2, 3, 4]  # scalars every epoch regardless


def test_resume_continues_the_curves_and_purges_a_killed_runs_extra_steps(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--out", str(run), "--tensorboard", *SMALL]) == 0
    # As if the run had been killed after logging epoch 3 but before its checkpoint.
    with SummaryWriter(run / "tb") as writer:
        writer.add_scalar("loss/train", 99.0, 3)
    assert main(["train", "--resume", str(run), "--epochs", "4", "--tensorboard",
                 "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["history"]
    got = read(run / "tb").Scalars("loss/train")
    assert [event.step for event in got] == [1, 2, 3, 4]
    assert [event.value for event in got] == pytest.approx(metrics["train_loss"], rel=1e-6)


def test_custom_folder(tmp_path):
    folder = tmp_path / "elsewhere"
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "run"), "--tensorboard",
                 str(folder), *SMALL]) == 0
    assert steps(read(folder), "loss/train") == [1]
    assert not (tmp_path / "run" / "tb").exists()


def test_an_unwritable_folder_fails_in_one_line_before_training(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    run = tmp_path / "run"
    status = main(["train", "--epochs", "1", "--out", str(run), "--tensorboard",
                   str(blocked / "tb"), *SMALL])
    error = capsys.readouterr().err
    assert status == 1 and len(error.strip().splitlines()) == 1
    assert error.startswith("deeplite train: error: --tensorboard: SummaryWriter: cannot write")
    assert not (run / "metrics.json").exists()  # no epoch ran


def test_without_the_extra_the_option_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    monkeypatch.delitem(sys.modules, "deeplite.utils.tensorboard")
    status = main(["train", "--epochs", "1", "--out", str(tmp_path), "--tensorboard", *SMALL])
    assert status == 1
    assert "pip install 'deeplite[tensorboard]'" in capsys.readouterr().err
