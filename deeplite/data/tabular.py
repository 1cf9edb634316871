"""Tabular data: a feature matrix and a target, loaded from CSV/NPZ, split and standardised.

Loading is strict: a non-numeric cell, a missing value, NaN or infinity, a ragged row, a missing
target column or an empty file raises ``DataError`` naming the file, the line and the column.
Nothing is silently dropped or imputed, because a model trained on quietly altered data is wrong
in ways nobody sees.
"""
import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .dataset import TensorDataset


class DataError(ValueError):
    """Bad input data; the message names the file, the line (1-based, as in the file) and column."""


@dataclass
class TabularData:
    """Features ``x`` (n, p) float32 and target ``y`` (n,), with names for reports and predictions.

    ``classes`` holds the original label of each class index when ``y`` holds class indices
    (e.g. ["malignant", "benign"]); it is None for a numeric target that was not encoded.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list
    target_name: str = "target"
    classes: list = None
    source: str = ""
    extras: dict = field(default_factory=dict)  # e.g. the true means of a synthetic dataset

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return self.x.shape[1]

    def subset(self, index) -> "TabularData":
        """The rows selected by ``index`` (an index array or a boolean mask)."""
        return replace(self, x=self.x[index], y=self.y[index])

    def to_dataset(self) -> TensorDataset:
        """A ``TensorDataset(x, y)`` over the same arrays (ready for a ``DataLoader``)."""
        return TensorDataset(self.x, self.y)


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


def load_csv(path, target=None, delimiter: str = None) -> TabularData:
    """Load a CSV file with a header row; every column but ``target`` is a numeric feature.

    Args:
        path: the file. Its first row names the columns.
        target: name (or 0-based index) of the target column; None takes the last column. The
            target may hold numbers or text labels (text becomes class indices, see ``classes``).
        delimiter: None guesses "," or ";" or tab from the header.
    Returns:
        TabularData with x (n, p) float32 and y (n,).
    Raises:
        DataError naming the file, line and column of the first bad cell.
    """
    path = Path(path)
    header, rows, lines = _read_rows(path, delimiter)
    target_index = _target_index(path, header, target)
    features = [j for j in range(len(header)) if j != target_index]
    x = _numbers(path, header, rows, lines, features)
    y, classes = _target_column(path, header[target_index], [row[target_index] for row in rows],
                                lines)
    return TabularData(x, y, [header[j] for j in features], header[target_index], classes,
                       str(path))


def load_features_csv(path, columns: list) -> np.ndarray:
    """The named ``columns`` of a CSV file as a float32 (n, len(columns)) matrix, in that order.

    Other columns (a target, an id) are ignored; a missing column raises DataError naming it.
    """
    path = Path(path)
    header, rows, lines = _read_rows(path, None)
    missing = [name for name in columns if name not in header]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise DataError(f"{path}: missing feature column(s) {shown}; the model was trained on "
                        f"{len(columns)} columns named {', '.join(columns[:5])}...")
    return _numbers(path, header, rows, lines, [header.index(name) for name in columns])


def _read_rows(path: Path, delimiter) -> tuple:
    """(header, rows, line numbers) of a CSV file, checking emptiness and ragged rows."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        text = handle.read()
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected a header row and data rows")
    if delimiter is None:
        header_line = text.splitlines()[0]
        delimiter = max([",", ";", "\t"], key=header_line.count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    rows, lines = [], []
    for row in reader:
        if not row:
            continue  # a blank line carries no data
        if len(row) != len(header):
            raise DataError(f"{path}: line {reader.line_num}: {len(row)} cells but the header has "
                            f"{len(header)} columns; every row needs one cell per column")
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise DataError(f"{path}: the header has no data rows below it")
    return header, rows, lines


def _numbers(path, header: list, rows: list, lines: list, columns: list) -> np.ndarray:
    """The given columns of ``rows`` as float32, each cell checked by ``_number``."""
    x = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, (row, line) in enumerate(zip(rows, lines)):
        for k, j in enumerate(columns):
            x[i, k] = _number(path, line, header[j], row[j])
    return x.astype(np.float32)


def _target_index(path, header: list, target) -> int:
    if len(header) < 2:
        raise DataError(f"{path}: the header names {len(header)} column(s); need at least one "
                        f"feature and a target (is the delimiter right?)")
    if len(set(header)) != len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise DataError(f"{path}: line 1: column name {duplicate!r} appears twice")
    if target is None:
        return len(header) - 1
    if isinstance(target, int):
        if not -len(header) <= target < len(header):
            raise DataError(f"{path}: target column index {target} is out of range for "
                            f"{len(header)} columns")
        return target % len(header)
    if target not in header:
        raise DataError(f"{path}: no target column {target!r}; the columns are "
                        f"{', '.join(header)}")
    return header.index(target)


def _number(path, line: int, column: str, cell: str) -> float:
    """The cell as a finite float, or a DataError naming where it is."""
    text = cell.strip()
    if not text:
        raise DataError(f"{path}: line {line}, column {column!r}: empty cell (missing value); "
                        f"fill it in or remove the row")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path}: line {line}, column {column!r}: cannot read {cell!r} as a "
                        f"number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}: line {line}, column {column!r}: {cell!r} is not a finite "
                        f"number (NaN or infinity)")
    return value


def _target_column(path, name: str, cells: list, lines: list) -> tuple:
    """(y, classes): numbers as float64 with classes None, or all-text labels as class indices."""
    numeric = []
    for cell in cells:
        try:
            numeric.append(float(cell))
        except ValueError:
            numeric.append(None)
    if all(value is None for value in numeric) and all(cell.strip() for cell in cells):
        # Every label is text ("yes"/"no", species names): classes in sorted order.
        labels = [cell.strip() for cell in cells]
        classes = sorted(set(labels))
        index = {label: k for k, label in enumerate(classes)}
        return np.array([index[label] for label in labels], dtype=np.int64), classes
    values = [_number(path, line, name, cell) for cell, line in zip(cells, lines)]
    return np.array(values, dtype=np.float64), None


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
    names = [f"x{j}" for j in range(x.shape[1])]
    return TabularData(x.astype(np.float32), y, names, y_key, None, str(path))
