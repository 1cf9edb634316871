"""The PyTorch tensor surface beyond the core ops: ``from deeplite.surface import *`` is how
``deeplite/__init__.py`` exports it, so ``deeplite.cumsum``, ``deeplite.gather``, ... exist.

Each name is defined in its family's module under ``deeplite/ops/`` (or ``creation.py``); this
file only collects them. The long-form list is docs/api.md.
"""
from . import return_types  # noqa: F401
from .creation import empty_like, eye, linspace, logspace, normal  # noqa: F401
from .dtypes import uint16, uint32, uint64  # noqa: F401
from .errors import DimError, ShapeError  # noqa: F401
from .ops.activation_functions import log_softmax, softmax, softmin  # noqa: F401
from .ops.arithmetic import div as true_divide  # noqa: F401
from .ops.binary_math import (  # noqa: F401
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
from .ops.cumulative import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: F401
from .ops.elementwise_math import (  # noqa: F401
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
from .ops.indexing import (  # noqa: F401
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
from .ops.integer_math import (  # noqa: F401
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
from .ops.movement import matrix_transpose, reverse_dims  # noqa: F401
from .ops.padding import one_hot  # noqa: F401
from .ops.reduce import amax, amin, argmin  # noqa: F401
from .ops.shape import (  # noqa: F401
                              chunk,
                              diag,
                              diag_embed,
                              diagonal,
                              expand,
                              flatten,
                              flip,
                              fliplr,
                              flipud,
                              meshgrid,
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
                              tril,
                              triu,
                              unbind,
                              unflatten,
                              unsqueeze,
)
from .ops.sorting import argsort, kthvalue, median, msort, nanmedian, sort, topk  # noqa: F401
from .ops.statistics import all, any, logsumexp, norm, prod, std_mean, var_mean, vector_norm  # noqa: F401
