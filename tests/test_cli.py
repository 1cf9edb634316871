"""The deeplite command end to end on a tiny CSV in a temp dir, and the doctor's diagnosis logic."""
import json

import numpy as np
import pytest

import deeplite as dl
from deeplite import doctor
from deeplite.cli import main

TINY = ["--epochs", "3", "--hidden", "16", "--batch-size", "16", "--lr", "0.01", "--quiet"]


@pytest.fixture
def tiny_csv(tmp_path, rng):
    """120 rows, 3 features, two well-separated classes labelled by text."""
    labels = rng.integers(0, 2, 120)
    x = rng.standard_normal((120, 3)) + 2.5 * labels[:, None]
    path = tmp_path / "tiny.csv"
    rows = [f"{a:.5f},{b:.5f},{'yes' if y else 'no'},{c:.5f}" for (a, b, c), y in zip(x, labels)]
    path.write_text("f1,f2,answer,f3\n" + "\n".join(rows) + "\n")
    return path


def _train(tmp_path, csv, name, *extra):
    out = tmp_path / name
    code = main(["train", "--dataset", str(csv), "--target", "answer", "--out", str(out),
                 "--device", "numpy", *TINY, *extra])
    return code, out


def test_train_writes_a_run_folder_and_eval_reproduces_it(tmp_path, tiny_csv, capsys):
    code, out = _train(tmp_path, tiny_csv, "run")
    printed = capsys.readouterr().out
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"checkpoint.safetensors", "metrics.json",
                                              "curves.png"}
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    assert history["epoch"] == [1, 2, 3] and len(history["train_loss"]) == 3
    assert metrics["test_accuracy"] == history["test_accuracy"][-1] >= 0.9
    assert f"test accuracy: {metrics['test_accuracy']:.2%}" in printed
    assert metrics["checkpoint_epoch"] == 3 and metrics["stopped"] is None
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # eval on the run's own held-out split gives the recorded accuracy
    assert main(["eval", str(out), "--device", "numpy"]) == 0
    assert f"accuracy {metrics['test_accuracy']:.2%}" in capsys.readouterr().out


def test_same_seed_and_device_give_the_same_run(tmp_path, tiny_csv):
    runs = [_train(tmp_path, tiny_csv, name, "--seed", "7")[1] for name in ("a", "b")]
    other = _train(tmp_path, tiny_csv, "c", "--seed", "8")[1]
    histories = [json.loads((run / "metrics.json").read_text())["history"]
                 for run in (*runs, other)]
    assert histories[0]["train_loss"] == histories[1]["train_loss"]
    assert histories[0]["train_loss"] != histories[2]["train_loss"]
    weights = [dl.load(str(run / "checkpoint.safetensors")) for run in runs]
    for name, value in weights[0].items():
        np.testing.assert_array_equal(value.numpy(), weights[1][name].numpy())


def test_resumed_run_ends_exactly_where_the_uninterrupted_one_does(tmp_path, tiny_csv, capsys):
    whole = _train(tmp_path, tiny_csv, "whole", "--epochs", "4")[1]
    part = _train(tmp_path, tiny_csv, "part", "--epochs", "2")[1]
    assert main(["train", "--resume", str(part), "--epochs", "4", "--quiet"]) == 0
    assert "after 4 epochs" in capsys.readouterr().out.splitlines()[-2]
    histories = [json.loads((run / "metrics.json").read_text())["history"] for run in (whole, part)]
    assert histories[1]["epoch"] == [1, 2, 3, 4]
    assert histories[0]["train_loss"] == histories[1]["train_loss"]
    weights = [dl.load(str(run / "checkpoint.safetensors")) for run in (whole, part)]
    assert len(weights[0]) > 4  # model.* weights and optimizer.* buffers
    for name, value in weights[0].items():
        np.testing.assert_array_equal(value.numpy(), weights[1][name].numpy(), err_msg=name)
    assert main(["train", "--resume", str(part), "--epochs", "3", "--quiet"]) == 1
    assert "already has 4 epochs" in capsys.readouterr().err


def test_predict_writes_classes_and_probabilities(tmp_path, tiny_csv, capsys):
    _, out = _train(tmp_path, tiny_csv, "run")
    capsys.readouterr()
    assert main(["predict", str(out / "checkpoint.safetensors"), str(tiny_csv),
                 "--device", "numpy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prediction,p_no,p_yes" and len(lines) == 121
    truth = [row.split(",")[2] for row in tiny_csv.read_text().splitlines()[1:]]
    predicted = [line.split(",")[0] for line in lines[1:]]
    probabilities = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean([p == t for p, t in zip(predicted, truth)]) > 0.9


def test_divergence_stops_with_a_plain_message_and_keeps_the_checkpoint(tmp_path, tiny_csv,
                                                                          capsys):
    code, out = _train(tmp_path, tiny_csv, "run", "--optimizer", "sgd", "--lr", "50",
                       "--epochs", "20")
    printed = capsys.readouterr().out
    assert code == 1
    assert "learning rate 50 is likely too large" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert "learning rate 50" in metrics["stopped"]
    assert metrics["checkpoint_epoch"] < 20
    # the kept checkpoint is a usable, finite model
    weights = dl.load(str(out / "checkpoint.safetensors"))
    assert all(np.isfinite(value.numpy()).all() for value in weights.values())
    assert main(["eval", str(out), "--device", "numpy"]) == 0


def test_diagnose_records_gradient_norms_and_dead_relus(tmp_path, tiny_csv):
    code, out = _train(tmp_path, tiny_csv, "run", "--diagnose", "--hidden", "16,16")
    assert code == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert set(history["grad_norms"]) == {"layers.0", "layers.1", "layers.2"}
    assert all(norm > 0 for norms in history["grad_norms"].values() for norm in norms)
    assert set(history["dead_relu"]) == {"layers.0", "layers.1"}
    assert all(0.0 <= f <= 1.0 for fs in history["dead_relu"].values() for f in fs)
    assert (out / "diagnostics.png").exists()


def test_corrupt_checkpoint_is_reported_not_crashed(tmp_path, tiny_csv, capsys):
    _, out = _train(tmp_path, tiny_csv, "run")
    checkpoint = out / "checkpoint.safetensors"
    blob = bytearray(checkpoint.read_bytes())
    blob[-5] ^= 0xFF  # flip bits in the weights: the CRC-32 check must notice
    checkpoint.write_bytes(bytes(blob))
    assert main(["eval", str(out), "--device", "numpy"]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    checkpoint.write_bytes(bytes(blob[:20]))  # truncated
    assert main(["eval", str(out), "--device", "numpy"]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--hidden", "16,x"], "--hidden '16,x'"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--cuda-graph", "--device", "numpy"], "--cuda-graph needs --device cuda"),
    (["--target", "nope"], "no target column 'nope'"),
])
def test_train_rejects_bad_options_with_one_line(tmp_path, tiny_csv, capsys, arguments, message):
    base = ["train", "--dataset", str(tiny_csv), "--target", "answer", "--out",
            str(tmp_path / "x"), "--quiet"]
    if "--target" in arguments:
        base = base[:3] + base[5:]
    assert main(base + arguments) == 1
    assert message in capsys.readouterr().err


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 2
    assert "train" in capsys.readouterr().out


# ---- doctor -------------------------------------------------------------------------------------
def test_doctor_reports_this_machine(capsys):
    assert main(["doctor"]) == 0
    report = capsys.readouterr().out
    assert f"deeplite {dl.__version__}" in report and f"NumPy    {np.__version__}" in report
    assert "numpy  ok" in report
    for name in ("cuda", "cpu"):
        if dl.backends.is_available(name):
            assert f"{name:<6} ok" in report
        else:
            assert f"{name:<6} unavailable: {dl.backends.why_unavailable(name)}" in report
    assert f"default device: {dl.get_default_device()}" in report and "usable of" in report


@pytest.mark.parametrize("driver, wheels, gpus, expected", [
    (None, {}, [], "no NVIDIA GPU driver found"),
    (None, {"cupy-cuda12x": "13.3"}, [], "no NVIDIA driver was found"),
    ((12, 4), {}, ["H100"], 'pip install "deeplite[cuda12]"'),
    ((13, 0), {}, ["H100"], 'pip install "deeplite[cuda13]"'),
    ((12, 2), {"cupy-cuda13x": "14.0"}, ["A100"],
     "cupy-cuda13x needs a driver that supports CUDA 13, but this driver supports CUDA 12.2: "
     'pip uninstall -y cupy-cuda13x && pip install "deeplite[cuda12]"'),
    ((11, 8), {}, ["T4"], 'pip install "cupy-cuda11x"'),
    ((12, 4), {"cupy-cuda12x": "13", "cupy-cuda11x": "12"}, ["A10"], "several CuPy packages"),
    ((12, 4), {"cupy-cuda12x": "13.3"}, [], "no GPU is visible"),
])
def test_cuda_diagnosis(driver, wheels, gpus, expected):
    assert expected in doctor.diagnose_cuda("import failed", driver, wheels, gpus)


def test_doctor_uses_its_probes_for_an_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(doctor.backends, "why_unavailable",
                        lambda name: "CuPy is not installed" if name == "cuda" else None)
    monkeypatch.setattr(doctor, "driver_cuda_version", lambda: (12, 6))
    monkeypatch.setattr(doctor, "installed_cupy_wheels", lambda: {})
    monkeypatch.setattr(doctor, "gpu_names", lambda: ["NVIDIA H100"])
    cuda = next(s for s in doctor.backend_statuses() if s.name == "cuda")
    assert not cuda.available and 'pip install "deeplite[cuda12]"' in cuda.fix


def test_doctor_reports_the_compiler_error_for_cpu(monkeypatch, tmp_path):
    error_file = tmp_path / "_C_build_error.txt"
    error_file.write_text("csrc/cpu/matmul.cpp:12:5: error: 'foo' was not declared\nmore\n")
    monkeypatch.setattr(doctor, "BUILD_ERROR_FILE", error_file)
    fix = doctor.diagnose_cpu("No module named 'deeplite._C'")
    assert "matmul.cpp:12:5: error: 'foo' was not declared" in fix and "more" not in fix
    monkeypatch.setattr(doctor, "BUILD_ERROR_FILE", tmp_path / "absent.txt")
    fix = doctor.diagnose_cpu("No module named 'deeplite._C'")
    assert f"deeplite was imported from {doctor.build_info.PACKAGE}" in fix
    assert "pip install -e ." in fix


# ---- divergence watch ----------------------------------------------------------------------------
def test_divergence_monitor_flags_nan_and_blow_ups_but_not_noise(rng):
    from deeplite.train import DivergenceMonitor

    quiet = DivergenceMonitor(learning_rate=0.1)
    # a converging run whose tiny late losses jump 10x from batch to batch: not a divergence
    losses = np.concatenate([np.geomspace(2.0, 1e-4, 200), rng.uniform(1e-4, 5e-3, 50)])
    assert all(quiet.update(float(loss)) is None for loss in losses)
    growing = DivergenceMonitor(learning_rate=3.0)
    messages = [growing.update(value) for value in (0.7, 0.5, 0.4, 0.9, 2.0, 4.5)]
    assert messages[:5] == [None] * 5
    assert messages[5] == ("loss grew 11x in 3 steps (0.4 -> 4.5): learning rate 3 is likely "
                           "too large")
    watch = DivergenceMonitor(0.5)
    watch.update(1.0)
    assert watch.update(float("nan")) == ("loss became nan at step 2: learning rate 0.5 is "
                                          "likely too large")


def test_eval_on_a_file_with_unknown_labels_names_the_label(tmp_path, tiny_csv, capsys):
    _, out = _train(tmp_path, tiny_csv, "run")
    other = tmp_path / "other.csv"
    other.write_text("f1,f2,answer,f3\n0.1,0.2,maybe,0.3\n")
    assert main(["eval", str(out), "--dataset", str(other), "--target", "answer",
                 "--device", "numpy"]) == 1
    assert "label 'maybe' (sample 0) is not one of the classes" in capsys.readouterr().err
