"""Per-sample collation as PyTorch's ``default_collate`` / ``default_convert``.

Only datasets that are not (subsets of) a ``TensorDataset`` go through here: those are gathered
whole by the DataLoader's fast path.
"""
import collections.abc
from typing import Any, Optional

import numpy as np

from ..creation import tensor
from ..ops import stack
from ..tensor import Tensor


def _is_text_array(array: np.ndarray) -> bool:
    return array.dtype.kind in "USO"


def default_collate(batch, device: Optional[str] = None):
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors and NumPy arrays are stacked along a new first axis; Python floats become a float64
    Tensor, ints an int64 Tensor (bools a bool Tensor); strings stay a list; dicts, namedtuples,
    tuples and lists are collated field by field (a tuple sample gives a list of batches, as in
    PyTorch). ``device`` places the new tensors (the default device when None).

    Example:
        >>> import numpy as np
        >>> from deeplite.data import default_collate
        >>> x, y = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
        >>> x.shape, y.shape
        ((2, 3), (2,))
        >>> x.tolist(), y.tolist()
        ([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], [1, 0])
    """
    elem = batch[0]
    elem_type: Any = type(elem)  # containers are rebuilt as their own type where it can be
    if isinstance(elem, Tensor):
        return stack([item.to(device) if device else item for item in batch])
    if isinstance(elem, np.ndarray) or isinstance(elem, (np.number, np.bool_)):
        arrays = [np.asarray(item) for item in batch]
        if _is_text_array(arrays[0]):
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, "
                            f"numbers, dicts or lists; found {arrays[0].dtype}")
        return tensor(np.stack(arrays), device=device)
    if isinstance(elem, bool):
        return tensor(np.array(batch, dtype=np.bool_), device=device)
    if isinstance(elem, float):
        return tensor(np.array(batch, dtype=np.float64), device=device)
    if isinstance(elem, int):
        return tensor(np.array(batch, dtype=np.int64), device=device)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: default_collate([sample[key] for sample in batch], device) for key in elem}
        try:
            return elem_type(merged)
        except TypeError:  # a mapping type that cannot be built from a dict
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        fields = zip(*batch, strict=True)
        return elem_type(*(default_collate(field, device) for field in fields))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(field, device) for field in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return collated
        try:
            return elem_type(collated)
        except TypeError:
            return collated
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


def default_convert(data, device: Optional[str] = None):
    """Turn NumPy arrays (also inside dicts, tuples and lists) into Tensors, leaving the rest,
    as PyTorch's ``default_convert`` (used when ``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data.to(device) if device else data
    if isinstance(data, (np.ndarray, np.number, np.bool_)):
        array = np.asarray(data)
        return data if _is_text_array(array) else tensor(array, device=device)
    data_type: Any = type(data)
    if isinstance(data, collections.abc.Mapping):
        return data_type({key: default_convert(value, device) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return data_type(*(default_convert(value, device) for value in data))
    if isinstance(data, tuple):
        return [default_convert(value, device) for value in data]
    if isinstance(data, list):
        return [default_convert(value, device) for value in data]
    return data
