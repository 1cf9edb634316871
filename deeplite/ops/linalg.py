"""Matrix products: matmul (2-D, batched, vectors) and the fused linear layer."""
from typing import Optional

import numpy as np

from ..autograd import Function
from ..backends.contract import ACTIVATIONS
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor
from .activation import ActGrad
from .autocast import lower as _autocast_lower
from .autocast import state as _autocast
from .movement import broadcast_to, unbroadcast


def _swap_last(x: Tensor) -> Tensor:
    """The matrix transpose of each matrix in a (batched) tensor."""
    return x.T if x.ndim == 2 else x.transpose(-1, -2)


class MatMul(Function):
    name = "matmul"

    def forward(self, b, x, y):
        if x.ndim and y.ndim and x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ShapeError(f"matmul: shapes {x.shape} and {y.shape} do not align")
        return b.matmul(x, y)

    def backward(self, gy):
        x, y = self.inputs
        # Vectors act as a row (left) or a column (right) matrix, as in NumPy's matmul.
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        full_shape = batch + (x2.shape[-2], y2.shape[-1])
        g2 = gy if gy.shape == full_shape else gy.reshape(full_shape)
        gx = unbroadcast(matmul(g2, _swap_last(y2)), x2.shape).reshape(x.shape) \
            if x.requires_grad else None
        gw = unbroadcast(matmul(_swap_last(x2), g2), y2.shape).reshape(y.shape) \
            if y.requires_grad else None
        return gx, gw


class LinearAct(Function):
    """act(x @ weight + bias) in one fused kernel; weight is (in_features, out_features)."""

    name = "linear"
    save_output = True

    def forward(self, b, x, weight, *bias, act, slope):
        self.act, self.slope = act, slope
        return b.linear_act(x, weight, bias[0] if bias else None, act, slope)

    def backward(self, gy):
        x, weight = self.inputs[:2]
        bias = self.inputs[2] if len(self.inputs) == 3 else None
        rows = _rows(x)
        gx, gw, gb = LinearActGrad.apply(
            rows, weight, _rows(self.output()), _rows(gy), act=self.act, slope=self.slope,
            need_x=x.requires_grad, need_w=weight.requires_grad,
            need_b=bias is not None and bias.requires_grad)
        if gx is not None and gx.shape != x.shape:
            gx = gx.reshape(x.shape)
        return (gx, gw) if bias is None else (gx, gw, gb)


class LinearActGrad(Function):
    """The three gradients of ``y = act(x @ w + b)`` (x and y as rows) from ``y`` and ``gy``.

    Forward is one fused ``linear_act_grad`` kernel (small MLPs are overhead-bound, and this is
    where a training step spends its Python time); backward is composed from differentiable ops,
    so second-order gradients work through every Linear layer, as ``ActGrad`` does for activations.
    """

    name = "linear_backward"
    multiple_outputs = True

    def forward(self, b, x, w, y, gy, act, slope, need_x, need_w, need_b):
        self.act, self.slope = act, slope
        return b.linear_act_grad(x, w, y, gy, act, slope, need_x, need_w, need_b)

    def backward(self, grads):
        # With gz = gy * act'(y): gx = gz @ w.T, gw = x.T @ gz, gb = sum(gz) over rows.
        grad_gx, grad_gw, grad_gb = grads
        x, w, y, gy = self.inputs
        gz = gy if self.act == "identity" else ActGrad.apply(y, gy, act=self.act, slope=self.slope)
        grad_x = matmul(gz, grad_gw.T) if grad_gw is not None and x.requires_grad else None
        grad_w = matmul(grad_gx.T, gz) if grad_gx is not None and w.requires_grad else None
        grad_gz = None  # the gradient reaching gz from all three outputs
        for term in (matmul(grad_gx, w) if grad_gx is not None else None,
                     matmul(x, grad_gw) if grad_gw is not None else None,
                     broadcast_to(grad_gb, gy.shape) if grad_gb is not None else None):
            if term is not None:
                grad_gz = term if grad_gz is None else grad_gz + term
        grad_y = grad_gy = None
        if grad_gz is not None and self.act == "identity":
            grad_gy = grad_gz if gy.requires_grad else None
        elif grad_gz is not None:
            grad_y, grad_gy = ActGrad.vjp(y, gy, grad_gz, self.act, self.slope)
        return grad_x, grad_w, grad_y, grad_gy


def _rows(x: Tensor) -> Tensor:
    """A batch of any rank as a matrix of rows (a vector as one row)."""
    return x if x.ndim == 2 else x.reshape(-1, x.shape[-1])


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 2-D, batched (broadcast batch dims) and vectors."""
    if _autocast.dtype is not None:  # deeplite.autocast: in float16/bfloat16
        x, y = _autocast_lower(x, y)
    return MatMul.apply(x, y)


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, activation: str = "identity",
           negative_slope: float = 0.01) -> Tensor:
    """Fused ``activation(x @ weight + bias)``.

    Note the lecture's convention: ``weight`` has shape (in_features, out_features).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"linear: unknown activation {activation!r}; "
                         f"choose one of {', '.join(ACTIVATIONS)}")
    if x.shape[-1:] != weight.shape[:1] or weight.ndim != 2:
        raise ShapeError(f"linear: shapes {x.shape} and {weight.shape} do not align "
                         f"(weight is (in_features, out_features))")
    if _autocast.dtype is not None:  # deeplite.autocast: in float16/bfloat16
        from .. import weight_shadows
        from . import autocast_linear

        if autocast_linear.applies(x, weight, bias, _autocast.device):
            inputs = (x, weight) if bias is None else (x, weight, bias)
            return autocast_linear.AutocastLinear.apply(
                *inputs, act=activation, slope=negative_slope, dtype=_autocast.dtype,
                low_weight=weight_shadows.for_linear(weight, _autocast.dtype))
        x, weight, bias = _autocast_lower(x, weight, bias)
    if x.dtype != weight.dtype:
        # As PyTorch: never run the whole model in float64 because the batch came from NumPy.
        raise DtypeError(f"linear: input is {x.dtype} but the weight is {weight.dtype}; convert "
                         f"the input with x.to({str(weight.dtype)!r}) (NumPy and scikit-learn "
                         f"give float64: .astype({str(weight.dtype)!r})), or the model with "
                         f"model.to({str(x.dtype)!r})")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return LinearAct.apply(*inputs, act=activation, slope=negative_slope)
