"""Binary elementwise math beyond + - * /: atan2, copysign, logaddexp, lerp, and the logical ops
and closeness tests.

Kernels are the array library's ufuncs (``backend.xp``, the same names in NumPy and CuPy);
derivatives are written in differentiable ops, so second derivatives work.
"""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .activation import Act
from .arithmetic import to_float, where
from .movement import unbroadcast
from .scalars import lift_pair


def _float_pair(x, y) -> tuple:
    x, y = lift_pair(x, y)
    return to_float(x), to_float(y)


class Atan2(Function):
    """atan2(y, x): the angle of the point (x, y), in (-pi, pi]."""

    name = "atan2"

    def forward(self, b, y, x):
        return b.xp.arctan2(y, x)

    def backward(self, g):
        y, x = self.inputs
        scale = g / (x * x + y * y)
        return (unbroadcast(scale * x, y.shape) if y.requires_grad else None,
                unbroadcast(-scale * y, x.shape) if x.requires_grad else None)


def atan2(y, x) -> Tensor:
    """The angle of (x, y) in radians, elementwise, in (-pi, pi] (as ``torch.atan2``)."""
    return Atan2.apply(*_float_pair(y, x))


arctan2 = atan2


class Copysign(Function):
    """|x| with the sign of y; the gradient flows to x only (y's sign is piecewise constant)."""

    name = "copysign"
    save_output = True

    def forward(self, b, x, y):
        return b.xp.copysign(x, y)

    def backward(self, g):
        x, y = self.inputs
        b = x._backend
        # d/dx copysign(x, y) = result / x, and 0 at x = 0, as in PyTorch.
        zero = Tensor._wrap(b.eq(x.data, 0), b)
        ratio = where(zero, 0.0, self.output() / where(zero, 1.0, x))
        return (unbroadcast(g * ratio, x.shape) if x.requires_grad else None,
                unbroadcast(g * 0, y.shape) if y.requires_grad else None)


def copysign(x, y) -> Tensor:
    """|x| with the sign of y, elementwise (as ``torch.copysign``; -0.0 counts as negative)."""
    return Copysign.apply(*_float_pair(x, y))


class LogAddExp(Function):
    """log(exp(x) + exp(y)), stable for any x and y."""

    name = "logaddexp"

    def forward(self, b, x, y):
        return b.xp.logaddexp(x, y)

    def backward(self, g):
        x, y = self.inputs
        share = Act.apply(x - y, act="sigmoid", slope=0.0)  # d/dx = exp(x) / (exp(x) + exp(y))
        return (unbroadcast(g * share, x.shape) if x.requires_grad else None,
                unbroadcast(g * (1 - share), y.shape) if y.requires_grad else None)


def logaddexp(x, y) -> Tensor:
    """log(exp(x) + exp(y)) without overflow (as ``torch.logaddexp``)."""
    return LogAddExp.apply(*_float_pair(x, y))


def logaddexp2(x, y) -> Tensor:
    """log2(2**x + 2**y) without overflow (as ``torch.logaddexp2``)."""
    ln2 = float(np.log(2.0))
    return logaddexp(x * ln2, y * ln2) / ln2


def lerp(start, end, weight) -> Tensor:
    """start + weight * (end - start), elementwise, as ``torch.lerp``; ``weight`` is a number or
    a tensor."""
    return start + weight * (end - start)


def hypot(x, y) -> Tensor:
    """sqrt(x**2 + y**2), elementwise (as ``torch.hypot``)."""
    x, y = _float_pair(x, y)
    return (x * x + y * y).sqrt()


class _Logical(Function):
    """Elementwise logic on truth values (non-zero is True), a bool tensor (no gradient)."""

    name = "logical_and"  # each instance names itself after its kernel
    differentiable = False

    def forward(self, b, *arrays, kernel):
        self.name = kernel
        return getattr(b.xp, kernel)(*arrays)


def logical_and(x, y) -> Tensor:
    """x and y, elementwise on truth values (as ``torch.logical_and``)."""
    return _Logical.apply(*lift_pair(x, y), kernel="logical_and")


def logical_or(x, y) -> Tensor:
    """x or y, elementwise on truth values."""
    return _Logical.apply(*lift_pair(x, y), kernel="logical_or")


def logical_xor(x, y) -> Tensor:
    """x xor y, elementwise on truth values."""
    return _Logical.apply(*lift_pair(x, y), kernel="logical_xor")


def logical_not(x: Tensor) -> Tensor:
    """not x, elementwise on truth values."""
    return _Logical.apply(x, kernel="logical_not")


class _IsClose(Function):
    name = "isclose"
    differentiable = False

    def forward(self, b, x, y, rtol, atol, equal_nan):
        return b.xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)


def isclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|x - y| <= atol + rtol * |y| elementwise, a bool tensor (as ``torch.isclose``)."""
    return _IsClose.apply(*lift_pair(x, y), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is ``isclose``, a Python bool (as ``torch.allclose``)."""
    return bool(isclose(x, y, rtol, atol, equal_nan).data.all())
