"""``deeplite train`` replays its captured step by default; ``--no-jit`` gives the same run."""
import pytest
from _train_runs import assert_jit_run_equals_no_jit


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("dataset", ["gaussians", "digits"])
def test_jit_and_no_jit_runs_are_identical(tmp_path, monkeypatch, device, optimizer, dataset):
    assert_jit_run_equals_no_jit(tmp_path, monkeypatch, device, [
        "--dataset", dataset, "--optimizer", optimizer, "--epochs", "2", "--hidden", "24",
        "--weight-decay", "1e-3"])
