"""The process group: who this process is (rank, world size, node-local rank) and ``init``.

Without a launcher in the environment the world is this one process and MPI is never touched,
so a script written for ``mpiexec -n 4`` also runs as ``python train.py``. Under a launcher,
``init`` imports mpi4py (``import deeplite`` never does), installs the failure handling of
``failure.py`` and, for the NCCL backend, builds the NCCL communicator.
"""
import atexit
import logging
import os
from typing import Any, Optional

log = logging.getLogger(__name__)

BACKENDS = ("auto", "mpi", "nccl")
TIMEOUT_VARIABLE = "DEEPLITE_DIST_TIMEOUT"
# Variables a launcher sets for each process it starts: MPICH/Hydra (PMI), Open MPI, PMIx, Slurm.
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
_EXTRA = "pip install \"deeplite[dist]\" (mpi4py and the mpich wheel)"


class World:
    """This process's place in the job; one instance, ``WORLD``, filled in by ``init``."""

    def __init__(self):
        self.exit_registered = False
        self.reset()

    def reset(self) -> None:
        """Back to the state before ``init``: a world of one, uninitialised."""
        self.initialized = False
        self.comm: Any = None  # mpi4py's COMM_WORLD, or None in a world of one without MPI
        self.mpi: Any = None  # the mpi4py.MPI module once imported
        self.rank, self.size, self.local_rank, self.local_size = 0, 1, 0, 1
        self.backend: Optional[str] = None  # "mpi", "nccl" or "none" (a world of one)
        self.timeout = 300.0
        self.nccl: Any = None  # an nccl.NcclGroup once one is built
        self.watchdog: Any = None
        self.step = 0  # training steps synchronised so far (DDP counts them); named on a timeout
        self.collectives = 0  # collectives started so far


WORLD = World()


def launched() -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def _timeout(timeout) -> float:
    """The watchdog timeout: ``DEEPLITE_DIST_TIMEOUT`` when set (the job's operator wins)."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is not None:
        try:
            timeout = float(text)
        except ValueError:
            raise ValueError(f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"init: timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def import_mpi():
    """mpi4py's MPI module, or an ImportError saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"deeplite.distributed needs mpi4py under a launcher ({error}); "
                          f"{_EXTRA}") from None
    return MPI


def init(backend: str = "auto", timeout: float = 300.0) -> None:
    """Join the job: find this process's rank, arm the failure handling, build communicators.

    Idempotent: later calls return at once. With no launcher in the environment the world is this
    process alone (rank 0 of 1) and MPI is not imported.

    Args:
        backend: "mpi" (host tensors through MPI; CUDA tensors staged through the host), "nccl"
            (CUDA tensors through NCCL, the rest through MPI), or "auto" (NCCL for CUDA tensors
            when the cuda backend and NCCL work, else MPI).
        timeout: seconds a collective may take before the watchdog aborts every rank;
            ``DEEPLITE_DIST_TIMEOUT`` in the environment overrides it.
    Example:
        >>> import deeplite.distributed as dist
        >>> dist.init()
        >>> print(f"rank {dist.rank()} of {dist.world_size()}")  # without a launcher
        rank 0 of 1
        >>> dist.destroy()
    """
    if backend not in BACKENDS:
        raise ValueError(f"init: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    seconds = _timeout(timeout)
    if WORLD.initialized:
        return
    WORLD.timeout = seconds
    if launched():
        _join_mpi()
    WORLD.backend = "none" if WORLD.comm is None else "mpi"
    # A world of one needs no GPU choice nor NCCL, unless NCCL is asked for by name.
    if backend == "nccl" or (WORLD.size > 1 and _cuda_available()):
        from . import nccl

        if backend == "mpi":
            nccl.pick_device(WORLD)  # CUDA tensors then go through the host
        else:
            nccl.setup(WORLD, required=backend == "nccl")
    WORLD.initialized = True
    if not WORLD.exit_registered:
        atexit.register(destroy)  # runs before mpi4py's own exit hook, which finalises MPI
        WORLD.exit_registered = True


def _join_mpi() -> None:
    """Initialise MPI, learn the ranks, and install the excepthook and watchdog."""
    from . import failure

    MPI = import_mpi()
    comm = MPI.COMM_WORLD
    # The node-local rank picks a GPU; a shared-memory split finds it under any launcher.
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    WORLD.mpi, WORLD.comm = MPI, comm
    WORLD.rank, WORLD.size = comm.Get_rank(), comm.Get_size()
    WORLD.local_rank, WORLD.local_size = local.Get_rank(), local.Get_size()
    local.Free()
    failure.install(WORLD)


def _cuda_available() -> bool:
    from .. import backends

    return backends.is_available("cuda")


def destroy() -> None:
    """Leave the job: wait for every rank (so none exits while others still talk), stop the
    watchdog and free the communicators. ``init`` may be called again afterwards."""
    if not WORLD.initialized:
        return
    from . import collectives, failure

    if WORLD.comm is not None:
        # A rank that ran fewer steps waits here while the others wait in their next
        # collective: the watchdog then names both sides instead of the job hanging.
        collectives.barrier()
    failure.uninstall(WORLD)
    if WORLD.nccl is not None:
        WORLD.nccl.close()
    WORLD.reset()


def _require_init(name: str) -> World:
    if not WORLD.initialized:
        raise RuntimeError(f"deeplite.distributed.{name}: call deeplite.distributed.init() first")
    return WORLD


def is_initialized() -> bool:
    """Whether ``init`` has run (and ``destroy`` has not)."""
    return WORLD.initialized


def rank() -> int:
    """This process's rank, 0 to world_size() - 1."""
    return _require_init("rank").rank


def world_size() -> int:
    """The number of processes in the job."""
    return _require_init("world_size").size


def local_rank() -> int:
    """This process's rank among those on its node (it picks the GPU)."""
    return _require_init("local_rank").local_rank


def is_main_process() -> bool:
    """True on rank 0, the one that prints and writes files."""
    return _require_init("is_main_process").rank == 0
