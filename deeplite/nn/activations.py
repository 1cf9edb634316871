"""Activation modules beyond ReLU / LeakyReLU / Sigmoid / Tanh / Softmax (in layers.py), as in
``torch.nn``: each stores its options and calls the ``deeplite.functional`` function of the same
name. ``inplace=`` is accepted for PyTorch code and ignored: results are always new tensors.
"""
from typing import Any

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class _Activation(Module):
    """A parameter-free module ``function(x, **options)``; subclasses set ``function``."""

    function: Any = None  # a deeplite.functional function, set by each subclass

    def __init__(self, **options):
        super().__init__()
        options.pop("inplace", None)
        self.options = options

    def forward(self, x: Tensor) -> Tensor:
        """The activation applied to ``x`` (shape unchanged, except GLU halves ``dim``)."""
        return type(self).function(x, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in self.options.items())


class GELU(_Activation):
    """x * Phi(x); ``approximate="tanh"`` for the tanh approximation (``nn.GELU``)."""

    function = staticmethod(F.gelu)

    def __init__(self, approximate: str = "none"):
        super().__init__(approximate=approximate)


class SiLU(_Activation):
    """x * sigmoid(x), also called swish (``nn.SiLU``)."""

    function = staticmethod(F.silu)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Mish(_Activation):
    """x * tanh(softplus(x)) (``nn.Mish``)."""

    function = staticmethod(F.mish)

    def __init__(self, inplace: bool = False):
        super().__init__()


class ELU(_Activation):
    """x for x > 0, alpha (exp(x) - 1) otherwise (``nn.ELU``)."""

    function = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha)


class CELU(_Activation):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (``nn.CELU``)."""

    function = staticmethod(F.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha)


class SELU(_Activation):
    """The self-normalising scale * elu(x, alpha) of Klambauer et al. (``nn.SELU``)."""

    function = staticmethod(F.selu)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Hardsigmoid(_Activation):
    """clip(x / 6 + 1/2, 0, 1) (``nn.Hardsigmoid``)."""

    function = staticmethod(F.hardsigmoid)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Hardswish(_Activation):
    """x * hardsigmoid(x) (``nn.Hardswish``)."""

    function = staticmethod(F.hardswish)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Hardtanh(_Activation):
    """x clipped to [min_val, max_val] (``nn.Hardtanh``)."""

    function = staticmethod(F.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(min_val=min_val, max_val=max_val)


class ReLU6(_Activation):
    """min(max(x, 0), 6) (``nn.ReLU6``)."""

    function = staticmethod(F.relu6)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Softsign(_Activation):
    """x / (1 + |x|) (``nn.Softsign``)."""

    function = staticmethod(F.softsign)


class Softplus(_Activation):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (``nn.Softplus``)."""

    function = staticmethod(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__(beta=beta, threshold=threshold)


class Softmin(_Activation):
    """softmax(-x) along ``dim`` (``nn.Softmin``)."""

    function = staticmethod(F.softmin)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class LogSoftmax(_Activation):
    """log(softmax(x)) along ``dim``, stable (``nn.LogSoftmax``)."""

    function = staticmethod(F.log_softmax)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class LogSigmoid(_Activation):
    """log(sigmoid(x)), finite for any x (``nn.LogSigmoid``)."""

    function = staticmethod(F.log_sigmoid)


class GLU(_Activation):
    """a * sigmoid(b) for the halves a, b of x along ``dim`` (``nn.GLU``)."""

    function = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim=dim)


class Hardshrink(_Activation):
    """x where |x| > lambd, else 0 (``nn.Hardshrink``)."""

    function = staticmethod(F.hardshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)


class Softshrink(_Activation):
    """x shrunk toward 0 by lambd, 0 inside [-lambd, lambd] (``nn.Softshrink``)."""

    function = staticmethod(F.softshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)


class Tanhshrink(_Activation):
    """x - tanh(x) (``nn.Tanhshrink``)."""

    function = staticmethod(F.tanhshrink)


class Threshold(_Activation):
    """x where x > threshold, else ``value`` (``nn.Threshold``)."""

    function = staticmethod(F.threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold=threshold, value=value)


__all__ = ["GELU", "SiLU", "Mish", "ELU", "CELU", "SELU", "Hardsigmoid", "Hardswish",
                      "Hardtanh", "ReLU6", "Softsign", "Softplus", "Softmin", "LogSoftmax",
                      "LogSigmoid", "GLU", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold"]
