"""Tensor's elementwise-math methods (sin, log2, floor, isnan, atan2, bitwise_and, ...) and the
``//``, ``%``, ``&``, ``|``, ``^``, ``~``, ``<<``, ``>>`` operators: each is the op of the same name
in ``deeplite`` (collected in ``deeplite/ops/surface.py``).

``TensorOps`` (``deeplite/tensor_ops.py``) derives from this mixin, and ``Tensor`` from that.
"""
from typing import Any

_ops: Any = None  # deeplite.ops.surface, bound through tensor_ops.bind once Tensor exists


def bind(ops_module) -> None:
    """Give the methods their op module (tensor_ops.bind calls this)."""
    global _ops
    _ops = ops_module


class TensorMath:
    """Elementwise-math methods; holds no state (see ``Tensor``)."""

    __slots__ = ()

    def sin(self, *args, **kwargs):
        """``deeplite.sin(self, ...)``."""
        return _ops.sin(self, *args, **kwargs)

    def cos(self, *args, **kwargs):
        """``deeplite.cos(self, ...)``."""
        return _ops.cos(self, *args, **kwargs)

    def tan(self, *args, **kwargs):
        """``deeplite.tan(self, ...)``."""
        return _ops.tan(self, *args, **kwargs)

    def asin(self, *args, **kwargs):
        """``deeplite.asin(self, ...)``."""
        return _ops.asin(self, *args, **kwargs)

    def acos(self, *args, **kwargs):
        """``deeplite.acos(self, ...)``."""
        return _ops.acos(self, *args, **kwargs)

    def atan(self, *args, **kwargs):
        """``deeplite.atan(self, ...)``."""
        return _ops.atan(self, *args, **kwargs)

    def sinh(self, *args, **kwargs):
        """``deeplite.sinh(self, ...)``."""
        return _ops.sinh(self, *args, **kwargs)

    def cosh(self, *args, **kwargs):
        """``deeplite.cosh(self, ...)``."""
        return _ops.cosh(self, *args, **kwargs)

    def asinh(self, *args, **kwargs):
        """``deeplite.asinh(self, ...)``."""
        return _ops.asinh(self, *args, **kwargs)

    def acosh(self, *args, **kwargs):
        """``deeplite.acosh(self, ...)``."""
        return _ops.acosh(self, *args, **kwargs)

    def atanh(self, *args, **kwargs):
        """``deeplite.atanh(self, ...)``."""
        return _ops.atanh(self, *args, **kwargs)

    def log2(self, *args, **kwargs):
        """``deeplite.log2(self, ...)``."""
        return _ops.log2(self, *args, **kwargs)

    def log10(self, *args, **kwargs):
        """``deeplite.log10(self, ...)``."""
        return _ops.log10(self, *args, **kwargs)

    def log1p(self, *args, **kwargs):
        """``deeplite.log1p(self, ...)``."""
        return _ops.log1p(self, *args, **kwargs)

    def expm1(self, *args, **kwargs):
        """``deeplite.expm1(self, ...)``."""
        return _ops.expm1(self, *args, **kwargs)

    def exp2(self, *args, **kwargs):
        """``deeplite.exp2(self, ...)``."""
        return _ops.exp2(self, *args, **kwargs)

    def rsqrt(self, *args, **kwargs):
        """``deeplite.rsqrt(self, ...)``."""
        return _ops.rsqrt(self, *args, **kwargs)

    def reciprocal(self, *args, **kwargs):
        """``deeplite.reciprocal(self, ...)``."""
        return _ops.reciprocal(self, *args, **kwargs)

    def square(self, *args, **kwargs):
        """``deeplite.square(self, ...)``."""
        return _ops.square(self, *args, **kwargs)

    def erf(self, *args, **kwargs):
        """``deeplite.erf(self, ...)``."""
        return _ops.erf(self, *args, **kwargs)

    def erfc(self, *args, **kwargs):
        """``deeplite.erfc(self, ...)``."""
        return _ops.erfc(self, *args, **kwargs)

    def sign(self, *args, **kwargs):
        """``deeplite.sign(self, ...)``."""
        return _ops.sign(self, *args, **kwargs)

    def sgn(self, *args, **kwargs):
        """``deeplite.sgn(self, ...)``."""
        return _ops.sgn(self, *args, **kwargs)

    def signbit(self, *args, **kwargs):
        """``deeplite.signbit(self, ...)``."""
        return _ops.signbit(self, *args, **kwargs)

    def floor(self, *args, **kwargs):
        """``deeplite.floor(self, ...)``."""
        return _ops.floor(self, *args, **kwargs)

    def ceil(self, *args, **kwargs):
        """``deeplite.ceil(self, ...)``."""
        return _ops.ceil(self, *args, **kwargs)

    def round(self, *args, **kwargs):
        """``deeplite.round(self, ...)``."""
        return _ops.round(self, *args, **kwargs)

    def trunc(self, *args, **kwargs):
        """``deeplite.trunc(self, ...)``."""
        return _ops.trunc(self, *args, **kwargs)

    def fix(self, *args, **kwargs):
        """``deeplite.fix(self, ...)``."""
        return _ops.fix(self, *args, **kwargs)

    def frac(self, *args, **kwargs):
        """``deeplite.frac(self, ...)``."""
        return _ops.frac(self, *args, **kwargs)

    def isnan(self, *args, **kwargs):
        """``deeplite.isnan(self, ...)``."""
        return _ops.isnan(self, *args, **kwargs)

    def isinf(self, *args, **kwargs):
        """``deeplite.isinf(self, ...)``."""
        return _ops.isinf(self, *args, **kwargs)

    def isfinite(self, *args, **kwargs):
        """``deeplite.isfinite(self, ...)``."""
        return _ops.isfinite(self, *args, **kwargs)

    def isposinf(self, *args, **kwargs):
        """``deeplite.isposinf(self, ...)``."""
        return _ops.isposinf(self, *args, **kwargs)

    def isneginf(self, *args, **kwargs):
        """``deeplite.isneginf(self, ...)``."""
        return _ops.isneginf(self, *args, **kwargs)

    def nan_to_num(self, *args, **kwargs):
        """``deeplite.nan_to_num(self, ...)``."""
        return _ops.nan_to_num(self, *args, **kwargs)

    def atan2(self, *args, **kwargs):
        """``deeplite.atan2(self, ...)``."""
        return _ops.atan2(self, *args, **kwargs)

    def arctan2(self, *args, **kwargs):
        """``deeplite.arctan2(self, ...)``."""
        return _ops.arctan2(self, *args, **kwargs)

    def copysign(self, *args, **kwargs):
        """``deeplite.copysign(self, ...)``."""
        return _ops.copysign(self, *args, **kwargs)

    def logaddexp(self, *args, **kwargs):
        """``deeplite.logaddexp(self, ...)``."""
        return _ops.logaddexp(self, *args, **kwargs)

    def logaddexp2(self, *args, **kwargs):
        """``deeplite.logaddexp2(self, ...)``."""
        return _ops.logaddexp2(self, *args, **kwargs)

    def hypot(self, *args, **kwargs):
        """``deeplite.hypot(self, ...)``."""
        return _ops.hypot(self, *args, **kwargs)

    def lerp(self, *args, **kwargs):
        """``deeplite.lerp(self, ...)``."""
        return _ops.lerp(self, *args, **kwargs)

    def fmod(self, *args, **kwargs):
        """``deeplite.fmod(self, ...)``."""
        return _ops.fmod(self, *args, **kwargs)

    def remainder(self, *args, **kwargs):
        """``deeplite.remainder(self, ...)``."""
        return _ops.remainder(self, *args, **kwargs)

    def floor_divide(self, *args, **kwargs):
        """``deeplite.floor_divide(self, ...)``."""
        return _ops.floor_divide(self, *args, **kwargs)

    def true_divide(self, *args, **kwargs):
        """``deeplite.true_divide(self, ...)``."""
        return _ops.true_divide(self, *args, **kwargs)

    def isclose(self, *args, **kwargs):
        """``deeplite.isclose(self, ...)``."""
        return _ops.isclose(self, *args, **kwargs)

    def allclose(self, *args, **kwargs):
        """``deeplite.allclose(self, ...)``."""
        return _ops.allclose(self, *args, **kwargs)

    def logical_and(self, *args, **kwargs):
        """``deeplite.logical_and(self, ...)``."""
        return _ops.logical_and(self, *args, **kwargs)

    def logical_or(self, *args, **kwargs):
        """``deeplite.logical_or(self, ...)``."""
        return _ops.logical_or(self, *args, **kwargs)

    def logical_xor(self, *args, **kwargs):
        """``deeplite.logical_xor(self, ...)``."""
        return _ops.logical_xor(self, *args, **kwargs)

    def logical_not(self, *args, **kwargs):
        """``deeplite.logical_not(self, ...)``."""
        return _ops.logical_not(self, *args, **kwargs)

    def bitwise_and(self, *args, **kwargs):
        """``deeplite.bitwise_and(self, ...)``."""
        return _ops.bitwise_and(self, *args, **kwargs)

    def bitwise_or(self, *args, **kwargs):
        """``deeplite.bitwise_or(self, ...)``."""
        return _ops.bitwise_or(self, *args, **kwargs)

    def bitwise_xor(self, *args, **kwargs):
        """``deeplite.bitwise_xor(self, ...)``."""
        return _ops.bitwise_xor(self, *args, **kwargs)

    def bitwise_not(self, *args, **kwargs):
        """``deeplite.bitwise_not(self, ...)``."""
        return _ops.bitwise_not(self, *args, **kwargs)

    def bitwise_left_shift(self, *args, **kwargs):
        """``deeplite.bitwise_left_shift(self, ...)``."""
        return _ops.bitwise_left_shift(self, *args, **kwargs)

    def bitwise_right_shift(self, *args, **kwargs):
        """``deeplite.bitwise_right_shift(self, ...)``."""
        return _ops.bitwise_right_shift(self, *args, **kwargs)

    # ---- integer and bitwise operators ------------------------------------------------------
    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.bitwise_and(other, self)

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.bitwise_or(other, self)

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.bitwise_xor(other, self)

    def __invert__(self):
        return _ops.bitwise_not(self)

    def __lshift__(self, other):
        return _ops.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ops.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _ops.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ops.bitwise_right_shift(other, self)
