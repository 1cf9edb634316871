"""Elementwise math: binary ops with NumPy broadcasting, unary ops, comparisons and where."""
from ..autograd import Function
from ..tensor import Tensor
from .movement import unbroadcast
from .scalars import lift_pair


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
        return b.div(x, y)

    def backward(self, gy):
        x, y = self.inputs
        gx = gy / y
        return (unbroadcast(gx, x.shape) if x.requires_grad else None,
                unbroadcast(-gx * x / y, y.shape) if y.requires_grad else None)


class Pow(Function):
    name = "pow"
    broadcasts = True

    def forward(self, b, x, y):
        return b.pow(x, y)

    def backward(self, gy):
        x, y = self.inputs
        gx = unbroadcast(gy * y * x ** (y - 1), x.shape) if x.requires_grad else None
        gp = unbroadcast(gy * x ** y * log(x), y.shape) if y.requires_grad else None
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
        return b.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    name = "log"

    def forward(self, b, x):
        return b.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    name = "sqrt"
    save_output = True
    saved_inputs = False

    def forward(self, b, x):
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
    op = type(kernel, (_Compare,), {"name": kernel})

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


def div(x, y) -> Tensor:
    """x / y, broadcasting (true division)."""
    return Div.apply(*lift_pair(x, y))


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
    """e ** x."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root."""
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    """|x|; its gradient at 0 is 0 (as PyTorch)."""
    return Abs.apply(x)


def clip(x: Tensor, min=None, max=None) -> Tensor:
    """x limited to [min, max]; either bound may be None. The gradient passes where it is inside."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, low=min, high=max)


def where(condition, x, y) -> Tensor:
    """Elements of x where condition holds, else of y (broadcasting)."""
    like = x if isinstance(x, Tensor) else y
    if not isinstance(like, Tensor):
        raise TypeError("where: x or y must be a tensor")
    if not isinstance(condition, Tensor):
        condition = Tensor._wrap(like._backend.asarray(condition, bool), like._backend)
    x, y = lift_pair(x, y)
    return Where.apply(condition, x, y)
