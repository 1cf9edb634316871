"""Elementwise math: binary ops with NumPy broadcasting, unary ops, comparisons and where.

Math that leaves its domain (log of a negative, 0 / 0) gives nan or inf quietly, as in PyTorch: the
kernels run under ``numpy.errstate(all="ignore")`` instead of warning from deeplite's internals.
"""
import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .movement import unbroadcast
from .scalars import lift, lift_pair


class Add(Function):
    name = "add"
    saved_inputs = False
    broadcasts = True

    def forward(self, b, x, y):
        return b.add(x, y)

    def backward(self, gy):
        x, y = self.inputs
        return (unbroadcast(gy, x.shape) if x.requires_grad else None,
                unbroadcast(gy, y.shape) if y.requires_grad else None)


class Sub(Function):
    name = "sub"
    saved_inputs = False
    broadcasts = True

    def forward(self, b, x, y):
        return b.sub(x, y)

    def backward(self, gy):
        x, y = self.inputs
        return (unbroadcast(gy, x.shape) if x.requires_grad else None,
                unbroadcast(-gy, y.shape) if y.requires_grad else None)


class Mul(Function):
    name = "mul"
    broadcasts = True

    def forward(self, b, x, y):
        return b.mul(x, y)

    def backward(self, gy):
        x, y = self.inputs
        return (unbroadcast(gy * y, x.shape) if x.requires_grad else None,
                unbroadcast(gy * x, y.shape) if y.requires_grad else None)


class Div(Function):
    name = "div"
    broadcasts = True

    def forward(self, b, x, y):
        with np.errstate(all="ignore"):
            return b.div(x, y)

    def backward(self, gy):
        x, y = self.inputs
        gx = gy / y
        return (unbroadcast(gx, x.shape) if x.requires_grad else None,
                unbroadcast(-gx * x / y, y.shape) if y.requires_grad else None)


class Pow(Function):
    name = "pow"
    save_output = True
    broadcasts = True

    def forward(self, b, x, y):
        with np.errstate(all="ignore"):
            return b.pow(x, y)

    def backward(self, gy):
        x, y = self.inputs
        b = x._backend
        gx = gp = None
        if x.requires_grad:
            # d(x^0)/dx is 0 everywhere (x = 0 included, where y * x^(y-1) would be 0 * inf).
            # The base is swapped for 1 where the exponent is 0, so no branch holds 0 * inf.
            zero_power = Tensor._wrap(b.eq(y.data, 0), b)
            safe_x = where(zero_power, 1.0, x)
            gx = unbroadcast(where(zero_power, 0.0, gy * y * safe_x ** (y - 1)), x.shape)
        if y.requires_grad:
            # d(0^y)/dy is 0 for y >= 0 (x^y log x would be 0 * -inf), as PyTorch defines it.
            zero_base = Tensor._wrap(b.mul(b.eq(x.data, 0), b.ge(y.data, 0)), b)
            gp = unbroadcast(where(zero_base, 0.0, gy * self.output() * log(where(
                zero_base, 1.0, x))), y.shape)
        return gx, gp


class _Extremum(Function):
    """maximum/minimum: the gradient goes to the chosen input, split evenly on ties (as PyTorch)."""

    broadcasts = True

    def forward(self, b, x, y):
        return getattr(b, self.name)(x, y)

    def backward(self, gy):
        x, y = self.inputs
        b = gy._backend
        wins = b.gt(x.data, y.data) if self.name == "maximum" else b.lt(x.data, y.data)
        ties = b.eq(x.data, y.data)
        share = b.add(b.astype(wins, gy.dtype), b.mul(b.astype(ties, gy.dtype), gy.dtype.type(0.5)))
        share = Tensor._wrap(share, b)  # piecewise constant: no gradient of its own
        return (unbroadcast(gy * share, x.shape) if x.requires_grad else None,
                unbroadcast(gy * (1 - share), y.shape) if y.requires_grad else None)


class Maximum(_Extremum):
    name = "maximum"


class Minimum(_Extremum):
    name = "minimum"


class Neg(Function):
    name = "neg"
    saved_inputs = False

    def forward(self, b, x):
        return b.neg(x)

    def backward(self, gy):
        return -gy


class Exp(Function):
    name = "exp"
    save_output = True
    saved_inputs = False

    def forward(self, b, x):
        with np.errstate(over="ignore"):  # exp(1000) is inf quietly, as in PyTorch
            return b.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    name = "log"

    def forward(self, b, x):
        with np.errstate(all="ignore"):
            return b.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    name = "sqrt"
    save_output = True
    saved_inputs = False

    def forward(self, b, x):
        with np.errstate(all="ignore"):
            return b.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output())


class Abs(Function):
    name = "abs"

    def forward(self, b, x):
        return b.abs(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * Tensor._wrap(x._backend.sign(x.data), x._backend)


class Clip(Function):
    name = "clip"

    def forward(self, b, x, low, high):
        self.low, self.high = low, high
        return b.clip(x, low, high)

    def backward(self, gy):
        x = self.inputs[0]
        b = x._backend
        inside = b.full(x.shape, True, bool)
        if self.low is not None:
            inside = b.mul(inside, b.ge(x.data, self.low))
        if self.high is not None:
            inside = b.mul(inside, b.le(x.data, self.high))
        return gy * Tensor._wrap(b.astype(inside, gy.dtype), b)


class Where(Function):
    name = "where"
    broadcasts = True

    def forward(self, b, condition, x, y):
        return b.where(condition, x, y)

    def backward(self, gy):
        condition, x, y = self.inputs
        zero = gy.dtype.type(0)
        return (None,
                unbroadcast(where(condition, gy, zero), x.shape) if x.requires_grad else None,
                unbroadcast(where(condition, zero, gy), y.shape) if y.requires_grad else None)


class _Compare(Function):
    """Elementwise comparison to a bool tensor; never differentiable."""

    broadcasts = True
    differentiable = False

    def forward(self, b, x, y):
        return getattr(b, self.name)(x, y)


def _comparison(kernel: str):
    op: type[Function] = type(kernel, (_Compare,), {"name": kernel})

    def compare(x, y) -> Tensor:
        return op.apply(*lift_pair(x, y))

    compare.__name__ = kernel
    compare.__doc__ = f"Elementwise ``{kernel}`` comparison, a bool tensor (no gradient)."
    return compare


eq, ne, lt, le, gt, ge = (_comparison(k) for k in ("eq", "ne", "lt", "le", "gt", "ge"))


def add(x, y) -> Tensor:
    """x + y, broadcasting."""
    return Add.apply(*lift_pair(x, y))


def sub(x, y) -> Tensor:
    """x - y, broadcasting."""
    return Sub.apply(*lift_pair(x, y))


def mul(x, y) -> Tensor:
    """x * y, broadcasting."""
    return Mul.apply(*lift_pair(x, y))


def div(x, y, *, rounding_mode=None) -> Tensor:
    """x / y, broadcasting, as ``torch.div``: true division (integers give the default float
    dtype), or with ``rounding_mode`` "trunc" / "floor" the quotient rounded toward zero / down."""
    if rounding_mode is not None:
        from .integer_math import rounded_div  # integer_math builds on this module

        return rounded_div(x, y, rounding_mode)
    x, y = lift_pair(x, y)
    if not dtypes.is_floating(x.dtype) and not dtypes.is_floating(y.dtype):
        x, y = to_float(x), to_float(y)
    return Div.apply(x, y)


def to_float(x: Tensor) -> Tensor:
    """``x`` itself when floating point, else cast to the default float dtype (as PyTorch's
    integer inputs to exp, log, sqrt, sigmoid and true division)."""
    return x if dtypes.is_floating(x.dtype) else x.to(dtype=dtypes.get_default_dtype())


def pow(x, y) -> Tensor:
    """x ** y, broadcasting."""
    return Pow.apply(*lift_pair(x, y))


def maximum(x, y) -> Tensor:
    """Elementwise maximum; ties share the gradient equally."""
    return Maximum.apply(*lift_pair(x, y))


def minimum(x, y) -> Tensor:
    """Elementwise minimum; ties share the gradient equally."""
    return Minimum.apply(*lift_pair(x, y))


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    """e ** x (integer tensors give the default float dtype)."""
    return Exp.apply(to_float(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm; nan for x < 0, -inf at 0, quietly (as PyTorch)."""
    return Log.apply(to_float(x))


def sqrt(x: Tensor) -> Tensor:
    """Square root; nan for x < 0, quietly (as PyTorch)."""
    return Sqrt.apply(to_float(x))


def abs(x: Tensor) -> Tensor:
    """|x|; its gradient at 0 is 0 (as PyTorch)."""
    return Abs.apply(x)


def clip(x: Tensor, min=None, max=None) -> Tensor:
    """x limited to [min, max]; either bound may be None. The gradient passes where it is inside."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, low=min, high=max)


def where(condition, x, y) -> Tensor:
    """Elements of x where condition holds, else of y (broadcasting), as ``torch.where``.

    x and y may be tensors or Python numbers: ``where(mask, 1, 3)`` is an int64 tensor,
    ``where(mask, x, 0.0)`` keeps x's dtype.
    """
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else condition
    if not isinstance(like, Tensor):
        raise TypeError("where: condition, x or y must be a tensor")
    if not isinstance(condition, Tensor):
        condition = Tensor._wrap(like._backend.asarray(condition, bool), like._backend)
    elif condition.dtype.kind != "b":
        condition = condition != 0
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = lift(x, _scalar_anchor(x, y, condition))
    x, y = lift_pair(x, y)
    return Where.apply(condition, x, y)


def _scalar_anchor(x, y, condition: Tensor) -> Tensor:
    """An empty tensor on ``condition``'s device whose dtype two Python scalars promote to."""
    import numbers

    b = condition._backend
    dtype: np.dtype
    if isinstance(x, bool) and isinstance(y, bool):
        dtype = dtypes.bool_
    elif isinstance(x, numbers.Integral) and isinstance(y, numbers.Integral):
        dtype = dtypes.int64
    else:
        dtype = dtypes.get_default_dtype()
    return Tensor._wrap(b.zeros((0,), dtype), b)
