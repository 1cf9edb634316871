"""Stochastic gradient descent: momentum, dampening, Nesterov, L2 weight decay (PyTorch's rule)."""
from .optimizer import Optimizer, check_non_negative, shadow_step


class SGD(Optimizer):
    r"""Stochastic gradient descent, exactly as PyTorch documents it.

    For each parameter p with gradient g, every ``step()``:

        g = g + weight_decay * p                      (L2 regularisation, if weight_decay)
        b = g  on the first step,  b = momentum * b + (1 - dampening) * g  after (if momentum)
        g = g + momentum * b  if nesterov  else  b
        p = p - lr * g

    (``maximize=True`` negates g first.) The momentum buffer is ``state[p]["momentum_buffer"]``.
    The whole group is updated by one fused ``backend.sgd_step`` call.

    Args:
        params: parameters or parameter-group dicts. lr: learning rate (1e-3 by default, as
        PyTorch). momentum, dampening, weight_decay: as above (0 by default). nesterov: Nesterov
        momentum (needs momentum > 0 and dampening 0).
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> loss = model(deeplite.randn(8, 2)).pow(2).mean()
        >>> optimizer.zero_grad(); loss.backward(); optimizer.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        check_non_negative("learning rate", lr)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, group: dict, params: list, backend) -> None:
        grads = [param.grad.data for param in params]
        # Kernels take positional arguments only (the contract's order): native ones are C++.
        hyper = (group["lr"], group["momentum"], group["dampening"], group["weight_decay"],
                 group["nesterov"], group["maximize"])
        raw = [param.data for param in params]
        if not group["momentum"]:
            shadow_step(backend.sgd_step, params, raw, grads, None, False, *hyper)
            return
        bufs, fresh = self._buffers(params, "momentum_buffer")
        # A new buffer starts as the gradient, an old one decays: one kernel call for each kind.
        for first in (True, False):
            chosen = [i for i, is_new in enumerate(fresh) if is_new == first]
            if chosen:
                shadow_step(backend.sgd_step, [params[i] for i in chosen],
                            [raw[i] for i in chosen], [grads[i] for i in chosen],
                            [bufs[i] for i in chosen], first, *hyper)
