"""Training utilities on parameters: gradient clipping and flattening to/from one vector."""
import math

from ..autograd import no_grad
from ..creation import get_default_device, zeros
from ..ops import clip, concatenate, getitem, reshape, stack
from ..tensor import Tensor


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together, in place, so that their joint norm is at most ``max_norm``.

    As PyTorch: the norm is taken over all gradients as if concatenated into one vector, and each
    gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``.

    Args:
        parameters: a Tensor or an iterable of Tensors (those without ``.grad`` are skipped).
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm; ``float("inf")`` for the largest absolute value.
        error_if_nonfinite: raise if the total norm is nan or inf (otherwise gradients become nan).
    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = (model(deeplite.randn(8, 2)) * 100).sum()
        >>> loss.backward()
        >>> norm = deeplite.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not grads:
        return zeros((), device=get_default_device())
    norm_type = float(norm_type)
    device = grads[0].device
    with no_grad():
        if math.isinf(norm_type):
            total = stack([grad.abs().max().to(device) for grad in grads]).max()
        else:
            parts = [(grad.abs() ** norm_type).sum().to(device) for grad in grads]
            total = stack(parts).sum() ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                               f"gradients is {total.item()}; pass error_if_nonfinite=False to "
                               f"clip anyway")
        # Multiply even when no clipping is needed (coefficient 1): no host sync on the GPU.
        coefficient = clip(max_norm / (total + 1e-6), None, 1.0)
        for grad in grads:
            grad *= coefficient.to(grad.device)
    return total


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient to [-clip_value, clip_value], in place (as PyTorch).

    Args:
        parameters: a Tensor or an iterable of Tensors (those without ``.grad`` are skipped).
        clip_value: the largest allowed absolute value of a gradient element.
    Example:
        >>> import deeplite
        >>> model = deeplite.nn.Linear(2, 1)
        >>> loss = model(deeplite.tensor([[10.0, -10.0]])).sum()
        >>> loss.backward()
        >>> model.weight.grad.tolist(), model.bias.grad.tolist()
        ([[10.0], [-10.0]], [1.0])
        >>> deeplite.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
        >>> model.weight.grad.tolist(), model.bias.grad.tolist()
        ([[0.5], [-0.5]], [0.5])
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    with no_grad():
        for parameter in _as_list(parameters):
            if parameter.grad is not None:
                parameter.grad.copy_(clip(parameter.grad, -clip_value, clip_value))


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor (differentiable), as PyTorch.

    Example:
        >>> import deeplite
        >>> model = deeplite.nn.Linear(3, 2)
        >>> vector = deeplite.nn.utils.parameters_to_vector(model.parameters())
        >>> vector.shape  # 3 * 2 weights, then 2 biases
        (8,)
        >>> vector.shape == (sum(p.numel() for p in model.parameters()),)
        True
    """
    parameters = _as_list(parameters)
    for parameter in parameters:
        if not isinstance(parameter, Tensor):
            raise TypeError(f"parameters_to_vector: expected Tensors, got "
                            f"{type(parameter).__name__}")
    if not parameters:
        raise ValueError("parameters_to_vector: got no parameters")
    return concatenate([reshape(parameter, -1) for parameter in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place, as PyTorch.

    The inverse of ``parameters_to_vector``; ``vec`` must hold exactly as many elements as the
    parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor for vec, got "
                        f"{type(vec).__name__}")
    parameters = _as_list(parameters)
    total = sum(parameter.numel() for parameter in parameters)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec has shape {vec.shape}, the parameters hold "
                         f"{total} elements; pass a 1-D tensor of that length")
    start = 0
    with no_grad():
        for parameter in parameters:
            count = parameter.numel()
            piece = reshape(getitem(vec.detach(), slice(start, start + count)), parameter.shape)
            parameter.copy_(piece.to(parameter.device, parameter.dtype))
            start += count
