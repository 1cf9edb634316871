"""Datasets: the ``Dataset`` protocol and ``TensorDataset`` over in-memory arrays."""
import numpy as np

from ..tensor import Tensor


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors or arrays: ``dataset[i] = (x[i], y[i], ...)``.

    ``DataLoader`` recognises it and slices whole batches from the arrays instead of gathering
    samples one by one.

    Args:
        *tensors: Tensors or NumPy arrays, all with the same first dimension (the sample axis).
    Example:
        >>> import deeplite
        >>> data = TensorDataset(deeplite.randn(100, 3), deeplite.randint(0, 2, 100))
        >>> x, y = data[0]
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. TensorDataset(x, y)")
        for item in tensors:
            if not isinstance(item, (Tensor, np.ndarray)):
                raise TypeError(f"TensorDataset: expected Tensors or NumPy arrays, got "
                                f"{type(item).__name__}")
            if item.ndim == 0:
                raise ValueError("TensorDataset: a 0-d tensor has no sample axis; reshape it to "
                                 "(1,)")
        lengths = [item.shape[0] for item in tensors]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(tuple(item.shape)) for item in tensors)
            raise ValueError(f"TensorDataset: tensors of shapes {shapes} differ in their first "
                             f"dimension (the number of samples); they must all have {lengths[0]}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(item[index] for item in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(item.shape)) for item in self.tensors)
        return f"TensorDataset({shapes})"
