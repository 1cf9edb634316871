"""bfloat16 shadows: autocast's cast of a float32 weight, written by the optimizer step itself.

Under ``deeplite.autocast("cpu", dtype=deeplite.bfloat16)`` every linear layer casts its float32
weight to bfloat16, a full pass over every weight per step just after the optimizer's pass wrote
it. On AMX CPUs the fused SGD and Adam kernels write that cast too (``shadows=`` of
``sgd_step``/``adam_step``), block by block while each block of the weight is still in cache, with
the rounding of the cast it replaces (oneDNN's reorder), so results stay bit for bit the same.

A shadow is used only while it is certainly current: the weight's version counter
(deeplite/versions.py) still reads what it read just after the step that wrote the shadow, the
weight still holds the same array (a ``deeplite.jit`` replay ticks the counters of the
parameters it updates, as ``Optimizer.step`` does). Any other write (``copy_``,
``load_state_dict``, an in-place op, another optimizer, ``.data = ...``) leaves it stale and
the linear layer casts again. Writes that bypass deeplite entirely (NumPy writes into
``weight.data``) are invisible here, as they are to the saved-tensor checks.
"""
from typing import Optional

import numpy as np

from .jit import hooks as jit_hooks
from .tensor import Tensor
from .versions import counter_of


class Shadow:
    """One weight's bfloat16 copy and the state of the weight it was written from."""

    __slots__ = ("array", "source", "version", "written")

    def __init__(self, array: np.ndarray, source: np.ndarray):
        self.array, self.source = array, source
        self.version, self.written = -1, False


def for_linear(weight: Tensor, dtype) -> Optional[np.ndarray]:
    """The current bfloat16 shadow of ``weight`` (None: cast it). Gives a shadow-worthy weight an
    empty one, which its optimizer's next step fills."""
    shadow = getattr(weight, "_bf16_shadow", None)
    if shadow is None:
        if _worth_a_shadow(weight, dtype):
            weight._bf16_shadow = Shadow(np.empty(weight.shape, dtype), weight.data)
        return None
    if (shadow.version == counter_of(weight).count and shadow.source is weight.data
            and weight.device == "cpu" and jit_hooks.active[0] is None):
        return shadow.array
    return None


def targets(params: list) -> Optional[list]:
    """The shadow arrays a fused step over ``params`` should write (None where a parameter has
    none), or None when none should be written; marks every one of them stale meanwhile."""
    if jit_hooks.active[0] is not None:  # a trace records the plain kernels, casts included
        return None
    arrays, any_shadow = [], False
    for param in params:
        shadow = getattr(param, "_bf16_shadow", None)
        if shadow is not None and (shadow.source is not param.data or param.device != "cpu"):
            shadow = _rebound(param, shadow)  # moved (the numpy backend shares the array)
        if shadow is not None:
            shadow.version, shadow.written, any_shadow = -1, False, True
            arrays.append(shadow.array)
        else:
            arrays.append(None)
    return arrays if any_shadow else None


def wrote(params: list, arrays: Optional[list]) -> None:
    """Note that a fused step wrote ``arrays`` (from ``targets``) for ``params``."""
    if arrays is not None:
        for param, array in zip(params, arrays, strict=True):
            if array is not None:
                param._bf16_shadow.written = True


def settle(param: Tensor) -> None:
    """After the step's ``bump_versions``: a shadow this step wrote for ``param`` is current."""
    shadow = getattr(param, "_bf16_shadow", None)
    if shadow is not None and shadow.written:
        shadow.version, shadow.written = counter_of(param).count, False


def _rebound(param: Tensor, shadow: Shadow) -> Optional[Shadow]:
    """The shadow of a parameter given a new array (``.data = ...``, ``.to(device)``): re-aimed
    at that array if it is still a float32, C-contiguous cpu array of that shape, else dropped."""
    data = param.data
    if (param.device == "cpu" and isinstance(data, np.ndarray) and data.dtype == np.float32
            and data.flags.c_contiguous and data.shape == shadow.array.shape):
        shadow.source = data
        return shadow
    del param._bf16_shadow
    return None


def _worth_a_shadow(weight: Tensor, dtype) -> bool:
    """Float32 leaf weights on the cpu backend where oneDNN runs AMX (the fused kernels write the
    shadow with AVX512_BF16, which every AMX CPU has), large enough that the cast it replaces
    runs on oneDNN (smaller ones run on ml_dtypes, whose rounding of denormals differs)."""
    if not (weight.requires_grad and weight.is_leaf and weight.device == "cpu"
            and weight.dtype == np.float32 and np.dtype(dtype).name == "bfloat16"
            and isinstance(weight.data, np.ndarray) and weight.data.flags.c_contiguous
            and jit_hooks.active[0] is None):
        return False
    from .backends import amx, cpu_backend

    return weight.data.size >= cpu_backend.NATIVE_MIN_SIZE and amx.bf16_gemm() is not None
