"""PNG plots of a run: loss and accuracy curves, and the ``--diagnose`` gradient/dead-ReLU plots."""
from pathlib import Path

from ..plotting import pyplot


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


def plot_curves(epochs: list, path: Path, title: str) -> None:
    """Loss and accuracy per epoch, train and test side by side."""
    plt = pyplot()
    numbers = [record["epoch"] for record in epochs]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        if epochs and f"{split}_loss" in epochs[0]:
            loss_axis.plot(numbers, [r[f"{split}_loss"] for r in epochs], marker=".", label=split)
            accuracy_axis.plot(numbers, [r[f"{split}_accuracy"] for r in epochs], marker=".",
                               label=split)
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    _finish(figure, (loss_axis, accuracy_axis), path, title)
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
