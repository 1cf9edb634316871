"""What ``--dataset`` names: a built-in dataset, or the user's own .csv/.npz file."""
from pathlib import Path

from .. import data
from . import CommandError

GAUSSIAN_SAMPLES = 1000  # the lecture's two Gaussian classes, in 2-D so they can be plotted

BUILTIN = ("digits", "breast_cancer", "gaussians")


def load_dataset(name: str, target: str = None, seed: int = 0) -> data.TabularData:
    """The named dataset with class targets encoded as 0..K-1 (``classes`` keeps the labels)."""
    if name == "digits":
        table = data.load_digits()
    elif name == "breast_cancer":
        table = data.load_breast_cancer()
    elif name == "gaussians":
        # The seed fixes the sample, so a run's eval sees the same data it was trained on.
        table = data.make_gaussian_classes(GAUSSIAN_SAMPLES, 2, seed=seed)
    elif Path(name).suffix.lower() in (".csv", ".npz", ".tsv", ".txt"):
        table = data.load_table(name, target=target)
    else:
        raise CommandError(f"unknown dataset {name!r}; choose {', '.join(BUILTIN)} or give a "
                           f".csv/.npz file (with --target COLUMN for a csv)")
    return data.encode_labels(table)
