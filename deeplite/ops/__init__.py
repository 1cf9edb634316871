"""Differentiable ops, grouped by family: Function subclasses and the functions that apply them.

Each family is a submodule (``deeplite.ops.arithmetic``, ``.activation``, ...); the functions are
re-exported here under their public names.
"""
from .activation import activate
from .arithmetic import (
    abs,
    add,
    clip,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    sqrt,
    sub,
    where,
)
from .linalg import linear, matmul
from .movement import (
    broadcast_to,
    cast,
    concatenate,
    getitem,
    permute,
    reshape,
    stack,
    to_device,
    transpose,
)
from .reduce import argmax, max, mean, min, std, sum, var
from .scalars import lift, lift_pair

__all__ = [
    "abs", "activate", "add", "argmax", "broadcast_to", "cast", "clip", "concatenate", "div", "eq",
    "exp", "ge", "getitem", "gt", "le", "lift", "lift_pair", "linear", "log", "lt", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "ne", "neg", "permute", "pow", "reshape", "sqrt",
    "stack", "std", "sub", "sum", "to_device", "transpose", "var", "where",
]
