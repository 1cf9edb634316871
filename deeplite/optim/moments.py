"""What NAdam and RAdam share: the decayed gradient and Adam's two moment estimates.

These optimizers have no fused kernel: their rules run as a few array ops per parameter
through the backend (on raw arrays, outside the tape), so they work on every backend.
"""
from ..ops import add, mul, neg, sub
from ..tensor import Tensor
from .optimizer import check_non_negative


def wrap(array, backend) -> Tensor:
    """A tape-free Tensor sharing ``array`` (in-place updates through it reach the state)."""
    return Tensor._wrap(array, backend)


def decayed_gradient(param: Tensor, group: dict) -> Tensor:
    """The gradient after ``maximize`` and weight decay, as PyTorch's Adam family applies them.

    Decoupled weight decay (AdamW-style) shrinks the parameter in place instead.
    """
    if param.grad is None:
        raise ValueError("decayed_gradient: the parameter has no gradient")
    grad = wrap(param.grad.data, param._backend)
    value = wrap(param.data, param._backend)
    if group["maximize"]:
        grad = neg(grad)
    decay = group["weight_decay"]
    if decay:
        if group["decoupled_weight_decay"]:
            value.copy_(mul(value, 1 - group["lr"] * decay))
        else:
            grad = add(grad, mul(value, decay))
    return grad


def update_moments(exp_avg: Tensor, exp_avg_sq: Tensor, grad: Tensor, beta1: float,
                   beta2: float) -> None:
    """m = beta1 m + (1 - beta1) g and v = beta2 v + (1 - beta2) g^2, in place."""
    exp_avg.copy_(add(exp_avg, mul(sub(grad, exp_avg), 1 - beta1)))  # PyTorch's lerp_
    exp_avg_sq.copy_(add(mul(exp_avg_sq, beta2), mul(mul(grad, grad), 1 - beta2)))


def check_adam_family(lr: float, betas: tuple, eps: float, weight_decay: float) -> None:
    """PyTorch's checks of the hyperparameters the Adam family shares."""
    check_non_negative("learning rate", lr)
    check_non_negative("epsilon value", eps)
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
    check_non_negative("weight_decay value", weight_decay)
