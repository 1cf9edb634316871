"""The drawn-graph examples and ``deeplite train --diagnose``'s graph.png."""
import importlib
from pathlib import Path

import numpy as np
import pytest

from deeplite.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(name: str, tmp_path, *argv) -> dict:
    results = importlib.import_module(f"deeplite.examples.{name}").main(
        ["--out", str(tmp_path), *argv])
    assert Path(results["figure"]).read_bytes()[:8] == PNG_MAGIC
    return results


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_autodiff_paths_three_gradients_agree(tmp_path, capsys, seed):
    results = _run("autodiff_paths", tmp_path, "--seed", str(seed), "--lam", "0.3")
    assert results["agree"] and "the three gradients agree" in capsys.readouterr().out
    # float64 throughout: the hand-written sum over paths and forward mode match the tape's
    # backward to rounding error.
    assert results["paths_vs_backward"] < 1e-10 and results["forward_vs_backward"] < 1e-10
    # Both paths matter: neither term is negligible next to the other.
    assert np.linalg.norm(results["through_u8"]) > 0.01 * np.linalg.norm(results["through_u4"])
    assert np.linalg.norm(results["through_u4"]) > 0.01 * np.linalg.norm(results["through_u8"])
    assert Path(results["graph"]).read_bytes()[:8] == PNG_MAGIC


def test_autodiff_paths_draws_the_lecture_names(tmp_path, monkeypatch):
    from deeplite import viz

    drawn = []
    original = viz.graph

    def recording(*args, **kwargs):
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(viz, "graph", recording)  # the example calls viz.graph
    _run("autodiff_paths", tmp_path)
    titles = {node.title.split(" = ")[0] for node in drawn[0].nodes}
    assert {f"u{i}" for i in range(1, 9)} | {"x", "y", "W1", "W2", "ℓ"} <= titles
    red = [node.title for node in drawn[0].nodes if node.kind == "param"]
    assert red == ["W1", "W2"]


def test_vanishing_gradients_chain_is_the_product_of_its_local_derivatives(tmp_path, capsys):
    results = _run("vanishing_gradients", tmp_path, "--depth", "3", "--width", "16",
                   "--batch", "32", "--seed", "4")
    chain = results["chain"]
    assert list(chain["factors"]) == ["x", "σ'(u1)", "w2", "σ'(u2)", "w3", "σ'(u3)"]
    assert all(0 < chain["factors"][f"σ'(u{i})"] <= 0.25 for i in (1, 2, 3))
    assert chain["product"] == pytest.approx(chain["grad_w1"], rel=1e-2)  # labels keep 4 digits
    assert Path(chain["graph"]).read_bytes()[:8] == PNG_MAGIC
    assert "every σ' ≤ 1/4" in capsys.readouterr().out


def test_train_diagnose_writes_the_graph_of_one_step(tmp_path, capsys):
    status = main(["train", "--diagnose", "--epochs", "1", "--hidden", "16,16", "--quiet",
                   "--out", str(tmp_path)])
    assert status == 0
    assert (tmp_path / "graph.png").read_bytes()[:8] == PNG_MAGIC
    assert "graph.png" in capsys.readouterr().out


def test_train_diagnose_collapses_a_deep_model(tmp_path, monkeypatch):
    from deeplite.viz import training
    from deeplite.viz.graph import Graph

    drawn = []
    monkeypatch.setattr(Graph, "render", lambda self, path: drawn.append(self))
    assert main(["train", "--diagnose", "--epochs", "1", "--hidden", ",".join(["8"] * 30),
                 "--quiet", "--out", str(tmp_path)]) == 0
    (graph,) = drawn
    assert len(graph.nodes) < training.COLLAPSE_ABOVE
    assert any("layers.1 … layers.29 (Linear ×29)" in node.title for node in graph.nodes)
