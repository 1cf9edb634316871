"""Unary elementwise math beyond exp/log/sqrt: trigonometric, hyperbolic, logs and exps in other
bases, erf, reciprocals, rounding, sign.

The kernels are the array library's own ufuncs (``backend.xp``: NumPy on numpy/cpu, CuPy on cuda,
with the same names and meaning; erf from scipy.special / cupyx.scipy.special). Each derivative
is written once in differentiable ops, so second derivatives work. Integer inputs give the
default float dtype (as PyTorch); out-of-domain inputs (asin(2), log2(-1)) give nan quietly.
"""
import math
from typing import Callable

import numpy as np

from ..autograd import Function
from ..dtypes import is_floating, is_low_precision
from ..tensor import Tensor
from .arithmetic import exp, to_float, where
from .binary_math import logical_and


def special(backend):
    """scipy.special on the host, cupyx.scipy.special on a GPU (imported on first use)."""
    if backend.xp is np:
        import scipy.special

        return scipy.special
    import cupyx.scipy.special  # type: ignore[import-not-found]

    return cupyx.scipy.special


class Unary(Function):
    """y = f(x) through one ufunc; subclasses give ``kernel`` and ``derivative`` (f' in ops)."""

    name = "unary"  # each subclass sets its own (sin, log2, ...)
    kernel = ""

    def forward(self, b, x):
        with np.errstate(all="ignore"):
            if self.kernel in ("erf", "erfc"):
                return getattr(special(b), self.kernel)(x).astype(x.dtype, copy=False)
            if self.kernel == "rsqrt":  # no such ufunc: 1 / sqrt(x)
                return b.div(x.dtype.type(1), b.sqrt(x))
            return getattr(b.xp, self.kernel)(x)

    def backward(self, gy):
        return gy * self.derivative(self.inputs[0])

    @staticmethod
    def derivative(x: Tensor) -> Tensor:
        """f'(x), in differentiable ops."""
        raise NotImplementedError


def _unary(name: str, derivative, doc: str,
           kernel: str | None = None) -> tuple[type[Function], Callable[[Tensor], Tensor]]:
    """The Function class for one ufunc and its public function (integers promoted to float)."""
    op: type[Function] = type(name.capitalize(), (Unary,), {
        "name": name, "kernel": kernel or name, "derivative": staticmethod(derivative),
        "__doc__": f"{name}: {doc}"})

    def function(x: Tensor) -> Tensor:
        return op.apply(to_float(x))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc} (as ``torch.{name}``)."
    return op, function


_LN2, _LN10, _TWO_OVER_SQRT_PI = math.log(2.0), math.log(10.0), 2.0 / math.sqrt(math.pi)


def _erf_derivative(x):
    return _TWO_OVER_SQRT_PI * exp(-x * x)


# Declared ahead: the derivatives below refer to functions defined a few lines further down.
sin: Callable[[Tensor], Tensor]
cos: Callable[[Tensor], Tensor]
tan: Callable[[Tensor], Tensor]
sinh: Callable[[Tensor], Tensor]
cosh: Callable[[Tensor], Tensor]
rsqrt: Callable[[Tensor], Tensor]
exp2: Callable[[Tensor], Tensor]
reciprocal: Callable[[Tensor], Tensor]

Sin, sin = _unary("sin", lambda x: cos(x), "Sine, elementwise")
Cos, cos = _unary("cos", lambda x: -sin(x), "Cosine, elementwise")
Tan, tan = _unary("tan", lambda x: 1 + tan(x) ** 2, "Tangent, elementwise")
Asin, asin = _unary("asin", lambda x: rsqrt(1 - x * x), "Inverse sine, nan outside [-1, 1]",
                    "arcsin")
Acos, acos = _unary("acos", lambda x: -rsqrt(1 - x * x), "Inverse cosine, nan outside [-1, 1]",
                    "arccos")
Atan, atan = _unary("atan", lambda x: 1 / (1 + x * x), "Inverse tangent", "arctan")
Sinh, sinh = _unary("sinh", lambda x: cosh(x), "Hyperbolic sine")
Cosh, cosh = _unary("cosh", lambda x: sinh(x), "Hyperbolic cosine")
Asinh, asinh = _unary("asinh", lambda x: rsqrt(x * x + 1), "Inverse hyperbolic sine", "arcsinh")
Acosh, acosh = _unary("acosh", lambda x: rsqrt(x * x - 1),
                      "Inverse hyperbolic cosine, nan below 1", "arccosh")
Atanh, atanh = _unary("atanh", lambda x: 1 / (1 - x * x),
                      "Inverse hyperbolic tangent, nan outside [-1, 1]", "arctanh")
Log2, log2 = _unary("log2", lambda x: 1 / (x * _LN2), "Base-2 logarithm")
Log10, log10 = _unary("log10", lambda x: 1 / (x * _LN10), "Base-10 logarithm")
Log1p, log1p = _unary("log1p", lambda x: 1 / (1 + x), "log(1 + x), accurate for small x")
Expm1, expm1 = _unary("expm1", lambda x: exp(x), "exp(x) - 1, accurate for small x")
Exp2, exp2 = _unary("exp2", lambda x: exp2(x) * _LN2, "2 ** x")
Erf, erf = _unary("erf", _erf_derivative, "The error function 2/sqrt(pi) * integral of exp(-t^2)")
Erfc, erfc = _unary("erfc", lambda x: -_erf_derivative(x), "1 - erf(x), accurate for large x")
Reciprocal, reciprocal = _unary("reciprocal", lambda x: -reciprocal(x) ** 2, "1 / x")


def _rsqrt_derivative(x):
    return -0.5 * rsqrt(x) ** 3


Rsqrt, rsqrt = _unary("rsqrt", _rsqrt_derivative, "1 / sqrt(x), nan for x < 0")


def square(x: Tensor) -> Tensor:
    """x * x, elementwise (as ``torch.square``; integers stay integers)."""
    return x * x


class _Piecewise(Function):
    """Rounding and sign: piecewise constant, so the gradient is 0 (as PyTorch defines it)."""

    name = "round"  # each instance names itself after its kernel

    def forward(self, b, x, kernel, decimals):
        self.name = kernel
        if kernel == "round" and decimals and is_low_precision(x.dtype):
            # x * 10**decimals would round in 16 bits before the rounding: float32, as PyTorch
            return b.astype(b.xp.round(b.astype(x, np.float32), decimals), x.dtype)
        if kernel == "round" and decimals:
            return b.xp.round(x, decimals)
        if kernel == "sign":
            return b.sign(x)
        return getattr(b.xp, kernel)(x)

    def backward(self, gy):
        return gy * 0


def _rounding(kernel: str, doc: str):
    def function(x: Tensor) -> Tensor:
        if x.dtype.kind in "biu":
            return x * 1  # already whole numbers: a copy, as PyTorch returns
        return _Piecewise.apply(x, kernel=kernel, decimals=0)

    function.__name__ = function.__qualname__ = kernel
    function.__doc__ = f"{doc}, elementwise (as ``torch.{kernel}``); its gradient is 0."
    return function


floor = _rounding("floor", "The largest integer <= x")
ceil = _rounding("ceil", "The smallest integer >= x")
trunc = _rounding("trunc", "x rounded toward zero")
fix = trunc


def round(x: Tensor, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as ``torch.round``); gradient 0."""
    if x.dtype.kind in "biu" and decimals >= 0:
        return x * 1
    return _Piecewise.apply(x, kernel="round", decimals=int(decimals))


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of x (as ``torch.sign``; bool stays bool); gradient 0."""
    return _Piecewise.apply(x, kernel="sign", decimals=0)


def sgn(x: Tensor) -> Tensor:
    """``sign`` (PyTorch's name for the complex-aware sign; the same on real tensors)."""
    return sign(x)


def frac(x: Tensor) -> Tensor:
    """x - trunc(x), the fractional part with x's sign (as ``torch.frac``); gradient 1."""
    return x - trunc(x).detach()


def signbit(x: Tensor) -> Tensor:
    """Whether the sign bit is set (True for -0.0 and negatives), a bool tensor."""
    return _Predicate.apply(x, kernel="signbit")


class _Predicate(Function):
    """An elementwise test giving a bool tensor (isnan, isinf, isfinite, signbit)."""

    name = "isnan"  # each instance names itself after its kernel
    differentiable = False

    def forward(self, b, x, kernel):
        self.name = kernel
        return getattr(b.xp, kernel)(x)


def isnan(x: Tensor) -> Tensor:
    """Where x is nan, a bool tensor (as ``torch.isnan``)."""
    return _Predicate.apply(x, kernel="isnan")


def isinf(x: Tensor) -> Tensor:
    """Where x is +inf or -inf, a bool tensor."""
    return _Predicate.apply(x, kernel="isinf")


def isfinite(x: Tensor) -> Tensor:
    """Where x is neither inf nor nan, a bool tensor."""
    return _Predicate.apply(x, kernel="isfinite")


def isposinf(x: Tensor) -> Tensor:
    """Where x is +inf, a bool tensor."""
    return logical_and(isinf(x), x > 0) if is_floating(x.dtype) else x != x


def isneginf(x: Tensor) -> Tensor:
    """Where x is -inf, a bool tensor."""
    return logical_and(isinf(x), x < 0) if is_floating(x.dtype) else x != x


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's
    largest / smallest finite values), as ``torch.nan_to_num``; the gradient passes where x is
    finite and is 0 at the replaced elements."""
    if not is_floating(x.dtype):
        return x * 1
    info = np.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(isposinf(x), posinf, out)
    return where(isneginf(x), neginf, out)
