"""Activations beyond the fused ones, composed from differentiable ops (so their gradients and
second derivatives come for free): gelu, elu, selu, celu, silu, mish, hardsigmoid, hardswish,
hardtanh, relu6, softsign, softmin, softplus with beta/threshold, glu, normalize.

All follow ``torch.nn.functional``'s names, defaults and formulas.
"""
import math

from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .activation import Act, LogSoftmax, Softmax
from .arithmetic import clip, maximum, where
from .elementwise_math import erf, expm1


def _act(x: Tensor, name: str) -> Tensor:
    return Act.apply(x, act=name, slope=0.0)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016), as ``F.gelu``.

    ``approximate="tanh"`` uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    """
    if approximate == "none":
        return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + _act(inner, "tanh"))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _negative_part(x: Tensor, alpha: float, inner_scale: float = 1.0) -> Tensor:
    """alpha * (exp(x / inner_scale) - 1) on x <= 0; x clipped at 0 first, so the unused branch
    never overflows (exp of a large positive x would make its zero gradient 0 * inf = nan)."""
    return alpha * expm1(clip(x, max=0.0) * (1.0 / inner_scale))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise (Clevert et al. 2015), as ``F.elu``."""
    return where(x > 0, x, _negative_part(x, alpha))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Tensor) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. 2017."""
    return SELU_SCALE * where(x > 0, x, _negative_part(x, SELU_ALPHA))


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as ``F.celu``."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return where(x > 0, x, _negative_part(x, alpha, alpha))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish), as ``F.silu``."""
    return x * _act(x, "sigmoid")


def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x)) (Misra 2019), as ``F.mish``."""
    return x * _act(_act(x, "softplus"), "tanh")


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val], as ``F.hardtanh``."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return clip(x, min_val, max_val)


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6), as ``F.relu6``."""
    return clip(x, 0.0, 6.0)


def hardsigmoid(x: Tensor) -> Tensor:
    """0 below -3, 1 above 3, x / 6 + 1/2 between, as ``F.hardsigmoid``."""
    return clip(x * (1 / 6) + 0.5, 0.0, 1.0)


def hardswish(x: Tensor) -> Tensor:
    """x * hardsigmoid(x) (Howard et al. 2019, MobileNetV3), as ``F.hardswish``."""
    return x * hardsigmoid(x)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|), which Glorot & Bengio (2010) compare with tanh, as ``F.softsign``."""
    return x / (1 + x.abs())


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as ``F.softplus``.

    With the defaults this is the fused, stable kernel (above the threshold it differs from x
    by log1p(exp(-x)) < 2e-9 relative).
    """
    if beta == 1.0 and threshold == 20.0:
        return _act(x, "softplus")
    scaled = x * beta
    return where(scaled > threshold, x, _act(scaled, "softplus") * (1.0 / beta))


def _dim_or_last(x: Tensor, dim, name: str) -> int:
    return normalize_dim(-1 if dim is None else dim, x.ndim, name)


def softmax(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (NumPy's ``axis`` works too), as ``F.softmax``; each
    slice sums to 1. Without a dim, the last (PyTorch requires one)."""
    dim = _one_of(dim, axis, "softmax")
    if dtype is not None:
        x = x.to(dtype=dtype)
    dim = _dim_or_last(x, dim, "softmax")
    if x.ndim == 0:  # a single element: its softmax is 1, and the gradient 0
        return Softmax.apply(x.reshape(1), axis=0).reshape(())
    return Softmax.apply(x, axis=dim)


def log_softmax(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (or ``axis``; the last by default), stable for any x, as
    ``F.log_softmax``."""
    dim = _one_of(dim, axis, "log_softmax")
    if dtype is not None:
        x = x.to(dtype=dtype)
    dim = _dim_or_last(x, dim, "log_softmax")
    if x.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), axis=0).reshape(())
    return LogSoftmax.apply(x, axis=dim)


def softmin(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """softmax(-x) along ``dim``: weights favouring the smallest entries, as ``F.softmin``."""
    return softmax(-x, _one_of(dim, axis, "softmin"), dtype)


def _one_of(dim, axis, name: str):
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and axis={axis!r}; pass one")
    return axis if dim is None else dim


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of x along ``dim`` (Dauphin et al. 2017)."""
    dim = normalize_dim(dim, x.ndim, "glu")
    size = x.shape[dim]
    if size % 2:
        raise ShapeError(f"glu: dim {dim} has odd size {size}; it must split into two halves")
    lead = (slice(None),) * dim
    return x[lead + (slice(0, size // 2),)] * _act(x[lead + (slice(size // 2, None),)], "sigmoid")


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``, as ``F.normalize``."""
    from .statistics import norm

    return x / maximum(norm(x, p, dim, keepdim=True), eps)
