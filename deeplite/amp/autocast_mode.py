"""``deeplite.autocast``: run matmul and linear in float16/bfloat16 inside a ``with`` block."""
import functools
import warnings

from .. import dtypes
from ..ops.autocast import state

_DEVICES = ("cpu", "cuda", "numpy")
_warned: set = set()


def _fast_here(device_type: str, dtype) -> str:
    """Why ``dtype`` would be slower than float32 on ``device_type`` here, or "" when it is not."""
    if device_type != "cpu":
        return ""  # numpy is the reference (always honoured); cuda has tensor cores
    if dtype == dtypes.float16:
        return "the cpu backend has no fast float16 GEMM"
    from ..backends import amx

    return amx.why_no_bf16_gemm() or ""


class autocast:  # noqa: N801  PyTorch's name
    """Mixed precision for a region of code, as ``torch.autocast``.

    Inside it, on tensors of ``device_type``: ``matmul``, ``@`` and ``linear`` (every
    ``nn.Linear``) cast their floating inputs to ``dtype`` and return ``dtype`` (accumulating in
    float32); softmax, log_softmax, the losses, ``sum`` and ``mean`` widen 16-bit inputs to
    float32; every other op runs in the widest dtype of its inputs. Parameters stay float32 and
    their gradients come back float32 (a cast's gradient is cast back).

    On a ``cpu`` without AMX or oneDNN, where 16-bit GEMMs are slower than float32, autocast warns
    once and computes in float32. Usable as a context manager or a decorator.

    Args:
        device_type: "cpu", "cuda" or "numpy" (the reference backend).
        dtype: ``deeplite.bfloat16`` (default on cpu/numpy) or ``deeplite.float16`` (default on
            cuda).
        enabled: False turns autocast off inside the region (nesting restores the outer state).
        cache_enabled: accepted for PyTorch compatibility; casts are not cached.

    >>> import deeplite as dl
    >>> with dl.autocast("numpy", dtype=dl.bfloat16):
    ...     y = dl.ones(2, 3, device="numpy") @ dl.ones(3, 4, device="numpy")
    >>> str(y.dtype)
    'bfloat16'
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled=None):
        if device_type not in _DEVICES:
            raise ValueError(f"autocast: unknown device_type {device_type!r}; choose one of "
                             f"{', '.join(_DEVICES)}")
        if dtype is None:
            dtype = dtypes.float16 if device_type == "cuda" else dtypes.bfloat16_dtype()
        dtype = dtypes.resolve(dtype)
        if not dtypes.is_low_precision(dtype):
            raise ValueError(f"autocast: dtype must be deeplite.bfloat16 or deeplite.float16, "
                             f"got {dtype}")
        if device_type == "cuda" and dtype != dtypes.float16:
            raise ValueError("autocast: the cuda backend (CuPy) has no bfloat16 arrays; use "
                             "dtype=deeplite.float16")
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, bool(enabled)
        self._saved: list = []

    def __enter__(self) -> "autocast":
        self._saved.append((state.dtype, state.device))
        if not self.enabled:
            state.dtype = state.device = None
            return self
        reason = _fast_here(self.device_type, self.fast_dtype)
        if reason:
            key = (self.device_type, self.fast_dtype)
            if key not in _warned:
                _warned.add(key)
                warnings.warn(f"autocast({self.device_type!r}, {self.fast_dtype}): {reason}; "
                              f"computing in float32", RuntimeWarning, stacklevel=2)
            state.dtype = state.device = None
        else:
            if self.device_type == "cuda":
                from ..backends import cuda_low_precision

                cuda_low_precision.use_float32_accumulation()
            state.dtype, state.device = self.fast_dtype, self.device_type
        return self

    def __exit__(self, *exc) -> None:
        state.dtype, state.device = self._saved.pop()

    def __call__(self, function):
        @functools.wraps(function)
        def autocasted(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return function(*args, **kwargs)

        return autocasted


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether ops on ``device_type`` are autocast right now (on this thread)."""
    return state.dtype is not None and state.device == device_type


def get_autocast_dtype(device_type: str = "cpu"):
    """The dtype autocast computes in on ``device_type``, or None when it is off there."""
    return state.dtype if is_autocast_enabled(device_type) else None
