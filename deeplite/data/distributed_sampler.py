"""DistributedSampler: each rank's share of a dataset's indices, as ``torch.utils.data``'s.

Every rank draws the same permutation (seeded by ``seed + epoch``), pads it by wrapping around
to a multiple of the number of ranks (or drops the tail with ``drop_last``), and keeps every
``num_replicas``-th index from its rank on. So every rank runs the same number of equal batches,
and batch k of all ranks together is positions [k*B, (k+1)*B) of the padded permutation, B being
the global batch (the local batch times the number of ranks).
"""
import math
from typing import Optional

import numpy as np

from .samplers import Sampler


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"DistributedSampler: {name} must be an integer >= {minimum}, "
                         f"got {value!r}")
    return int(value)


class DistributedSampler(Sampler):
    """Yield this rank's indices into ``dataset`` for the current epoch.

    Args:
        dataset: anything with ``len()``.
        num_replicas: the number of ranks (default: ``deeplite.distributed.world_size()``).
        rank: this rank (default: ``deeplite.distributed.rank()``).
        shuffle: a new permutation each epoch (call ``set_epoch`` before each one).
        seed: seeds the permutation together with the epoch; the same on every rank.
        drop_last: drop the tail that does not divide evenly, instead of padding by wrapping.
    Example:
        >>> from deeplite.data import DistributedSampler
        >>> sampler = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
        >>> list(sampler)             # 10 padded to 12 by wrapping around: 1, 4, 7, then 0
        [1, 4, 7, 0]
        >>> for epoch in range(2):
        ...     sampler.set_epoch(epoch)  # with shuffle=True, a new order each epoch
        ...     rows = sampler.epoch_indices()  # what DataLoader(..., sampler=sampler) reads
    """

    def __init__(self, dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed

            num_replicas = distributed.world_size() if num_replicas is None else num_replicas
            rank = distributed.rank() if rank is None else rank
        num_replicas = _count("num_replicas", num_replicas, 1)
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")  # PyTorch's message
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), _count("seed", seed, 0), \
            bool(drop_last)
        self.epoch = 0
        size = len(dataset)
        if self.drop_last and size % num_replicas:
            # Drop the tail so that every rank gets the same amount of data.
            self.num_samples = math.ceil((size - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(size / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which reseeds the shuffle: call it before each epoch's loop."""
        self.epoch = _count("epoch", epoch, 0)

    def global_order(self) -> np.ndarray:
        """All ranks' indices of this epoch, padded or cut to ``total_size``, before the split."""
        size = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(size)
        else:
            order = np.arange(size)
        if self.drop_last:
            return order[:self.total_size]
        padding = self.total_size - size
        if padding and size:
            order = np.concatenate([order, np.resize(order, padding)])  # wraps around, repeating
        return order

    def epoch_indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array (the same each call
        until ``set_epoch``)."""
        return self.global_order()[self.rank:self.total_size:self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
