"""``deeplite train --diagnose`` draws one training step's graph as ``graph.png``."""
from ..creation import tensor
from .graph import graph

GRAPH_FILE = "graph.png"
STEP_ROWS = 32  # rows of the drawn batch: the drawing shows shapes, a small batch suffices
COLLAPSE_ABOVE = 40  # nodes; bigger models are drawn with their repeated layers folded


def draw_training_step(model, task, features, labels, device: str, path) -> None:
    """Draw the forward pass and loss of one batch of ``features``/``labels`` (NumPy) to ``path``.

    The batch is sliced from the arrays, not drawn from the training loader, so the loader's
    shuffling (and with it the run's numbers) is the same with and without ``--diagnose``.
    """
    inputs = tensor(features[:STEP_ROWS], device=device)
    targets = tensor(task.targets(labels[:STEP_ROWS]), device=device)
    loss = task.loss(model(inputs), targets)
    drawn = graph(loss, model, names={"input": inputs, "targets": targets, "loss": loss})
    if len(drawn.nodes) > COLLAPSE_ABOVE:
        drawn = graph(loss, model, collapse=True,
                      names={"input": inputs, "targets": targets, "loss": loss})
    drawn.render(path)
