"""Weight initialisation, in place, drawn from the generator that ``deeplite.manual_seed`` seeds.

Fans follow deeplite's weight layout ``(in_features, out_features)``: ``fan_in = shape[0]`` and
``fan_out = shape[1]`` (times the product of any further dimensions) — transposed from PyTorch, so
the same formulas give the same distributions for the same layer.

Example:
    >>> import deeplite
    >>> generator = deeplite.manual_seed(0)
    >>> w = deeplite.nn.init.kaiming_normal_(deeplite.empty(784, 128), nonlinearity="relu")
    >>> round(float(w.numpy().std()), 3)  # He: std = sqrt(2 / 784) = 0.0505
    0.05
"""
import math

import numpy as np

from ..autograd import no_grad
from ..creation import generator
from ..tensor import Tensor

_LINEAR_GAIN = ("linear", "identity", "sigmoid")


def calculate_gain(nonlinearity: str, param: float = None) -> float:
    """The recommended scale for weights feeding ``nonlinearity``, as PyTorch's table.

    linear/identity/sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope^2))
    with slope ``param`` (0.01 when None); selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use linear, "
                     f"identity, sigmoid, tanh, relu, leaky_relu or selu")


def fans(tensor: Tensor) -> tuple:
    """(fan_in, fan_out) of a weight laid out as (in_features, out_features, *receptive_field)."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dimensions, got "
                         f"shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[0] * receptive, tensor.shape[1] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, host_values: np.ndarray) -> Tensor:
    """Write host draws into ``tensor`` in place (outside the tape) and return it."""
    with no_grad():
        tensor.copy_(host_values.astype(tensor.dtype, copy=False))
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b), in place."""
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std^2), in place."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0, in place."""
    return _fill(tensor, np.zeros(tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain from ``nonlinearity`` (slope ``a``).

    ``kaiming_uniform_(w, a=math.sqrt(5))`` gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's
    default for Linear weights.
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std^2), std = gain / sqrt(fan), gain from ``nonlinearity`` (slope ``a``)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``, in place."""
    return _fill(tensor, np.full(tensor.shape, val))


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1, in place."""
    return _fill(tensor, np.ones(tensor.shape))


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal), in place."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> Tensor:
    """Fill with draws from N(mean, std^2) truncated to [a, b] (absolute bounds, as PyTorch).

    Draws by rejection: normals outside [a, b] are drawn again, so the values follow the
    truncated normal exactly. Raises ValueError when [a, b] holds under 1e-6 of the mass.
    """
    if not a < b or std <= 0:
        raise ValueError(f"trunc_normal_: need a < b and std > 0, got a={a}, b={b}, std={std}")
    def cdf(value):
        return 0.5 * (1 + math.erf((value - mean) / (std * math.sqrt(2))))
    accept = cdf(b) - cdf(a)
    if accept < 1e-6:
        raise ValueError(f"trunc_normal_: [{a}, {b}] holds {accept:.2g} of N({mean}, {std}^2)'s "
                         f"mass; widen the bounds or move the mean inside them")
    count, kept, rng = math.prod(tensor.shape), [], generator()
    remaining = count
    while remaining > 0:
        # Draw enough that one round usually suffices (expected acceptance ``accept``).
        draws = rng.normal(mean, std, min(int(remaining / accept * 1.2) + 16, 10_000_000))
        draws = draws[(draws >= a) & (draws <= b)][:remaining]
        kept.append(draws)
        remaining -= draws.size
    return _fill(tensor, np.concatenate(kept).reshape(tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``, as PyTorch (Saxe et al. 2013).

    The tensor is viewed as (shape[0], rest); its rows are orthonormal if shape[0] <= rest,
    else its columns. Drawn by the QR decomposition of a Gaussian matrix with the signs of
    R's diagonal folded in, so the result is uniform over orthogonal matrices.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got "
                         f"shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = math.prod(tensor.shape) // rows if rows else 0
    flat = generator().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
