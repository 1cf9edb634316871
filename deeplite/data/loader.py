"""DataLoader: batches of tensors on one device, sliced whole from in-memory arrays.

For a ``TensorDataset`` the arrays move to the device once; each batch is then one slice (in
order) or one gather by a slice of a per-epoch permutation (shuffled). No per-sample collation:
gathering samples one by one and stacking them is what makes PyTorch's loader 3-124x slower than
slicing on in-memory data (pytorch#106704). Other datasets fall back to per-sample stacking.
"""
import math

import numpy as np

from .. import backends
from ..creation import generator, get_default_device
from ..tensor import Tensor
from .dataset import TensorDataset


class DataLoader:
    """Iterate over a dataset in batches of tensors on ``device``.

    Args:
        dataset: a ``TensorDataset`` (fast path: whole-batch slicing) or any ``Dataset``.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: visit the samples in a new random order each epoch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: seed of this loader's own generator; None draws from the generator that
            ``deeplite.manual_seed`` seeds. Either way, each epoch's order is reproducible.
        device: where batches live; None keeps the device of the dataset's tensors (the default
            device for NumPy arrays).
    Yields:
        A tuple of tensors per batch, each of shape (batch, ...) (a single tensor when the
        dataset's samples are single arrays).
    Example:
        >>> import deeplite
        >>> from deeplite.data import TensorDataset
        >>> x, y = deeplite.randn(100, 3), deeplite.randint(0, 2, 100)
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
        >>> [tuple(xb.shape) for xb, yb in loader]
        [(64, 3), (36, 3)]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int = None, device: str = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        # A loader with a seed owns its generator, so its epochs do not depend on other draws.
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.device = device if device is not None else _dataset_device(dataset)
        self._backend = backends.get(self.device)
        self._arrays = None
        if isinstance(dataset, TensorDataset):
            # Move once: later batches are slices of arrays already on the device.
            self._arrays = [_to_device(item, self._backend) for item in dataset.tensors]

    def skip_epochs(self, count: int) -> None:
        """Advance the shuffling as if ``count`` epochs had run (to resume a run exactly).

        A loader with a ``seed`` draws one permutation per epoch from its own generator; this
        draws them again. A loader without one draws from deeplite's generator, which a
        training-state checkpoint restores itself.
        """
        if self.shuffle and self._rng is not None:
            for _ in range(count):
                self._rng.permutation(len(self.dataset))

    def __len__(self) -> int:
        count = len(self.dataset)
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)

    def __iter__(self):
        count = len(self.dataset)
        order = None
        if self.shuffle:
            order = (self._rng or generator()).permutation(count)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, count)
            if self._arrays is not None:
                yield self._slice(order, start, stop)
            else:
                indices = range(start, stop) if order is None else order[start:stop]
                yield self._collate([self.dataset[int(i)] for i in indices])

    def _slice(self, order, start: int, stop: int) -> tuple:
        backend = self._backend
        if order is None:
            index = slice(start, stop)  # in order: a view, no copy
        else:
            index = backend.asarray(order[start:stop])  # one gather per array
        return tuple(Tensor._wrap(backend.getitem(array, index), backend) for array in self._arrays)

    def _collate(self, samples: list):
        """Stack per-sample fields into batch tensors (the slow path for generic datasets)."""
        single = not isinstance(samples[0], (tuple, list))
        rows = [(sample,) for sample in samples] if single else samples
        fields = []
        for column in zip(*rows):
            stacked = np.stack([np.asarray(value) for value in column])
            fields.append(Tensor._wrap(self._backend.asarray(stacked), self._backend))
        return fields[0] if single else tuple(fields)

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device={self.device!r})")


def _dataset_device(dataset) -> str:
    """The device of the dataset's first tensor, else the default device."""
    first = getattr(dataset, "tensors", (None,))[0]
    return first.device if isinstance(first, Tensor) else get_default_device()


def _to_device(item, backend):
    """The raw array of ``item`` (a Tensor or NumPy array) on ``backend``, without history."""
    if isinstance(item, Tensor):
        if item.device == backend.name:
            return item.data
        item = item._backend.to_numpy(item.data)
    return backend.asarray(np.ascontiguousarray(item))
