"""Activations and their gradients; every activation's backward is the fused ``act_grad`` kernel."""
from ..autograd import Function
from ..backends.contract import ACTIVATIONS
from ..tensor import Tensor
from .arithmetic import exp


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
