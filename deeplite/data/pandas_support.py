"""pandas input for deeplite.data: DataFrames and Series wherever arrays are accepted.

pandas is never imported here: objects are recognised by their type's module, so
``import deeplite.data`` works without pandas. Numeric and boolean columns become numbers as
they are; text and categorical feature columns are one-hot encoded (``"colour=red"``, ...) or
label-encoded (sorted labels -> 0..K-1, the CLI's rule for text targets); a text target becomes
class indices with ``classes`` kept, exactly as ``load_csv`` does. Missing values raise
``DataError`` naming the column and row, as the CSV loader does.
"""
from typing import Any

import numpy as np

from .csv_reader import _target_column
from .table import DataError, TabularData

ENCODINGS = ("onehot", "label")


def is_pandas(obj) -> bool:
    """Whether ``obj`` is a pandas DataFrame or Series (without importing pandas)."""
    return type(obj).__module__.split(".")[0] == "pandas" and hasattr(obj, "to_numpy")


def _is_text(column) -> bool:
    return column.dtype.kind in "OUS" or str(column.dtype) in ("category", "string", "str")


def _checked(column, name: str, source: str):
    missing = column.isna().to_numpy()
    if missing.any():
        row = column.index[int(np.argmax(missing))]
        raise DataError(f"{source}: column {name!r}, row {row!r}: missing value (NaN/None); "
                        "fill it in or drop the row")
    return column


def _labels(column, name: str, source: str) -> tuple:
    """(class indices, sorted labels) of a text column: the CLI's text-target rule."""
    cells = [str(value) for value in _checked(column, name, source)]
    lines = list(range(2, len(cells) + 2))  # as the CSV line the row would be on
    codes, classes = _target_column(source, name, cells, lines)
    if classes is None:  # numbers stored as text ("1", "2"): labels too, in sorted order
        classes = sorted(set(cells))
        codes = np.searchsorted(classes, cells)
    return codes.astype(np.int64), classes


def features(frame, categories: str = "onehot", source: str = "DataFrame") -> tuple:
    """(x float32 (n, p), feature names) of a DataFrame, text columns encoded by ``categories``."""
    if categories not in ENCODINGS:
        raise ValueError(f"categories must be 'onehot' or 'label', got {categories!r}")
    blocks, names = [], []
    for name in frame.columns:
        column = frame[name]
        if _is_text(column):
            codes, classes = _labels(column, str(name), source)
            if categories == "label":
                blocks.append(codes[:, None].astype(np.float32))
                names.append(str(name))
            else:
                blocks.append((codes[:, None] == np.arange(len(classes))).astype(np.float32))
                names.extend(f"{name}={label}" for label in classes)
            continue
        values = _checked(column, str(name), source).to_numpy()
        if values.dtype.kind not in "biuf":
            raise DataError(f"{source}: column {name!r} of dtype {column.dtype} is neither "
                            "numeric nor text; convert it first")
        blocks.append(values.astype(np.float32)[:, None])
        names.append(str(name))
    if not blocks:
        raise DataError(f"{source}: the DataFrame has no feature columns")
    return np.hstack(blocks), names


def target(series, source: str = "Series") -> tuple:
    """(y, classes) of a Series: text -> class indices and sorted labels; numbers as float64."""
    name = str(series.name) if series.name is not None else "target"
    if _is_text(series):
        return _labels(series, name, source)
    values = _checked(series, name, source).to_numpy()
    if values.dtype.kind not in "biuf":
        raise DataError(f"{source}: target {name!r} of dtype {series.dtype} is neither numeric "
                        "nor text")
    return values.astype(np.int64 if values.dtype.kind in "biu" else np.float64), None


def from_pandas(frame, target_column=None, y=None, categories: str = "onehot") -> TabularData:
    """A ``TabularData`` from a DataFrame (feature names kept, text columns encoded).

    Args:
        frame: the DataFrame of features (and the target, when ``target_column`` names it).
        target_column: the column holding the target, removed from the features.
        y: the target as a Series or array instead (at most one of the two).
        categories: how text/categorical feature columns are encoded: "onehot" (default, one
            column per label, named ``"col=label"``) or "label" (sorted labels -> 0..K-1).
    Returns:
        TabularData with x (n, p) float32, y (class indices with ``classes`` for a text target),
        ``feature_names`` and ``target_name``.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"],
        ...                       "label": ["yes", "no", "yes"]})
        >>> from deeplite.data import from_pandas
        >>> data = from_pandas(frame, target_column="label")
        >>> data.feature_names, data.classes, data.y.tolist()
        (['size', 'colour=blue', 'colour=red'], ['no', 'yes'], [1, 0, 1])
    """
    if not is_pandas(frame) or not hasattr(frame, "columns"):
        raise TypeError(f"from_pandas: expected a pandas DataFrame, got {type(frame).__name__}")
    if target_column is not None and y is not None:
        raise ValueError("from_pandas: give target_column or y, not both")
    target_name = "target"
    if target_column is not None:
        if target_column not in frame.columns:
            raise DataError(f"DataFrame: no target column {target_column!r}; the columns are "
                            f"{', '.join(map(str, frame.columns))}")
        y, frame, target_name = frame[target_column], frame.drop(columns=[target_column]), \
            str(target_column)
    x, names = features(frame, categories)
    classes: Any = None  # labels of a text target
    if y is None:
        y_values = np.zeros(len(frame))
    elif is_pandas(y):
        y_values, classes = target(y)
        target_name = target_name if y.name is None else str(y.name)
    else:
        y_values = np.asarray(y)
    if len(y_values) != len(x):
        raise ValueError(f"from_pandas: {len(x)} rows of features but {len(y_values)} targets")
    return TabularData(x, y_values, names, target_name, classes, "DataFrame")


def arrays_from_pandas(items) -> tuple:
    """(``items`` with DataFrames/Series as NumPy arrays, the first DataFrame's feature names)."""
    names, arrays = None, []
    for item in items:
        if is_pandas(item) and hasattr(item, "columns"):
            x, frame_names = features(item)
            names = frame_names if names is None else names
            arrays.append(x)
        else:
            arrays.append(target(item)[0] if is_pandas(item) else item)
    return tuple(arrays), names
