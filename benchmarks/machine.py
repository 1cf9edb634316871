"""The machine: thread pinning for subprocesses, what the machine and libraries are, and its limits.

The limits are measured in the same run as the cases, under the same thread count: a stream-like
copy bandwidth (the floor of any memory-bound kernel) and the BLAS SGEMM rate (the floor of any
FLOP-bound one). Every figure in the report is then a fraction of one of them: a roofline view.
"""
import os
import platform
import sys
import time
from typing import Dict

from .contenders import backend_problem

# Every thread pool a contender may start; all are set the same so no contender gets more cores.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "DEEPLITE_NUM_THREADS")
# Set on some machines for old OpenBLAS builds; they slow a current NumPy, so a timed run unsets
# both together (never in tests or CI, where correctness on any OpenBLAS comes first).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s) after each call. On 2 vCPUs, in one process
# with PyTorch's and deeplite's OpenMP pools, that starved whoever ran next (PyTorch's 256x256 GEMM
# took 15 ms instead of 0.3 ms). 2^16 cycles (~25 us) still bridges back-to-back calls.
OPENBLAS_SPIN = {"OPENBLAS_THREAD_TIMEOUT": "16"}


def pinned_environment(threads: int, keep_openblas_overrides: bool) -> Dict[str, str]:
    """This process's environment with every thread pool pinned to ``threads`` threads."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env.update(OPENBLAS_SPIN)
    if not keep_openblas_overrides:
        for name in OPENBLAS_OVERRIDES:
            env.pop(name, None)
    return env


def pin_in_process(threads: int, torch=None) -> None:
    """Pin PyTorch's pool too; the environment already pinned every other pool before it loaded.

    NumPy's OpenBLAS is not re-limited through threadpoolctl here: that would also reach the
    OpenBLAS inside deeplite's cpu backend, which must stay single-threaded (its own pool calls it).
    """
    if torch is not None:
        torch.set_num_threads(threads)


def cpu_model() -> str:
    """The processor's name, as /proc/cpuinfo gives it (else platform's guess)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module_name: str):
    """A module's __version__, or None when it is not installed."""
    try:
        module = __import__(module_name)
    except Exception:  # not installed, or broken: either way it is not in the run
        return None
    return getattr(module, "__version__", "unknown")


def _deeplite_cpu_threads():
    """Threads of deeplite's cpu backend, or None when it cannot run here."""
    import deeplite

    if backend_problem("cpu") is not None:
        return None
    return deeplite.backends.get("cpu").module.num_threads()


def describe(torch=None) -> dict:
    """Machine, library versions and which BLAS kernels and thread counts are in use."""
    import numpy

    import deeplite

    blas = []
    try:
        from threadpoolctl import threadpool_info
        blas = [{key: pool.get(key) for key in ("internal_api", "version", "architecture",
                                                "num_threads", "filepath")}
                for pool in threadpool_info()]
    except ImportError:
        pass
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {"deeplite": deeplite.__version__, "numpy": numpy.__version__,
                     "torch": torch.__version__ if torch is not None else None,
                     "cupy": _version("cupy") if "cupy" in sys.modules else None},
        "blas": blas,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "deeplite_cpu_threads": _deeplite_cpu_threads(),
        "deeplite_backends": {name: backend_problem(name) or "available"
                              for name in deeplite.backends.MODULES},
        "openblas_overrides": {name: os.environ.get(name) for name in OPENBLAS_OVERRIDES},
        "thread_variables": {name: os.environ.get(name)
                             for name in THREAD_VARIABLES + tuple(OPENBLAS_SPIN)},
    }


def copy_bandwidth(elements: int, repeats: int) -> float:
    """Best GB/s of a NumPy float32 copy (bytes read plus bytes written), like STREAM's Copy."""
    import numpy as np

    source = np.random.default_rng(0).standard_normal(elements, dtype=np.float32)
    target = np.empty_like(source)
    np.copyto(target, source)  # touch every page first: first-touch faults are not bandwidth
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best / 1e9


def gemm_rate(size: int, repeats: int) -> float:
    """Best GFLOP/s of NumPy's BLAS on a square float32 matrix product of ``size``."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = a @ b  # warm-up: BLAS thread start-up and buffer allocation
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def limits(quick: bool) -> dict:
    """The two roofline limits under the current thread pinning (best of a few runs each)."""
    # Full runs copy 128 MiB, far past any cache; quick runs only need a plausible figure.
    copy_elements, gemm_size = (1 << 22, 512) if quick else (1 << 25, 2048)
    return {"copy_gbps": copy_bandwidth(copy_elements, 5 if quick else 10),
            "gemm_gflops": gemm_rate(gemm_size, 5),
            "copy_elements": copy_elements, "gemm_size": gemm_size}
