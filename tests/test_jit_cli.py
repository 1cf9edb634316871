"""``deeplite train`` replays its captured step by default; ``--no-jit`` gives the same run."""
import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from deeplite.cli import main
from deeplite.jit import function


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("dataset", ["gaussians", "digits"])
def test_jit_and_no_jit_runs_are_identical(tmp_path, monkeypatch, device, optimizer, dataset):
    replays = []
    replay = function.Plan.__call__
    monkeypatch.setattr(function.Plan, "__call__",
                        lambda plan, args: replays.append(1) or replay(plan, args))
    runs = {}
    for name, extra in (("jit", []), ("eager", ["--no-jit"])):
        replays.clear()
        out = tmp_path / name
        code = main(["train", "--dataset", dataset, "--device", device, "--optimizer", optimizer,
                     "--epochs", "2", "--hidden", "24", "--weight-decay", "1e-3", "--quiet",
                     "--out", str(out), *extra])
        assert code == 0
        # The default run replays its captured step (cuda: eager until its graphs ran on a GPU).
        assert bool(replays) == (name == "jit" and device != "cuda")
        history = json.loads((out / "metrics.json").read_text())["history"]
        history.pop("seconds", None)
        runs[name] = (history, load_file(str(out / "checkpoint.safetensors")))
    (jit_history, jit_weights), (eager_history, eager_weights) = runs["jit"], runs["eager"]
    assert jit_history == eager_history
    assert jit_weights.keys() == eager_weights.keys()
    for key in eager_weights:  # weights and optimizer state, bit for bit
        np.testing.assert_array_equal(jit_weights[key], eager_weights[key])


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
