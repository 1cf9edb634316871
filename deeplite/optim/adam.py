"""Adam and AdamW (Adam with decoupled weight decay), PyTorch's update rules."""
from .moments import check_adam_family
from .optimizer import Optimizer, shadow_step


class Adam(Optimizer):
    r"""Adam, exactly as PyTorch documents it.

    For each parameter p with gradient g, at step t (counted per parameter from 1):

        g = g + weight_decay * p                 (L2, coupled; AdamW instead does p *= 1 - lr*wd)
        m = beta1 * m + (1 - beta1) * g          (state "exp_avg")
        v = beta2 * v + (1 - beta2) * g * g      (state "exp_avg_sq")
        v_max = max(v_max, v); use v_max for v   (only if amsgrad; state "max_exp_avg_sq")
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The whole group is updated by one fused ``backend.adam_step`` call.

    Args:
        params: parameters or parameter-group dicts. lr: 1e-3. betas: (0.9, 0.999). eps: 1e-8.
        weight_decay: 0. amsgrad: False. maximize: False. decoupled_weight_decay: False (True
        is AdamW).
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        check_adam_family(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        exp_avgs, _ = self._buffers(params, "exp_avg")
        exp_avg_sqs, _ = self._buffers(params, "exp_avg_sq")
        max_exp_avg_sqs = self._buffers(params, "max_exp_avg_sq")[0] if group["amsgrad"] else None
        shadow_step(backend.adam_step, params, [param.data for param in params],
                    [param.grad.data for param in params], exp_avgs, exp_avg_sqs,
                    max_exp_avg_sqs, self._advance_steps(params), group["lr"], beta1, beta2,
                    group["eps"], group["weight_decay"], group["decoupled_weight_decay"],
                    group["amsgrad"], group["maximize"])


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW.

    Each step first shrinks the parameter, ``p = p * (1 - lr * weight_decay)``, then applies the
    Adam update to the undecayed gradient. Default ``weight_decay=1e-2``.

    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
