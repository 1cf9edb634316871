"""TensorBoard histograms computed where the values live, then copied to the host once.

A deeplite Tensor's array is NumPy on ``numpy``/``cpu`` and CuPy on ``cuda``; both have
``histogram``, so the bucket counts and the statistics are computed by the array's own library
and only they (about 1,550 numbers for the default bins, not the tensor) cross to the host, in
one copy. The buckets are then trimmed as TensorBoard's histogram.cc does (the same steps as
tensorboardX's and torch's ``make_histogram``), so all three write the same proto.
"""
import importlib

import numpy as np

STATISTICS = 5  # finite count, min, max, sum, sum of squares, stacked before the counts


def array_module(array):
    """numpy for NumPy arrays, cupy for CuPy arrays: the library that owns ``array``."""
    return importlib.import_module(type(array).__module__.split(".")[0])


def counts_and_statistics(array, bins) -> tuple:
    """(counts, limits, num, min, max, sum, sum_squares) on the host, over the finite values.

    ``bins`` is a sequence of bucket edges, or a NumPy bin rule such as "auto" (computed on the
    host: CuPy has no bin rules). Non-finite values fall outside every bucket and every statistic.
    """
    xp = array_module(array)
    if isinstance(bins, str) and xp is not np:
        array = array.get()  # CuPy's histogram takes edges only; a bin rule needs NumPy
        xp = np
    flat = array.reshape(-1).astype(xp.float64)
    finite = xp.isfinite(flat)
    if isinstance(bins, str):
        counts, limits = np.histogram(flat[finite], bins=bins)
        limits = xp.asarray(limits)
    else:
        limits = xp.asarray(bins, dtype=xp.float64)  # no copy when given such an array
        counts, _ = xp.histogram(flat, bins=limits)  # NaN and ±inf fall outside the edges
    if xp is np and finite.all():
        # On the host the check is free and spares three masked copies (the common case).
        count, low, high, kept = flat.size, flat.min(), flat.max(), flat
    else:  # masked, so a GPU need not stop to ask whether any value is non-finite
        count, kept = finite.sum(), xp.where(finite, flat, 0.0)
        low, high = xp.where(finite, flat, xp.inf).min(), xp.where(finite, flat, -xp.inf).max()
    # The sum of squares is not BLAS's dot: that may wake a thread pool for a 1-D product,
    # which costs milliseconds on a busy machine.
    statistics = xp.stack([xp.asarray(count, dtype=xp.float64), low, high, kept.sum(),
                           (kept * kept).sum()])
    host = xp.concatenate([statistics, counts.astype(xp.float64), limits])
    host = host.get() if xp is not np else host  # the one device-to-host copy
    counts = host[STATISTICS:STATISTICS + len(counts)].astype(np.int64)
    num, low, high, total, squares = host[:STATISTICS]
    return counts, host[STATISTICS + len(counts):], int(num), low, high, total, squares


def histogram_proto(array, bins, max_bins=None):
    """A tensorboardX ``HistogramProto`` of ``array``'s finite values; None if it has none."""
    from tensorboardX.proto.summary_pb2 import HistogramProto  # type: ignore[import-untyped]

    counts, limits, num, low, high, total, squares = counts_and_statistics(array, bins)
    if num == 0:
        return None
    if max_bins is not None and len(counts) > max_bins:
        # Merge neighbouring buckets, padding the last group with empty ones (histogram.cc).
        group = len(counts) // max_bins
        if len(counts) % group:
            counts = np.pad(counts, (0, group - len(counts) % group))
        counts = counts.reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    # Keep the buckets from the first to the last non-empty one. TensorBoard stores only right
    # edges, so one bucket more on the left carries the leftmost edge.
    occupied = np.cumsum(counts > 0)
    start, end = np.searchsorted(occupied, [0, occupied[-1] - 1], side="right")
    end = int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    return HistogramProto(min=low, max=high, num=num, sum=total, sum_squares=squares,
                          bucket_limit=limits.tolist(), bucket=counts.tolist())


def sums_of_squares(arrays: list) -> list:
    """Σx² of each array (float64), computed on the arrays' device and copied to the host once."""
    if not arrays:
        return []
    xp = array_module(arrays[0])
    sums = xp.stack([(array * array).sum(dtype=xp.float64) for array in arrays])
    return (sums.get() if xp is not np else sums).tolist()
