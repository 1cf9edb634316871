"""NCCL for CUDA tensors, through ``cupy.cuda.nccl``: the communicator, its collectives, abort.

Rank 0 draws the NCCL unique id and MPI broadcasts it; each rank first picks its GPU from its
node-local rank (``local_rank % device_count``). NCCL needs one GPU per rank: when two ranks of
a node land on the same GPU, or NCCL is missing (no CuPy wheel ships it: the ``nvidia-nccl-cu12``
/ ``-cu13`` wheels of the cuda extras do), CUDA tensors are staged through the host instead,
with one warning saying why. Collectives run on the current stream; nothing waits on the host.
"""
from typing import Any

_MISSING = ("CuPy finds no NCCL library: pip install nvidia-nccl-cu12 (or -cu13, matching the "
            "CuPy wheel)")

_OPS = {"sum": "NCCL_SUM", "mean": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}
_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
           "int64": "NCCL_INT64"}


def load():
    """``cupy.cuda.nccl`` when it works here, else None and the reason."""
    try:
        import cupy.cuda
        from cupy.cuda import nccl
    except ImportError as error:
        return None, f"cupy.cuda.nccl cannot be imported ({error})"
    if not getattr(cupy.cuda, "nccl_enabled", True) or not getattr(nccl, "available", True):
        return None, _MISSING
    try:
        nccl.get_version()  # loads libnccl, which a CuPy wheel does not ship
    except Exception as error:  # CuPy raises its own error types when the library is absent
        return None, f"{_MISSING} ({type(error).__name__}: {error})"
    return nccl, None


def version():
    """NCCL's version as "2.21.5", or None when NCCL cannot be loaded."""
    nccl, _ = load()
    if nccl is None:
        return None
    code = nccl.get_version()
    major, rest = divmod(code, 10000) if code >= 10000 else divmod(code, 1000)
    minor, patch = divmod(rest, 100)
    return f"{major}.{minor}.{patch}"


def pick_device(world):
    """Make GPU ``local_rank % count`` current; (cupy, that device's PCI bus id)."""
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    device = cupy.cuda.Device(world.local_rank % count)
    device.use()
    return cupy, device.pci_bus_id


def setup(world, required: bool) -> None:
    """Pick this rank's GPU and build the NCCL group (or record why CUDA tensors are staged)."""
    from .collectives import watched

    cupy, bus_id = pick_device(world)
    nccl, reason = load()
    if world.comm is not None and world.size > 1:
        with watched("init (NCCL setup)", 0):
            found = world.comm.allgather((world.mpi.Get_processor_name(), bus_id, reason))
        mine = found[world.rank][:2]
        sharing = sum(1 for entry in found if entry[:2] == mine)
        if sharing > 1:
            reason = (f"{sharing} ranks share GPU {bus_id} on {mine[0]} and NCCL needs one GPU "
                      f"per rank")
        # Every rank must agree: one rank without NCCL means no rank can use it.
        reason = reason or next((entry[2] for entry in found if entry[2]), None)
        if reason is None and any(sum(1 for other in found if other[:2] == entry[:2]) > 1
                                  for entry in found):
            reason = "two ranks of this job share one GPU and NCCL needs one GPU per rank"
    if reason is not None and required:
        from .collectives import stage_warning

        stage_warning(reason)  # asked for by name: say so now, not at the first collective
    world.nccl = NcclGroup(world, nccl, cupy, reason)


class NcclGroup:
    """One NCCL communicator over the whole world, or the reason there is none (``usable``)."""

    def __init__(self, world, nccl, cupy, reason):
        self.world, self.nccl, self.cupy, self.reason = world, nccl, cupy, reason
        self.comm: Any = None
        if reason is None:
            unique_id = nccl.get_unique_id() if world.rank == 0 else None
            if world.comm is not None:
                unique_id = world.comm.bcast(unique_id, root=0)
            self.comm = nccl.NcclCommunicator(world.size, unique_id, world.rank)

    @property
    def usable(self) -> bool:
        """Whether CUDA tensors go through NCCL (else through the host)."""
        return self.comm is not None

    def _call(self, operation: str, array, run) -> None:
        """Enqueue ``run(stream pointer)`` on the current stream, stamped until its event fires."""
        from .collectives import watched

        if str(array.dtype) not in _DTYPES:
            raise TypeError(f"{operation}: NCCL has no {array.dtype} type; cast the tensor first")
        if not array.flags.c_contiguous:
            raise ValueError(f"{operation}: NCCL needs a contiguous CUDA tensor; call "
                             f".contiguous() or copy it first")
        stream = self.cupy.cuda.get_current_stream()
        with watched(operation, array.nbytes) as stamp:
            run(stream.ptr, getattr(self.nccl, _DTYPES[str(array.dtype)]))
            if stamp is not None:
                stamp.event = stream.record()

    def all_reduce(self, array, op: str) -> None:
        """In-place all-reduce of a contiguous CuPy array (the mean is scaled by the caller)."""
        ptr, count, code = array.data.ptr, array.size, getattr(self.nccl, _OPS[op])
        self._call("all_reduce", array,
                   lambda stream, dtype: self.comm.allReduce(ptr, ptr, count, dtype, code, stream))

    def broadcast(self, array, src: int) -> None:
        """In-place broadcast of a contiguous CuPy array from rank ``src``."""
        ptr, count = array.data.ptr, array.size
        self._call("broadcast", array,
                   lambda stream, dtype: self.comm.bcast(ptr, count, dtype, src, stream))

    def abort(self) -> None:
        """Stop NCCL's kernels (before MPI aborts the processes)."""
        if self.comm is not None:
            self.comm.abort()
            self.comm = None

    def close(self) -> None:
        """Free the communicator (``destroy``)."""
        if self.comm is not None:
            self.comm.destroy()
            self.comm = None
