"""Adagrad with learning-rate decay, PyTorch's update rule."""
from .optimizer import Optimizer, check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad, exactly as PyTorch documents it.

    For each parameter p with gradient g, at step t (per parameter, from 1):

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                          (state "sum", starting at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    The whole group is updated by one fused ``backend.adagrad_step`` call.

    Args:
        params. lr: 1e-2. lr_decay: 0. weight_decay: 0. initial_accumulator_value: 0.
        eps: 1e-10. maximize: False.
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        check_non_negative("learning rate", lr)
        check_non_negative("lr_decay value", lr_decay)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("initial_accumulator_value value", initial_accumulator_value)
        check_non_negative("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, group: dict, params: list, backend) -> None:
        state_sums, _ = self._buffers(params, "sum", group["initial_accumulator_value"])
        backend.adagrad_step([param.data for param in params],
                             [param.grad.data for param in params], state_sums,
                             self._advance_steps(params), group["lr"], group["lr_decay"],
                             group["weight_decay"], group["eps"], group["maximize"])
