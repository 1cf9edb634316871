"""The PyTorch-style example trains, and its mid-run checkpoint + restart changes nothing."""
from pathlib import Path

import numpy as np

from deeplite.examples import pytorch_style


def test_restart_from_the_checkpoint_continues_exactly(tmp_path, capsys):
    common = ["--epochs", "3", "--seed", "2", "--out", str(tmp_path)]
    restarted = pytorch_style.main(common + ["--restart-at", "0"])
    assert "restarted from" in capsys.readouterr().out
    assert (tmp_path / "checkpoint.safetensors").exists()
    straight = pytorch_style.main(common + ["--restart-at", "-1"])
    assert "restarted from" not in capsys.readouterr().out
    assert restarted["losses"] == straight["losses"]  # bit for bit: weights, Adam, lr, RNG
    for name, value in straight["final_weights"].items():
        np.testing.assert_array_equal(restarted["final_weights"][name], value, err_msg=name)
    assert restarted["losses"][-1] < restarted["losses"][0] / 3
    assert restarted["test_accuracy"] > 0.9  # 360 test digits; the full 8 epochs reach ~98%


def test_model_names_and_parameter_count_follow_pytorch_conventions():
    model = pytorch_style.ResidualMLP(64, 16, 10, depth=2, dropout=0.0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["stem.weight", "stem.bias", "blocks.0.norm.weight",
                         "blocks.0.norm.bias"]
    assert names[-2:] == ["head.1.weight", "head.1.bias"]
    expected = 64 * 16 + 16 + 2 * (2 * 16 + 16 * 16 + 16) + 2 * 16 + 16 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected


def test_the_docs_example_runs_and_learns(capsys):
    text = (Path(__file__).resolve().parents[1] / "docs" / "nn.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/nn.md", "exec"), {"__name__": "docs_example"})
    printed = capsys.readouterr().out
    accuracy = float(printed.split("validation accuracy ")[1].split(",")[0])
    assert accuracy > 0.9 and "178 parameters" in printed  # 2 x (8*8 + 8) + 2*8 + (8*2 + 2)
