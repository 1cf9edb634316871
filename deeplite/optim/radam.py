"""RAdam: Adam with the variance of its adaptive learning rate rectified (Liu et al. 2019),
PyTorch's update rule."""
import math

from ..ops import add, div, mul, sqrt, sub
from .moments import check_adam_family, decayed_gradient, update_moments, wrap
from .optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam, exactly as PyTorch documents it.

    For each parameter p with gradient g at step t (per parameter, from 1):

        g = g + weight_decay * p     (or p *= 1 - lr * weight_decay if decoupled_weight_decay)
        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p = p - lr * m_hat * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        otherwise:  p = p - lr * m_hat          (the early steps: plain momentum SGD)

    State per parameter: "step", "exp_avg", "exp_avg_sq".

    Args:
        params. lr: 1e-3. betas: (0.9, 0.999). eps: 1e-8. weight_decay: 0.
        decoupled_weight_decay: False. maximize: False.
    Example:
        >>> import deeplite
        >>> w = deeplite.nn.Parameter(deeplite.tensor([1.0, -1.0]))
        >>> optimizer = deeplite.optim.RAdam([w], lr=1e-3)
        >>> (w * 2.0).sum().backward()
        >>> optimizer.step()
        >>> [round(v, 4) for v in w.tolist()]  # an early step: p - lr * m_hat
        [0.998, -1.002]
        >>> sorted(optimizer.state[w])
        ['exp_avg', 'exp_avg_sq', 'step']
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False):
        check_adam_family(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        exp_avgs, _ = self._buffers(params, "exp_avg")
        exp_avg_sqs, _ = self._buffers(params, "exp_avg_sq")
        steps = self._advance_steps(params)
        rho_inf = 2 / (1 - beta2) - 1
        for param, m_array, v_array, step in zip(params, exp_avgs, exp_avg_sqs, steps,
                                                 strict=True):
            grad = decayed_gradient(param, group)
            exp_avg, exp_avg_sq = wrap(m_array, backend), wrap(v_array, backend)
            update_moments(exp_avg, exp_avg_sq, grad, beta1, beta2)
            correction2 = 1 - beta2 ** step
            corrected = div(exp_avg, 1 - beta1 ** step)
            rho_t = rho_inf - 2 * step * beta2 ** step / correction2
            value = wrap(param.data, backend)
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                 ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = div(correction2 ** 0.5, add(sqrt(exp_avg_sq), eps))
                value.copy_(sub(value, mul(mul(mul(corrected, lr), adaptive), rect)))
            else:
                value.copy_(sub(value, mul(corrected, lr)))
