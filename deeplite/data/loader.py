"""DataLoader: batches of tensors on one device, with PyTorch's sampler / collate interface.

For a ``TensorDataset`` (or a ``Subset`` of one, as ``random_split`` makes) the arrays move to the
device once; each batch is then one slice (in order) or one gather by the batch's indices,
whatever the sampler. No per-sample collation: gathering samples one by one and stacking them
is what makes PyTorch's loader 3-124x slower than slicing on in-memory data (pytorch#106704).
Other datasets, or a custom ``collate_fn``, take PyTorch's per-sample path.
"""
import functools
from typing import Optional

import numpy as np

from .. import backends
from ..creation import get_default_device
from ..tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import Subset, TensorDataset
from .samplers import BatchSampler, RandomSampler, SequentialSampler, as_generator


class DataLoader:
    """Iterate over a dataset in batches of tensors on ``device``, as PyTorch's DataLoader.

    Args:
        dataset: a ``TensorDataset`` or a Subset of one (fast path: whole-batch gathering), or
            any map-style dataset (``__getitem__`` and ``__len__``: samples are collated).
        batch_size: samples per batch; None turns batching off (each sample is yielded, its
            arrays converted to tensors).
        shuffle: visit the samples in a new random order each epoch (a ``RandomSampler``).
        sampler: the order of the indices (mutually exclusive with ``shuffle``), e.g. a
            ``WeightedRandomSampler``.
        batch_sampler: yields whole lists of indices (mutually exclusive with batch_size,
            shuffle, sampler and drop_last).
        num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
            prefetch_factor, persistent_workers: accepted for PyTorch scripts; deeplite loads in
            the main process (in-memory gathering needs no workers), so they change nothing.
        collate_fn: merges a list of samples into a batch (default ``default_collate``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: a numpy Generator or int seed for shuffling; ``seed`` is the same as an int.
            With neither, draws come from the generator ``deeplite.manual_seed`` seeds. Either
            way, each epoch's order is reproducible.
        device: where batches live; None keeps the device of a TensorDataset's tensors (the
            default device otherwise).
    Yields:
        For a TensorDataset, a tuple of tensors per batch, each of shape (batch, ...); otherwise
        what ``collate_fn`` makes of the samples (for tuple samples, a list of batch tensors).
    Example:
        >>> import deeplite
        >>> from deeplite.data import TensorDataset
        >>> x, y = deeplite.randn(100, 3), deeplite.randint(0, 2, 100)
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
        >>> [tuple(xb.shape) for xb, yb in loader]
        [(64, 3), (36, 3)]
    """

    def __init__(self, dataset, batch_size=1, shuffle: bool = False, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers: bool = False,
                 seed: Optional[int] = None, device: Optional[str] = None):
        _check_options(batch_size, num_workers, timeout)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass either seed or generator, not both")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last, self.seed = bool(shuffle), bool(drop_last), seed
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        # A loader with its own generator keeps its epochs independent of other draws.
        self._rng = as_generator(seed if generator is None else generator)
        if sampler is None:
            sampler = RandomSampler(dataset, generator=self._rng) if shuffle \
                else SequentialSampler(dataset)
        if self.batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn
        source, self._index_map = _tensor_source(dataset)
        self.device = device if device is not None else _dataset_device(source)
        self._backend = backends.get(self.device)
        self._arrays: list | None = None
        if source is not None and collate_fn is None:
            # Move once: later batches are slices or gathers of arrays already on the device.
            self._arrays = [_to_device(item, self._backend) for item in source.tensors]
        default = default_collate if self.batch_size is not None or batch_sampler is not None \
            else default_convert
        self._collate = collate_fn or functools.partial(default, device=self.device)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def skip_epochs(self, count: int) -> None:
        """Advance the shuffling as if ``count`` epochs had run (to resume a run exactly).

        A loader with a ``seed`` (or ``generator``) draws each epoch's order from its own
        generator; this draws them again. A loader without one draws from deeplite's generator,
        which a training-state checkpoint restores itself.
        """
        if self._rng is None:
            return
        for _ in range(count):
            for _ in self._index_batches():
                pass

    def __len__(self) -> int:
        return len(self.batch_sampler) if self._auto_collation else len(self.sampler)

    def _index_batches(self):
        """This epoch's batches of indices, as int64 arrays."""
        batches = getattr(self.batch_sampler, "batches", None)
        if batches is not None:
            yield from batches()
        else:  # a user's batch sampler: any iterable of index lists
            for batch in self.batch_sampler:
                yield np.asarray(batch, dtype=np.int64)

    def __iter__(self):
        if not self._auto_collation:
            for index in self.sampler:
                yield self._collate(self.dataset[int(index)])
            return
        in_order = self._index_map is None and type(self.sampler) is SequentialSampler
        for indices in self._index_batches():
            if self._arrays is None:
                yield self._collate([self.dataset[int(i)] for i in indices])
            elif in_order and len(indices):
                yield self._gather(slice(int(indices[0]), int(indices[-1]) + 1))  # a view
            else:
                rows = indices if self._index_map is None else self._index_map[indices]
                yield self._gather(self._backend.asarray(rows))  # one gather per array

    def _gather(self, index) -> tuple:
        backend = self._backend
        return tuple(Tensor._wrap(backend.getitem(array, index), backend)
                     for array in self._arrays or ())

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device={self.device!r})")


def _check_options(batch_size, num_workers, timeout) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or
                                   not isinstance(batch_size, (int, np.integer)) or
                                   batch_size < 1):
        raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got "
                         f"{batch_size!r}")
    if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")


def _tensor_source(dataset) -> tuple:
    """(the TensorDataset under any Subsets, the composed index map or None), or (None, None)."""
    index_map = None
    while isinstance(dataset, Subset):
        indices = np.asarray(dataset.indices, dtype=np.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset):
        return dataset, index_map
    return None, None


def _dataset_device(source) -> str:
    """The device of a TensorDataset's first tensor, else the default device."""
    first = source.tensors[0] if source is not None else None
    return first.device if isinstance(first, Tensor) else get_default_device()


def _to_device(item, backend):
    """The raw array of ``item`` (a Tensor or NumPy array) on ``backend``, without history."""
    if isinstance(item, Tensor):
        if item.device == backend.name:
            return item.data
        item = item._backend.to_numpy(item.data)
    return backend.asarray(np.ascontiguousarray(item))
