"""Dropout's counter-based random stream: a 64-bit seed and an offset, the state behind every
dropout mask (Philox4x32-10, deeplite/kernels/dl_philox.h; docs/jit.md).

Each backend's ``dropout_mask`` kernel computes a mask itself from the seed and the offset, so
the state is two integers: ``deeplite.manual_seed`` sets the seed and rewinds the offset, and
each mask advances the offset by the 32-bit draws it used, rounded up to a whole 4-word Philox
block (as PyTorch advances its CUDA generator's offset).
"""
import numpy as np

from .jit import hooks as jit_hooks

_WORD = 0xFFFFFFFF
# Fresh entropy until manual_seed, as the host generator.
_stream = {"seed": int(np.random.SeedSequence().generate_state(1, np.uint64)[0]), "offset": 0}


def reseed(seed: int) -> None:
    """Seed the stream with ``seed`` modulo 2**64 and rewind it."""
    _stream["seed"], _stream["offset"] = int(seed) & 0xFFFFFFFFFFFFFFFF, 0


def reserve(draws: int) -> tuple:
    """Reserve ``draws`` 32-bit words: returns the key and the first block, each as (low, high)
    32-bit words (the ``dropout_mask`` kernel's ``key`` and ``counter``), and advances the offset
    by ``draws`` rounded up to a multiple of 4."""
    seed, offset = _stream["seed"], _stream["offset"]
    _stream["offset"] = offset + -(-int(draws) // 4) * 4
    block = offset // 4
    key, counter = (seed & _WORD, seed >> 32), (block & _WORD, block >> 32)
    jit_hooks.stream_reserved(draws, key, counter)  # a replay reserves them afresh
    return key, counter


def state() -> dict:
    """The stream's state: {"seed", "offset"} (JSON-ready)."""
    return dict(_stream)


def validated(saved) -> dict:
    """``saved`` checked as a ``state()`` result; ValueError naming the fault otherwise."""
    seed = saved.get("seed") if isinstance(saved, dict) else None
    offset = saved.get("offset") if isinstance(saved, dict) else None
    if not (isinstance(seed, int) and isinstance(offset, int) and 0 <= seed <= 2 ** 64 - 1
            and offset >= 0 and offset % 4 == 0):
        raise ValueError(f"set_rng_state: the dropout stream state {saved!r} is not a seed in "
                         f"[0, 2**64) and an offset that is a multiple of 4")
    return {"seed": seed, "offset": offset}


def restore(saved: dict) -> None:
    """Set the stream to a ``validated`` state."""
    _stream.update(validated(saved))
