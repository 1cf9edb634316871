"""The cuda backend: CuPy arrays, cuBLAS matmul and deeplite's own fused kernels.

REQUIRED kernels are the CuPy functions of the same meaning (NumPy semantics). The fused OPTIONAL
kernels live in ``deeplite/kernels/*.cu``, compiled once per process by NVRTC through
``cupy.RawModule`` (and cached on disk by CuPy); for inputs they do not take (other dtypes,
non-contiguous views, mismatched shapes) they defer to the reference compositions in
``fallbacks.py``. Importing this module raises ImportError saying why when CuPy or a GPU is missing.
"""
import functools
import hashlib
import pathlib

import numpy

from .. import cuda as cuda_status
from . import fallbacks, get
from .contract import ACTIVATIONS, OPTIONAL, REDUCTIONS, REQUIRED
from .numpy_backend import _is_basic


try:
    import cupy
except ImportError:
    raise ImportError(cuda_status.cupy_missing_reason()) from None
if _problem := cuda_status.device_problem(cupy):
    raise ImportError(_problem)

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

# reductions, linear algebra (cuBLAS; TF32 per deeplite.cuda.allow_tf32) and movement
sum, max, min = cupy.sum, cupy.max, cupy.min
matmul = cupy.matmul
reshape, transpose, broadcast_to = cupy.reshape, cupy.transpose, cupy.broadcast_to


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
    """Zeros of ``shape`` with ``values`` added at ``index``; repeated indices accumulate."""
    out = cupy.zeros(shape, dtype=values.dtype)
    index = _device_index(index)
    if _is_basic(index):
        out[index] = values  # slices and ints never repeat an element: plain assignment
    else:
        cupy.add.at(out, index, values)
    return out


# ---- fused kernels from deeplite/kernels/*.cu ---------------------------------------------------
_KERNELS = pathlib.Path(__file__).resolve().parent.parent / "kernels"
_SUFFIX = {numpy.dtype(numpy.float16): "f16", numpy.dtype(numpy.float32): "f32",
           numpy.dtype(numpy.float64): "f64"}
_OPTIM_SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}
_ACT_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
_BLOCK = 256  # threads per block; the kernels' __launch_bounds__
# Grid-stride loops need only enough blocks to fill the GPU a few times over.
_MAX_BLOCKS = 16 * cupy.cuda.runtime.deviceGetAttribute(
    cupy.cuda.runtime.cudaDevAttrMultiProcessorCount, cupy.cuda.Device().id)


@functools.lru_cache(maxsize=None)
def _module(file: str):
    """deeplite/kernels/``file`` as a RawModule (NVRTC compiles it at the first kernel lookup)."""
    # CuPy's disk cache keys on the source and the options, not on included files: the header's
    # digest, passed as a define, makes an edited dl_math.h recompile.
    digest = hashlib.sha1((_KERNELS / "dl_math.h").read_bytes()).hexdigest()[:16]
    options = ("--std=c++17", f"-I{_KERNELS}", f"-DDL_MATH_DIGEST=0x{digest}")
    return cupy.RawModule(code=(_KERNELS / file).read_text(), options=options)


@functools.lru_cache(maxsize=None)
def _kernel(file: str, name: str):
    """Kernel ``name`` of deeplite/kernels/``file``, compiled once per process, cached on disk."""
    try:
        return _module(file).get_function(name)
    except Exception as error:  # CompileException, or NVRTC missing: both mean the same to users
        raise RuntimeError(f"cuda: could not compile deeplite/kernels/{file} with NVRTC: {error}") \
            from error


def _launch(file: str, name: str, blocks: int, *args) -> None:
    """Launch ``name`` on the current stream. CuPy passes Python ints as long long and Python floats
    as double, which is what every kernel takes (a NumPy float32 would arrive as 4 bytes: callers
    convert with int() and float())."""
    _kernel(file, name)((blocks,), (_BLOCK,), args)


def _blocks(threads: int) -> int:
    """Blocks for ``threads`` work items, capped (the kernels loop over the rest)."""
    return max(1, min(-(-threads // _BLOCK), _MAX_BLOCKS))


def _suffix(*arrays, table=_SUFFIX):
    """The kernel suffix when the arrays are C-contiguous CuPy arrays of one shape and one dtype in
    ``table``, else None (the caller then uses the reference composition)."""
    first = arrays[0]
    for a in arrays:
        if (not isinstance(a, cupy.ndarray) or a.dtype != first.dtype or a.shape != first.shape
                or not a.flags.c_contiguous):
            return None
    return table.get(first.dtype)


def _aligned(*arrays) -> bool:
    """Whether every array starts on a 4-element boundary, so the kernels may load 4 at a time."""
    return all(a is None or a.data.ptr % (4 * a.itemsize) == 0 for a in arrays)


def _reference(kernel: str, *args):
    """The reference composition of OPTIONAL ``kernel`` (fallbacks.py) on this backend."""
    return getattr(fallbacks, kernel)(get("cuda"), *args)


def _act_code(op: str, act: str) -> int:
    code = _ACT_CODES.get(act)
    if code is None:
        raise ValueError(f"{op}: unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)}")
    return code


def _bias_act(x, bias, out, act: str, slope: float, suffix: str):
    """out = act(x + bias) in one pass over memory; bias may be None and out may be x."""
    n = x.size
    _launch("fused.cu", f"bias_act_{suffix}", _blocks(-(-n // 4)), x, bias, out, n,
            x.shape[-1] if x.ndim else 1, _act_code("linear_act", act), float(slope),
            int(_aligned(x, out)))
    return out


def _activate(act: str, x, *slope):
    """act(x) by the fused kernel, or by the reference for inputs it does not take."""
    suffix = _suffix(x)
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
    suffix = _suffix(y, gy)
    if suffix is None:
        return _reference("act_grad", y, gy, act, slope)
    gx = cupy.empty_like(gy)
    n = gy.size
    _launch("fused.cu", f"act_grad_{suffix}", _blocks(-(-n // 4)), y, gy, gx, n, _ACT_CODES[act],
            float(slope), int(_aligned(y, gy, gx)))
    return gx


def linear_act(x, w, b, act, slope):
    """act(x @ w + b): a cuBLAS GEMM, then one fused pass for the bias and the activation in place."""
    _act_code("linear_act", act)
    suffix = _SUFFIX.get(x.dtype) if w.ndim == 2 and x.ndim >= 1 and x.dtype == w.dtype else None
    if suffix is None or (b is not None and (b.shape != (w.shape[1],) or _suffix(b) != suffix)):
        return _reference("linear_act", x, w, b, act, slope)
    y = cupy.matmul(x, w)
    if b is None and act == "identity":
        return y
    return _bias_act(y, b, y, act, slope, suffix)


def _reduction_scale(op: str, reduction: str, count: int) -> float:
    """What a reduction multiplies the summed loss and the gradient by."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: unknown reduction {reduction!r}; choose one of "
                         f"{', '.join(REDUCTIONS)}")
    return 1.0 / max(count, 1) if reduction == "mean" else 1.0


def _sum_partials(partial, scale: float, dtype, suffix: str):
    """scale * sum(partial) as a 0-d array of ``dtype``: the loss reductions' deterministic second stage."""
    out = cupy.empty((), dtype)
    _launch("fused.cu", f"sum_partials_{suffix}", 1, partial, partial.size, scale, out)
    return out


def sigmoid_bce(z, y, reduction):
    """Binary cross-entropy on logits and its gradient in one pass; the loss sum in the same kernel."""
    scale = _reduction_scale("sigmoid_bce", reduction, z.size)
    suffix = _suffix(z, y)
    if suffix is None:
        return _reference("sigmoid_bce", z, y, reduction)
    n = z.size
    blocks = _blocks(-(-n // 4))
    dz = cupy.empty_like(z)
    loss = cupy.empty_like(z) if reduction == "none" else None
    partial = None if loss is not None else cupy.empty(blocks, numpy.float64)
    _launch("fused.cu", f"sigmoid_bce_{suffix}", blocks, z, y, dz, loss, partial, n, scale,
            int(_aligned(z, y, dz, loss)))
    return (loss, dz) if loss is not None else (_sum_partials(partial, scale, z.dtype, suffix), dz)


def softmax_ce(z, labels, reduction):
    """Softmax cross-entropy of integer labels and its gradient, one warp per row of z (N, C)."""
    rows = z.shape[0] if z.ndim == 2 else 0
    scale = _reduction_scale("softmax_ce", reduction, rows)
    suffix = _suffix(z) if z.ndim == 2 and z.shape[1] > 0 else None
    if (suffix is None or not isinstance(labels, cupy.ndarray) or labels.shape != (rows,)
            or labels.dtype.kind not in "iu"):
        return _reference("softmax_ce", z, labels, reduction)
    labels = cupy.ascontiguousarray(labels, dtype=numpy.int64)
    dz = cupy.empty_like(z)
    loss = cupy.empty(rows, z.dtype) if reduction == "none" else None
    row_loss = None if loss is not None else cupy.empty(rows, numpy.float64)
    _launch("fused.cu", f"softmax_ce_{suffix}", _blocks(32 * rows), z, labels, dz, loss, row_loss,
            rows, z.shape[1], scale)
    return (loss, dz) if loss is not None else (_sum_partials(row_loss, scale, z.dtype, suffix), dz)


def sgd_step(params, grads, bufs, first, lr, momentum, dampening, weight_decay, nesterov,
             maximize):
    """PyTorch's SGD update, in place: one fused kernel per parameter."""
    for i, (p, g) in enumerate(zip(params, grads)):
        buf = bufs[i] if momentum else None
        suffix = _suffix(p, g, *([] if buf is None else [buf]), table=_OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.sgd_step(get("cuda"), [p], [g], None if buf is None else [buf], first, lr,
                               momentum, dampening, weight_decay, nesterov, maximize)
            continue
        _launch("optim.cu", f"sgd_step_{suffix}", _blocks(p.size), p, g, buf, p.size, float(lr),
                float(momentum), float(dampening), float(weight_decay), int(nesterov),
                int(maximize), int(first))


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
              eps, weight_decay, decoupled, amsgrad, maximize):
    """PyTorch's Adam / AdamW update, in place: one fused kernel per parameter."""
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        vmax = max_exp_avg_sqs[i] if amsgrad else None
        suffix = _suffix(p, g, m, v, *([] if vmax is None else [vmax]), table=_OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.adam_step(get("cuda"), [p], [g], [m], [v], None if vmax is None else [vmax],
                                [steps[i]], lr, beta1, beta2, eps, weight_decay, decoupled,
                                amsgrad, maximize)
            continue
        step = steps[i]
        _launch("optim.cu", f"adam_step_{suffix}", _blocks(p.size), p, g, m, v, vmax, p.size,
                float(beta1), float(beta2), float(eps), float(weight_decay),
                float(1.0 - lr * weight_decay), float(lr / (1.0 - beta1 ** step)),
                float((1.0 - beta2 ** step) ** 0.5), int(decoupled), int(maximize))


# ---- device settings and errors -------------------------------------------------------------------
def set_tf32(enabled: bool) -> None:
    """Let cuBLAS round float32 matmul inputs to TF32 on tensor cores (Ampere and newer), or not."""
    # CuPy picks the cuBLAS compute type per dtype at each call; CUPY_TF32=1 sets the same switch,
    # but only once, at the first matmul.
    linalg = cupy._core._routines_linalg
    cupy._core.set_compute_type(numpy.float32, linalg.COMPUTE_TYPE_TF32 if enabled
                                else linalg.COMPUTE_TYPE_DEFAULT)


def _gib(size: int) -> str:
    return f"{size / 2 ** 30:.2f} GiB"


def _out_of_memory_message(op: str, args, error) -> str:
    """What ran out, what holds the memory, and what to do."""
    pool = cupy.get_default_memory_pool()
    free, total = cupy.cuda.runtime.memGetInfo()
    shapes = ", ".join(str(a.shape) for a in args if isinstance(a, cupy.ndarray)) or "none"
    return (f"{op}: CUDA out of memory: {error} Inputs of shape: {shapes}. deeplite holds "
            f"{_gib(pool.used_bytes())} in arrays and {_gib(pool.free_bytes())} cached; the GPU has "
            f"{_gib(free)} free of {_gib(total)}. Free tensors you no longer need, use a smaller "
            f"batch, or call deeplite.cuda.empty_cache().")


def _explain_out_of_memory(op: str, kernel):
    """``kernel``, re-raising CuPy's out-of-memory error as a MemoryError that names the op."""
    def guarded(*args, **kwargs):
        try:
            return kernel(*args, **kwargs)
        except cupy.cuda.memory.OutOfMemoryError as error:
            raise MemoryError(_out_of_memory_message(op, args, error)) from None

    guarded.__name__ = guarded.__qualname__ = op
    guarded.__doc__ = kernel.__doc__
    return guarded


for _op in [*REQUIRED, *(name for name in OPTIONAL if name in globals())]:
    globals()[_op] = _explain_out_of_memory(_op, globals()[_op])


set_tf32(cuda_status.allow_tf32)  # as set on deeplite.cuda before this backend loaded
