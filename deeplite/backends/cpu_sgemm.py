"""Which float32 GEMM the ``cpu`` backend's kernels call: oneDNN's or OpenBLAS's (or deeplite's).

From 2^20 multiply-adds (a 32x64 @ 64x512, say) oneDNN's ``dnnl_sgemm`` took 0.57-0.90x
OpenBLAS's time on one AVX-512 core at the shapes of MLP training, up to 2^24 (``python -m
benchmarks.gemm_crossovers``, docs/jit.md); smaller GEMMs, where its fixed cost per call loses,
stay on OpenBLAS (``_C.SGEMM_MIN_MACS``). oneDNN's first GEMM in a process compiles its
kernels (21 ms), so ``select`` starts one on a background thread at once: it runs beside the
caller's start-up (imports, data loading) instead of inside the first training step or
evaluation. oneDNN is used when ``libdnnl`` is installed (the ``onednn-cpu-gomp`` wheel of the
``deeplite[bf16]`` extra; it shares deeplite's GNU OpenMP). ``DEEPLITE_SGEMM`` chooses: ``auto``
(the default: oneDNN when installed), ``onednn`` (an error without it) or ``openblas``. Either way
each GEMM runs on one thread inside deeplite's own thread split, float64 stays on OpenBLAS, and
eager and ``deeplite.jit`` replays call the same GEMM, so they stay equal bit for bit. Where
oneDNN does not serve (not installed, or ``openblas`` chosen), the float GEMMs of 2^20 to 2^24
multiply-adds (from 2^13 when B is transposed, as in an input gradient) with 8 columns or more run
deeplite's own AVX-512 kernel on CPUs that have it (csrc/cpu/small_gemm.cpp: 0.58-0.97x
OpenBLAS's time there).
"""
import ctypes
import os
import threading

import numpy as np

CHOICES = ("auto", "onednn", "openblas")
_loaded: dict = {}  # the libdnnl handle, kept alive while _C holds its function's address


def select(_C, choice: str = None, min_macs: int = None) -> str:
    """Point ``_C``'s float GEMM at ``choice`` (default: ``$DEEPLITE_SGEMM`` or auto) for GEMMs
    from ``min_macs`` multiply-adds (default ``_C.SGEMM_MIN_MACS``; 0: all, for benchmarks); the
    name of the GEMM now used, "onednn" or "openblas"."""
    if choice is None:
        choice = os.environ.get("DEEPLITE_SGEMM", "").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(f"DEEPLITE_SGEMM must be one of {', '.join(CHOICES)}, got {choice!r}")
    address = 0 if choice == "openblas" else _dnnl_sgemm_address()
    if choice == "onednn" and not address:
        raise ValueError("DEEPLITE_SGEMM=onednn, but libdnnl is not installed: "
                         "pip install 'deeplite[bf16]', or set DEEPLITE_SGEMM=openblas")
    _C.set_sgemm(address, _C.SGEMM_MIN_MACS if min_macs is None else min_macs)
    if address:
        _warm_up(_C)
    return "onednn" if address else "openblas"


def _warm_up(_C) -> threading.Thread:
    """One oneDNN GEMM on a thread of its own (``_C.matmul`` releases the GIL), so its one-time
    kernel compilation overlaps whatever the process does next; a GEMM meanwhile waits for it."""
    # 16 x 8192 @ 8192 x 16: 2^21 multiply-adds (the oneDNN path) on one thread (too narrow
    # for deeplite's thread split, so no second OpenMP team starts for this thread). Not a
    # daemon: a process ending while oneDNN compiles would abort in its C++ runtime.
    a = np.ones((16, 8192), np.float32)
    thread = threading.Thread(target=_C.matmul, args=(a, a.T), name="deeplite-sgemm-warm-up")
    thread.start()
    _warm_ups.append(thread)
    return thread


_warm_ups: list = []  # warm-up threads started, joined before a fork


def _finish_warm_ups() -> None:
    """Wait for the warm-up GEMMs: a child forked while oneDNN compiles would inherit its locks
    held, and its first GEMM would wait for a thread the child does not have."""
    while _warm_ups:
        _warm_ups.pop().join()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_warm_ups)


def _dnnl_sgemm_address() -> int:
    """The address of libdnnl's dnnl_sgemm (loaded once), or 0 when libdnnl is not installed."""
    if "lib" not in _loaded:
        from .onednn_library import library_path

        path = library_path()
        try:
            _loaded["lib"] = ctypes.CDLL(path) if path else None
        except OSError:  # a broken install: OpenBLAS still works
            _loaded["lib"] = None
    lib = _loaded["lib"]
    function = getattr(lib, "dnnl_sgemm", None) if lib is not None else None
    return ctypes.cast(function, ctypes.c_void_p).value or 0 if function is not None else 0
