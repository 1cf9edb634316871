"""Datasets as in PyTorch: the ``Dataset`` protocol, ``TensorDataset`` over in-memory arrays,
``Subset``, ``ConcatDataset``, ``StackDataset`` and ``random_split``."""
import itertools
import math
import warnings
from bisect import bisect_right

import numpy as np

from ..creation import generator as global_generator
from ..tensor import Tensor


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other) -> "ConcatDataset":
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors or arrays: ``dataset[i] = (x[i], y[i], ...)``.

    ``DataLoader`` recognises it and slices whole batches from the arrays instead of gathering
    samples one by one.

    Args:
        *tensors: Tensors or NumPy arrays, all with the same first dimension (the sample axis);
            pandas DataFrames and Series too (text columns one-hot encoded, a text Series as
            class indices; see ``deeplite.data.pandas_support``), a DataFrame's column names
            kept in ``feature_names``.
    Example:
        >>> import deeplite
        >>> data = TensorDataset(deeplite.randn(100, 3), deeplite.randint(0, 2, 100))
        >>> x, y = data[0]
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. TensorDataset(x, y)")
        from .pandas_support import arrays_from_pandas  # deferred: it imports tabular, which
        # imports this module

        tensors, self.feature_names = arrays_from_pandas(tensors)
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


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    A Subset of a TensorDataset keeps the DataLoader's whole-batch gathering fast path.

    Example:
        >>> import deeplite
        >>> from deeplite.data import Subset, TensorDataset
        >>> dataset = TensorDataset(deeplite.arange(100))
        >>> first_ten = Subset(dataset, range(10))
        >>> len(first_ten), int(first_ten[9][0])
        (10, 9)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another: index ``len(first)`` is the second's sample 0.

    Example:
        >>> import deeplite
        >>> from deeplite.data import ConcatDataset, TensorDataset
        >>> train = TensorDataset(deeplite.arange(5))
        >>> extra = TensorDataset(deeplite.arange(100, 103))
        >>> both = ConcatDataset([train, extra])   # or train + extra
        >>> len(both), int(both[5][0])
        (8, 100)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} "
                             f"samples")
        which = bisect_right(self.cumulative_sizes, index)
        offset = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - offset]


class StackDataset(Dataset):
    """Datasets of the same length side by side: ``StackDataset(x, y)[i] == (x[i], y[i])``, or
    with keywords ``StackDataset(image=a, label=b)[i] == {"image": a[i], "label": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or ``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("StackDataset: give at least one dataset")
        datasets = list(args) or list(kwargs.values())
        self._length = len(datasets[0])
        if any(self._length != len(dataset) for dataset in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __len__(self) -> int:
        return self._length


def random_split(dataset, lengths, generator=None) -> list:
    """Split ``dataset`` into non-overlapping random Subsets of the given ``lengths``.

    As PyTorch: ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1
    (each ``floor(n * fraction)``, the remainder dealt one by one from the first split).

    Args:
        generator: a numpy Generator, an int seed, or None for deeplite's generator.
    Example:
        >>> import deeplite
        >>> from deeplite.data import TensorDataset, random_split
        >>> dataset = TensorDataset(deeplite.arange(10))
        >>> train, val = random_split(dataset, [0.8, 0.2], generator=0)
        >>> len(train), len(val)
        (8, 2)
        >>> sorted(train.indices + val.indices) == list(range(10))
        True
    """
    from .samplers import as_generator

    lengths = list(lengths)
    total = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for index, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {index} is not between 0 and 1")
            counts.append(int(math.floor(total * fraction)))
        for index in range(total - sum(counts)):
            counts[index % len(counts)] += 1
        for index, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {index} is 0. This might result in "
                              f"an empty dataset.", stacklevel=2)
        lengths = counts
    if sum(lengths) != total:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = (as_generator(generator) or global_generator()).permutation(total).tolist()
    return [Subset(dataset, order[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths, strict=True)]
