"""``deeplite train --distributed`` under ``mpiexec -n 2``: the one-process result, rank 0 alone
writes and prints, and ``--resume`` continues exactly."""
import json

import numpy as np
from dist_launch import train_run

import deeplite as dl

TRAIN = ["-m", "deeplite.cli", "train", "--dataset", "breast_cancer", "--hidden", "32",
         "--seed", "3", "--batch-size", "25", "--quiet"]  # 455 rows: the last batch is 5


def _train(tmp_path, ranks: int, name: str, *extra):
    return train_run(tmp_path, ranks, TRAIN, name, *extra)


def _weights(path) -> dict:
    return {name: tensor.numpy() for name, tensor in dl.load(str(path)).items()
            if name.startswith("model.")}


def test_two_ranks_train_as_one_process(tmp_path):
    _, single = _train(tmp_path, 0, "single", "--epochs", "2")
    job, double = _train(tmp_path, 2, "double", "--epochs", "2")
    assert job.output.count("test accuracy:") == 1  # rank 0 alone prints
    # float32 over 38 steps of Adam: sums split across ranks round differently.
    np.testing.assert_allclose(double["history"]["train_loss"], single["history"]["train_loss"],
                               rtol=1e-5)
    ours, theirs = _weights(tmp_path / "double" / "checkpoint.safetensors"), \
        _weights(tmp_path / "single" / "checkpoint.safetensors")
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_resume_under_two_ranks_equals_the_uninterrupted_run(tmp_path):
    _train(tmp_path, 2, "whole", "--epochs", "3")
    _train(tmp_path, 2, "parts", "--epochs", "2")
    job, resumed = _train(tmp_path, 2, "parts", "--resume", "parts", "--epochs", "3")
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert resumed["history"]["train_loss"] == whole["history"]["train_loss"]
    ours, theirs = _weights(tmp_path / "parts" / "checkpoint.safetensors"), \
        _weights(tmp_path / "whole" / "checkpoint.safetensors")
    for name, value in theirs.items():
        assert np.array_equal(ours[name], value), name
