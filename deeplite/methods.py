"""Gives Tensor its operators and methods: every op is also a method, as in PyTorch."""
from . import functional, ops
from .ops.arithmetic import Add, Div, Mul, Sub
from .ops.linalg import MatMul
from .ops.scalars import lift_pair
from .tensor import Tensor


def _binary(op):
    """``tensor <op> other`` for a Function, with the common tensor-tensor case first."""

    apply = op.apply

    def method(self, other):
        if isinstance(other, Tensor):
            return apply(self, other)
        return apply(*lift_pair(self, other))

    return method


def _reflected(function):
    """``other <op> tensor``: the same function with the operands swapped back."""

    def method(self, other):
        return function(other, self)

    return method


OPERATORS = {
    "__add__": _binary(Add), "__sub__": _binary(Sub), "__mul__": _binary(Mul),
    "__truediv__": _binary(Div), "__matmul__": _binary(MatMul),
    "__radd__": _reflected(ops.add), "__rsub__": _reflected(ops.sub),
    "__rmul__": _reflected(ops.mul), "__rtruediv__": _reflected(ops.div),
    "__rmatmul__": _reflected(ops.matmul), "__pow__": ops.pow, "__rpow__": _reflected(ops.pow),
    "__neg__": ops.neg, "__abs__": ops.abs, "__getitem__": ops.getitem,
    "__eq__": ops.eq, "__ne__": ops.ne, "__lt__": ops.lt, "__le__": ops.le, "__gt__": ops.gt,
    "__ge__": ops.ge,
}

METHODS = {
    name: getattr(ops, name) for name in (
        "add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg", "exp", "log", "sqrt",
        "abs", "clip", "matmul", "sum", "mean", "max", "min", "argmax", "var", "std", "reshape",
        "transpose", "permute", "broadcast_to", "eq", "ne", "lt", "le", "gt", "ge")
}
METHODS.update(clamp=ops.clip, view=ops.reshape, expand=ops.broadcast_to)
METHODS.update({name: getattr(functional, name) for name in (
    "sigmoid", "relu", "leaky_relu", "tanh", "softplus", "log_sigmoid", "softmax", "log_softmax",
    "heaviside")})

for _name, _function in {**OPERATORS, **METHODS}.items():
    setattr(Tensor, _name, _function)
Tensor.__hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable
