"""Matrix products: matmul (2-D, batched, vectors) and the fused linear layer."""
import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backends.contract import ACTIVATIONS
from ..tensor import Tensor
from .activation import ActGrad
from .movement import unbroadcast


def _swap_last(x: Tensor) -> Tensor:
    """The matrix transpose of each matrix in a (batched) tensor."""
    return x.T if x.ndim == 2 else x.transpose(-1, -2)


class MatMul(Function):
    name = "matmul"
    shape_error = "do not align"

    def forward(self, b, x, y):
        if x.ndim and y.ndim and x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align")
        return b.matmul(x, y)

    def backward(self, gy):
        x, y = self.inputs
        # Vectors act as a row (left) or a column (right) matrix, as in NumPy's matmul.
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        full_shape = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1])
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
    shape_error = "do not align"

    def forward(self, b, x, weight, *bias, act, slope):
        self.act, self.slope = act, slope
        return b.linear_act(x, weight, bias[0] if bias else None, act, slope)

    def backward(self, gy):
        if not is_grad_enabled():
            return self._fused_backward(gy)
        # Recording the backward (create_graph=True): compose it from differentiable ops.
        x, weight = self.inputs[:2]
        if self.act != "identity":
            gy = ActGrad.apply(self.output(), gy, act=self.act, slope=self.slope)
        rows = gy.reshape(-1, gy.shape[-1]) if gy.ndim != 2 else gy
        gx = matmul(gy, weight.T) if x.requires_grad else None
        gw = None
        if weight.requires_grad:
            inputs = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = matmul(inputs.T, rows) if x.ndim > 1 else matmul(x.reshape(-1, 1), rows)
        if len(self.inputs) == 2:
            return gx, gw
        bias = self.inputs[2]
        gb = unbroadcast(rows.sum(axis=0), bias.shape) if bias.requires_grad else None
        return gx, gw, gb


    def _fused_backward(self, gy):
        """All three gradients from one ``linear_act_grad`` kernel call: small MLPs are
        overhead-bound, and this is where a training step spends its Python time."""
        b = gy._backend
        x, weight = self.inputs[:2]
        bias = self.inputs[2] if len(self.inputs) == 3 else None
        gx, gw, gb = b.linear_act_grad(
            _rows(b, x.data), weight.data, _rows(b, self.output().data), _rows(b, gy.data),
            self.act, self.slope, x.requires_grad, weight.requires_grad,
            bias is not None and bias.requires_grad)
        return tuple(None if g is None else Tensor._wrap(_shaped(b, g, t.data.shape), b)
                     for g, t in zip((gx, gw, gb), self.inputs))


def _shaped(b, array, shape):
    """``array`` in ``shape``; the array itself when it already is (a reshape makes a view, and a
    view handed to a leaf's .grad gets copied)."""
    return array if array.shape == shape else b.reshape(array, shape)


def _rows(b, array):
    """A batch of any rank as a matrix of rows (a view)."""
    return array if array.ndim == 2 else b.reshape(array, (-1, array.shape[-1]))


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 2-D, batched (broadcast batch dims) and vectors."""
    return MatMul.apply(x, y)


def linear(x: Tensor, weight: Tensor, bias: Tensor = None, activation: str = "identity",
           negative_slope: float = 0.01) -> Tensor:
    """Fused ``activation(x @ weight + bias)``.

    Note the lecture's convention: ``weight`` has shape (in_features, out_features).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"linear: unknown activation {activation!r}; "
                         f"choose one of {', '.join(ACTIVATIONS)}")
    if x.shape[-1:] != weight.shape[:1] or weight.ndim != 2:
        raise ValueError(f"linear: shapes {x.shape} and {weight.shape} do not align "
                         f"(weight is (in_features, out_features))")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return LinearAct.apply(*inputs, act=activation, slope=negative_slope)
