"""Diagonals, triangles and coordinate grids, as in PyTorch: diagonal, diag, diag_embed, tril,
triu, meshgrid. Composed from transpose, getitem, IndexAdd, broadcast_to and where, so their
gradients come from those.
"""
import numpy as np

from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .arithmetic import where
from .movement import GetItem, IndexAdd, Transpose, broadcast_to


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the matrices in dims ``dim1``/``dim2`` (above it for offset > 0), as a
    last dim (as ``torch.diagonal``)."""
    first, second = (normalize_dim(d, x.ndim, "diagonal") for d in (dim1, dim2))
    if first == second:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {first}")
    rest = [d for d in range(x.ndim) if d not in (first, second)]
    moved = Transpose.apply(x, axes=tuple(rest + [first, second]))
    rows, cols = x.shape[first], x.shape[second]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    start_row, start_col = (0, offset) if offset >= 0 else (-offset, 0)
    b = x._backend
    row_index = b.arange(start_row, start_row + length, 1, np.int64)
    col_index = b.arange(start_col, start_col + length, 1, np.int64)
    return GetItem.apply(moved, index=(Ellipsis, row_index, col_index))


_diagonal_of = diagonal  # diag's argument is called diagonal, as in PyTorch


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D x as the ``diagonal``-th diagonal of a square matrix, or a 2-D x's diagonal as 1-D
    (as ``torch.diag``)."""
    if x.ndim == 2:
        return _diagonal_of(x, diagonal)
    if x.ndim != 1:
        raise ShapeError(f"diag: needs a 1-D or 2-D tensor, got shape {x.shape}")
    n = x.shape[0] + abs(diagonal)
    b = x._backend
    steps = b.arange(0, x.shape[0], 1, np.int64)
    rows = steps if diagonal >= 0 else b.add(steps, -diagonal)
    cols = b.add(steps, diagonal) if diagonal >= 0 else steps
    return IndexAdd.apply(x, shape=(n, n), index=(rows, cols))


def diag_embed(x: Tensor) -> Tensor:
    """Each last-dim vector of x as the diagonal of a matrix: shape (..., n) -> (..., n, n)."""
    n = x.shape[-1]
    b = x._backend
    steps = b.arange(0, n, 1, np.int64)
    return IndexAdd.apply(x, shape=x.shape + (n,), index=(Ellipsis, steps, steps))


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (as ``torch.meshgrid``): "ij" (matrix, the default)
    or "xy" (Cartesian: the first two grids' dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-d or 1-D tensors, got shape {t.shape}")
    vectors = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(t.shape[0] for t in vectors)
    grids = [broadcast_to(t.reshape([-1 if k == i else 1 for k in range(len(shape))]), shape)
             for i, t in enumerate(vectors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def _triangle(x: Tensor, diagonal: int, lower: bool, name: str) -> Tensor:
    if x.ndim < 2:
        raise ShapeError(f"{name}: needs a tensor with at least 2 dims, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    keep = np.tri(rows, cols, diagonal, dtype=bool) if lower else \
        ~np.tri(rows, cols, diagonal - 1, dtype=bool)
    mask = Tensor._wrap(x._backend.asarray(keep), x._backend)
    return where(mask, x, x.dtype.type(0).item())


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of each matrix (on and below the ``diagonal``-th), the rest 0."""
    return _triangle(x, diagonal, True, "tril")


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of each matrix (on and above the ``diagonal``-th), the rest 0."""
    return _triangle(x, diagonal, False, "triu")
