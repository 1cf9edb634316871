"""Activations and their gradients; every activation's backward is the fused ``act_grad`` kernel."""
from ..autograd import Function
from ..backends.contract import ACTIVATIONS
from ..errors import normalize_dim
from ..tensor import Tensor
from .arithmetic import exp, to_float, where
from .autocast import float32_op


class Act(Function):
    """y = act(x) for one of the contract's activations."""

    name = "activation"  # each instance renames itself after its activation (relu, sigmoid...)
    save_output = True
    saved_inputs = False

    def forward(self, b, x, act, slope):
        self.name, self.act, self.slope = act, act, slope
        return b.apply_act(x, act, slope)

    def backward(self, gy):
        return ActGrad.apply(self.output(), gy, act=self.act, slope=self.slope)


class ActGrad(Function):
    """gy * act'(x) computed from y = act(x): fused forward, backward composed (so it has its own
    derivatives: second-order gradients through any activation work)."""

    name = "act_grad"

    def forward(self, b, y, gy, act, slope):
        self.act, self.slope = act, slope
        return b.act_grad(y, gy, act, slope)

    def backward(self, g):
        y, gy = self.inputs
        return ActGrad.vjp(y, gy, g, self.act, self.slope)

    @staticmethod
    def vjp(y: Tensor, gy: Tensor, g: Tensor, act: str, slope: float) -> tuple:
        """Gradients of ``gy * act'(x)`` for y and gy, given the gradient ``g`` of the result."""
        grad_gy = ActGrad.apply(y, g, act=act, slope=slope) if gy.requires_grad else None
        curvature = _curvature(act, y)  # d act'(x) / dy, as a function of y
        grad_y = gy * g * curvature if curvature is not None and y.requires_grad else None
        return grad_y, grad_gy


def _curvature(act: str, y: Tensor):
    """d/dy of act'(x) written in y; None where act' is piecewise constant."""
    if act == "sigmoid":
        return 1 - 2 * y  # d/dy [y (1 - y)]
    if act == "tanh":
        return -2 * y  # d/dy [1 - y^2]
    if act == "softplus":
        return exp(-y)  # d/dy [1 - exp(-y)]
    return None


class Softmax(Function):
    name = "softmax"
    save_output = True
    saved_inputs = False

    def forward(self, b, x, axis):
        self.axis = axis
        return b.softmax(x, axis)

    def backward(self, gy):
        y = self.output()
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"
    save_output = True
    saved_inputs = False

    def forward(self, b, x, axis):
        self.axis = axis
        return b.log_softmax(x, axis)

    def backward(self, gy):
        return gy - exp(self.output()) * gy.sum(axis=self.axis, keepdims=True)


class Heaviside(Function):
    """The perceptron's step: 1 where x > 0, ``value`` at 0, else 0. Its derivative is 0."""

    name = "heaviside"

    def forward(self, b, x, value):
        positive = b.astype(b.gt(x, 0), x.dtype)
        return b.add(positive, b.mul(b.astype(b.eq(x, 0), x.dtype), x.dtype.type(value)))

    def backward(self, gy):
        return gy * 0


def activate(x: Tensor, act: str, slope: float = 0.01) -> Tensor:
    """``act(x)`` for an activation named in ``deeplite.backends.contract.ACTIVATIONS``."""
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)}")
    if act == "identity":
        return x
    return Act.apply(x, act=act, slope=slope)


def sigmoid(x: Tensor) -> Tensor:
    """Logistic function 1 / (1 + exp(-x)), computed stably for any x (integer tensors give the
    default float dtype).

    Example:
        >>> import deeplite
        >>> deeplite.functional.sigmoid(deeplite.tensor([-1e4, 0.0, 1e4])).tolist()
        [0.0, 0.5, 1.0]
    """
    return activate(to_float(x), "sigmoid")


def relu(x: Tensor) -> Tensor:
    """max(x, 0); its gradient is 1 for x > 0 and 0 otherwise."""
    return activate(x, "relu")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise: a ReLU whose units cannot die."""
    return activate(x, "leaky_relu", negative_slope)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent (integer tensors give the default float dtype)."""
    return activate(to_float(x), "tanh")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as ``F.softplus``.

    With the defaults this is the fused, stable kernel (above the threshold it differs from x
    by log1p(exp(-x)) < 2e-9 relative).
    """
    if beta == 1.0 and threshold == 20.0:
        return activate(to_float(x), "softplus")
    scaled = x * beta
    return where(scaled > threshold, x, activate(scaled, "softplus") * (1.0 / beta))


def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    return -softplus(-x)


@float32_op
def softmax(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (NumPy's ``axis`` works too), as ``F.softmax``; each
    slice sums to 1. Without a dim, the last (PyTorch requires one)."""
    return _along_dim(Softmax, x, dim, dtype, axis, "softmax")


@float32_op
def log_softmax(x: Tensor, dim=None, dtype=None, *, axis=None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (or ``axis``; the last by default), stable for any x, as
    ``F.log_softmax``."""
    return _along_dim(LogSoftmax, x, dim, dtype, axis, "log_softmax")


def _along_dim(op, x: Tensor, dim, dtype, axis, name: str) -> Tensor:
    """softmax / log_softmax: PyTorch's dim (or NumPy's axis), a 0-d tensor as one element."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and axis={axis!r}; pass one")
    dim = axis if dim is None else dim
    if dtype is not None:
        x = x.to(dtype=dtype)
    dim = normalize_dim(-1 if dim is None else dim, x.ndim, name)
    if x.ndim == 0:  # a single element: softmax 1, log_softmax 0, gradient 0
        return op.apply(x.reshape(1), axis=0).reshape(())
    return op.apply(x, axis=dim)


def heaviside(x: Tensor, value: float = 0.0) -> Tensor:
    """The perceptron's step: 1 where x > 0, ``value`` where x == 0, 0 elsewhere.

    Its derivative is 0 everywhere it exists, so gradients through it are zero (as the lecture
    says: the perceptron is not trained by gradient descent through its step).
    """
    return Heaviside.apply(x, value=value)


step = heaviside
