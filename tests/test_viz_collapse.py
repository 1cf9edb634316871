"""collapse=True: modules become one node each, repeated layers fold: big graphs stay small."""
import deeplite as dl
from deeplite import viz
from deeplite.viz import dot as viz_dot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scalar_chain(ops: int, shared: bool):
    """sigmoid(w * sigmoid(w * ... x)) with ``ops`` ops: one shared w, or a fresh w per layer."""
    shared_weight = dl.tensor(0.9, requires_grad=True)
    hidden = dl.tensor(0.5)
    for _ in range(ops // 2):
        weight = shared_weight if shared else dl.tensor(0.9, requires_grad=True)
        hidden = dl.sigmoid(hidden * weight)
    return hidden, shared_weight


def test_a_10000_op_chain_collapses_to_a_few_nodes_and_draws(tmp_path, monkeypatch):
    output, weight = _scalar_chain(10_000, shared=True)
    full = viz.graph(output, {"w": weight})
    assert sum(node.kind == "op" for node in full.nodes) == 10_000  # no recursion limit hit
    graph = viz.graph(output, {"w": weight}, collapse=True)
    assert len(graph.nodes) <= 8
    assert sum(node.count for node in graph.nodes if node.kind in ("op", "group")) == 10_000
    (folded,) = [node for node in graph.nodes if node.kind == "group"]
    assert folded.title == "[sigmoid → mul] ×4999"
    # The shared parameter stays one red node, feeding the first mul and the folded block.
    (red,) = [index for index, node in enumerate(graph.nodes) if node.kind == "param"]
    assert sorted(graph.nodes[e.target].title for e in graph.edges if e.source == red) == \
        ["[sigmoid → mul] ×4999", "mul"]
    monkeypatch.setattr(viz_dot, "graphviz_available", lambda: False)  # the matplotlib path
    assert graph.render(tmp_path / "chain.png").read_bytes()[:8] == PNG_MAGIC


def test_fresh_parameters_per_layer_fold_with_their_layer():
    output, _ = _scalar_chain(3_000, shared=False)
    graph = viz.graph(output, collapse=True)
    titles = [node.title for node in graph.nodes]
    assert "[sigmoid → mul] ×1499" in titles and "parameter ×1499" in titles
    assert len(graph.nodes) <= 9


def test_a_deep_mlp_draws_as_first_middle_and_last_layer():
    dl.manual_seed(0)
    model = dl.nn.MLP([4, *[6] * 40, 3])
    loss = model(dl.randn(5, 4)).sum()
    graph = viz.graph(loss, model, collapse=True)
    assert [node.title for node in graph.nodes] == [
        "input", "layers.0 (Linear)", "layers.1 … layers.39 (Linear ×39)", "layers.40 (Linear)",
        "sum", "output"]
    assert [node.shape for node in graph.nodes] == [(5, 4), (5, 6), (5, 6), (5, 3), (), ()]
    assert [(e.source, e.target) for e in graph.edges] == [(0, 1), (1, 2), (2, 3), (3, 4),
                                                           (4, 5)]


def test_ops_join_the_module_they_compute_in_and_losses_stay_outside():
    dl.manual_seed(0)
    blocks = [dl.nn.Sequential(dl.nn.Linear(6, 6), dl.nn.Tanh()) for _ in range(5)]
    model = dl.nn.Sequential(*blocks)
    targets = dl.randn(2, 6)
    loss = ((model(dl.randn(2, 6)) - targets) ** 2).mean()
    graph = viz.graph(loss, model, collapse=True)
    titles = [node.title for node in graph.nodes]
    assert titles[1] == "0.0 (Linear)\nlinear → tanh"  # the separate Tanh joins its Linear
    assert titles[2] == "1.0 … 4.0 (Linear ×4)\nlinear → tanh"
    assert [node.title for node in graph.nodes if node.kind == "op"] == ["sub", "pow", "mean"]


def test_small_graphs_without_repeats_are_unchanged():
    w = dl.randn(3, requires_grad=True)
    loss = (dl.sigmoid(w * 2) + w).sum()
    assert viz.graph(loss, collapse=True).to_dot() == viz.graph(loss).to_dot()
