"""``deeplite train`` replays its captured step by default; ``--no-jit`` gives the same run."""
import json

import numpy as np
import pytest
from _train_runs import assert_jit_run_equals_no_jit

from deeplite.cli import main
from deeplite.jit import function


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("dataset", ["gaussians", "digits"])
def test_jit_and_no_jit_runs_are_identical(tmp_path, monkeypatch, device, optimizer, dataset):
    assert_jit_run_equals_no_jit(tmp_path, monkeypatch, device, [
        "--dataset", dataset, "--optimizer", optimizer, "--epochs", "2", "--hidden", "24",
        "--weight-decay", "1e-3"])


@pytest.mark.cuda
def test_cuda_graph_flag_replays_the_jit_step_on_cuda(tmp_path, monkeypatch):
    """--cuda-graph is deeplite.jit's CUDA-graph replay on cuda (any optimizer, last partial
    batch included); its run matches the eager one up to the captured GEMMs' rounding."""
    replays = []
    replay = function.Plan.__call__
    monkeypatch.setattr(function.Plan, "__call__",
                        lambda plan, args: replays.append(plan) or replay(plan, args))
    runs = {}
    for name, extra in (("graph", ["--cuda-graph"]), ("eager", [])):
        out = tmp_path / name
        assert main(["train", "--dataset", "digits", "--device", "cuda", "--optimizer", "adam",
                     "--epochs", "2", "--hidden", "24", "--quiet", "--out", str(out),
                     *extra]) == 0
        runs[name] = json.loads((out / "metrics.json").read_text())["history"]["train_loss"]
    assert replays and all(plan.graph is not None and plan.graph.captures == 1
                           for plan in set(replays))
    np.testing.assert_allclose(runs["graph"], runs["eager"], rtol=1e-4)
    assert main(["train", "--dataset", "digits", "--device", "cuda", "--cuda-graph",
                 "--no-jit", "--quiet", "--out", str(tmp_path / "bad")]) != 0
