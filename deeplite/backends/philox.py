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


def philox4x32(counters, key) -> np.ndarray:
    """Philox4x32-10 of each row of ``counters`` ((n, 4) uint32) under ``key`` (2 words): (n, 4)."""
    c = np.asarray(counters, dtype=np.uint32).reshape(-1, 4).T.astype(np.uint64)
    c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
    m0, m1 = np.uint64(MULTIPLIERS[0]), np.uint64(MULTIPLIERS[1])
    low, shift = np.uint64(_WORD), np.uint64(32)
    for round_index in range(ROUNDS):
        # The key of round r is key + r * WEYL (mod 2**32): Random123's bump before each round.
        k0 = np.uint64((int(key[0]) + round_index * WEYL[0]) & _WORD)
        k1 = np.uint64((int(key[1]) + round_index * WEYL[1]) & _WORD)
        product0, product1 = m0 * c0, m1 * c2  # 32 x 32 -> 64 bits: never overflows uint64
        c0, c1, c2, c3 = ((product1 >> shift) ^ c1 ^ k0, product1 & low,
                          (product0 >> shift) ^ c3 ^ k1, product0 & low)
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def words(count: int, key, counter) -> np.ndarray:
    """The first ``count`` 32-bit words of the stream from block ``counter`` ((low, high) words)."""
    start = int(counter[0]) | int(counter[1]) << 32
    blocks = np.arange(start, start + -(-count // 4), dtype=np.uint64)
    counters = np.zeros((blocks.size, 4), np.uint32)
    counters[:, 0] = (blocks & np.uint64(_WORD)).astype(np.uint32)
    counters[:, 1] = (blocks >> np.uint64(32)).astype(np.uint32)
    return philox4x32(counters, key).reshape(-1)[:count]


def keep_threshold(p: float) -> int:
    """The smallest kept word for dropout probability ``p`` in [0, 1)."""
    return int(p * 4294967296.0)  # exact: a power-of-two scaling, truncated as the C++ cast


def dropout_mask(shape: tuple, dtype, p: float, key, counter) -> np.ndarray:
    """A host mask of ``shape``: ``1 / (1 - p)`` (in ``dtype``) where kept, else 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_mask: p must be in [0, 1), got {p}")
    count = int(np.prod(shape, dtype=np.int64))
    keep = words(count, key, counter) >= np.uint32(keep_threshold(p))
    dtype = np.dtype(dtype)
    scale = np.asarray(1.0 / (1.0 - p)).astype(dtype)  # rounded once from float64, as in C++
    return np.where(keep, scale, np.zeros((), dtype)).reshape(shape)
