"""PNG plots: a run's loss and score curves, ``--diagnose`` gradients and dead ReLUs, predictions.

A neutral module below both the ``deeplite`` command and the examples, so neither imports the
other. matplotlib is imported on first use (on the file-only Agg backend), never by
``import deeplite``.
"""
from pathlib import Path


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only: no display needed, none opened)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def _finish(figure, axes, path: Path, title: str) -> None:
    """Integer epoch ticks, grids, legends and the title; save as PNG and free the figure."""
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def plot_curves(epochs: list, path: Path, title: str, score: str = "accuracy") -> None:
    """Loss and ``score`` (a record key suffix: accuracy, rmse) per epoch, train and test."""
    plt = pyplot()
    numbers = [record["epoch"] for record in epochs]
    figure, (loss_axis, score_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        if epochs and f"{split}_loss" in epochs[0]:
            loss_axis.plot(numbers, [r[f"{split}_loss"] for r in epochs], marker=".", label=split)
        if epochs and f"{split}_{score}" in epochs[0]:
            score_axis.plot(numbers, [r[f"{split}_{score}"] for r in epochs], marker=".",
                            label=split)
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    label = "accuracy" if score == "accuracy" else score.upper()
    score_axis.set(xlabel="epoch", ylabel=label, title=label)
    _finish(figure, (loss_axis, score_axis), path, title)
    plt.close(figure)


def plot_predictions(truth, predicted, path: Path, title: str) -> None:
    """Predicted against true values of a regression, with the diagonal of perfect predictions."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(truth, predicted, s=12, alpha=0.6)
    low, high = min(min(truth), min(predicted)), max(max(truth), max(predicted))
    axis.plot([low, high], [low, high], color="gray", linewidth=1, label="perfect")
    axis.set(xlabel="true value", ylabel="predicted value", title="test split")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_diagnostics(epochs: list, path: Path, title: str) -> None:
    """Per-layer gradient norms (log scale) and dead-ReLU fractions per epoch."""
    plt = pyplot()
    numbers = [record["epoch"] for record in epochs]
    figure, (grad_axis, dead_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for layer in epochs[0].get("grad_norms", {}) if epochs else {}:
        grad_axis.plot(numbers, [r["grad_norms"][layer] for r in epochs], marker=".", label=layer)
    for layer in epochs[0].get("dead_relu", {}) if epochs else {}:
        dead_axis.plot(numbers, [r["dead_relu"][layer] for r in epochs], marker=".", label=layer)
    grad_axis.set(xlabel="epoch", ylabel="mean ||grad W|| per step", yscale="log",
                  title="gradient norm per layer")
    dead_axis.set(xlabel="epoch", ylabel="fraction of units", ylim=(-0.02, 1.02),
                  title="dead ReLUs (0 on every probe sample)")
    _finish(figure, (grad_axis, dead_axis), path, title)
    plt.close(figure)
