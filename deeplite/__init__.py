"""deeplite: a small, fast deep learning framework with tape autodiff on NumPy, C++ and CUDA.

    >>> import deeplite as dl
    >>> x = dl.randn(4, 3, requires_grad=True)
    >>> (x ** 2).sum().backward()
"""
import importlib as _importlib

from . import backends, dtypes, functional  # noqa: F401
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    empty,
    from_numpy,
    full,
    full_like,
    get_default_device,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    set_default_device,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import (
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from .forward_mode import jvp
from .functional import heaviside, log_sigmoid, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .gradcheck import GradcheckError, gradcheck
from .interop import from_dlpack
from .ops import (
    abs,
    add,
    argmax,
    broadcast_to,
    clip,
    concatenate,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    ne,
    neg,
    permute,
    pow,
    reshape,
    sqrt,
    stack,
    std,
    sub,
    sum,
    transpose,
    var,
    where,
)
from .surface import *  # noqa: E402,F401,F403  the PyTorch tensor surface (deeplite/surface.py)
from .tensor import Tensor

__version__ = "0.1.0"

clamp = clip
cat = concatenate

# Submodules that import heavier packages load on first use: deeplite.nn, deeplite.cuda, ...
_LAZY = {"nn", "optim", "data", "cuda", "serialization", "cli", "examples", "viz", "utils",
         "jit", "distributed"}


def __getattr__(name):
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    if name == "bfloat16":  # ml_dtypes is optional: imported on first use
        return dtypes.bfloat16_dtype()
    if name in ("autocast", "amp"):
        amp = _importlib.import_module(".amp", __name__)
        return amp if name == "amp" else amp.autocast
    if name in ("save", "load", "save_training_state", "load_training_state"):
        return getattr(_importlib.import_module(".serialization", __name__), name)
    raise AttributeError(f"module 'deeplite' has no attribute {name!r}")


def available_devices() -> list:
    """Devices that work on this machine, fastest first (e.g. ["cpu", "numpy"])."""
    return backends.available()
