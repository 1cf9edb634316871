"""deeplite.jit: capture a whole training step once, then replay its kernels without Python.

    >>> import deeplite
    >>> import deeplite.nn.functional as F
    >>> model = deeplite.nn.Linear(2, 3)
    >>> for parameter in model.parameters():  # a fixed start, so the losses below are fixed
    ...     _ = deeplite.nn.init.zeros_(parameter)
    >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.5)
    >>> @deeplite.jit
    ... def step(x, y):
    ...     optimizer.zero_grad()
    ...     loss = F.cross_entropy(model(x), y)
    ...     loss.backward()
    ...     optimizer.step()
    ...     return loss
    >>> x, y = deeplite.tensor([[1.0, 0.0], [0.0, 1.0]]), deeplite.tensor([0, 1])
    >>> [round(float(step(x, y)), 4) for _ in range(4)]  # eager, record, replay, replay
    [1.0986, 0.8693, 0.7068, 0.5877]

The first call with given input shapes runs eagerly (it creates optimizer state), the second
records every kernel call (forward, backward, optimizer update), and later calls replay them: on
``cpu`` as one ``deeplite._C`` call per step, on ``numpy`` as a list of bound NumPy calls, on
``cuda`` as one CUDA graph launch. See docs/jit.md for the rules a traced function follows.
"""
import sys
import types

from .function import Jitted
from .hooks import TraceError

__all__ = ["Jitted", "TraceError", "jit"]


def jit(fn=None, *, native: bool = True):
    """Return ``fn`` as a ``Jitted`` function (usable as ``@jit`` or ``@jit(native=False)``).

    Args:
        fn: the step; its tensor arguments are data (inputs, targets), while parameters and
            optimizers come from modules or closures. It may return tensors (in tuples, lists or
            dicts): each call returns fresh tensors with that call's values.
        native: on ``cpu``, run the kernels the C++ plan covers in one ``_C`` call; on ``cuda``,
            launch the step as one CUDA graph where it can (False replays every kernel from
            Python, as on ``numpy``).
    Raises:
        TraceError (a TypeError) at trace time when ``fn`` reads a tensor on the host, creates
        parameters, or uses a second device; at replay when an optimizer hyperparameter other
        than ``lr`` changed since the trace.
    """
    if fn is None:
        return lambda inner: Jitted(inner, native=native)
    return Jitted(fn, native=native)


class _CallableModule(types.ModuleType):
    """Lets ``deeplite.jit(fn)`` work while ``deeplite.jit`` stays the package."""

    def __call__(self, fn=None, **options):
        return jit(fn, **options)


sys.modules[__name__].__class__ = _CallableModule
