"""deeplite.viz.graph: the tape as DOT text and images, coloured as the lecture draws it."""
import re

import numpy as np
import pytest

import deeplite as dl
from deeplite import viz
from deeplite.viz import dot as viz_dot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

EXPECTED_DOT = r"""digraph tape {
  rankdir=LR;
  node [style=filled, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9];
  n0 [label="x\n(3,)", shape=ellipse, fillcolor="#ffffff"];
  n1 [label="w\n(3,)", shape=ellipse, fillcolor="#f28b82"];
  n2 [label="u1 = mul\n(3,)", shape=box, fillcolor="#8ab4f8"];
  n3 [label="b\n(3,)", shape=ellipse, fillcolor="#f28b82"];
  n4 [label="add\n(3,)", shape=box, fillcolor="#8ab4f8"];
  n5 [label="exp\n(3,)", shape=box, fillcolor="#8ab4f8"];
  n6 [label="2\n()", shape=ellipse, fillcolor="#ffffff"];
  n7 [label="mul\n(3,)", shape=box, fillcolor="#8ab4f8"];
  n8 [label="sum\n()", shape=box, fillcolor="#8ab4f8"];
  n9 [label="loss\n()", shape=ellipse, fillcolor="#ffffff"];
  n0 -> n2;
  n1 -> n2;
  n2 -> n4;
  n3 -> n4;
  n4 -> n5;
  n5 -> n7;
  n6 -> n7;
  n7 -> n8;
  n8 -> n9;
}
"""


def _small_graph(rng, device, dtype=dl.float32):
    """loss = sum(2 exp(x * w + b)) with fresh random x, w, b."""
    x = dl.tensor(rng.standard_normal(3), dtype=dtype, device=device)
    w = dl.tensor(rng.standard_normal(3), dtype=dtype, device=device, requires_grad=True)
    b = dl.tensor(rng.standard_normal(3), dtype=dtype, device=device, requires_grad=True)
    u1 = x * w
    loss = ((u1 + b).exp() * 2).sum()
    return x, w, b, u1, loss


def _label(graph, title: str) -> str:
    (node,) = [node for node in graph.nodes if node.title == title]
    return "\n".join(node.lines())


def _numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)])


def test_dot_text_of_a_small_graph_exactly(rng, device):
    x, w, b, u1, loss = _small_graph(rng, device)
    graph = viz.graph(loss, {"w": w, "b": b}, names={"x": x, "u1": u1, "loss": loss})
    assert graph.to_dot() == EXPECTED_DOT
    assert [node.kind for node in graph.nodes] == ["input", "param", "op", "param", "op", "op",
                                                   "input", "op", "op", "output"]


def test_values_and_gradients_match_numpy(rng, device):
    x, w, b, u1, loss = _small_graph(rng, device, dl.float64)
    graph = viz.graph(loss, {"w": w, "b": b}, show_values=True, show_grads=True,
                      names={"x": x})
    xs, ws, bs = (np.asarray(t, dtype=np.float64) for t in (x, w, b))
    expected_grad_w = 2 * np.exp(xs * ws + bs) * xs
    w_label = _label(graph, "w").split("\n")
    assert np.allclose(_numbers(w_label[2]), ws, rtol=1e-3)  # 4 significant digits printed
    assert np.allclose(_numbers(w_label[3]), expected_grad_w, rtol=1e-3, atol=1e-4)
    sum_label = _label(graph, "sum").split("\n")
    assert np.allclose(_numbers(sum_label[2]), (2 * np.exp(xs * ws + bs)).sum(), rtol=1e-3)
    assert _numbers(sum_label[3]).tolist() == [1.0]  # d loss / d loss
    assert "grad" not in _label(graph, "x")  # x needs no gradient
    assert w.grad is None and b.grad is None  # show_grads leaves .grad alone
    loss.backward()  # and the tape is still there for training
    assert np.allclose(w.grad.numpy(), expected_grad_w)


def test_local_derivatives_on_the_edges_multiply_to_the_gradient(rng, device):
    x = dl.tensor(rng.uniform(0.5, 1.5), dtype=dl.float64, device=device)
    weights = [dl.tensor(rng.uniform(-2, 2), dtype=dl.float64, device=device, requires_grad=True)
               for _ in range(3)]
    hidden = x
    for weight in weights:
        hidden = dl.sigmoid(weight * hidden)
    graph = viz.graph(hidden, {"w1": weights[0], "w2": weights[1], "w3": weights[2]},
                      show_local_grads=True)
    assert [node.title for node in graph.nodes] == ["w1", graph.nodes[1].title, "mul", "sigmoid",
                                                    "w2", "mul", "sigmoid", "w3", "mul",
                                                    "sigmoid", "output"]
    labels = {(edge.source, edge.target): float(edge.label) for edge in graph.edges
              if edge.label is not None}
    assert (1, 2) not in labels  # x needs no gradient: no derivative on its edge
    assert labels[(0, 2)] == pytest.approx(float(x), rel=1e-3)  # d(w1 x)/d w1 = x
    h1 = 1 / (1 + np.exp(-float(weights[0]) * float(x)))
    assert labels[(2, 3)] == pytest.approx(h1 * (1 - h1), rel=1e-3)  # sigma' = h (1 - h)
    assert labels[(3, 5)] == pytest.approx(float(weights[1]), rel=1e-3)
    # The lecture's point: d output / d w1 is the product of the local derivatives on its path.
    path = [(0, 2), (2, 3), (3, 5), (5, 6), (6, 8), (8, 9)]
    (expected,) = dl.grad(hidden, weights[0])
    assert np.prod([labels[edge] for edge in path]) == pytest.approx(float(expected), rel=1e-2)


def test_module_parameters_are_red_and_named_by_their_dotted_names():
    dl.manual_seed(0)
    model = dl.nn.MLP([4, 8, 3])
    loss = dl.functional.cross_entropy(model(dl.randn(5, 4)), dl.tensor([0, 1, 2, 0, 1]))
    graph = viz.graph(loss, model)
    red = [node.title for node in graph.nodes if node.kind == "param"]
    assert red == [name for name, _ in model.named_parameters()]
    assert {node.kind for node in graph.nodes} == {"input", "param", "op", "output"}
    assert [node.title for node in graph.nodes if node.kind == "op"] == \
        ["linear (relu)", "linear", "cross_entropy"]  # the hidden layer's fused ReLU is named


def test_params_none_draws_every_leaf_that_requires_grad_red():
    w = dl.randn(3, requires_grad=True)
    x = dl.randn(3)
    graph = viz.graph((w * x).sum())
    assert [(node.kind, node.title) for node in graph.nodes[:2]] == [("param", "parameter"),
                                                                    ("input", "input")]
    listed = viz.graph((w * x).sum(), [x])  # a list: exactly those tensors are red
    assert [node.kind for node in listed.nodes[:2]] == ["input", "param"]


def test_several_outputs_each_get_a_white_node():
    w = dl.randn(2, requires_grad=True)
    first, second = w.sum(), (w * w).sum()
    graph = viz.graph([first, second])
    outputs = [node.title for node in graph.nodes if node.kind == "output"]
    assert outputs == ["output 0", "output 1"]
    assert sum(1 for node in graph.nodes if node.kind == "param") == 1  # w drawn once


def test_render_png_without_graphviz(tmp_path, monkeypatch, rng):
    def no_graphviz(*args):
        raise AssertionError("dot must not be called when it is not installed")

    monkeypatch.setattr(viz_dot, "graphviz_available", lambda: False)
    monkeypatch.setattr(viz_dot, "render_with_graphviz", no_graphviz)
    *_, loss = _small_graph(rng, "numpy")
    path = viz.graph(loss).render(tmp_path / "graph.png")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    from matplotlib import image

    pixels = image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 300
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 10  # not blank
    svg = viz.graph(loss)._repr_svg_()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "sum" in svg


@pytest.mark.skipif(not viz_dot.graphviz_available(), reason="Graphviz's dot is not installed")
def test_render_png_and_svg_with_graphviz(tmp_path, rng):
    *_, loss = _small_graph(rng, "numpy")
    graph = viz.graph(loss)
    assert graph.render(tmp_path / "graph.png", engine="graphviz").read_bytes()[:8] == PNG_MAGIC
    svg = graph.render(tmp_path / "graph.svg", engine="graphviz").read_text()
    assert "<svg" in svg and svg.count('class="node"') == len(graph.nodes)
    assert svg.count('class="edge"') == len(graph.edges)
    assert graph._repr_png_()[:8] == PNG_MAGIC


def test_auto_engine_uses_graphviz_when_installed(monkeypatch, rng):
    calls = []
    monkeypatch.setattr(viz_dot, "graphviz_available", lambda: True)
    monkeypatch.setattr(viz_dot, "render_with_graphviz",
                        lambda text, fmt: calls.append((text, fmt)) or b"drawn")
    *_, loss = _small_graph(rng, "numpy")
    graph = viz.graph(loss)
    assert graph.image("svg") == b"drawn" and calls == [(graph.to_dot(), "svg")]


def test_bad_input_gives_clear_errors(tmp_path, monkeypatch, rng):
    x, w, b, u1, loss = _small_graph(rng, "numpy")
    graph = viz.graph(loss)
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        graph.render(tmp_path / "graph.jpg")
    with pytest.raises(ValueError, match="unknown engine 'pydot'"):
        graph.image("png", engine="pydot")
    monkeypatch.setattr(viz_dot, "graphviz_available", lambda: False)
    with pytest.raises(ValueError, match="engine='matplotlib'"):
        graph.image("png", engine="graphviz")
    with pytest.raises(TypeError, match="output must be a Tensor"):
        viz.graph(np.ones(3))
    with pytest.raises(TypeError, match="params must be a Module"):
        viz.graph(loss, params=3)
    with pytest.raises(TypeError, match=r"names\['x'\] is a list"):
        viz.graph(loss, names={"x": [1.0]})
    with pytest.raises(ValueError, match="show_grads needs an output"):
        viz.graph(dl.ones(2).sum(), show_grads=True)
    loss.backward()  # frees the tape
    with pytest.raises(ValueError, match="freed by backward"):
        viz.graph(loss)


def test_the_docs_example_runs(tmp_path, monkeypatch):
    import pathlib

    docs = pathlib.Path(__file__).resolve().parents[1] / "docs" / "viz.md"
    if not docs.exists():
        pytest.skip("docs/ is not beside tests/ (an installed test tree)")
    (block,) = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.S)[:1]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, str(docs), "exec"), namespace)
    assert (tmp_path / "graph.png").read_bytes()[:8] == PNG_MAGIC
    assert namespace["model"].layers[0].weight.grad is not None  # backward ran after drawing
