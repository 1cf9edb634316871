"""Deterministic scatter-add: sort the targets, then sum each run of equal targets in one thread.

Atomic adds (``cupy.add.at``) sum repeated indices in whatever order the threads arrive, so two
runs can differ in the last bits; sorting fixes the order. Written against an array module
``xp`` (CuPy on the GPU, NumPy in the CPU tests, which check the index math).
"""


def sorted_targets(xp, shape, index, values):
    """For ``out[index] += values`` into zeros of ``shape``: the values as a flat contiguous
    array, the order that sorts their flat targets, and the sorted targets. No host sync: the
    segment kernel finds each run's start itself (a position whose target differs from the one
    before)."""
    size = 1
    for extent in shape:
        size *= extent
    positions = xp.arange(size, dtype=xp.int64).reshape(shape)[index]
    flat_values = xp.ascontiguousarray(xp.broadcast_to(values, positions.shape)).reshape(-1)
    targets = positions.reshape(-1)
    order = xp.argsort(targets)
    return flat_values, order, xp.ascontiguousarray(targets[order])
