"""Shape ops, as in PyTorch, composed from reshape, transpose, broadcast_to, getitem and
concatenate (so every gradient and second derivative comes from those): squeeze, unsqueeze,
flatten, unflatten, expand, repeat, tile, flip, roll, split, chunk, narrow, unbind,
repeat_interleave, movedim. Diagonals, triangles and grids are in ``matrices.py``.
"""
import math

import numpy as np

from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .movement import GetItem, broadcast_to, concatenate, permute, reshape, transpose


def _sizes(sizes) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    return tuple(int(n) for n in sizes)


def squeeze(x: Tensor, dim=None) -> Tensor:
    """x without its size-1 dims (all of them, or those in ``dim``: an int or a tuple); a named
    dim whose size is not 1 stays, as in ``torch.squeeze``."""
    if dim is None:
        dims = {d for d, n in enumerate(x.shape) if n == 1}
    else:
        named = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {d for d in (normalize_dim(d, x.ndim, "squeeze") for d in named)
                if x.ndim and x.shape[d] == 1}
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in dims))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """x with a new size-1 dim at ``dim`` (in [-ndim-1, ndim]), as ``torch.unsqueeze``."""
    position = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:position] + (1,) + x.shape[position:])


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim`` to ``end_dim`` merged into one (as ``torch.flatten``); a 0-d tensor
    becomes shape (1,)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = (normalize_dim(d, x.ndim, "flatten") for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = math.prod(x.shape[start:end + 1])
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one may be -1), as ``torch.unflatten``."""
    dim = normalize_dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    known = math.prod(n for n in sizes if n != -1)
    if -1 in sizes:
        sizes = tuple(x.shape[dim] // known if n == -1 else n for n in sizes)
    if math.prod(sizes) != x.shape[dim]:
        raise ShapeError(f"unflatten: sizes {sizes} do not multiply to the size {x.shape[dim]} "
                         f"of dim {dim}")
    return reshape(x, x.shape[:dim] + sizes + x.shape[dim + 1:])


def expand(x: Tensor, *sizes) -> Tensor:
    """x broadcast (without copying) to ``sizes``; -1 keeps a dim's size, new dims go in front
    (as ``torch.Tensor.expand``)."""
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}; "
                         f"give at least {x.ndim}")
    lead = len(sizes) - x.ndim
    target = tuple(x.shape[i - lead] if n == -1 and i >= lead else n
                   for i, n in enumerate(sizes))
    if any(n < 0 for n in target):
        raise ShapeError(f"expand: -1 is not allowed for a new leading dim, got {sizes}")
    for i, n in enumerate(x.shape):
        if n != 1 and n != target[lead + i]:
            raise ShapeError(f"expand: the size {n} of dim {i} must match {target[lead + i]} "
                             f"(or be 1) to expand shape {x.shape} to {target}")
    return broadcast_to(x, target)


def repeat(x: Tensor, *repeats) -> Tensor:
    """x tiled ``repeats[i]`` times along each dim (as ``torch.Tensor.repeat``: at least ndim
    counts, extra ones add leading dims)."""
    repeats = _sizes(repeats)
    if len(repeats) < x.ndim:
        raise ShapeError(f"repeat: {len(repeats)} counts for a tensor of shape {x.shape}; "
                         f"give at least {x.ndim}")
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    # Interleave a broadcast dim before each dim, then merge each pair: (r0, n0, r1, n1, ...).
    spread = reshape(x, sum(((1, n) for n in shape), ()))
    tiled = broadcast_to(spread, sum(((r, n) for r, n in zip(repeats, shape, strict=True)), ()))
    return reshape(tiled, tuple(r * n for r, n in zip(repeats, shape, strict=True)))


def tile(x: Tensor, dims) -> Tensor:
    """``repeat`` with missing leading counts taken as 1 (as ``torch.tile``)."""
    dims = _sizes((dims,))
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def flip(x: Tensor, dims) -> Tensor:
    """x with its elements in reverse order along ``dims`` (an int or tuple), as ``torch.flip``."""
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    dims = {normalize_dim(d, x.ndim, "flip") for d in dims}
    if x.ndim == 0:
        return x * 1
    return GetItem.apply(x, index=tuple(slice(None, None, -1) if d in dims else slice(None)
                                        for d in range(x.ndim)))


def fliplr(x: Tensor) -> Tensor:
    """x flipped left-right (dim 1)."""
    return flip(x, 1)


def flipud(x: Tensor) -> Tensor:
    """x flipped up-down (dim 0)."""
    return flip(x, 0)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """x with elements shifted ``shifts`` places along ``dims``, wrapping around (as
    ``torch.roll``); with ``dims`` None, the flattened tensor is rolled and reshaped back."""
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), x.shape)
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    for shift, dim in zip(shifts, dims, strict=True):
        dim = normalize_dim(dim, x.ndim, "roll")
        size = x.shape[dim]
        if size == 0 or shift % size == 0:
            continue
        cut = size - shift % size
        before = (slice(None),) * dim
        x = concatenate([x[before + (slice(cut, None),)], x[before + (slice(0, cut),)]], dim)
    return x


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice x[..., start:start + length, ...] along ``dim`` (as ``torch.narrow``)."""
    dim = normalize_dim(dim, x.ndim, "narrow")
    size = x.shape[dim]
    start = start + size if start < 0 else start
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise IndexError(f"narrow: start {start} and length {length} do not fit dim {dim} of "
                         f"size {size}")
    return x[(slice(None),) * dim + (slice(start, start + length),)]


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """x cut along ``dim`` into chunks of ``split_size`` (the last may be smaller) or into the
    given list of sizes (as ``torch.split``)."""
    dim = normalize_dim(dim, x.ndim, "split")
    size = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sections = [min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sections = [int(n) for n in split_size_or_sections]
        if sum(sections) != size:
            raise ShapeError(f"split: sizes {sections} sum to {sum(sections)}, but dim {dim} has "
                             f"size {size}")
    pieces, start = [], 0
    for n in sections:
        pieces.append(narrow(x, dim, start, n))
        start += n
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """x cut into ``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer when they run
    out), as ``torch.chunk``."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    size = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-size // chunks), 1), dim)


def tensor_split(x: Tensor, sections: int, dim: int = 0) -> tuple:
    """x cut into exactly ``sections`` pieces whose sizes differ by at most 1, as
    ``torch.tensor_split``."""
    size = x.shape[normalize_dim(dim, x.ndim, "tensor_split")]
    base, extra = divmod(size, sections)
    return split(x, [base + 1] * extra + [base] * (sections - extra), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of x along ``dim``, each without that dim (as ``torch.unbind``)."""
    dim = normalize_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim]))


def repeat_interleave(x: Tensor, repeats, dim: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place: [a, a, b, b]
    (as ``torch.repeat_interleave``); ``repeats`` an int or a 1-D tensor of per-element counts.
    With ``dim`` None the flattened tensor is repeated."""
    if dim is None:
        x, dim = flatten(x), 0
    dim = normalize_dim(dim, x.ndim, "repeat_interleave")
    # The counts decide the output's shape, so they are read on the host (as PyTorch syncs too).
    counts = np.asarray(repeats.numpy() if isinstance(repeats, Tensor) else repeats)
    if (counts < 0).any():
        raise ValueError("repeat_interleave: repeats must be non-negative")
    if counts.ndim and counts.shape != (x.shape[dim],):
        raise ShapeError(f"repeat_interleave: {counts.shape[0]} repeats for dim {dim} of size "
                         f"{x.shape[dim]}")
    order = np.repeat(np.arange(x.shape[dim]), counts)
    return GetItem.apply(x, index=(slice(None),) * dim + (x._backend.asarray(order),))


def movedim(x: Tensor, source, destination) -> Tensor:
    """x with the dims in ``source`` moved to the positions in ``destination``, the others
    keeping their order (as ``torch.movedim``)."""
    source = source if isinstance(source, (tuple, list)) else (source,)
    destination = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(source) != len(destination):
        raise ValueError(f"movedim: {len(source)} source dims for {len(destination)} destinations")
    source = [normalize_dim(d, x.ndim, "movedim") for d in source]
    destination = [normalize_dim(d, x.ndim, "movedim") for d in destination]
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise ValueError("movedim: repeated dims in source or destination")
    rest = iter(d for d in range(x.ndim) if d not in source)
    placed = dict(zip(destination, source, strict=True))
    return permute(x, tuple(placed[i] if i in placed else next(rest) for i in range(x.ndim)))


moveaxis = movedim


def swapaxes(x: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(x, axis0, axis1)`` under NumPy's name (also ``swapdims``)."""
    return transpose(x, axis0, axis1)


swapdims = swapaxes
