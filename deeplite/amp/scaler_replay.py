"""GradScaler inside a step that ``deeplite.jit`` traces: every decision is rerun on each replay.

Eagerly, GradScaler reads Python floats and host values: the scale it multiplies by, the inf
check of the gradients, whether to skip the optimizer step, the new scale. A replay runs none of
that Python, so inside a trace the scaler records it instead:

- the scale and its inverse live in 0-d buffers the kernels read, and a guard step writes the
  current ``scaler._scale`` into them at that point of every replay;
- the inf check is kernels (``sum(g * 0)`` is NaN exactly when g holds an inf or a NaN), and a
  guard reads their results on each replay;
- the optimizer's kernels are gated on that reading (a skipped update gives back its step
  counts), and ``update()``'s scale schedule is a guard at the end.

So a replayed step skips, backs off and grows exactly as the eager step would. A traced call
whose own gradients overflowed skipped its update and recorded none: it is not kept as a plan
(``hooks.retrace``), and the next call traces again.
"""
from typing import Sequence

import numpy as np

from ..jit import hooks
from ..tensor import Tensor


def scale(scaler, outputs: Tensor) -> Tensor:
    """``outputs * scale``, reading the scale from a buffer the replay refreshes."""
    backend = outputs._backend
    buffer = backend.asarray(np.asarray(scaler._scale, outputs.dtype))
    hooks.guard(_write_scale, scaler, buffer, False)
    return outputs * Tensor._wrap(buffer, backend)


def unscale(scaler, grads: list) -> list:
    """Divide ``grads`` (Tensors) by the scale in place; the inf checks, one per gradient."""
    checks: list = []
    inverses: dict = {}  # one inverse buffer (and one guard) per backend and dtype
    for grad in grads:
        backend, data = grad._backend, grad.data
        inverse = inverses.get((backend.name, data.dtype))
        if inverse is None:
            inverse = backend.asarray(np.asarray(1.0 / scaler._scale, data.dtype))
            inverses[backend.name, data.dtype] = inverse
            hooks.guard(_write_scale, scaler, inverse, True)
        checks.append(backend.sum(backend.mul(data, backend.zeros((), data.dtype))))
        backend.copyto(data, backend.mul(data, inverse))
    return checks


def overflowed(checks: Sequence) -> bool:
    """Whether any inf check found an inf or NaN (read on the host)."""
    return any(bool(np.isnan(float(check))) for check in checks)


def gated_step(scaler, optimizer_key: int, checks: list):
    """The ``hooks.gated`` block the optimizer's step runs in, after a guard that reads
    ``checks`` afresh on every replay."""
    hooks.guard(_note_overflow, scaler, optimizer_key, *checks)
    return hooks.gated(lambda: not scaler._replay_overflow.get(optimizer_key, False))


def record_update(scaler) -> None:
    """Rerun the scale schedule at this point of every replay."""
    hooks.guard(_replayed_update, scaler)


# ---- replay-time guards ---------------------------------------------------------------------
def _write_scale(scaler, buffer, inverse: bool) -> None:
    value = 1.0 / scaler._scale if inverse else scaler._scale
    buffer[...] = value


def _note_overflow(scaler, optimizer_key: int, *checks) -> None:
    scaler._replay_overflow[optimizer_key] = overflowed(checks)


def _replayed_update(scaler) -> None:
    scaler._advance(any(scaler._replay_overflow.values()))
    scaler._replay_overflow.clear()
