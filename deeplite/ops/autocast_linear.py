"""The linear layer under ``deeplite.autocast``: one node that casts and multiplies.

Eagerly composed, autocast's linear is three nodes per layer (cast x, cast the weight, the 16-bit
linear), and backward gets the weight gradient in 16 bits only for the cast's backward to widen
it again: a full pass over every weight gradient per step. ``AutocastLinear`` casts inside its
forward (keeping the 16-bit copies for backward, as torch's autocast keeps its cast weights) and
its backward asks the backend for the weight and bias gradients in the parameters' own dtype
(``linear_act_grad_mixed``: on AMX CPUs straight from oneDNN's float32 accumulators).
"""
from ..autograd import Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor
from .autocast import _is_float
from .linalg import LinearActGrad, _rows
from .movement import cast


class AutocastLinear(Function):
    """act(x @ weight + bias) in ``dtype`` (bfloat16/float16) from inputs of any float dtype."""

    name = "linear"
    save_output = True

    def forward(self, b, x, weight, *bias, act, slope, dtype, low_weight=None):
        self.act, self.slope, self.dtype = act, slope, dtype
        # Kept for backward: the 16-bit operands, as the GEMM read them. ``low_weight``: the
        # weight's current bfloat16 shadow (deeplite/weight_shadows.py), the same bits as the cast.
        self.low_x = b.astype(x, dtype)
        self.low_w = b.astype(weight, dtype) if low_weight is None else low_weight
        low_bias = b.astype(bias[0], dtype) if bias else None
        return b.linear_act(self.low_x, self.low_w, low_bias, self.act, slope)

    def backward(self, gy):
        x, weight = self.inputs[:2]
        bias = self.inputs[2] if len(self.inputs) == 3 else None
        need_b = bias is not None and bias.requires_grad
        if is_grad_enabled():  # create_graph: the composed ops, so every gradient is on the tape
            return self._composed_backward(gy, x, weight, bias, need_b)
        backend, features = x._backend, self.low_x.shape[-1]
        gx, gw, gb = backend.linear_act_grad_mixed(
            self.low_x.reshape(-1, features), self.low_w,
            self.output().data.reshape(-1, gy.shape[-1]), gy.data.reshape(-1, gy.shape[-1]),
            self.act, self.slope, x.requires_grad, weight.requires_grad, need_b, weight.dtype)
        grad_x = None if gx is None else Tensor._wrap(
            backend.astype(gx, x.dtype).reshape(x.shape), backend)
        grad_w = None if gw is None else Tensor._wrap(gw, backend)
        if bias is None:
            return grad_x, grad_w
        return grad_x, grad_w, None if gb is None else Tensor._wrap(
            backend.astype(gb, bias.dtype), backend)

    def _composed_backward(self, gy, x, weight, bias, need_b):
        """Cast, then ``LinearActGrad``, then cast back: what the three eager nodes would do."""
        low_x = cast(x, self.dtype)
        gx, gw, gb = LinearActGrad.apply(
            _rows(low_x), cast(weight, self.dtype), _rows(self.output()), _rows(gy),
            act=self.act, slope=self.slope, need_x=x.requires_grad,
            need_w=weight.requires_grad, need_b=need_b)
        grad_x = None if gx is None else cast(gx.reshape(x.shape), x.dtype)
        grad_w = None if gw is None else cast(gw, weight.dtype)
        if bias is None:
            return grad_x, grad_w
        return grad_x, grad_w, None if gb is None else cast(gb, bias.dtype)


def applies(x: Tensor, weight: Tensor, bias, device) -> bool:
    """Whether autocast's linear on these tensors casts every floating one (the fused case)."""
    return all(t.device == device and _is_float(t)
               for t in ((x, weight) if bias is None else (x, weight, bias)))
