"""The lecture's experiments run fast at small sizes, and their numbers make the lecture's point."""
import importlib
from pathlib import Path

import pytest

from deeplite import examples


def _run(name: str, tmp_path, *argv) -> dict:
    module = importlib.import_module(f"deeplite.examples.{name}")
    results = module.main(["--out", str(tmp_path), *argv])
    figure = Path(results["figure"])
    assert figure.parent == tmp_path and figure.read_bytes()[:4] == b"\x89PNG"
    return results


def test_every_example_is_listed_and_has_a_main():
    for name in examples.NAMES:
        assert callable(importlib.import_module(f"deeplite.examples.{name}").main)


def test_linear_models_lda_and_logistic_agree(tmp_path, capsys):
    results = _run("linear_models", tmp_path, "--n", "300", "--steps", "300", "--seed", "3")
    assert results["cosine_lda_logistic"] > 0.95
    for model in ("perceptron", "lda", "logistic"):
        assert results[f"accuracy_{model}"] > 0.85  # the classes overlap: Bayes is ~93%
    assert "cosine similarity" in capsys.readouterr().out


def test_learning_rates_local_global_and_divergence(tmp_path):
    results = _run("learning_rates", tmp_path, "--steps", "60")
    assert results[0.01]["outcome"] == "local minimum"
    assert results[0.1]["outcome"] == "global minimum"
    assert results[0.2]["outcome"] == "diverged"


def test_sgd_is_ahead_of_batch_gd_per_example_seen(tmp_path):
    results = _run("sgd_vs_batch", tmp_path, "--n", "80", "--epochs", "3", "--seed", "1")
    sgd, batch = results["SGD"], results["batch GD"]
    assert sgd["updates"] == 240 and batch["updates"] == 3
    assert sgd["loss_after_one_epoch"] < 0.5 * batch["loss_after_one_epoch"]
    assert sgd["final_loss"] < 2 * results["optimum_loss"]


def test_sigmoid_gradients_vanish_and_relu_gradients_do_not(tmp_path):
    results = _run("vanishing_gradients", tmp_path, "--depth", "6", "--width", "32",
                   "--batch", "64")
    assert results["sigmoid"]["last_over_first"] > 1e3  # orders of magnitude smaller early on
    assert results["relu"]["last_over_first"] < 30


@pytest.mark.parametrize("seed", [0, 1])
def test_universal_approximation_error_falls_with_width(tmp_path, seed):
    results = _run("universal_approximation", tmp_path, "--widths", "2,8,64", "--steps", "600",
                   "--n", "100", "--seed", str(seed))
    errors = results["errors"]
    assert errors[64] < errors[8] < errors[2]
    assert errors[64] < errors[2] / 10
