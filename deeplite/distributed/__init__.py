"""deeplite.distributed: data-parallel training over MPI (host tensors) and NCCL (CUDA tensors).

Start the same script once per rank with an MPI launcher (``mpiexec -n 4 python train.py``);
each process calls ``init()``. Names and semantics follow ``torch.distributed``. A rank that
raises, hangs or runs fewer steps aborts the whole job with a message instead of hanging it
(``failure.py``). Without a launcher, ``init()`` makes a world of one and never touches MPI.

    >>> import deeplite as dl
    >>> import deeplite.distributed as dist
    >>> dist.init()                            # without a launcher: a world of one
    >>> total = dl.tensor([float(dist.rank())])
    >>> dist.all_reduce(total)                 # 0 + 1 + ... + (world_size - 1) on every rank
    >>> total.item()
    0.0
    >>> dist.destroy()
"""
import importlib as _importlib

from .collectives import (
    REDUCE_OPS,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
)
from .world import (
    destroy,
    init,
    is_initialized,
    is_main_process,
    launched,
    local_rank,
    rank,
    world_size,
)

__all__ = ["REDUCE_OPS", "all_gather_object", "all_reduce", "barrier", "broadcast",
           "broadcast_object_list", "destroy", "init", "is_initialized", "is_main_process",
           "launched", "local_rank", "rank", "world_size"]


def __getattr__(name):
    # Submodules with heavier imports load on first use: dist.checkpoint, dist.training, ...
    if name in ("checkpoint", "probe", "nccl"):
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'deeplite.distributed' has no attribute {name!r}")
