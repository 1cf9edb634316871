"""Every bad input to the deeplite command is one line naming the culprit, never a traceback
(issue 13, items 12, 13, 16)."""
import errno
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from deeplite.cli import build_parser, main, run_files

TINY = ["--epochs", "2", "--hidden", "8", "--batch-size", "16", "--quiet", "--device", "numpy"]


@pytest.fixture
def tiny_csv(tmp_path, rng):
    """60 rows, 2 features, two separable classes labelled by text."""
    labels = rng.integers(0, 2, 60)
    x = rng.standard_normal((60, 2)) + 3.0 * labels[:, None]
    rows = [f"{a:.4f},{b:.4f},{'yes' if y else 'no'}" for (a, b), y in zip(x, labels, strict=True)]
    path = tmp_path / "tiny.csv"
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    return path


def _train(tmp_path, dataset, *extra, out="run"):
    return main(["train", "--dataset", str(dataset), "--out", str(tmp_path / out), *TINY, *extra])


def _one_line_error(capsys, expected: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and expected in lines[0], err
    return lines[0]


@pytest.mark.parametrize("extra, expected", [
    (["--lr", "-1"], "--lr -1: the learning rate must be positive"),
    (["--momentum", "-3"], "--momentum -3: must be 0 or more"),
    (["--weight-decay", "-1"], "--weight-decay -1: must be 0 or more"),
    (["--test-fraction", "1.5"], "--test-fraction 1.5: must be between 0 and 1"),
    (["--test-fraction", "0"], "--test-fraction 0: must be between 0 and 1"),
    (["--lr", "nan"], "--lr nan: must be a finite number"),
    (["--hidden", "128,,64"], "--hidden '128,,64': expected comma-separated integers"),
    (["--hidden", "16,-2"], "layer widths must be positive"),
    (["--epochs", "0"], "--epochs and --batch-size must be at least 1"),
])
def test_bad_options_are_one_line(tmp_path, tiny_csv, capsys, extra, expected):
    assert _train(tmp_path, tiny_csv, *extra) == 1
    _one_line_error(capsys, expected)
    assert not (tmp_path / "run").exists()  # refused before any file is written


def test_lr_zero_warns_but_runs(tmp_path, tiny_csv, capsys):
    assert _train(tmp_path, tiny_csv, "--lr", "0") == 0
    assert "warning: --lr 0: the weights will not change" in capsys.readouterr().err


@pytest.mark.parametrize("content, expected", [
    ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "need at least 2 classes"),
    ("a,b,label\n1,2,x\n3,4,y\n", "leave an empty train or test set"),
])
def test_unusable_datasets_are_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "data.csv"
    path.write_text(content)
    assert _train(tmp_path, path) == 1
    _one_line_error(capsys, expected)


def test_a_folder_as_the_dataset(tmp_path, capsys):
    (tmp_path / "folder.csv").mkdir()
    assert _train(tmp_path, tmp_path / "folder.csv") == 1
    _one_line_error(capsys, "is a folder")
    assert _train(tmp_path, tmp_path) == 1
    _one_line_error(capsys, "is a folder")


def test_non_utf8_file_names_encoding_and_byte_offset(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,label\n1,2,x\n3,4,caf\u00e9\n".encode("latin-1"))
    assert _train(tmp_path, path) == 1
    line = _one_line_error(capsys, "line 3: byte 0xe9 at byte offset 23 is not UTF-8")
    assert "as UTF-8" in line


def test_a_field_over_the_csv_limit(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("a,b,label\n1,2,x\n3," + "9" * 200_000 + ",y\n")
    assert _train(tmp_path, path) == 1
    _one_line_error(capsys, "line 3: a cell longer than 131072 characters")


def test_out_on_an_existing_run_needs_overwrite(tmp_path, tiny_csv, capsys):
    assert _train(tmp_path, tiny_csv) == 0
    before = (tmp_path / "run" / "checkpoint.safetensors").read_bytes()
    capsys.readouterr()
    assert _train(tmp_path, tiny_csv, "--seed", "3") == 1
    _one_line_error(capsys, "already holds a run (checkpoint.safetensors, metrics.json")
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before
    assert _train(tmp_path, tiny_csv, "--seed", "3", "--overwrite") == 0
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() != before


def test_a_run_whose_checkpoint_is_a_folder(tmp_path, capsys):
    (tmp_path / "run" / "checkpoint.safetensors").mkdir(parents=True)
    for command in (["eval", str(tmp_path / "run")], ["train", "--resume", str(tmp_path / "run")],
                    ["predict", str(tmp_path / "run"), "x.csv"]):
        assert main(command) == 1
        _one_line_error(capsys, "is a folder, not a checkpoint file")


def _rewrite(checkpoint, damage_config=None, damage_arrays=None) -> None:
    """Re-write a run's checkpoint with a changed config or weights, correctly checksummed (what
    a buggy tool or a hand edit would produce: it passes the integrity check)."""
    from deeplite import serialization
    from deeplite.safetensors_file import host_array, write_file

    arrays = {name: t.numpy() for name, t in serialization.load(checkpoint, "numpy").items()}
    metadata = serialization.load_metadata(checkpoint)
    config = json.loads(metadata[run_files.CONFIG_KEY])
    if damage_config:
        damage_config(config)
    if damage_arrays:
        damage_arrays(arrays)
    metadata[run_files.CONFIG_KEY] = json.dumps(config)
    kept = {key: value for key, value in metadata.items()
            if key not in ("deeplite.version", "deeplite.checksum")}
    write_file(checkpoint, {name: host_array(name, a) for name, a in arrays.items()}, kept)


@pytest.mark.parametrize("damage, expected", [
    (lambda config: config.update(lr="fast"), "the run config is damaged ('lr' is 'fast')"),
    (lambda config: config.update(sizes=[2, 0, 1]), "layer sizes [2, 0, 1]"),
    (lambda config: config.pop("scaler"), "'scaler' is None"),
    (lambda config: config.update(classes=["only"]), "task 'classification'"),
    (lambda config: config["scaler"].update(mean=[0.0]), "scaler mean"),
])
def test_damaged_run_config_is_one_line_everywhere(tmp_path, tiny_csv, capsys, damage, expected):
    """A config that passes the checksum but holds nonsense: eval, predict and --resume each
    say what is damaged (item 10)."""
    assert _train(tmp_path, tiny_csv) == 0
    _rewrite(tmp_path / "run" / "checkpoint.safetensors", damage_config=damage)
    capsys.readouterr()
    for command in (["eval", str(tmp_path / "run")],
                    ["predict", str(tmp_path / "run"), str(tiny_csv)],
                    ["train", "--resume", str(tmp_path / "run"), "--epochs", "3"]):
        assert main(command) == 1
        _one_line_error(capsys, expected)


def test_full_disk_says_the_checkpoint_was_kept(tmp_path, tiny_csv, capsys, monkeypatch,
                                                checkpoint_every_epoch):
    """Item 12: the write fails with ENOSPC in epoch 2; the epoch-1 checkpoint stays."""
    from deeplite import safetensors_file

    original, calls = safetensors_file.atomic_write, []

    def full_disk(path, write):
        calls.append(path)
        if len(calls) == 3:  # epoch 0, epoch 1 written; epoch 2 hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        original(path, write)

    monkeypatch.setattr(safetensors_file, "atomic_write", full_disk)
    assert _train(tmp_path, tiny_csv) == 1
    line = _one_line_error(capsys, "No space left on device")
    assert "the checkpoint of epoch 1" in line and "is intact" in line and "--resume" in line
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    assert run_files.read_config(checkpoint)["epoch"] == 1


def test_full_disk_on_metrics_json_points_at_the_checkpoint(tmp_path, tiny_csv, capsys,
                                                            monkeypatch, checkpoint_every_epoch):
    import pathlib

    original = pathlib.Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name == "metrics.json.tmp":
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    assert _train(tmp_path, tiny_csv) == 1
    line = _one_line_error(capsys, "could not write")
    assert "metrics.json (No space left on device); the checkpoint in" in line
    assert not (tmp_path / "run" / "metrics.json.tmp").exists()
    monkeypatch.setattr(pathlib.Path, "write_text", original)
    assert run_files.read_config(tmp_path / "run" / run_files.CHECKPOINT)["epoch"] == 1


def test_eval_of_a_csv_run_works_from_any_folder(tmp_path, tiny_csv, capsys, monkeypatch):
    """Item 16: the run records its data file (absolute, relative to the run, SHA-256)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.csv").write_text(tiny_csv.read_text())
    monkeypatch.chdir(project)
    assert main(["train", "--dataset", "data.csv", "--out", "runs/r", *TINY]) == 0
    expected = json.loads((project / "runs/r/metrics.json").read_text())["test_accuracy"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["eval", str(project / "runs/r"), "--device", "numpy"]) == 0
    assert f"accuracy {expected:.2%}" in capsys.readouterr().out
    # the project folder moved as a whole: found relative to the run folder
    moved = tmp_path / "moved"
    os.rename(project, moved)
    assert main(["eval", str(moved / "runs/r"), "--device", "numpy"]) == 0
    assert f"accuracy {expected:.2%}" in capsys.readouterr().out
    # the data changed: said so
    with open(moved / "data.csv", "a") as handle:
        handle.write("0.1,0.2,yes\n")
    assert main(["eval", str(moved / "runs/r"), "--device", "numpy"]) == 0
    assert "changed since the run was trained" in capsys.readouterr().err
    os.remove(moved / "data.csv")
    assert main(["eval", str(moved / "runs/r"), "--device", "numpy"]) == 1
    _one_line_error(capsys, "the run's data file is gone: looked at")


def test_verbose_shows_deeplite_debug_lines_not_matplotlibs(tmp_path, tiny_csv, caplog):
    assert main(["-v", "train", "--dataset", str(tiny_csv), "--out", str(tmp_path / "r"),
                 *TINY]) == 0
    debug = [record for record in caplog.records if record.levelno == logging.DEBUG]
    assert any(record.name.startswith("deeplite") and "checkpoint.safetensors (epoch 2)" in
               record.getMessage() for record in debug)
    assert not [record for record in debug if not record.name.startswith("deeplite")]
    assert logging.getLogger("deeplite").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("matplotlib").getEffectiveLevel() >= logging.WARNING
    main(["train", "--dataset", str(tiny_csv), "--out", str(tmp_path / "q"), *TINY])
    assert logging.getLogger("deeplite").getEffectiveLevel() == logging.WARNING


def _subparser(name):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


@pytest.mark.parametrize("command", ["train", "eval", "predict"])
def test_every_option_has_help_and_each_default_shows_once(command):
    import argparse

    parser = _subparser(command)
    # argparse's defaults formatter would append a second "(default: ...)" to texts that say it
    assert not issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter)
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        assert action.help.count("default") <= 1, action.help


def test_bench_help_is_deeplites_own(capsys):
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: deeplite bench") and "python -m benchmarks" in out


def test_progress_bar_shows_a_loss_that_keeps_moving():
    """Late in training the loss is tiny: 4 significant digits, not loss=0.0000."""
    from deeplite.cli.train_command import progress_postfix

    assert progress_postfix(3.2e-05, "accuracy", 0.99) == {"loss": "3.2e-05", "acc": "0.99"}
    assert progress_postfix(0.123456, "rmse", 41.2345) == {"loss": "0.1235", "rmse": "41.23"}


def test_progress_bar_ends_on_the_last_epochs_own_figures(tmp_path, tiny_csv, capsys):
    """The figures are formatted on tqdm's redraw clock, not every step; the bar still ends on
    the last epoch's training loss and accuracy."""
    arguments = [arg for arg in TINY if arg != "--quiet"]
    assert main(["train", "--dataset", str(tiny_csv), "--out", str(tmp_path / "r"),
                 *arguments]) == 0
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    history = json.loads((tmp_path / "r" / "metrics.json").read_text())["history"]
    loss, accuracy = history["train_loss"][-1], history["train_accuracy"][-1]
    assert last.startswith("epoch 2/2 test acc") and last.endswith(
        f"loss={loss:.4g}, acc={accuracy:.4g}]"), last


def test_train_does_not_import_multiprocessing(tmp_path, tiny_csv):
    """The bar's lock is a thread lock: tqdm's default one imports multiprocessing (6 ms of
    the digits run's loop) for forked workers a run does not have."""
    command = ["train", "--dataset", str(tiny_csv), "--out", str(tmp_path / "r"),
               *[arg for arg in TINY if arg != "--quiet"]]
    script = (f"import sys; from deeplite.cli import main; code = main({command!r}); "
              f"sys.exit(code or 3 * ('multiprocessing' in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_predict_never_prints_nan_with_exit_0(tmp_path, tiny_csv, capsys):
    """Item 4: outputs that are not finite (broken weights here) are an error, not NaN lines."""
    assert _train(tmp_path, tiny_csv) == 0

    def break_weight(arrays):
        name = next(name for name in arrays if name.startswith("model.") and "weight" in name)
        arrays[name][0, 0] = np.inf

    _rewrite(tmp_path / "run" / "checkpoint.safetensors", damage_arrays=break_weight)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tiny_csv), "--device", "numpy"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "the model's output is not finite for" in captured.err
