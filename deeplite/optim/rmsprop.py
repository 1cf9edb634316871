"""RMSprop (plain, centered, with momentum), PyTorch's update rule."""
from .optimizer import Optimizer, check_non_negative


class RMSprop(Optimizer):
    r"""RMSprop, exactly as PyTorch documents it.

    For each parameter p with gradient g:

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g            (state "square_avg")
        centered: a = alpha * a + (1 - alpha) * g      (state "grad_avg"); d = sqrt(v - a*a) + eps
        otherwise: d = sqrt(v) + eps
        momentum > 0: b = momentum * b + g / d; p = p - lr * b   (state "momentum_buffer")
        otherwise:    p = p - lr * g / d

    The whole group is updated by one fused ``backend.rmsprop_step`` call.

    Args:
        params. lr: 1e-2. alpha: 0.99. eps: 1e-8. weight_decay: 0. momentum: 0.
        centered: False. maximize: False.
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.RMSprop(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        check_non_negative("learning rate", lr)
        check_non_negative("epsilon value", eps)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("alpha value", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, group: dict, params: list, backend) -> None:
        self._advance_steps(params)  # kept for PyTorch-compatible state; the rule does not use it
        square_avgs, _ = self._buffers(params, "square_avg")
        grad_avgs = self._buffers(params, "grad_avg")[0] if group["centered"] else None
        bufs = self._buffers(params, "momentum_buffer")[0] if group["momentum"] > 0 else None
        backend.rmsprop_step([param.data for param in params],
                             [param.grad.data for param in params], square_avgs, grad_avgs, bufs,
                             group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                             group["momentum"], group["centered"], group["maximize"])
