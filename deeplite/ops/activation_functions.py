"""Activations beyond the fused ones (``activation.py``), composed from differentiable ops (so
their gradients and second derivatives come for free): gelu, elu, selu, celu, silu, mish,
hardsigmoid, hardswish, hardtanh, relu6, softsign, softmin, glu, normalize, the shrinks, threshold.

All follow ``torch.nn.functional``'s names, defaults and formulas.
"""
import math

from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .activation import Act, softmax
from .arithmetic import abs, clip, maximum, where
from .elementwise_math import erf, expm1
from .upcast import in_float32


def _act(x: Tensor, name: str) -> Tensor:
    return Act.apply(x, act=name, slope=0.0)


@in_float32
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


@in_float32
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise (Clevert et al. 2015), as ``F.elu``."""
    return where(x > 0, x, _negative_part(x, alpha))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@in_float32
def selu(x: Tensor) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. 2017."""
    return SELU_SCALE * where(x > 0, x, _negative_part(x, SELU_ALPHA))


@in_float32
def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as ``F.celu``."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return where(x > 0, x, _negative_part(x, alpha, alpha))


@in_float32
def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish), as ``F.silu``."""
    return x * _act(x, "sigmoid")


@in_float32
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


@in_float32
def hardsigmoid(x: Tensor) -> Tensor:
    """0 below -3, 1 above 3, x / 6 + 1/2 between, as ``F.hardsigmoid``."""
    return clip(x * (1 / 6) + 0.5, 0.0, 1.0)


@in_float32
def hardswish(x: Tensor) -> Tensor:
    """x * hardsigmoid(x) (Howard et al. 2019, MobileNetV3), as ``F.hardswish``."""
    return x * hardsigmoid(x)


@in_float32
def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|), which Glorot & Bengio (2010) compare with tanh, as ``F.softsign``."""
    return x / (1 + x.abs())


def softmin(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """softmax(-x) along ``dim``: weights favouring the smallest entries, as ``F.softmin``."""
    return softmax(-x, dim, dtype, axis=axis)


@in_float32
def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of x along ``dim`` (Dauphin et al. 2017)."""
    dim = normalize_dim(dim, x.ndim, "glu")
    size = x.shape[dim]
    if size % 2:
        raise ShapeError(f"glu: dim {dim} has odd size {size}; it must split into two halves")
    lead = (slice(None),) * dim
    return x[lead + (slice(0, size // 2),)] * _act(x[lead + (slice(size // 2, None),)], "sigmoid")


@in_float32
def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``, as ``F.normalize``."""
    from .statistics import norm

    return x / maximum(norm(x, p, dim, keepdim=True), eps)


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (as ``F.hardshrink``)."""
    return where(abs(x) > lambd, x, 0.0)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0 (as ``F.softshrink``)."""
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0.0))


@in_float32
def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x) (as ``F.tanhshrink``)."""
    return x - _act(x, "tanh")


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else ``value`` (as ``F.threshold``)."""
    return where(x > threshold, x, value)
