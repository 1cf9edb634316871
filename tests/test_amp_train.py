"""``deeplite train --amp``: the flag runs the step under autocast and records it."""
import json

import numpy as np
import pytest

from deeplite.cli import main

pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_train_with_amp_on_the_reference_backend(tmp_path, amp):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 120)
    x = rng.standard_normal((120, 3)) + 2.5 * labels[:, None]
    csv = tmp_path / "tiny.csv"
    csv.write_text("f1,f2,f3,answer\n" + "\n".join(
        f"{a:.5f},{b:.5f},{c:.5f},{y}" for (a, b, c), y in zip(x, labels, strict=True)) + "\n")
    runs = {}
    for name, extra in (("fp32", []), (amp, ["--amp", amp])):
        out = tmp_path / name
        assert main(["train", "--dataset", str(csv), "--target", "answer", "--out", str(out),
                     "--device", "numpy", "--hidden", "8", "--epochs", "3", "--quiet",
                     *extra]) == 0
        runs[name] = json.loads((out / "metrics.json").read_text())
    low, full = runs[amp], runs["fp32"]
    assert abs(low["test_accuracy"] - full["test_accuracy"]) <= 0.05
    # the same run in 16-bit GEMMs: close to float32's losses, but not bit-equal to them
    losses, reference = low["history"]["train_loss"], full["history"]["train_loss"]
    np.testing.assert_allclose(losses, reference, rtol=0.05)
    assert losses != reference


@pytest.mark.cuda
def test_amp_refuses_cuda_graph(tmp_path, capsys):
    code = main(["train", "--dataset", "digits", "--out", str(tmp_path / "r"), "--device",
                 "cuda", "--epochs", "1", "--quiet", "--amp", "fp16", "--cuda-graph"])
    assert code != 0
    assert "--amp does not combine" in capsys.readouterr().err
