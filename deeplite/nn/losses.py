"""Loss modules (wrappers of the ``deeplite.functional`` losses) and the explicit L2 penalty."""
from typing import Callable

from .. import functional as F
from ..creation import get_default_device, zeros
from ..ops.loss import check_reduction
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    """A loss module: ``loss(input, target)`` calls ``function(input, target, reduction)``."""

    function: Callable[..., Tensor]  # the functional loss, set by each subclass

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target) -> Tensor:
        """The loss of ``input`` against ``target``, reduced as ``self.reduction`` says."""
        return type(self).function(input, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (``F.binary_cross_entropy_with_logits``): fused and stable.

    Args: reduction: "mean" (default), "sum" or "none".
    Shapes: input (any) logits; target same shape, values in [0, 1].
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> x, y = deeplite.randn(8, 2), deeplite.tensor([0.0, 1.0] * 4)
        >>> loss = BCEWithLogitsLoss()(model(x).reshape(-1), y)
    """

    function = staticmethod(F.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy, ``F.cross_entropy`` (fused log-softmax + NLL).

    Shapes: input (N, C) logits; target (N,) integer labels or (N, C) class probabilities.
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 3])
        >>> x, labels = deeplite.randn(8, 2), deeplite.tensor([0, 1, 2, 0, 1, 2, 0, 1])
        >>> loss = CrossEntropyLoss()(model(x), labels)
    """

    function = staticmethod(F.cross_entropy)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``, reduced.

    Shapes: input and target of the same shape.
    """

    function = staticmethod(F.mse_loss)


class LogisticLoss(_Loss):
    """The lecture's logistic loss ``log(1 + exp(-y z))``, labels y in {-1, +1}; fused and stable.

    Shapes: input z (any) logits; target y same shape with values -1 or +1.
    """

    function = staticmethod(F.logistic_loss)


def l2_penalty(module: Module) -> Tensor:
    """The lecture's L2 term ``½ Σ ||W||²`` over the module's weights (biases excluded).

    Returns ``0.5 * sum(w ** 2)`` over every parameter whose name does not end in "bias", as a
    differentiable scalar. Its gradient is ``w``, so ``loss + lam * l2_penalty(model)`` moves the
    weights exactly like ``weight_decay=lam`` in SGD would (but leaves biases undecayed, as the
    lecture's regulariser does). A module without weights gives 0.

    Example:
        >>> import deeplite
        >>> model, criterion = deeplite.nn.MLP([2, 16, 1]), deeplite.nn.MSELoss()
        >>> x, y = deeplite.randn(8, 2), deeplite.randn(8, 1)
        >>> loss = criterion(model(x), y) + 1e-4 * deeplite.nn.l2_penalty(model)
    """
    total = None
    for name, parameter in module.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            continue
        squares = (parameter * parameter).sum()
        total = squares if total is None else total + squares
    if total is None:
        return zeros((), device=get_default_device())
    return total * 0.5
