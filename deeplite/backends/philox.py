"""Philox4x32-10 and the dropout stream in NumPy: the reference the native kernels must match.

The same generator as deeplite/kernels/dl_philox.h (which the C++ and CUDA kernels run), written
on whole arrays of counters in uint32/uint64 arithmetic. Draw layout and keep rule are described
there: element ``i`` of a mask takes word ``i % 4`` of block ``counter + i // 4`` of the stream
keyed by the seed, and is kept when that word is at least ``floor(p * 2**32)``.
"""
import numpy as np

MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
WEYL = (0x9E3779B9, 0xBB67AE85)  # the key schedule's increments
ROUNDS = 10
_WORD = 0xFFFFFFFF
_CHUNK = 4096  # blocks per pass: ~10 uint64 arrays of 32 KiB


def _rounds(c0, c1, c2, c3, key) -> np.ndarray:
    """The 10 rounds on four uint64 arrays of 32-bit words, in place; the (n, 4) output words."""
    m0, m1 = np.uint64(MULTIPLIERS[0]), np.uint64(MULTIPLIERS[1])
    low, shift = np.uint64(_WORD), np.uint64(32)
    product0, product1 = np.empty_like(c0), np.empty_like(c0)
    for round_index in range(ROUNDS):
        # The key of round r is key + r * WEYL (mod 2**32): Random123's bump before each round.
        k0 = np.uint64((int(key[0]) + round_index * WEYL[0]) & _WORD)
        k1 = np.uint64((int(key[1]) + round_index * WEYL[1]) & _WORD)
        np.multiply(c0, m0, out=product0)  # 32 x 32 -> 64 bits: never overflows uint64
        np.multiply(c2, m1, out=product1)
        # (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0), in an order that reads
        # each old word before overwriting it, and without temporaries.
        np.right_shift(product1, shift, out=c0)
        c0 ^= c1
        c0 ^= k0
        np.bitwise_and(product1, low, out=c1)
        np.right_shift(product0, shift, out=c2)
        c2 ^= c3
        c2 ^= k1
        np.bitwise_and(product0, low, out=c3)
    return np.stack([c0, c1, c2, c3], axis=1)


def philox4x32(counters, key) -> np.ndarray:
    """Philox4x32-10 of each row of ``counters`` ((n, 4) uint32) under ``key`` (2 words): (n, 4)."""
    c = np.asarray(counters, dtype=np.uint32).reshape(-1, 4).astype(np.uint64)
    return _rounds(c[:, 0].copy(), c[:, 1].copy(), c[:, 2].copy(), c[:, 3].copy(),
                   key).astype(np.uint32)


def words(count: int, key, counter) -> np.ndarray:
    """The first ``count`` 32-bit words of the stream from block ``counter`` ((low, high) words),
    as uint64."""
    start, total = int(counter[0]) | int(counter[1]) << 32, -(-count // 4)
    out = np.empty((total, 4), np.uint64)
    # Chunks of blocks small enough that the rounds' arrays stay in cache (4x faster at 1M).
    for lo in range(0, total, _CHUNK):
        blocks = np.arange(start + lo, start + min(lo + _CHUNK, total), dtype=np.uint64)
        zeros = np.zeros_like(blocks)
        out[lo:lo + blocks.size] = _rounds(blocks & np.uint64(_WORD), blocks >> np.uint64(32),
                                           zeros, zeros.copy(), key)
    return out.reshape(-1)[:count]


def keep_threshold(p: float) -> int:
    """The smallest kept word for dropout probability ``p`` in [0, 1)."""
    return int(p * 4294967296.0)  # exact: a power-of-two scaling, truncated as the C++ cast


def dropout_mask(shape: tuple, dtype, p: float, key, counter) -> np.ndarray:
    """A host mask of ``shape``: ``1 / (1 - p)`` (in ``dtype``) where kept, else 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_mask: p must be in [0, 1), got {p}")
    count = int(np.prod(shape, dtype=np.int64))
    keep = words(count, key, counter) >= np.uint64(keep_threshold(p))
    dtype = np.dtype(dtype)
    scale = np.asarray(1.0 / (1.0 - p)).astype(dtype)  # rounded once from float64, as in C++
    return np.where(keep, scale, np.zeros((), dtype)).reshape(shape)
