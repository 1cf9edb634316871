"""PyTorch's indexing rules on top of NumPy's: how a user's index becomes backend indices.

Two places differ from NumPy. A Python int mixed with index tensors is a plain ``select`` in
PyTorch, applied before the advanced indexing (so ``x[1, :, idx]`` on a (2, 3, 4) tensor is (3, 2),
where NumPy gives (2, 3)); and a boolean mask must match the sizes of the dims it covers (NumPy
would too, but masks travel as their integer coordinates here, which would hide a short mask).
"""
import numbers

import numpy as np

from ..tensor import Tensor


def index_steps(index, backend, shape) -> list:
    """``index`` as a list of backend indices to apply one after another (usually one).

    Tensors become arrays, boolean masks their integer coordinates (checked against ``shape``),
    lists arrays. With both ints and index arrays, the ints go first as a separate basic step.
    """
    items = [_raw_item(item, backend) for item in (index if isinstance(index, tuple) else (index,))]
    _check_masks(items, shape)
    flat: list = []
    for item in items:
        flat.extend(item if isinstance(item, _MaskCoords) else (item,))
    has_int = any(_is_int(item) for item in flat)
    has_array = any(_is_array(item) for item in flat)
    if not (has_int and has_array):
        return [tuple(flat)]
    # PyTorch: ints select first (basic indexing, a view) ...
    basic = tuple(slice(None) if _is_array(item) else item for item in flat)
    # ... then the rest indexes the selected view; a None has made its new dim by then.
    advanced = tuple(slice(None) if item is None or isinstance(item, slice) else item
                     for item in flat if not _is_int(item))
    return [basic, advanced]


def _is_int(item) -> bool:
    return isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_))


def _is_array(item) -> bool:
    return hasattr(item, "dtype") and getattr(item, "ndim", 0) > 0 or isinstance(item, list)


def _raw_item(item, backend):
    if isinstance(item, Tensor):
        if item._backend is not backend:  # devices never mix, indices included
            raise ValueError(f"getitem: index tensor on {item.device}, indexed tensor on "
                             f"{backend.name}; call .to({backend.name!r}) on the index")
        if item.dtype.kind == "b" and item.ndim > 0:
            return _MaskCoords(item.data.nonzero(), item.shape)
        if item.dtype.kind not in "iub":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, "
                             f"got {item.dtype}")
        return item.data
    if isinstance(item, np.ndarray) and item.dtype.kind == "b" and item.ndim > 0:
        return _MaskCoords(item.nonzero(), item.shape)
    if isinstance(item, list):
        array = np.asarray(item)
        if array.dtype.kind == "b" and array.ndim > 0:
            return _MaskCoords(array.nonzero(), array.shape)
        return backend.asarray(array)
    return item


def _check_masks(items, shape) -> None:
    """Raise IndexError when a boolean mask's shape differs from the dims it covers."""
    if shape is None or not any(isinstance(item, _MaskCoords) for item in items):
        return
    consumed = [len(item.mask_shape) if isinstance(item, _MaskCoords)
                else 0 if item is None or item is Ellipsis else 1 for item in items]
    dim = 0
    for position, (item, count) in enumerate(zip(items, consumed, strict=True)):
        if item is Ellipsis:
            dim = len(shape) - sum(consumed[position + 1:])
            continue
        if isinstance(item, _MaskCoords):
            covered = tuple(shape[dim:dim + count])
            if covered != item.mask_shape:
                raise IndexError(f"getitem: the boolean mask of shape {item.mask_shape} does not "
                                 f"match the indexed dims of size {covered} (dims {dim} to "
                                 f"{dim + count - 1} of a tensor of shape {tuple(shape)})")
        dim += count


class _MaskCoords(tuple):
    """The coordinates of a boolean mask, spliced into the surrounding index tuple."""

    mask_shape: tuple

    def __new__(cls, coordinates, mask_shape):
        made = super().__new__(cls, coordinates)
        made.mask_shape = tuple(mask_shape)
        return made
