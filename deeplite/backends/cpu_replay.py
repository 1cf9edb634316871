"""The cpu backend's oneDNN kernels bound to fixed buffers, for deeplite.jit's replay.

A replay reruns each kernel on its trace-time arrays. Called again from Python, a bfloat16 kernel
would dispatch anew (the ``_C`` attempt, the 16-bit check, the primitive lookup) and allocate a
result that the replay then copies into its buffer: for step (a) that copy alone is every weight
gradient once more. Bound here instead, each oneDNN primitive runs on memory objects that hold
the replay's own buffers, writing its results in place: one ctypes call per GEMM or cast. The
primitives are those the eager kernel used (same cache keys), so replay equals eager bit for
bit. Only what the eager kernel ran on oneDNN is bound; anything else returns None and stays an
ordinary replayed call.
"""
from typing import Any, Callable, Dict

import numpy as np

from . import amx, get, low_precision
from .cpu_low_precision import _all_bf16_matrices


def bind(name: str, args: tuple, kwargs: dict, result):
    """A zero-argument callable recomputing kernel ``name``'s trace-time ``result`` in place,
    or None where the eager kernel did not run on oneDNN."""
    onednn = amx.bf16_gemm()
    binder = _BINDERS.get(name)
    if onednn is None or binder is None or kwargs:
        return None
    outputs = result if isinstance(result, tuple) else (result,)
    if not all(out is None or (type(out) is np.ndarray and out.flags.c_contiguous)
               for out in outputs):
        return None  # the primitives write row-major results
    run = binder(onednn, result, *args)
    if run is None:
        return None
    threads, module = [0], get("cpu").module

    def replayed():
        if threads[0] != module.num_threads():  # set_num_threads between replays
            threads[0] = module.num_threads()
            onednn.set_threads(threads[0])
        run()

    return replayed


def _astype(onednn, result, a, dtype):
    # cpu_backend.astype: oneDNN's reorder for large contiguous float32 -> bfloat16 only.
    from .cpu_backend import NATIVE_MIN_SIZE

    if (type(a) is not np.ndarray or a.dtype != np.float32 or a.size < NATIVE_MIN_SIZE
            or not low_precision.is_low(result) or result.dtype.name != "bfloat16"
            or not (a.flags.c_contiguous or a.flags.f_contiguous)):
        return None
    return onednn.bind_convert(a, result)


def _matmul(onednn, result, a, b):
    if not _all_bf16_matrices("matmul", (a, b)):
        return None
    return onednn.bind_matmul(a, b, result)


def _linear_act(onednn, result, x, w, bias, act, slope):
    if not _all_bf16_matrices("linear_act", (x, w)) or (
            bias is not None and bias.dtype.name not in ("bfloat16", "float32")):
        return None
    return onednn.bind_matmul(x, w, result, bias, act, slope)


def _linear_act_grad_mixed(onednn, result, x, w, y, gy, act, slope, need_x, need_w, need_b,
                           dtype):
    if act not in ("identity", "relu") or np.dtype(dtype) != np.float32 \
            or not _all_bf16_matrices("linear_act_grad", (x, w, y, gy)):
        return None
    gx, gw, gb = result
    runs = []
    gz = gy
    if act == "relu":  # as cpu_low_precision: the int16 view's sign is bfloat16's
        gz, mask = np.empty_like(gy), np.empty(gy.shape, np.bool_)
        y_bits, gy_bits, gz_bits = y.view(np.int16), gy.view(np.int16), gz.view(np.int16)

        def relu_grad():
            np.greater(y_bits, 0, out=mask)
            np.multiply(gy_bits, mask, out=gz_bits)

        runs.append(relu_grad)
    if need_x:
        runs.append(onednn.bind_matmul(gz, w.T, gx))
    if need_w:
        runs.append(onednn.bind_matmul(x.T, gz, gw))
    if need_b:
        ones = np.ones((1, gz.shape[0]), gz.dtype)
        runs.append(onednn.bind_matmul(ones, gz, gb.reshape(1, -1)))

    def run():
        for step in runs:
            step()

    return run


_BINDERS: Dict[str, Callable[..., Any]] = {
    "astype": _astype, "matmul": _matmul, "linear_act": _linear_act,
    "linear_act_grad_mixed": _linear_act_grad_mixed}
