"""What the rest of deeplite tells a trace in progress (deeplite.jit); import-free, so eager code
pays one list lookup per call and nothing else.

Six kinds of places report to the recorder: ``Optimizer.step`` (which group each optimizer kernel
updates, so its learning rate and step counts become per-replay scalars), dropout's reservations
of the counter-based stream (their seed and offset become per-replay scalars), host random draws
(redrawn on every replay), input checks that read data on the host (rerun on every replay),
whatever creates a parameter (refused inside a trace), and ``GradScaler`` (its update decision,
rerun on every replay, gates the optimizer's kernels).
"""


class TraceError(TypeError):
    """A traced function did something its replay could not reproduce; the message says the fix."""


# The Recorder of the trace in progress, or None: a one-element list so importers share it.
active: list = [None]


def optimizer_update(optimizer, group: dict, params: list) -> None:
    """Called by ``Optimizer.step`` before it updates ``group`` (its ``params`` have gradients)."""
    recorder = active[0]
    if recorder is not None:
        recorder.optimizer_update(optimizer, group, params)


def mark_random(host_array, draw) -> None:
    """Called with each host array of random numbers; ``draw()`` makes the next one like it."""
    recorder = active[0]
    if recorder is not None:
        recorder.mark_random(host_array, draw)


def stream_reserved(draws: int, key: tuple, counter: tuple) -> None:
    """Called when dropout reserves ``draws`` words of the counter-based stream at ``counter``:
    the next ``dropout_mask`` kernel with that key and counter reads both afresh on every replay."""
    recorder = active[0]
    if recorder is not None:
        recorder.stream_reserved(draws, key, counter)


def guard(check, *args) -> None:
    """Called with a check that reads tensor data on the host: a replay reruns ``check(*args)``."""
    recorder = active[0]
    if recorder is not None:
        recorder.guard(check, args)


def refuse_creation(what: str) -> None:
    """Raise TraceError if ``what`` (a parameter, say) is being created inside a traced function."""
    if active[0] is not None:
        raise TraceError(f"deeplite.jit: {what} created inside the traced function; a replay "
                         f"would reuse one object forever. Create models, parameters and "
                         f"optimizers once, outside the function")


class _Gate:
    """Context manager of ``gated``: while open, recorded kernels carry ``predicate``."""

    def __init__(self, predicate):
        self.predicate, self.recorder = predicate, active[0]

    def __enter__(self):
        if self.recorder is not None:
            self.recorder.open_gate(self.predicate)
        return self

    def __exit__(self, *exc_info):
        if self.recorder is not None:
            self.recorder.open_gate(None)
        return False


def gated(predicate) -> _Gate:
    """``with gated(predicate):`` the kernels recorded inside run on a replay only when
    ``predicate()`` is true then (GradScaler: the optimizer update, unless a gradient overflowed).
    Eager code runs the block as written."""
    return _Gate(predicate)


# Set when an update was skipped (GradScaler) since a jitted function last cleared it: a warm-up
# call that skipped its update created no optimizer state, so the next call warms up again.
skipped: list = [False]


def retrace() -> None:
    """Called when a step skipped its optimizer update (GradScaler after an overflow): a trace
    of it is not kept, and the next call of the jitted function warms up or traces again."""
    skipped[0] = True
    recorder = active[0]
    if recorder is not None:
        recorder.incomplete = True
