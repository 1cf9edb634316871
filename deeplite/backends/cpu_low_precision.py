"""The ``cpu`` backend's kernels on float16/bfloat16 arrays (its C++ kernels take float32/64).

bfloat16 GEMMs (matmul, the fused linear layer and its gradients) run on oneDNN's AMX kernels
where ``amx.bf16_gemm()`` says so, with bias and activation fused and float32 accumulation; every
other kernel, and every GEMM elsewhere, runs on float32 copies (``low_precision.widened_call``).
"""
import functools

import numpy as np

from .. import dtypes
from . import amx, fallbacks, get, low_precision


def run(name: str, kernel, args: tuple, kwargs: dict, in_place: bool):
    """The cpu kernel ``name`` on 16-bit inputs; ``kernel`` is its float32 form (None: matmul)."""
    onednn = amx.bf16_gemm()
    if onednn is not None and name in _ONEDNN and _all_bf16_matrices(name, args):
        onednn.set_threads(get("cpu").module.num_threads())
        return _ONEDNN[name](onednn, *args, **kwargs)
    if name == "matmul":
        return low_precision.matmul(args[0], args[1], float32_matmul=get("cpu").matmul)
    return low_precision.widened_call(kernel, args, kwargs, in_place)


def linear_act_grad_mixed(x, w, y, gy, act, slope, need_x, need_w, need_b, dtype):
    """The cpu backend's ``linear_act_grad_mixed``: bfloat16 operands and float32 gradients by
    oneDNN where it serves, else ``linear_act_grad`` and a cast."""
    onednn = amx.bf16_gemm()
    if onednn is not None and np.dtype(dtype) == np.float32 \
            and _all_bf16_matrices("linear_act_grad", (x, w, y, gy)):
        onednn.set_threads(get("cpu").module.num_threads())
        return _linear_act_grad(onednn, x, w, y, gy, act, slope, need_x, need_w, need_b, dtype)
    return fallbacks.linear_act_grad_mixed(get("cpu"), x, w, y, gy, act, slope, need_x, need_w,
                                           need_b, dtype)


def to_bfloat16(a: np.ndarray) -> np.ndarray:
    """float32 ``a`` rounded to bfloat16 (to nearest even, as ml_dtypes): oneDNN's reorder on
    AMX CPUs for contiguous arrays, ml_dtypes' loop elsewhere."""
    onednn = amx.bf16_gemm()
    if onednn is not None and (a.flags.c_contiguous or a.flags.f_contiguous):
        onednn.set_threads(get("cpu").module.num_threads())
        return onednn.convert(a, _BFLOAT16())
    return a.astype(_BFLOAT16())


@functools.lru_cache(maxsize=1)
def _BFLOAT16():  # noqa: N802  a constant, looked up late (ml_dtypes is optional)
    return dtypes.bfloat16_dtype()


def _all_bf16_matrices(name: str, args: tuple) -> bool:
    """Whether the GEMM operands are 2-D bfloat16 arrays (what the oneDNN path covers)."""
    operands = args[:2] if name != "linear_act_grad" else args[:4]
    bfloat16 = _BFLOAT16()  # compared as a dtype: dtype.name costs a microsecond per call
    return all(isinstance(a, np.ndarray) and a.ndim == 2 and a.dtype == bfloat16
               for a in operands)


def _matmul(onednn, a, b):
    return onednn.matmul(a, b, a.dtype)


def _linear_act(onednn, x, w, bias, act, slope):
    if bias is not None and bias.dtype.name not in ("bfloat16", "float32"):
        bias = bias.astype(x.dtype)
    if act not in ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus"):
        raise ValueError(f"linear_act: unknown activation {act!r}")
    return onednn.matmul(x, w, x.dtype, None if bias is None else bias.reshape(1, -1), act,
                         slope)


def _linear_act_grad(onednn, x, w, y, gy, act, slope, need_x, need_w, need_b, dtype=None):
    """gx in gy's dtype; gw and gb in ``dtype`` (default gy's), from float32 accumulators."""
    if act == "identity":
        gz = gy
    elif act == "relu":
        # y > 0 exactly where bfloat16's bits, read as int16, are positive: no widening needed
        # (an int16 multiply by the mask is 50x faster than np.where here).
        gz = np.multiply(gy.view(np.int16), y.view(np.int16) > 0, dtype=np.int16).view(gy.dtype)
    else:
        gz = low_precision.widened_call(get("cpu").act_grad, (y, gy, act, slope), {})
    # The bias gradient as a GEMM too, ones(1, M) @ gz: float32 accumulation at GEMM speed.
    ones = np.ones((1, gz.shape[0]), gz.dtype) if need_b else None
    param_dtype = gy.dtype if dtype is None else dtype
    return (onednn.matmul(gz, w.T, gy.dtype) if need_x else None,
            onednn.matmul(x.T, gz, param_dtype) if need_w else None,
            onednn.matmul(ones, gz, param_dtype).reshape(-1) if need_b else None)


_ONEDNN: dict = {"matmul": _matmul, "linear_act": _linear_act, "linear_act_grad": _linear_act_grad}
