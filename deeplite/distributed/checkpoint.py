"""Training-state checkpoints in a job: rank 0 reads or writes the file, the others follow.

One file, one writer: ``save_training_state`` writes on rank 0 only and then waits for every
rank, so no rank runs ahead of a checkpoint that is not on disk yet. ``load_training_state``
reads on rank 0 and broadcasts the parameters (in place, as tensors), the optimizer's and the
scheduler's state, each rank's own random generator state and the metadata, so every rank
resumes from exactly the same point even where only rank 0 can see the file.
"""
import json
from typing import Any, Optional

import numpy as np

from .. import serialization
from ..creation import get_rng_state, set_rng_state
from ..tensor import Tensor
from .collectives import all_gather_object, barrier, broadcast, broadcast_object_list
from .world import _require_init

# Metadata key holding every rank's random generator state: ranks draw different numbers (their
# own dropout masks, say), so each resumes its own stream.
RANK_RNG_KEY = "distributed.rng_states"


def save_training_state(path, model, optimizer=None, metadata: Optional[dict] = None, *,
                        scheduler=None, scaler=None) -> None:
    """``deeplite.serialization.save_training_state`` on rank 0, then a barrier."""
    world = _require_init("save_training_state")
    states = [None] * world.size
    all_gather_object(states, get_rng_state())
    if world.rank == 0:
        metadata = {**(metadata or {}), RANK_RNG_KEY: json.dumps(states)}
        serialization.save_training_state(path, model, optimizer, metadata, scheduler=scheduler,
                                          scaler=scaler)
    barrier()


def _to_host(value):
    """``value`` with every Tensor replaced by a NumPy array (so it can be pickled)."""
    if isinstance(value, Tensor):
        return value._backend.to_numpy(value.data).copy()
    if isinstance(value, dict):
        return {key: _to_host(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_host(item) for item in value)
    return value


def _to_tensors(value):
    """The inverse of ``_to_host`` (the optimizer moves each state tensor to its parameter)."""
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value, _host_backend())
    if isinstance(value, dict):
        return {key: _to_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_tensors(item) for item in value)
    return value


def _host_backend():
    from .. import backends

    return backends.get("numpy")


def load_training_state(path, model, optimizer=None, *, scheduler=None, scaler=None) -> dict:
    """Read ``path`` on rank 0 and give every rank the same model, optimizer, scheduler, loss
    scaler and random generator state; returns the metadata (as
    ``serialization.load_training_state``).

    A file rank 0 cannot load raises the same ValueError on every rank.
    """
    world = _require_init("load_training_state")
    message: list[Any] = [None, None]  # [error text, state] from rank 0
    if world.rank == 0:
        try:
            metadata = serialization.load_training_state(path, model, optimizer,
                                                         scheduler=scheduler, scaler=scaler)
            saved = json.loads(metadata.pop(RANK_RNG_KEY, "null"))
            # A job of another size than the one that saved: every rank takes rank 0's stream.
            rng = saved if saved and len(saved) == world.size else \
                [get_rng_state()] * world.size
            message[1] = {"metadata": metadata, "rng": rng,
                          "optimizer": None if optimizer is None else
                          _to_host(optimizer.state_dict()),
                          "scheduler": None if scheduler is None else scheduler.state_dict(),
                          "scaler": None if scaler is None else scaler.state_dict()}
        except (ValueError, OSError) as error:
            message[0] = f"{type(error).__name__}: {error}"
    broadcast_object_list(message, src=0)
    if message[0] is not None:
        raise ValueError(f"load_training_state: rank 0 could not load {path}: {message[0]}")
    state: dict = message[1]
    from ..autograd import no_grad

    with no_grad():
        for parameter in model.parameters():
            broadcast(parameter, src=0)
    if world.rank != 0:
        if optimizer is not None:
            optimizer.load_state_dict(_to_tensors(state["optimizer"]))
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None:
            scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"][world.rank])
    return state["metadata"]
