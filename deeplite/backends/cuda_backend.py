"""The cuda backend: CuPy arrays, cuBLAS matmul and deeplite's own fused kernels.

REQUIRED kernels are the CuPy functions of the same meaning (NumPy semantics). The fused OPTIONAL
kernels live in ``deeplite/kernels/*.cu``, compiled once per process by NVRTC through
``cupy.RawModule`` (and cached on disk by CuPy); for inputs they do not take (other dtypes,
non-contiguous views, mismatched shapes) they defer to the reference compositions in
``fallbacks.py``. Importing this module raises ImportError saying why when CuPy, a GPU, NVRTC or
cuBLAS is missing (``cuda_probe.py``). While ``deeplite.jit`` captures a step as a CUDA graph,
matmuls go to cuBLAS directly (``cuda_gemm.py``): CuPy refuses cuBLAS calls during capture.
"""
import contextlib

import numpy

from . import cuda_gemm, cuda_probe, fallbacks, get, segments
from .contract import ACTIVATIONS, OPTIONAL, REQUIRED, is_basic_index, reduction_scale

try:
    import cupy
except ImportError:
    raise ImportError(cuda_probe.cupy_missing_reason()) from None
except Exception as _error:  # a broken install can fail in any way: still a reason, not a crash
    raise ImportError(f"CuPy failed to import: {type(_error).__name__}: {_error}") from None
if _problem := cuda_probe.gpu_problem(cupy):
    raise ImportError(_problem)

from .cuda_launch import (  # noqa: E402  (needs a working CuPy, checked just above)
    SEGMENT_SUFFIX,
    SUFFIX,
    aligned,
    explain_out_of_memory,
    grid_for,
    launch,
    suffix_of,
)
from .cuda_optim import adagrad_step, adam_step, rmsprop_step, sgd_step  # noqa: E402,F401
from .cuda_random import dropout_mask  # noqa: E402,F401

xp = cupy
host_storage = False  # device memory: crossing to numpy/cpu copies
cheap_host_sync = False  # reading a value on the host waits for the GPU

# creation and transfer
asarray, to_numpy = cupy.asarray, cupy.asnumpy
empty, zeros, full = cupy.empty, cupy.zeros, cupy.full
copy, copyto = cupy.copy, cupy.copyto
concatenate, stack = cupy.concatenate, cupy.stack


def arange(start, stop, step, dtype):
    """1-D range of the given dtype."""
    return cupy.arange(start, stop, step, dtype=dtype)


def astype(a, dtype):
    """``a`` as ``dtype``, copying only when the dtype changes."""
    return cupy.asarray(a).astype(dtype, copy=False)


# elementwise
add, sub, mul, div, pow = cupy.add, cupy.subtract, cupy.multiply, cupy.true_divide, cupy.power
maximum, minimum = cupy.maximum, cupy.minimum
eq, ne, lt, le = cupy.equal, cupy.not_equal, cupy.less, cupy.less_equal
gt, ge = cupy.greater, cupy.greater_equal
neg, exp, log, log1p, expm1 = cupy.negative, cupy.exp, cupy.log, cupy.log1p, cupy.expm1
sqrt, abs, sign, tanh = cupy.sqrt, cupy.abs, cupy.sign, cupy.tanh
clip, where = cupy.clip, cupy.where

# reductions and movement
sum, max, min = cupy.sum, cupy.max, cupy.min
reshape, transpose, broadcast_to = cupy.reshape, cupy.transpose, cupy.broadcast_to

_capture = None  # the cuda_gemm.GraphCapture while a CUDA graph records a step, else None


def matmul(a, b):
    """``a @ b`` by cuBLAS (TF32 per deeplite.cuda.allow_tf32), also during CUDA-graph capture."""
    return cupy.matmul(a, b) if _capture is None else _capture.matmul(a, b)


@contextlib.contextmanager
def capturing_gemms(stream):
    """While ``stream`` captures a graph, route matmuls straight to cuBLAS on ``stream``.

    Enter it before capture begins and under the graph's allocator: it loads libcublas and
    allocates the cuBLAS workspace, which the graph must keep (it yields the GraphCapture).
    """
    global _capture
    _capture = cuda_gemm.GraphCapture(cupy, stream, cuda_probe.TF32.enabled)
    try:
        yield _capture
    finally:
        _capture = None


def argmax(a, axis):
    """Indices of the maxima along ``axis``."""
    return cupy.argmax(a, axis=axis)


def _device_index(index):
    """``index`` with host index arrays moved to the device: CuPy indexes with its own arrays."""
    if isinstance(index, tuple):
        return tuple(_device_index(item) for item in index)
    return cupy.asarray(index) if isinstance(index, (numpy.ndarray, list)) else index


def getitem(a, index):
    """``a[index]``."""
    return a[_device_index(index)]


def index_add(shape, index, values):
    """Zeros of ``shape`` with ``values`` added at ``index``; repeated indices accumulate.

    Deterministic: targets are sorted and each run of equal targets is summed by one thread in a
    fixed order (``segment_sum``), not by atomics. During CUDA-graph capture the sort (thrust,
    which syncs) cannot run, so captured steps scatter-add with atomics (``cupy.add.at``): their
    sums over repeated indices may differ from run to run in the last bits.
    """
    out = cupy.zeros(shape, dtype=values.dtype)
    index = _device_index(index)
    if is_basic_index(index):
        out[index] = values  # slices and ints never repeat an element: plain assignment
        return out
    suffix = SEGMENT_SUFFIX.get(values.dtype)
    if _capture is not None or suffix is None:
        cupy.add.at(out, index, values)
        return out
    flat, order, targets = segments.sorted_targets(cupy, shape, index, values)
    if flat.size:
        launch("fused.cu", f"segment_sum_{suffix}", grid_for(flat.size), flat, order, targets,
                out.reshape(-1), flat.size)
    return out


# ---- fused kernels from deeplite/kernels/*.cu (compiled and launched by cuda_launch.py) ----------
_ACT_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}


def _reference(kernel: str, *args):
    """The reference composition of OPTIONAL ``kernel`` (fallbacks.py) on this backend."""
    return getattr(fallbacks, kernel)(get("cuda"), *args)


def _act_code(op: str, act: str) -> int:
    code = _ACT_CODES.get(act)
    if code is None:
        raise ValueError(f"{op}: unknown activation {act!r}; choose one of "
                         f"{', '.join(ACTIVATIONS)}")
    return code


def _bias_act(x, bias, out, act: str, slope: float, suffix: str):
    """out = act(x + bias) in one pass over memory; bias may be None and out may be x."""
    n = x.size
    launch("fused.cu", f"bias_act_{suffix}", grid_for(-(-n // 4)), x, bias, out, n,
            x.shape[-1] if x.ndim else 1, _act_code("linear_act", act), float(slope),
            int(aligned(x, out)))
    return out


def _activate(act: str, x, *slope):
    """act(x) by the fused kernel, or by the reference for inputs it does not take."""
    suffix = suffix_of(x)
    if suffix is None:
        return _reference(act, x, *slope)
    return _bias_act(x, None, cupy.empty_like(x), act, slope[0] if slope else 0.0, suffix)


def sigmoid(x):
    """Stable logistic function, one fused pass."""
    return _activate("sigmoid", x)


def relu(x):
    """max(x, 0), one fused pass."""
    return _activate("relu", x)


def leaky_relu(x, slope):
    """x for x > 0, slope * x otherwise, one fused pass."""
    return _activate("leaky_relu", x, slope)


def softplus(x):
    """Stable log(1 + exp(x)), one fused pass."""
    return _activate("softplus", x)


def act_grad(y, gy, act, slope):
    """gy * act'(x) from the activation's output y, one fused pass."""
    _act_code("act_grad", act)
    if act == "identity":
        return gy
    suffix = suffix_of(y, gy)
    if suffix is None:
        return _reference("act_grad", y, gy, act, slope)
    gx = cupy.empty_like(gy)
    n = gy.size
    launch("fused.cu", f"act_grad_{suffix}", grid_for(-(-n // 4)), y, gy, gx, n, _ACT_CODES[act],
            float(slope), int(aligned(y, gy, gx)))
    return gx


def linear_act(x, w, b, act, slope):
    """act(x @ w + b): one 2-D cuBLAS GEMM (batches folded into rows), then one fused pass for
    the bias and the activation in place."""
    _act_code("linear_act", act)
    suffix = SUFFIX.get(x.dtype) if w.ndim == 2 and x.ndim >= 1 and x.dtype == w.dtype else None
    if suffix is None or (b is not None and (b.shape != (w.shape[1],) or suffix_of(b) != suffix)):
        return _reference("linear_act", x, w, b, act, slope)
    # (..., K) @ (K, N) as one (rows, K) @ (K, N) GEMM: CuPy's N-D matmul takes the batched
    # pointer-array path, slower and blind to the TF32 compute type.
    y = matmul(x.reshape(-1, x.shape[-1]), w).reshape(*x.shape[:-1], w.shape[1])
    if b is None and act == "identity":
        return y
    return _bias_act(y, b, y, act, slope, suffix)


def _sum_partials(partial, scale: float, dtype, suffix: str):
    """scale * sum(partial) as a 0-d array of ``dtype``: the loss reductions' second stage, in a
    fixed order (deterministic)."""
    out = cupy.empty((), dtype)
    launch("fused.cu", f"sum_partials_{suffix}", 1, partial, partial.size, scale, out)
    return out


def sigmoid_bce(z, y, reduction):
    """Binary cross-entropy on logits and its gradient in one pass; the loss sum in two stages."""
    scale = reduction_scale("sigmoid_bce", reduction, z.size)
    suffix = suffix_of(z, y)
    if suffix is None:
        return _reference("sigmoid_bce", z, y, reduction)
    n = z.size
    blocks = grid_for(-(-n // 4))
    dz = cupy.empty_like(z)
    loss = cupy.empty_like(z) if reduction == "none" else None
    partial = None if loss is not None else cupy.empty(blocks, numpy.float64)
    launch("fused.cu", f"sigmoid_bce_{suffix}", blocks, z, y, dz, loss, partial, n, scale,
            int(aligned(z, y, dz, loss)))
    return (loss, dz) if loss is not None else (_sum_partials(partial, scale, z.dtype, suffix), dz)


def softmax_ce(z, labels, reduction):
    """Softmax cross-entropy of integer labels and its gradient, one warp per row of z (N, C);
    the loss sum in two stages (per-block partials, then sum_partials), as the BCE loss."""
    rows = z.shape[0] if z.ndim == 2 else 0
    scale = reduction_scale("softmax_ce", reduction, rows)
    suffix = suffix_of(z) if z.ndim == 2 and z.shape[1] > 0 else None
    if (suffix is None or not isinstance(labels, cupy.ndarray) or labels.shape != (rows,)
            or labels.dtype.kind not in "iu"):
        return _reference("softmax_ce", z, labels, reduction)
    labels = cupy.ascontiguousarray(labels, dtype=numpy.int64)
    dz = cupy.empty_like(z)
    blocks = grid_for(32 * rows)
    loss = cupy.empty(rows, z.dtype) if reduction == "none" else None
    partial = None if loss is not None else cupy.empty(blocks, numpy.float64)
    launch("fused.cu", f"softmax_ce_{suffix}", blocks, z, labels, dz, loss, partial, rows,
            z.shape[1], scale)
    return (loss, dz) if loss is not None else (_sum_partials(partial, scale, z.dtype, suffix), dz)


# ---- device settings and errors ------------------------------------------------------------------
def set_tf32(enabled: bool) -> None:
    """Let cuBLAS round float32 matmul inputs to TF32 on tensor cores (Ampere and newer), or not.

    deeplite.cuda.allow_tf32 sets it through cuda_probe.TF32, which calls this once bound."""
    # CuPy picks the cuBLAS compute type per dtype at each call; CUPY_TF32=1 sets the same switch,
    # but only once, at the first matmul.
    linalg = cupy._core._routines_linalg
    cupy._core.set_compute_type(numpy.float32, linalg.COMPUTE_TYPE_TF32 if enabled
                                else linalg.COMPUTE_TYPE_DEFAULT)


for _op in [*REQUIRED, *(name for name in OPTIONAL if name in globals())]:
    globals()[_op] = explain_out_of_memory(_op, globals()[_op])


cuda_probe.TF32.bind(set_tf32)  # applies what deeplite.cuda.allow_tf32 says, now and on changes
