"""``deeplite train`` run twice, replayed (the default) and with ``--no-jit``: the same run."""
import json

import numpy as np
from safetensors.numpy import load_file

from deeplite.cli import main
from deeplite.jit import function


def assert_jit_run_equals_no_jit(tmp_path, monkeypatch, device, arguments: list) -> None:
    """Train with ``arguments`` both ways; the default run must replay (but on cuda) and both
    must give the same history, weights and optimizer state, bit for bit."""
    replays = []
    replay = function.Plan.__call__
    monkeypatch.setattr(function.Plan, "__call__",
                        lambda plan, args: replays.append(1) or replay(plan, args))
    runs = {}
    for name, extra in (("jit", []), ("eager", ["--no-jit"])):
        replays.clear()
        out = tmp_path / name
        code = main(["train", "--device", device, "--quiet", "--out", str(out), *arguments,
                     *extra])
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
