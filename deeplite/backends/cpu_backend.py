"""The ``cpu`` backend: NumPy storage, with C++ kernels (``deeplite._C``, built from csrc/cpu) where
they beat NumPy: GEMM through OpenBLAS with a fused bias + activation epilogue, fused losses,
one-call optimizer steps, activations, and large binary ops and reductions on several threads.

Every other REQUIRED kernel is the NumPy reference's. A native kernel raises ``_C.Unsupported``
for inputs it does not cover (another dtype, an unusual layout or broadcast); this module then
runs the NumPy reference, so results never depend on which path ran. Threads: the environment
variable ``DEEPLITE_NUM_THREADS``, else ``OMP_NUM_THREADS`` (default: every core this process may
use), or ``set_num_threads``. Idle pool threads sleep (``OMP_WAIT_POLICY=PASSIVE`` unless set).
"""
import functools
import os
from pathlib import Path

import numpy as np

from . import cpu_sgemm, get, low_precision
from .numpy_backend import *  # noqa: F401,F403  xp and the REQUIRED kernels not overridden below

BUILD_ERROR_FILE = Path(__file__).resolve().parent.parent / "_C_build_error.txt"


def _unavailable(error: ImportError) -> ImportError:
    """An ImportError saying which deeplite was imported, why its ``_C`` is unusable, the fix."""
    from .build_info import explain_missing_extension

    return ImportError(explain_missing_extension(error, build_error_file=BUILD_ERROR_FILE))


# OpenMP threads that finish early sleep instead of spinning (libgomp's default spins for a
# while). A spinning worker burns the core another process needs, and on a busy machine the
# pool collapses: 2 threads ran a digits training step 40x slower than 1. libgomp reads this
# once, when it loads with _C, so it is set first; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import scipy_openblas32  # noqa: F401  loads the OpenBLAS that _C links, for any install layout

    from .. import _C
except ImportError as import_error:
    raise _unavailable(import_error) from None


def _threads_from_environment() -> int:
    """DEEPLITE_NUM_THREADS, else OMP_NUM_THREADS (its first number), else every usable core."""
    for variable in ("DEEPLITE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "").strip()
        if value:
            # OMP_NUM_THREADS may list one count per nesting level ("4,2"): the first is ours.
            first = value.split(",")[0].strip() if variable == "OMP_NUM_THREADS" else value
            if not first.isdigit() or int(first) < 1:
                raise ImportError(f"{variable} must be a positive integer, got {value!r}")
            return int(first)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_num_threads(count: int) -> None:
    """Use ``count`` threads in every kernel from now on."""
    if count < 1:
        raise ValueError(f"set_num_threads: count must be at least 1, got {count}")
    _C.set_num_threads(int(count))


def num_threads() -> int:
    """Threads every kernel uses (1 when the extension was built without OpenMP)."""
    return _C.num_threads()


set_num_threads(_threads_from_environment())
# OpenBLAS runs single-threaded inside deeplite's own threads (see csrc/cpu/matmul.cpp).
scipy_openblas32.dll.scipy_openblas_set_num_threads(1)
try:  # float32 GEMMs: oneDNN's when installed (faster at MLP shapes), else OpenBLAS's
    SGEMM = cpu_sgemm.select(_C)
except ValueError as error:
    raise ImportError(str(error)) from None


def _native(name: str):
    """The kernel ``_C.<name>``, falling back to the reference on inputs it does not cover."""
    native = getattr(_C, name)

    in_place = name.endswith("_step")

    @functools.wraps(native)
    def kernel(*args, **kwargs):
        try:
            return native(*args, **kwargs)
        except _C.Unsupported:
            kwargs.pop("shadows", None)  # optimizer steps: the fallbacks write no bf16 shadow
            if low_precision.involved(args):  # float16/bfloat16: this kernel on float32 copies
                return _low_precision_kernel(name, kernel, args, kwargs, in_place)
            return getattr(get("numpy"), name)(*args, **kwargs)

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"Native {name} (deeplite._C), or the NumPy reference for other inputs."
    return kernel


# OPTIONAL kernels implemented natively (get("cpu").native must list exactly these).
sigmoid = _native("sigmoid")
relu = _native("relu")
leaky_relu = _native("leaky_relu")
softplus = _native("softplus")
act_grad = _native("act_grad")
softmax = _native("softmax")
log_softmax = _native("log_softmax")
linear_act = _native("linear_act")
linear_act_grad = _native("linear_act_grad")
sigmoid_bce = _native("sigmoid_bce")
softmax_ce = _native("softmax_ce")
sgd_step = _native("sgd_step")
adam_step = _native("adam_step")
rmsprop_step = _native("rmsprop_step")
adagrad_step = _native("adagrad_step")


def linear_act_grad_mixed(x, w, y, gy, act, slope, need_x, need_w, need_b, dtype):
    """``linear_act_grad`` with gw and gb in ``dtype``: on AMX CPUs the bfloat16 GEMMs write the
    float32 gradients straight from their accumulators (no bfloat16 round trip)."""
    from . import cpu_low_precision  # loaded on the first 16-bit kernel only

    return cpu_low_precision.linear_act_grad_mixed(x, w, y, gy, act, slope, need_x, need_w,
                                                   need_b, dtype)

# REQUIRED kernels overridden natively. Below this many elements NumPy's single ufunc call is
# faster than crossing into C++ and waking threads, so the size test comes first.
NATIVE_MIN_SIZE = 1 << 16
_ndarray = np.ndarray


# tanh is REQUIRED (NumPy semantics for every dtype): native for float arrays, NumPy otherwise.
tanh = _native("tanh")


def matmul(a, b):  # type: ignore[no-redef]  # replaces the star-imported NumPy one
    """a @ b: OpenBLAS on deeplite's threads for 2-D float operands (transposed views too);
    16-bit floats through oneDNN on AMX CPUs, else widened to float32 (backends/amx.py)."""
    try:
        return _C.matmul(a, b)
    except _C.Unsupported:
        if low_precision.is_low(a) or low_precision.is_low(b):
            return _low_precision_kernel("matmul", None, (a, b), {}, False)
        return np.matmul(a, b)


def astype(a, dtype):  # type: ignore[no-redef]  # replaces the star-imported NumPy one
    """``a`` as ``dtype``; large float32 -> bfloat16 casts by oneDNN on AMX CPUs (4x faster)."""
    if (type(a) is _ndarray and a.dtype == np.float32 and a.size >= NATIVE_MIN_SIZE
            and getattr(dtype, "name", None) == "bfloat16"):  # dtype.name last: it is slow
        from . import cpu_low_precision

        return cpu_low_precision.to_bfloat16(a)
    return np.asarray(a).astype(dtype, copy=False)


def bind_replay(name, args, kwargs, result):
    """deeplite.jit: kernel ``name`` bound to its trace-time buffers where it ran on oneDNN
    (a callable writing ``result`` in place), else None (see cpu_replay.py)."""
    if not (low_precision.involved(args) or low_precision.involved(
            result if isinstance(result, tuple) else (result,))):
        return None
    from . import cpu_replay

    return cpu_replay.bind(name, args, kwargs, result)


def _low_precision_kernel(name, kernel, args, kwargs, in_place):
    """A kernel on 16-bit floats: oneDNN's where it serves (AMX), else on float32 copies."""
    from . import cpu_low_precision  # loaded on the first 16-bit kernel only

    return cpu_low_precision.run(name, kernel, args, kwargs, in_place)


def _binary(code: int, ufunc):
    """A broadcasting binary kernel: native for large same-dtype float arrays, else ``ufunc``."""

    def kernel(a, b):
        if (type(a) is _ndarray and type(b) is _ndarray and a.dtype == b.dtype
                and (a.size >= NATIVE_MIN_SIZE or b.size >= NATIVE_MIN_SIZE)):
            try:
                return _C.binary(code, a, b)
            except _C.Unsupported:
                pass
        return ufunc(a, b)

    kernel.__name__ = kernel.__qualname__ = ufunc.__name__
    kernel.__doc__ = f"NumPy's {ufunc.__name__} (broadcasting, promotion); native when large."
    return kernel


# Codes as csrc/cpu/kernels.h's BinaryOp.
add, sub, mul, div = (_binary(code, ufunc) for code, ufunc in
                      enumerate((np.add, np.subtract, np.multiply, np.true_divide)))


def _reduction(native, reference):
    """A reduction kernel: native along one axis of a large float array, else ``reference``."""

    def kernel(a, axis=None, keepdims=False):
        if type(axis) is tuple and len(axis) == 1:
            axis = axis[0]
        if type(axis) is int and type(a) is _ndarray and a.size >= NATIVE_MIN_SIZE:
            try:
                return native(a, axis, keepdims)
            except _C.Unsupported:
                pass
        return reference(a, axis=axis, keepdims=keepdims)

    kernel.__name__ = kernel.__qualname__ = reference.__name__
    kernel.__doc__ = f"NumPy's {reference.__name__} over axis; native along one axis when large."
    return kernel


# The references keep float16/bfloat16 sums in float32 (numpy_backend.sum).
sum = _reduction(_C.sum, sum)  # noqa: A001,F405  the contract's kernel names shadow builtins
max = _reduction(_C.max, np.max)  # noqa: A001


def dropout_mask(shape, dtype, p, key, counter):
    """The Philox dropout mask, by random.cpp on deeplite's threads for float32 and float64 (the
    NumPy reference, backends/philox.py, for other dtypes: the same bits)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        return get("numpy").dropout_mask(shape, dtype, p, key, counter)
    out = np.empty(shape, dtype)
    _C.dropout_mask_into(out, p, key, counter)
    return out
