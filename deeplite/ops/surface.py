"""The ops of the PyTorch surface in one namespace: ``deeplite.surface`` re-exports them at the
top level and ``Tensor``'s methods (``deeplite/tensor_ops.py``) call them through it.

Each op is defined in its family's module beside this one; this file only collects them.
"""
from .activation import log_softmax, softmax
from .activation_functions import softmin
from .arithmetic import div as true_divide
from .binary_math import (
    allclose,
    arctan2,
    atan2,
    copysign,
    hypot,
    isclose,
    lerp,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
)
from .cumulative import cummax, cummin, cumprod, cumsum, logcumsumexp
from .elementwise_math import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    ceil,
    cos,
    cosh,
    erf,
    erfc,
    exp2,
    expm1,
    fix,
    floor,
    frac,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    log1p,
    log2,
    log10,
    nan_to_num,
    reciprocal,
    round,
    rsqrt,
    sgn,
    sign,
    signbit,
    sin,
    sinh,
    square,
    tan,
    trunc,
)
from .indexing import (
    argwhere,
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    take_along_dim,
)
from .integer_math import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    floor_divide,
    fmod,
    remainder,
)
from .matrices import diag, diag_embed, diagonal, meshgrid, tril, triu
from .movement import clone, contiguous, matrix_transpose, reverse_dims
from .padding import one_hot
from .reduce import amax, amin, argmin
from .shape import (
    chunk,
    expand,
    flatten,
    flip,
    fliplr,
    flipud,
    moveaxis,
    movedim,
    narrow,
    repeat,
    repeat_interleave,
    roll,
    split,
    squeeze,
    swapaxes,
    swapdims,
    tensor_split,
    tile,
    unbind,
    unflatten,
    unsqueeze,
)
from .sorting import argsort, kthvalue, median, msort, nanmedian, sort, topk
from .statistics import all, any, logsumexp, norm, prod, std_mean, var_mean, vector_norm

__all__ = [
    "acos", "acosh", "all", "allclose", "amax", "amin", "any", "arctan2", "argmin", "argsort",
    "argwhere", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "ceil", "chunk", "clone",
    "contiguous", "copysign", "cos", "cosh", "cummax", "cummin", "cumprod", "cumsum", "diag",
    "diag_embed", "diagonal", "erf", "erfc", "exp2", "expand", "expm1", "fix", "flatten", "flip",
    "fliplr", "flipud", "floor", "floor_divide", "fmod", "frac", "gather", "hypot", "index_select",
    "isclose", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "kthvalue", "lerp", "log10",
    "log1p", "log2", "log_softmax", "logaddexp", "logaddexp2", "logcumsumexp", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logsumexp", "masked_fill", "masked_select",
    "matrix_transpose", "median", "meshgrid", "moveaxis", "movedim", "msort", "nan_to_num",
    "nanmedian", "narrow", "nonzero", "norm", "one_hot", "prod", "reciprocal", "remainder",
    "repeat", "repeat_interleave", "reverse_dims", "roll", "round", "rsqrt", "scatter",
    "scatter_add", "scatter_reduce", "sgn", "sign", "signbit", "sin", "sinh", "softmax", "softmin",
    "sort", "split", "square", "squeeze", "std_mean", "swapaxes", "swapdims", "take_along_dim",
    "tan", "tensor_split", "tile", "topk", "tril", "triu", "true_divide", "trunc", "unbind",
    "unflatten", "unsqueeze", "var_mean", "vector_norm",
]
