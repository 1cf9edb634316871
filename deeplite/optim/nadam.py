"""NAdam: Adam with Nesterov momentum (Dozat 2016), PyTorch's update rule."""
from ..ops import add, div, mul, sqrt, sub
from .moments import check_adam_family, decayed_gradient, update_moments, wrap
from .optimizer import Optimizer, check_non_negative


class NAdam(Optimizer):
    r"""NAdam, exactly as PyTorch documents it.

    For each parameter p with gradient g at step t (per parameter, from 1):

        g = g + weight_decay * p     (or p *= 1 - lr * weight_decay if decoupled_weight_decay)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)); mu_{t+1} likewise
        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
              - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d

    State per parameter: "step", "mu_product", "exp_avg", "exp_avg_sq".

    Args:
        params. lr: 2e-3. betas: (0.9, 0.999). eps: 1e-8. weight_decay: 0.
        momentum_decay: 4e-3. decoupled_weight_decay: False. maximize: False.
    Example:
        >>> import deeplite
        >>> w = deeplite.nn.Parameter(deeplite.tensor([1.0, -1.0]))
        >>> optimizer = deeplite.optim.NAdam([w], lr=2e-3)
        >>> (w * 2.0).sum().backward()
        >>> optimizer.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9979, -1.0021]
        >>> sorted(optimizer.state[w])
        ['exp_avg', 'exp_avg_sq', 'mu_product', 'step']
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        check_adam_family(lr, betas, eps, weight_decay)
        check_non_negative("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, decay = group["lr"], group["eps"], group["momentum_decay"]
        exp_avgs, _ = self._buffers(params, "exp_avg")
        exp_avg_sqs, _ = self._buffers(params, "exp_avg_sq")
        steps = self._advance_steps(params)
        for param, m_array, v_array, step in zip(params, exp_avgs, exp_avg_sqs, steps,
                                                 strict=True):
            state = self.state[param]
            grad = decayed_gradient(param, group)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
            state["mu_product"] = float(state.get("mu_product", 1.0)) * mu
            exp_avg, exp_avg_sq = wrap(m_array, backend), wrap(v_array, backend)
            update_moments(exp_avg, exp_avg_sq, grad, beta1, beta2)
            denom = add(sqrt(div(exp_avg_sq, 1 - beta2 ** step)), eps)
            value = wrap(param.data, backend)
            product = state["mu_product"]
            step_grad = mul(div(grad, denom), lr * (1.0 - mu) / (1.0 - product))
            step_avg = mul(div(exp_avg, denom), lr * mu_next / (1.0 - product * mu_next))
            value.copy_(sub(sub(value, step_grad), step_avg))
