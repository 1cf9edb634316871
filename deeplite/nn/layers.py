"""Layers: Linear (fused bias + activation), Sequential, activations, Dropout, Identity and MLP.

Convention, as in the lecture: ``Linear.weight`` has shape ``(in_features, out_features)`` and a
layer computes ``y = x @ weight + bias`` (h = σ(Wᵀx + b) with W ∈ R^{p×q}). PyTorch stores the
transpose; ``load_state_dict`` names the key and both shapes if handed one.
"""
import math

from .. import functional as F
from ..backends.contract import ACTIVATIONS
from ..creation import empty
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """Affine layer ``y = activation(x @ weight + bias)``, computed by one fused kernel.

    Args:
        in_features: size of each input sample (p).
        out_features: size of each output sample (q).
        bias: learn an additive bias (default True).
        activation: deeplite extension — an activation fused into the same kernel pass:
            "identity" (default, a plain Linear), "relu", "leaky_relu", "sigmoid", "tanh",
            "softplus". ``negative_slope`` is leaky_relu's slope.
    Shapes:
        x (..., in_features) -> (..., out_features); weight (in_features, out_features); bias
        (out_features,).
    Initialisation (PyTorch's default): weight and bias from U(-1/sqrt(in_features),
    1/sqrt(in_features)), i.e. ``kaiming_uniform_(weight, a=sqrt(5))``.

    Example:
        >>> import deeplite
        >>> layer = deeplite.nn.Linear(3, 2)
        >>> layer(deeplite.randn(5, 3)).shape
        (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 activation: str = "identity", negative_slope: float = 0.01, device=None,
                 dtype=None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"Linear: unknown activation {activation!r}; choose one of "
                             f"{', '.join(ACTIVATIONS)}")
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError(f"Linear: in_features and out_features must be at least 1, got "
                             f"Linear({in_features}, {out_features})")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.activation, self.negative_slope = activation, negative_slope
        self.weight = Parameter(empty(self.in_features, self.out_features, device=device,
                                      dtype=dtype))
        self.bias = Parameter(empty(self.out_features, device=device, dtype=dtype)) if bias \
            else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias with PyTorch's default Linear initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features), one fused kernel call."""
        return F.linear(x, self.weight, self.bias, self.activation, self.negative_slope)

    def extra_repr(self) -> str:
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
        if self.activation != "identity":
            text += f", activation={self.activation!r}"
        if self.activation == "leaky_relu":
            text += f", negative_slope={self.negative_slope}"
        return text


class Sequential(Module):
    """Modules applied in order; state-dict names are "0.weight", "1.bias", ... (as PyTorch).

    Example:
        >>> model = Sequential(Linear(2, 8), ReLU(), Linear(8, 1))
        >>> model[0].weight.shape
        (2, 8)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)  # named "0", "1", ... in __dict__, hence in names
        return self

    def _layers(self) -> list:
        return [value for value in vars(self).values() if isinstance(value, Module)]

    def __len__(self) -> int:
        return len(self._layers())

    def __iter__(self):
        return iter(self._layers())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._layers()[index])
        return self._layers()[index]

    def forward(self, x):
        """Feed ``x`` through each module in turn."""
        for module in self._layers():
            x = module(x)
        return x


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise, stable for any x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Step(Module):
    """The perceptron's Heaviside step: 1 where x > 0, ``value`` where x == 0, 0 elsewhere.

    Its gradient is zero: a perceptron is trained by the perceptron rule, not through the step.
    """

    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return F.heaviside(x, self.value)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``axis`` (PyTorch's ``dim`` is accepted too)."""

    def __init__(self, axis: int = -1, *, dim: int = None):
        super().__init__()
        self.axis = axis if dim is None else dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest by 1/(1-p).

    In eval mode (``model.eval()``) it is the identity. Masks come from the generator that
    ``deeplite.manual_seed`` seeds.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """Dropped and rescaled ``x`` in training mode, ``x`` itself in eval mode."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# He initialisation keeps the variance of ReLU-like units (softplus is a smooth ReLU); Glorot suits
# the saturating and linear ones.
_HE_ACTIVATIONS = ("relu", "leaky_relu", "softplus")


def _init_for(layer: Linear) -> None:
    """MLP's initialisation of one layer, chosen by the activation that follows it; bias zero."""
    act = layer.activation
    if act in _HE_ACTIVATIONS:
        slope = layer.negative_slope if act == "leaky_relu" else 0.0
        init.kaiming_normal_(layer.weight, a=slope, nonlinearity="leaky_relu")
    else:
        init.xavier_uniform_(layer.weight, gain=init.calculate_gain(act))
    if layer.bias is not None:
        init.zeros_(layer.bias)


class MLP(Module):
    """Multi-layer perceptron: Linear layers with each activation FUSED into its layer's kernel.

    Args:
        sizes: layer widths ``[in, hidden_1, ..., out]`` (at least two entries).
        activation: hidden activation: "relu" (default), "leaky_relu", "sigmoid", "tanh",
            "softplus" or "identity".
        output_activation: activation of the last layer; None (default) means "identity", i.e.
            logits — pair it with BCEWithLogitsLoss / CrossEntropyLoss.
        dropout: dropout probability applied after each hidden activation (0 disables it).
        negative_slope: leaky_relu's slope.
    Initialisation (documented choice): each layer's weight by the activation that follows it —
    He normal (``kaiming_normal_``, std = gain / sqrt(fan_in)) for relu, leaky_relu and softplus;
    Glorot uniform (``xavier_uniform_`` with ``calculate_gain(act)``) for sigmoid, tanh and
    identity. Biases start at zero. ``deeplite.manual_seed`` makes it reproducible.
    Attributes:
        layers: the list of Linear layers; state-dict names are ``layers.0.weight`` ...
    Example:
        >>> import deeplite
        >>> model = MLP([2, 16, 16, 1], activation="tanh")
        >>> model(deeplite.randn(8, 2)).shape
        (8, 1)
    """

    def __init__(self, sizes, activation: str = "relu", output_activation: str = None,
                 dropout: float = 0.0, negative_slope: float = 0.01, device=None, dtype=None):
        super().__init__()
        sizes = [int(size) for size in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: sizes must list at least an input and an output width, all "
                             f"positive, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        output_activation = output_activation or "identity"
        count = len(sizes) - 1
        self.layers = [Linear(sizes[i], sizes[i + 1],
                              activation=activation if i < count - 1 else output_activation,
                              negative_slope=negative_slope, device=device, dtype=dtype)
                       for i in range(count)]
        for layer in self.layers:
            _init_for(layer)
        self.sizes = sizes
        self.dropout = dropout

    def forward(self, x: Tensor) -> Tensor:
        """(..., sizes[0]) -> (..., sizes[-1])."""
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if self.dropout and index < last:
                x = F.dropout(x, self.dropout, self.training)
        return x

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}" + (f", dropout={self.dropout}" if self.dropout else "")
