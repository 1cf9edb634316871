"""``deeplite train --distributed --amp`` under ``mpiexec -n 2``: each rank's forward pass under
autocast, fp16's loss scaling on the averaged gradients, and ``--resume`` continues exactly."""
import json

import numpy as np
import pytest
from dist_launch import train_run

import deeplite as dl
from deeplite import serialization

pytest.importorskip("ml_dtypes")
# The numpy device honours autocast everywhere (the cpu backend computes fp16 in fp32, see
# docs/amp.md), so the 16-bit GEMMs really run here.
TRAIN = ["-m", "deeplite.cli", "train", "--dataset", "breast_cancer", "--hidden", "32",
         "--seed", "3", "--batch-size", "25", "--device", "numpy", "--quiet"]


def _train(tmp_path, ranks: int, name: str, *extra):
    return train_run(tmp_path, ranks, TRAIN, name, *extra)


def _state(path) -> tuple:
    weights = {name: tensor.numpy() for name, tensor in dl.load(str(path)).items()}
    return weights, json.loads(serialization.load_metadata(str(path))["deeplite.grad_scaler"])


def _drift(losses, reference) -> float:
    return float(np.abs(np.asarray(losses) / np.asarray(reference) - 1).max())


@pytest.fixture(scope="module")
def float32_losses(tmp_path_factory):
    """The one-process float32 run's losses: what the 16-bit runs must differ from."""
    return _train(tmp_path_factory.mktemp("fp32"), 0, "fp32", "--epochs", "2")[1]["history"][
        "train_loss"]


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_two_ranks_with_amp_train_as_one_process(tmp_path, amp, float32_losses):
    _, single = _train(tmp_path, 0, "single", "--epochs", "2", "--amp", amp)
    job, double = _train(tmp_path, 2, "double", "--epochs", "2", "--amp", amp)
    assert job.output.count("test accuracy:") == 1  # rank 0 alone prints
    assert double["arguments"]["amp"] == single["arguments"]["amp"] == amp
    # Slices of the batch round their 16-bit sums differently, but far less than 16 bits differ
    # from float32 (measured: fp16 1.3e-5 against 6.1e-5, bf16 3.5e-5 against 3.4e-4): the
    # ranks do run in 16 bits, as the one process does.
    losses, reference = double["history"]["train_loss"], single["history"]["train_loss"]
    assert _drift(losses, reference) < 0.5 * _drift(reference, float32_losses)
    assert abs(double["test_accuracy"] - single["test_accuracy"]) <= 0.02


def test_fp16_resume_under_two_ranks_equals_the_uninterrupted_run(tmp_path):
    _train(tmp_path, 2, "whole", "--epochs", "3", "--amp", "fp16")
    _train(tmp_path, 2, "parts", "--epochs", "2", "--amp", "fp16")
    _, resumed = _train(tmp_path, 2, "parts", "--resume", "parts", "--epochs", "3")
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert resumed["history"]["train_loss"] == whole["history"]["train_loss"]
    (ours, our_scaler), (theirs, their_scaler) = (
        _state(tmp_path / run / "checkpoint.safetensors") for run in ("parts", "whole"))
    assert our_scaler == their_scaler and our_scaler["state"]["_growth_tracker"] > 0
    for name, value in theirs.items():
        assert np.array_equal(ours[name], value), name
