"""Tabular data: a feature matrix and a target, loaded from CSV/NPZ, split and standardised.

Loading is strict: a non-numeric cell, a missing value, NaN or infinity (also a number beyond
float32's range, which would become infinity in the float32 features), a ragged row, a missing
target column or an empty file raises ``DataError`` naming the file, the line and the column.
Nothing is silently dropped or imputed, because a model trained on quietly altered data is wrong
in ways nobody sees. CSV parsing lives in ``csv_reader``; the table type in ``table``.
"""
from dataclasses import replace
from pathlib import Path

import numpy as np

from .csv_reader import load_csv, load_features_csv
from .table import DataError, TabularData

__all__ = ["DataError", "Standardizer", "TabularData", "encode_labels", "load_csv",
           "load_features_csv", "load_npz", "load_table", "split_and_standardize",
           "train_test_split"]


def encode_labels(data: TabularData) -> TabularData:
    """Class targets as indices 0..K-1 (int64), the original labels kept in ``classes``.

    Raises DataError when the target holds non-integer numbers (a regression target).
    """
    if data.classes is not None:
        return data
    y = np.asarray(data.y)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        row = int(np.argmax(y != np.round(y)))
        raise DataError(f"{data.source or 'data'}: target {data.target_name!r} holds the "
                        f"non-integer value {float(y[row])!r} (sample {row}); class labels must be "
                        f"integers or text")
    labels, codes = np.unique(y, return_inverse=True)
    classes = [label.item() if hasattr(label, "item") else label for label in labels]
    classes = [int(label) if isinstance(label, float) else label for label in classes]
    return replace(data, y=codes.astype(np.int64), classes=classes)


def train_test_split(data: TabularData, test_fraction: float = 0.2, seed: int = 0,
                     stratify: bool = True) -> tuple:
    """Split rows at random into (train, test); ``stratify`` keeps each class's share in both."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    if stratify and data.classes is not None:
        # Split each class separately so a rare class cannot vanish from the test set.
        groups = [np.flatnonzero(data.y == label) for label in range(len(data.classes))]
    else:
        groups = [np.arange(len(data))]
    test_parts, train_parts = [], []
    for group in groups:
        group = rng.permutation(group)
        n_test = int(round(len(group) * test_fraction))
        test_parts.append(group[:n_test])
        train_parts.append(group[n_test:])
    train, test = np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"train_test_split: {len(data)} samples with test_fraction "
                         f"{test_fraction} leave an empty train or test set; use more data")
    return data.subset(rng.permutation(train)), data.subset(rng.permutation(test))


class Standardizer:
    """Scale each feature to zero mean and unit variance, with statistics of the training set.

    Constant features get a scale of 1 (not 0), so they become 0 instead of NaN.

    Example:
        >>> train_x, test_x = np.random.default_rng(0).normal(5.0, 2.0, (2, 100, 3))
        >>> scaler = Standardizer().fit(train_x)
        >>> train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
        >>> bool(np.allclose(train_x.mean(axis=0), 0) and np.allclose(train_x.std(axis=0), 1))
        True
    """

    def __init__(self, mean: np.ndarray = None, scale: np.ndarray = None):
        self.mean, self.scale = mean, scale

    def fit(self, x: np.ndarray) -> "Standardizer":
        """Learn the per-feature mean and standard deviation of ``x`` (n, p); returns self."""
        x = np.asarray(x, dtype=np.float64)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / scale`` as float32."""
        if self.mean is None:
            raise ValueError("Standardizer.transform: call fit(train_x) first")
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"Standardizer.transform: expected (n, {self.mean.shape[0]}) "
                             f"features, got shape {x.shape}")
        return ((x - self.mean) / self.scale).astype(np.float32)

    def apply(self, data: TabularData) -> TabularData:
        """``data`` with standardised features."""
        return replace(data, x=self.transform(data.x))


def split_and_standardize(data: TabularData, test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """(train, test, standardizer): a stratified split, both scaled with the train statistics."""
    train, test = train_test_split(data, test_fraction, seed)
    scaler = Standardizer().fit(train.x)
    return scaler.apply(train), scaler.apply(test), scaler


def load_table(path, target=None) -> TabularData:
    """Load a ``.csv`` or ``.npz`` file by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return load_npz(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return load_csv(path, target=target)
    raise DataError(f"{path}: unknown file type {suffix!r}; give a .csv or .npz file")


def load_npz(path, x_key: str = None, y_key: str = None) -> TabularData:
    """Load features and target from a ``.npz`` file (keys "x"/"X" and "y" by default)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    with archive:
        keys = list(archive.keys())
        x_key = x_key or next((k for k in ("x", "X", "features") if k in keys), "x")
        y_key = y_key or next((k for k in ("y", "Y", "target", "labels") if k in keys), "y")
        for key in (x_key, y_key):
            if key not in keys:
                raise DataError(f"{path}: no array {key!r}; the file holds "
                                f"{', '.join(keys) or 'nothing'}")
        x, y = archive[x_key], archive[y_key]
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise DataError(f"{path}: expected {x_key!r} of shape (n, p) and {y_key!r} of shape (n,) "
                        f"with n > 0, got {x.shape} and {y.shape}")
    for name, array in ((x_key, x), (y_key, y)):
        if array.dtype.kind not in "biuf":
            raise DataError(f"{path}: array {name!r} has non-numeric dtype {array.dtype}")
        bad = np.argwhere(~np.isfinite(array.astype(np.float64)))
        if len(bad):
            where = f"row {bad[0][0]}" + (f", column {bad[0][1]}" if array.ndim == 2 else "")
            raise DataError(f"{path}: array {name!r}, {where}: not a finite number (NaN or "
                            f"infinity)")
    too_big = np.abs(x.astype(np.float64)) > np.finfo(np.float32).max
    if too_big.any():
        row, column = np.argwhere(too_big)[0]
        raise DataError(f"{path}: array {x_key!r}, row {row}, column {column}: {x[row, column]} "
                        f"is beyond float32's range (±3.4e38), in which deeplite stores "
                        f"features; rescale it")
    names = [f"x{j}" for j in range(x.shape[1])]
    return TabularData(x.astype(np.float32), y, names, y_key, None, str(path))
