"""What ``--dataset`` names: a built-in dataset, or the user's own .csv/.npz file; and its task."""
from pathlib import Path
from typing import Optional

from .. import data
from ..tasks import choose_task
from . import CommandError

GAUSSIAN_SAMPLES = 1000  # the lecture's two Gaussian classes, in 2-D so they can be plotted
SINE_SAMPLES, SINE_NOISE = 1000, 0.1  # the universal-approximation experiment: y = sin x + noise

BUILTIN = ("digits", "breast_cancer", "gaussians", "sine")


def load_dataset(name: str, target: Optional[str] = None, seed: int = 0) -> data.TabularData:
    """The named dataset as loaded: text labels encoded (``classes``), numbers as they are."""
    if name == "digits":
        return data.load_digits()
    if name == "breast_cancer":
        return data.load_breast_cancer()
    if name == "gaussians":
        # The seed fixes the sample, so a run's eval sees the same data it was trained on.
        return data.make_gaussian_classes(GAUSSIAN_SAMPLES, 2, seed=seed)
    if name == "sine":  # a regression: what one hidden layer can approximate
        return data.make_regression_1d("sin", SINE_SAMPLES, SINE_NOISE, seed=seed)
    if Path(name).is_dir():
        raise CommandError(f"--dataset {name} is a folder; give a .csv or .npz file")
    if Path(name).suffix.lower() in (".csv", ".npz", ".tsv", ".txt"):
        return data.load_table(name, target=target)
    raise CommandError(f"unknown dataset {name!r}; choose {', '.join(BUILTIN)} or give a "
                       f".csv/.npz file (with --target COLUMN for a csv)")


def with_task(table: data.TabularData, requested: str) -> tuple:
    """(table, "classification" or "regression", why): class targets encoded as 0..K-1."""
    try:
        kind, why = choose_task(requested, table.y, table.classes is not None)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if kind == "classification":
        table = data.encode_labels(table)
    return table, kind, why
