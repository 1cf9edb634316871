"""Samplers as in PyTorch: which sample indices a DataLoader visits, and in which batches.

``generator`` arguments take a ``numpy.random.Generator`` (or an int seed); None draws from the
generator that ``deeplite.manual_seed`` seeds, so a seeded script is reproducible. Each sampler
also hands the loader a whole epoch's indices as one array (``epoch_indices``), which lets a
``TensorDataset`` gather each batch in one call instead of sample by sample.
"""
import math
from typing import Optional

import numpy as np

from ..creation import generator as global_generator
from ..tensor import Tensor


def as_generator(generator):
    """A NumPy Generator from None (deeplite's), an int seed, or a Generator itself."""
    if generator is None:
        return None
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(generator).__name__}")


def _positive_int(name: str, value) -> int:
    """``value`` as an int, or PyTorch's ValueError for anything but a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")
    return int(value)


def _boolean(name: str, value, error=ValueError) -> bool:
    """``value`` itself, or PyTorch's error for a non-bool."""
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")
    return value


class Sampler:
    """Base class: iterate over sample indices; ``len()`` is how many."""

    def __iter__(self):
        return iter(self.epoch_indices().tolist())

    def epoch_indices(self) -> np.ndarray:
        """This epoch's indices as one int64 array (a new draw each call for random samplers)."""
        return np.fromiter(iter(self), dtype=np.int64)

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def epoch_indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the samples each epoch, as PyTorch's RandomSampler.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices independently (with repeats).
        num_samples: how many per epoch (default ``len(data_source)``); without replacement more
            than that concatenates several permutations, as PyTorch does.
        generator: a numpy Generator, an int seed, or None for deeplite's generator.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: Optional[int] = None,
                 generator=None):
        self.data_source = data_source
        self.replacement = _boolean("replacement", replacement, TypeError)
        self._num_samples = num_samples
        self.generator = as_generator(generator)
        _positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        """Indices drawn per epoch."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def epoch_indices(self) -> np.ndarray:
        rng = self.generator or global_generator()
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, count, dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(count // n)]
        if count % n:
            parts.append(rng.permutation(n)[:count % n])
        return np.concatenate(parts).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch (without replacement)."""

    def __init__(self, indices, generator=None):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.generator = as_generator(generator)

    def epoch_indices(self) -> np.ndarray:
        rng = self.generator or global_generator()
        return self.indices[rng.permutation(len(self.indices))]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``, as PyTorch's
    (e.g. to oversample rare classes: weight each sample by 1 / its class count).

    Args:
        weights: one non-negative weight per sample (need not sum to 1).
        num_samples: indices per epoch.
        replacement: draw with replacement (default); without, each index appears at most once.
        generator: a numpy Generator, an int seed, or None for deeplite's generator.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        num_samples = _positive_int("num_samples", num_samples)
        _boolean("replacement", replacement)
        if isinstance(weights, Tensor):
            weights = weights.detach().numpy()
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{weights.shape}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} distinct indices "
                             f"from {np.count_nonzero(weights)} with non-zero weight; pass "
                             f"replacement=True or a smaller num_samples")
        self.weights, self.num_samples = weights, num_samples
        self.replacement = replacement
        self.generator = as_generator(generator)

    def epoch_indices(self) -> np.ndarray:
        rng = self.generator or global_generator()
        return rng.choice(len(self.weights), self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``), as PyTorch's.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.sampler, self.batch_size = sampler, _positive_int("batch_size", batch_size)
        self.drop_last = _boolean("drop_last", drop_last)

    def batches(self):
        """This epoch's batches as int64 arrays."""
        if hasattr(self.sampler, "epoch_indices"):
            order = self.sampler.epoch_indices()
        else:  # any iterable of indices, e.g. a user's own sampler
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __iter__(self):
        for batch in self.batches():
            yield batch.tolist()

    def __len__(self) -> int:
        count = len(self.sampler)
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)
