"""deeplite train --task: a numeric target with many values is a regression (issue 13, item 6)."""
import json

import numpy as np
import pytest

import deeplite as dl
from deeplite.cli import main
from deeplite.tasks import Classification, Regression, choose_task
from deeplite.train import evaluate

FAST = ["--epochs", "6", "--hidden", "32", "--batch-size", "32", "--lr", "0.01", "--quiet",
        "--device", "numpy"]


@pytest.fixture
def diabetes_csv(tmp_path):
    """scikit-learn's diabetes data (bundled, no download): the target is disease progression,
    integer-valued floats such as 151.0 with 214 distinct values."""
    sklearn = pytest.importorskip("sklearn.datasets")
    x, y = sklearn.load_diabetes(return_X_y=True, scaled=False)
    path = tmp_path / "diabetes.csv"
    names = [f"f{j}" for j in range(x.shape[1])]
    lines = [",".join(names + ["progression"])]
    lines += [",".join(f"{v:g}" for v in row) + f",{target:.1f}"
              for row, target in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("requested, y, named, kind, why", [
    ("auto", np.array([151.0, 75.0, 141.0] * 3 + list(range(30))), False, "regression",
     "distinct integers"),
    ("auto", np.array([0.5, 1.25, 3.0]), False, "regression", "non-integer numbers such as 0.5"),
    ("auto", np.arange(10.0).repeat(3), False, "classification", "10 distinct integers"),
    ("auto", np.array([0, 1, 1]), True, "classification", "class labels"),
    ("classification", np.arange(50.0), False, "classification", "--task classification"),
    ("regression", np.array([0.0, 1.0]), False, "regression", "--task regression"),
])
def test_choose_task_says_which_and_why(requested, y, named, kind, why):
    chosen, reason = choose_task(requested, y, named)
    assert chosen == kind and why in reason


def test_regression_on_text_labels_is_refused():
    with pytest.raises(ValueError, match="needs a numeric target"):
        choose_task("regression", np.array([0, 1]), True)


def test_regression_metrics_match_numpy(rng):
    """evaluate's RMSE, MAE and R² equal the textbook formulas in the target's units."""
    values = rng.normal(100.0, 30.0, 50)
    task = Regression.fit(values)
    model = dl.nn.Linear(3, 1)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    loader = dl.data.DataLoader(dl.data.TensorDataset(x, task.targets(values)), 16)
    scores = evaluate(model, task, loader)
    with dl.no_grad():
        predicted = model(dl.tensor(x)).numpy().reshape(-1).astype(np.float64) * task.scale \
            + task.mean
    error = predicted - values
    np.testing.assert_allclose(scores["rmse"], np.sqrt(np.mean(error ** 2)), rtol=1e-5)
    np.testing.assert_allclose(scores["mae"], np.mean(np.abs(error)), rtol=1e-5)
    r2 = 1 - np.sum(error ** 2) / np.sum((values - values.mean()) ** 2)
    np.testing.assert_allclose(scores["r2"], r2, rtol=1e-5)
    np.testing.assert_allclose(scores["loss"], np.mean((error / task.scale) ** 2), rtol=1e-4)


def test_classification_still_reports_accuracy(rng):
    task = Classification(3)
    x = rng.standard_normal((20, 2)).astype(np.float32)
    labels = rng.integers(0, 3, 20)
    model = dl.nn.Linear(2, 3)
    scores = evaluate(model, task, dl.data.DataLoader(dl.data.TensorDataset(x, labels), 8))
    with dl.no_grad():
        predicted = model(dl.tensor(x)).numpy().argmax(axis=1)
    assert scores["accuracy"] == np.mean(predicted == labels)


def test_diabetes_trains_as_a_regression_end_to_end(tmp_path, diabetes_csv, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(diabetes_csv), "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "task: regression (the target holds 214 distinct integers" in printed
    assert "test RMSE" in printed and "MAE" in printed and "R²" in printed
    assert "accuracy" not in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    assert {"test_rmse", "test_mae", "test_r2"} <= set(metrics) and "test_accuracy" not in metrics
    # an MLP learns diabetes progression clearly better than predicting the mean (R² = 0)
    assert metrics["test_r2"] > 0.2 and metrics["test_rmse"] < 70
    assert len(metrics["history"]["train_rmse"]) == 6
    assert (out / "predictions.png").read_bytes()[:4] == b"\x89PNG"
    # eval reproduces the recorded test metrics; predict prints values, not classes
    assert main(["eval", str(out), "--device", "numpy"]) == 0
    assert f"RMSE {metrics['test_rmse']:.4g}" in capsys.readouterr().out
    assert main(["predict", str(out), str(diabetes_csv), "--device", "numpy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 443
    values = np.array([float(line) for line in lines[1:]])
    assert np.isfinite(values).all() and 25 < values.mean() < 350


def test_task_classification_overrides_auto(tmp_path, diabetes_csv, capsys):
    out = tmp_path / "forced"
    code = main(["train", "--dataset", str(diabetes_csv), "--out", str(out), "--task",
                 "classification", *FAST])
    assert code == 0  # 214 classes: a poor classifier, but what was asked for
    assert "task: classification (--task classification)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["task"] == "classification"


def test_regression_resume_equals_the_uninterrupted_run(tmp_path, diabetes_csv, capsys):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", "--dataset", str(diabetes_csv), "--out", str(whole), *FAST]) == 0
    short = [*FAST]
    short[1] = "3"
    assert main(["train", "--dataset", str(diabetes_csv), "--out", str(part), *short]) == 0
    assert main(["train", "--resume", str(part), "--epochs", "6", "--quiet"]) == 0
    a, b = (json.loads((run / "metrics.json").read_text()) for run in (whole, part))
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    assert a["test_rmse"] == b["test_rmse"]


def test_the_lecture_sine_is_a_builtin_regression(tmp_path, capsys):
    """The universal-approximation experiment: y = sin x + noise, learned by one hidden layer."""
    out = tmp_path / "sine"
    assert main(["train", "--dataset", "sine", "--out", str(out), "--epochs", "30", "--hidden",
                 "32", "--lr", "0.01", "--quiet", "--device", "numpy"]) == 0
    assert "task: regression (the target holds non-integer numbers" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_r2"] > 0.9  # the noise (0.1) bounds RMSE from below
    assert 0.08 < metrics["test_rmse"] < 0.3
