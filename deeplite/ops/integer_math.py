"""Integer-style division and bitwise ops: div(rounding_mode=), floor_divide (``//``), remainder
(``%``, the divisor's sign, as Python), fmod (the dividend's sign, as C), bitwise and/or/xor/not
and shifts on integer and bool tensors.

Kernels are the array library's ufuncs (``backend.xp``, the same names in NumPy and CuPy). As in
PyTorch, integer division by zero raises ZeroDivisionError (checked on host devices; on cuda the
check would stall every call), and floating division by zero gives inf or nan quietly.
"""
import numpy as np

from ..autograd import Function
from ..dtypes import is_floating, is_low_precision
from ..tensor import Tensor
from .movement import unbroadcast
from .scalars import lift_pair

ROUNDING_MODES = ("trunc", "floor")


def _check_integer_divisor(b, x, y, name: str) -> None:
    if x.dtype.kind in "biu" and y.dtype.kind in "biu" and b.cheap_host_sync and (y == 0).any():
        raise ZeroDivisionError(f"{name}: integer division by zero")


class RoundedDiv(Function):
    """x / y rounded toward zero ("trunc") or down ("floor"); its gradient is 0, as PyTorch's."""

    name = "div"

    def forward(self, b, x, y, mode):
        _check_integer_divisor(b, x, y, f"div(rounding_mode={mode!r})")
        xp = b.xp
        with np.errstate(all="ignore"):
            if mode == "floor":
                return xp.floor_divide(x, y)
            if is_low_precision(x.dtype):  # a 16-bit quotient rounds (2.99 -> 3) before trunc
                wide = xp.true_divide(b.astype(x, np.float32), b.astype(y, np.float32))
                return b.astype(xp.trunc(wide), x.dtype)
            if is_floating(x.dtype):
                return xp.trunc(xp.true_divide(x, y))
            # Integer truncation from floor division: round up where the signs differ and the
            # division is not exact (no detour through floats, which would lose int64 precision).
            quotient = xp.floor_divide(x, y)
            inexact = xp.remainder(x, y) != 0
            return quotient + (inexact & ((x < 0) != (y < 0))).astype(quotient.dtype)

    def backward(self, gy):
        x, y = self.inputs
        zero = gy * 0
        return (unbroadcast(zero, x.shape) if x.requires_grad else None,
                unbroadcast(zero, y.shape) if y.requires_grad else None)


def rounded_div(x, y, rounding_mode: str) -> Tensor:
    """``div(x, y, rounding_mode=...)``: "trunc" rounds toward zero, "floor" down."""
    if rounding_mode not in ROUNDING_MODES:
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    return RoundedDiv.apply(*lift_pair(x, y), mode=rounding_mode)


def floor_divide(x, y) -> Tensor:
    """x // y rounded down (as ``torch.floor_divide`` and Python's ``//``); gradient 0."""
    return RoundedDiv.apply(*lift_pair(x, y), mode="floor")


class _Modulo(Function):
    """remainder / fmod: x - q * y for the floor (remainder) or truncated (fmod) quotient q."""

    name = "remainder"  # each instance names itself after its kernel

    def forward(self, b, x, y, kernel, mode):
        self.name, self.mode = kernel, mode
        _check_integer_divisor(b, x, y, kernel)
        with np.errstate(all="ignore"):
            return getattr(b.xp, kernel)(x, y)

    def backward(self, gy):
        x, y = self.inputs
        quotient = RoundedDiv.apply(x.detach(), y.detach(), mode=self.mode)
        return (unbroadcast(gy, x.shape) if x.requires_grad else None,
                unbroadcast(-gy * quotient, y.shape) if y.requires_grad else None)


def remainder(x, y) -> Tensor:
    """x - floor(x / y) * y: the result has the divisor's sign (``torch.remainder``, ``%``)."""
    return _Modulo.apply(*lift_pair(x, y), kernel="remainder", mode="floor")


def fmod(x, y) -> Tensor:
    """x - trunc(x / y) * y: the result has the dividend's sign (as ``torch.fmod``, C's fmod)."""
    return _Modulo.apply(*lift_pair(x, y), kernel="fmod", mode="trunc")


class _Bitwise(Function):
    """Elementwise bitwise ops on integer and bool tensors (no gradient)."""

    name = "bitwise_and"  # each instance names itself after its op
    differentiable = False

    def forward(self, b, *arrays, kernel, name):
        self.name = name
        for array in arrays:
            allowed = "iu" if "shift" in kernel else "biu"
            if array.dtype.kind not in allowed:
                what = "integer" if "shift" in kernel else "integer or bool"
                raise TypeError(f"{name}: needs {what} tensors, got {array.dtype}")
        return getattr(b.xp, kernel)(*arrays)


def _bitwise(kernel: str, name: str, doc: str):
    def function(x, y) -> Tensor:
        return _Bitwise.apply(*lift_pair(x, y), kernel=kernel, name=name)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc}, elementwise on integer and bool tensors (as ``torch.{name}``)."
    return function


bitwise_and = _bitwise("bitwise_and", "bitwise_and", "x & y")
bitwise_or = _bitwise("bitwise_or", "bitwise_or", "x | y")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor", "x ^ y")
bitwise_left_shift = _bitwise("left_shift", "bitwise_left_shift", "x << y")
bitwise_right_shift = _bitwise("right_shift", "bitwise_right_shift",
                               "x >> y (arithmetic: the sign is kept)")


def bitwise_not(x: Tensor) -> Tensor:
    """~x: every bit flipped for integers, logical not for bool (as ``torch.bitwise_not``)."""
    return _Bitwise.apply(x, kernel="invert", name="bitwise_not")
