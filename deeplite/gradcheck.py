"""gradcheck: the tape's gradients against central finite differences, in float64."""
import numpy as np

from . import dtypes
from .autograd import grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """The analytical and numerical Jacobians disagree."""


def _outputs(func, inputs) -> tuple:
    out = func(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _flat_host(outputs) -> np.ndarray:
    return np.concatenate([np.asarray(out.detach(), dtype=np.float64).ravel() for out in outputs])


def gradcheck(func, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``func(*inputs)``'s gradients with respect to every input that requires grad.

    Like ``torch.autograd.gradcheck``: the inputs to check must be float64 tensors with
    ``requires_grad=True``. Each Jacobian entry passes when |analytical - numerical| <= atol +
    rtol * |numerical|. Returns True, or raises GradcheckError naming the worst element (its
    input, index and output element, both values).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != dtypes.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences "
                             f"need float64 inputs (call .double())")
    outputs = _outputs(func, inputs)
    sizes = [out.numel() for out in outputs]
    analytical = [np.zeros((sum(sizes), inputs[i].numel())) for i in checked]
    row = 0
    for out, size in zip(outputs, sizes):
        for k in range(size):
            if out.requires_grad:
                one_hot = np.zeros(size)
                one_hot[k] = 1.0
                seed = Tensor._wrap(out._backend.asarray(one_hot.reshape(out.shape), out.dtype),
                                    out._backend)
                grads = grad(out, [inputs[i] for i in checked], seed, retain_graph=True,
                             allow_unused=True)
                for column, g in zip(analytical, grads):
                    if g is not None:
                        column[row + k] = np.asarray(g, dtype=np.float64).ravel()
        row += size
    worst = None
    for position, i in enumerate(checked):
        numerical = _numerical_jacobian(func, inputs, i, eps)
        error = np.abs(analytical[position] - numerical) - (atol + rtol * np.abs(numerical))
        if error.size and (worst is None or error.max() > worst[0]):
            out_k, in_k = np.unravel_index(np.argmax(error), error.shape)
            worst = (error.max(), i, in_k, out_k, numerical[out_k, in_k],
                     analytical[position][out_k, in_k])
    if worst is not None and worst[0] > 0:
        _, i, in_k, out_k, numerical_value, analytical_value = worst
        index = np.unravel_index(in_k, inputs[i].shape)
        where = tuple(int(n) for n in index)
        message = (f"gradcheck: Jacobian mismatch for input {i} at index {where}"
                   f" (flat output element {out_k}): numerical {numerical_value:.10g}, "
                   f"analytical {analytical_value:.10g}")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True


def _numerical_jacobian(func, inputs, i, eps) -> np.ndarray:
    """d outputs / d inputs[i] by central differences: (f(x + eps) - f(x - eps)) / 2 eps."""
    x = inputs[i]
    host = np.array(x.detach(), dtype=np.float64)
    columns = []
    for k in range(host.size):
        values = []
        for delta in (eps, -eps):
            shifted = host.copy()
            shifted.flat[k] += delta
            # The shifted input keeps requires_grad: func may differentiate inside (gradgradcheck).
            moved = Tensor._wrap(x._backend.asarray(shifted), x._backend, requires_grad=True)
            trial = inputs[:i] + (moved,) + inputs[i + 1:]
            values.append(_flat_host(_outputs(func, trial)))
        columns.append((values[0] - values[1]) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))
