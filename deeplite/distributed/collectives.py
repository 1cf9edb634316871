"""Collectives on tensors and Python objects: all_reduce, broadcast, all_gather_object, barrier.

Host tensors (the ``numpy`` and ``cpu`` devices) go through MPI in place on their own memory.
CUDA tensors go through NCCL on the current stream when an NCCL group exists; otherwise they are
staged through the host (one warning says why), or handed to MPI directly when
``DEEPLITE_CUDA_AWARE_MPI=1`` says the MPI build reads GPU memory (the PyPI wheels do not).
Every collective is stamped for the watchdog (``failure.py``).
"""
import logging
import os
from typing import Optional

import numpy as np

from ..autograd import bump_version, is_grad_enabled
from ..tensor import Tensor
from .failure import Stamp
from .world import WORLD, _require_init

log = logging.getLogger(__name__)

REDUCE_OPS = ("sum", "mean", "max", "min")
_MPI_OPS = {"sum": "SUM", "mean": "SUM", "max": "MAX", "min": "MIN"}
_warned: set = set()


class watched:
    """``with watched(operation, nbytes) as stamp:`` stamps a collective for the watchdog while
    it runs (``stamp`` is None without a watchdog). A class, not a generator: it wraps every
    collective, so it must cost well under a microsecond."""

    __slots__ = ("stamp", "pending")

    def __init__(self, operation: str, nbytes: int):
        WORLD.collectives += 1
        watchdog = WORLD.watchdog
        self.stamp: Optional[Stamp] = None
        self.pending: list = []
        if watchdog is not None:
            self.stamp = Stamp(operation, int(nbytes), WORLD.step, WORLD.collectives)
            self.pending = watchdog.pending
            self.pending.append(self.stamp)  # list.append is atomic: no lock needed

    def __enter__(self):
        return self.stamp

    def __exit__(self, *exc_info):
        if self.stamp is not None and self.stamp.event is None:
            self.pending.remove(self.stamp)  # host work is over; NCCL's waits for its event
        return False


def warn_once(key: str, message: str) -> None:
    """Log ``message`` the first time ``key`` comes up in this process."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def _check_tensor(name: str, tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a deeplite Tensor, got {type(tensor).__name__}")
    if tensor.requires_grad and is_grad_enabled():  # a collective is not recorded on the tape
        raise RuntimeError(f"{name}: a tensor that requires grad cannot be changed in place while "
                           f"grad mode is on; wrap the call in `with deeplite.no_grad():`")


def _cuda_aware() -> bool:
    return os.environ.get("DEEPLITE_CUDA_AWARE_MPI", "") == "1"


def all_reduce(tensor: Tensor, op: str = "sum") -> None:
    """Combine ``tensor`` across all ranks, in place: every rank ends with the same result.

    Args:
        tensor: any device; the same shape and dtype on every rank.
        op: "sum", "mean" (the sum divided by world_size, floating dtypes only), "max" or "min".
    Example:
        >>> import deeplite as dl
        >>> import deeplite.distributed as dist
        >>> dist.init()
        >>> loss_sum = dl.tensor([2.5])
        >>> dist.all_reduce(loss_sum)            # now the sum over every rank's values
        >>> loss_sum.item()                      # (a world of one, here)
        2.5
        >>> dist.destroy()
    """
    world = _require_init("all_reduce")
    _check_tensor("all_reduce", tensor)
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(REDUCE_OPS)}, got {op!r}")
    if op == "mean" and not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"all_reduce: op='mean' needs a floating-point tensor, got {tensor.dtype}; "
                        f"reduce with op='sum' and divide, or cast with .double() first")
    if world.size == 1:
        return
    reduce_array(tensor.data, tensor._backend, op)
    bump_version(tensor)  # a node that saved the old values raises instead of going wrong


def reduce_array(array, backend, op: str) -> None:
    """All-reduce a raw array of ``backend`` in place (DDP calls this on its flat buckets)."""
    world = WORLD
    if backend.name == "cuda":
        _reduce_cuda(array, backend, op)
    else:
        with watched("all_reduce", array.nbytes):
            _mpi_in_place(array, lambda buffer: world.comm.Allreduce(
                world.mpi.IN_PLACE, buffer, op=getattr(world.mpi, _MPI_OPS[op])))
    if op == "mean":
        backend.xp.multiply(array, 1.0 / world.size, out=array)


def _mpi_in_place(array, call) -> None:
    """Run an in-place MPI call on ``array`` (through a contiguous copy for a strided view)."""
    if array.flags.c_contiguous and array.flags.writeable:
        call(array)
        return
    buffer = np.ascontiguousarray(array)
    call(buffer)
    array[...] = buffer


def _reduce_cuda(array, backend, op: str) -> None:
    world = WORLD
    if world.nccl is not None and world.nccl.usable:
        world.nccl.all_reduce(array, op)
        return
    if _cuda_aware():
        backend.xp.cuda.get_current_stream().synchronize()  # MPI reads the memory right away
        with watched("all_reduce", array.nbytes):
            world.comm.Allreduce(world.mpi.IN_PLACE, array, op=getattr(world.mpi, _MPI_OPS[op]))
        return
    stage_warning()
    host = backend.to_numpy(array)
    with watched("all_reduce", host.nbytes):
        _mpi_in_place(host, lambda buffer: world.comm.Allreduce(
            world.mpi.IN_PLACE, buffer, op=getattr(world.mpi, _MPI_OPS[op])))
    array[...] = backend.xp.asarray(host)


def stage_warning(reason: Optional[str] = None) -> None:
    """Say once, in one line, that CUDA tensors go through host memory, and why."""
    if reason is None:
        nccl = WORLD.nccl
        reason = nccl.reason if nccl is not None else "NCCL is not set up (backend='mpi')"
    warn_once("stage", f"deeplite.distributed: CUDA tensors are staged through host memory: "
                       f"{reason}")


def broadcast(tensor: Tensor, src: int = 0) -> None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s values, in place."""
    world = _require_init("broadcast")
    _check_tensor("broadcast", tensor)
    _check_src("broadcast", src, world)
    if world.size > 1:
        broadcast_array(tensor.data, tensor._backend, src)
        bump_version(tensor)


def broadcast_array(array, backend, src: int = 0) -> None:
    """Broadcast a raw array of ``backend`` in place (DDP calls this on its flat buckets)."""
    world = WORLD
    if backend.name == "cuda" and world.nccl is not None and world.nccl.usable:
        world.nccl.broadcast(array, src)
        return
    if backend.name == "cuda":
        stage_warning()
        host = backend.to_numpy(array)
        with watched("broadcast", host.nbytes):
            _mpi_in_place(host, lambda buffer: world.comm.Bcast(buffer, root=src))
        array[...] = backend.xp.asarray(host)
        return
    with watched("broadcast", array.nbytes):
        _mpi_in_place(array, lambda buffer: world.comm.Bcast(buffer, root=src))


def _check_src(name: str, src, world) -> None:
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not \
            0 <= src < world.size:
        raise ValueError(f"{name}: src must be a rank from 0 to {world.size - 1}, got {src!r}")


def all_gather_object(object_list: list, obj) -> None:
    """Fill ``object_list`` (of length world_size) with every rank's ``obj``, as in PyTorch.

    Objects travel pickled: use it for small metadata, not for tensors' data.
    """
    world = _require_init("all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list must be a list of length world_size "
                         f"({world.size}), e.g. [None] * dist.world_size()")
    if world.size == 1:
        object_list[0] = obj
        return
    with watched("all_gather_object", 0):
        object_list[:] = world.comm.allgather(obj)


def broadcast_object_list(object_list: list, src: int = 0) -> None:
    """Replace the items of ``object_list`` on every rank with rank ``src``'s, as in PyTorch."""
    world = _require_init("broadcast_object_list")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: expected a list, got {type(object_list).__name__}")
    _check_src("broadcast_object_list", src, world)
    if world.size == 1:
        return
    with watched("broadcast_object_list", 0):
        object_list[:] = world.comm.bcast(object_list, root=src)


def barrier() -> None:
    """Wait until every rank has reached this call."""
    world = _require_init("barrier")
    if world.size == 1:
        return
    with watched("barrier", 0):
        world.comm.Barrier()
