"""CSV files into ``TabularData``, strictly: a bad cell is a ``DataError`` (file, line, column).

The file is parsed by the ``csv`` module over the file object (``newline=""``), so quoted cells
may hold line breaks and only \\n, \\r and \\r\\n end a row (U+2028, NEL and form feed are text, as
in every spreadsheet). A quote that is never closed is an error, not a cell that swallows the
rest of the file. Numbers are ASCII decimal literals (``-1.5e3``): Python's ``float`` also takes
``1_000`` and non-ASCII digits, which no CSV writer means as numbers. Features are float32, so a
value beyond float32's range (``1e39``) is refused instead of becoming infinity.
"""
import csv
import itertools
import math
import re
from pathlib import Path
from typing import Optional

import numpy as np

from .table import DataError, TabularData

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
                     re.ASCII | re.IGNORECASE)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def load_csv(path, target=None, delimiter: Optional[str] = None) -> TabularData:
    """Load a CSV file with a header row; every column but ``target`` is a numeric feature.

    Args:
        path: the file, UTF-8 (a byte-order mark is allowed). Its first row names the columns.
        target: name (or 0-based index) of the target column; None takes the last column. The
            target may hold numbers or text labels (text becomes class indices, see ``classes``).
        delimiter: None guesses "," or ";" or tab from the header.
    Returns:
        TabularData with x (n, p) float32 and y (n,): float64 numbers, or int64 class indices
        of text labels.
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
    position = {name: index for index, name in enumerate(header)}  # linear in the column count
    missing = [name for name in columns if name not in position]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise DataError(f"{path}: missing feature column(s) {shown}; the model was trained on "
                        f"{len(columns)} columns named {', '.join(columns[:5])}...")
    return _numbers(path, header, rows, lines, [position[name] for name in columns])


def _check_file(path: Path) -> None:
    """A DataError unless ``path`` is a regular file (a folder or FIFO would fail or hang)."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file; give the .csv file inside it")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file (a FIFO or device); give a .csv file")


def _not_utf8(path: Path) -> DataError:
    """The DataError for a file that is not UTF-8, naming the first bad byte and its line."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:offset].count(b"\n") + 1
        return DataError(f"{path}: line {line}: byte 0x{raw[offset]:02x} at byte offset {offset} "
                         f"is not UTF-8; deeplite reads CSV files as UTF-8 (re-save the file as "
                         f"UTF-8, e.g. iconv -f latin1 -t utf-8)")
    return DataError(f"{path}: not UTF-8 text")


def _read_rows(path: Path, delimiter) -> tuple:
    """(header, rows, line numbers) of a CSV file, checking emptiness and ragged rows."""
    _check_file(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _parse(path, handle, delimiter)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _parse(path: Path, handle, delimiter) -> tuple:
    skipped, first = 0, handle.readline()
    while first and not first.strip():  # blank lines above the header
        skipped, first = skipped + 1, handle.readline()
    if not first:
        raise DataError(f"{path}: the file is empty; expected a header row and data rows")
    if delimiter is None:
        delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(itertools.chain([first], handle), delimiter=delimiter, strict=True)
    rows, lines, header, start = [], [], None, skipped + 1
    try:
        for row in reader:
            if header is None:
                header = [name.strip() for name in row]
            elif row:  # a blank line carries no data
                if len(row) != len(header):
                    raise DataError(f"{path}: line {start}: {len(row)} cells but the header has "
                                    f"{len(header)} columns; every row needs one cell per column")
                rows.append(row)
                lines.append(start)
            start = skipped + reader.line_num + 1  # where the next row begins
    except csv.Error as error:
        raise _csv_error(path, start, error) from None
    if not rows:
        raise DataError(f"{path}: the header has no data rows below it")
    return header, rows, lines


def _csv_error(path: Path, line: int, error: csv.Error) -> DataError:
    """The csv module's complaint about the row starting at ``line``, in plain words."""
    text = str(error)
    if "field larger than field limit" in text:
        return DataError(f"{path}: line {line}: a cell longer than {csv.field_size_limit()} "
                         f"characters, the csv module's limit (an unclosed quote?)")
    if "unexpected end of data" in text or "expected after" in text:
        return DataError(f"{path}: line {line}: a quoted cell is never closed properly (a \" "
                         f"without its partner); fix the quoting on that line")
    return DataError(f"{path}: line {line}: not valid CSV ({text})")


def _numbers(path, header: list, rows: list, lines: list, columns: list) -> np.ndarray:
    """The given columns of ``rows`` as float32, each cell checked by ``_number``."""
    x = np.empty((len(rows), len(columns)), dtype=np.float32)
    for i, (row, line) in enumerate(zip(rows, lines, strict=True)):
        x[i] = [_number(path, line, header[j], row[j], float32=True) for j in columns]
    return x


def _target_index(path, header: list, target) -> int:
    if len(header) < 2:
        raise DataError(f"{path}: the header names {len(header)} column(s); need at least one "
                        f"feature and a target (is the delimiter right?)")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: line 1: column name {name!r} appears twice")
        seen.add(name)
    if target is None:
        return len(header) - 1
    if isinstance(target, int):
        if not -len(header) <= target < len(header):
            raise DataError(f"{path}: target column index {target} is out of range for "
                            f"{len(header)} columns")
        return target % len(header)
    if target not in seen:
        raise DataError(f"{path}: no target column {target!r}; the columns are "
                        f"{', '.join(header)}")
    return header.index(target)


def _number(path, line: int, column: str, cell: str, float32: bool = False) -> float:
    """The cell as a finite float (within float32's range if ``float32``), or a DataError."""
    text = cell.strip()
    if not text:
        raise DataError(f"{path}: line {line}, column {column!r}: empty cell (missing value); "
                        f"fill it in or remove the row")
    if not _NUMBER.fullmatch(text):
        raise DataError(f"{path}: line {line}, column {column!r}: cannot read {cell!r} as a "
                        f"number (expected a decimal such as -1.5 or 2e3)")
    value = float(text)
    if not math.isfinite(value):
        raise DataError(f"{path}: line {line}, column {column!r}: {cell!r} is not a finite "
                        f"number (NaN or infinity)")
    if float32 and abs(value) > _FLOAT32_MAX:
        raise DataError(f"{path}: line {line}, column {column!r}: {cell!r} is beyond float32's "
                        f"range (±3.4e38), in which deeplite stores features; rescale the column")
    return value


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.fullmatch(cell.strip()))


def _target_column(path, name: str, cells: list, lines: list) -> tuple:
    """(y, classes): numbers as float64 with classes None, or all-text labels as class indices."""
    for cell, line in zip(cells, lines, strict=True):
        if not cell.strip():
            raise DataError(f"{path}: line {line}, column {name!r}: empty cell (missing label); "
                            f"fill it in or remove the row")
    numeric = [_is_number(cell) for cell in cells]
    if not any(numeric):
        # Every label is text ("yes"/"no", species names): classes in sorted order.
        labels = [cell.strip() for cell in cells]
        classes = sorted(set(labels))
        index = {label: k for k, label in enumerate(classes)}
        return np.array([index[label] for label in labels], dtype=np.int64), classes
    if not all(numeric):
        # Blame the minority: one number among text labels, or one word among numbers.
        odd = not (sum(numeric) * 2 >= len(numeric))
        row = numeric.index(odd)
        usual = "text labels" if odd else "numbers"
        raise DataError(f"{path}: line {lines[row]}, column {name!r}: {cells[row]!r} among "
                        f"{usual}; the target column must hold only numbers or only text")
    values = [_number(path, line, name, cell) for cell, line in zip(cells, lines, strict=True)]
    return np.array(values, dtype=np.float64), None
