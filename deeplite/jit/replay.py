"""Replaying a recorded step without the tape: its kernels, called again on the same buffers.

The arrays a kernel returned while tracing are the replay's buffers: each replayed kernel writes
its new result into the array it returned at trace time, so later kernels, views of those arrays
and tensors that escaped the step (``param.grad``) all see the new values, and nothing is looked up
per call. A kernel that returned a view of its input (reshape, transpose, basic indexing) needs no
work at all: the view already follows its base. Results that cannot be written into (NumPy scalars
from 0-d reductions, read-only arrays) live in cells instead, and the kernels that read them are
handed the cell's current value.
"""
from .recorder import Step


class Compiled:
    """A step compiled for replay: ``runs`` (callables in order) over ``values`` and ``cells``.

    ``values`` holds the per-replay scalars (learning rates, step counts), refreshed before each
    replay; ``cells`` the results that are not writeable arrays; ``cell_of`` maps the id of each
    trace-time cell value to its index.
    """

    def __init__(self, scalar_count: int):
        self.runs: list = []
        self.values: list = [0.0] * scalar_count
        self.cells: list = []
        self.cell_of: dict = {}
        self.native_kernels = 0
        self.python_kernels = 0
        self.bound_kernels = 0  # of the python_kernels: bound to their buffers by the backend


def compile_steps(steps: list, xp, scalar_count: int, lower=None, bind=None) -> Compiled:
    """Turn ``steps`` into replay callables; ``lower(step)`` may claim a step for native code.

    ``lower`` returns None when it leaves the step to Python, else a dict giving, for each output
    that is a cell, the array the native code writes it into (often empty). Called with None it
    closes the current native plan and returns the plan's run callable (None when empty).
    ``bind(name, args, kwargs, result)`` (the backend's ``bind_replay``) may give, for a step left
    to Python, a callable that writes its results straight into their buffers.
    """
    compiled = Compiled(scalar_count)
    for step in steps:
        kinds = [_kind(value, step, xp) for value in step.outputs()]
        if kinds and all(kind == "view" for kind in kinds):
            continue  # follows its base: nothing to run
        subs = _substitutions(step, compiled)
        reads_cells = len(subs) > len(step.scalars)  # native code cannot read a cell
        # A gated kernel (GradScaler's optimizer update) stays a Python call the gate can skip.
        native = lower is not None and not reads_cells and step.gate is None
        taken = lower(step) if native else None
        if taken is not None:
            compiled.native_kernels += 1
            outputs = step.outputs()
            for index, array in taken.items():  # a 0-d result: its cell is a 0-d buffer now
                compiled.cell_of[id(outputs[index])] = len(compiled.cells)
                compiled.cells.append(array)
            continue
        if lower is not None:
            _close(compiled, lower)
        call = None
        if bind is not None and not subs and all(kind in ("buffer", "none") for kind in kinds):
            call = bind(step.name, step.args, step.kwargs, step.result)
            compiled.bound_kernels += call is not None
        if call is None:
            call = _python_call(step, kinds, subs, compiled, xp)
        compiled.runs.append(call if step.gate is None else _gated(call, step))
        compiled.python_kernels += 1
    if lower is not None:
        _close(compiled, lower)
    return compiled


def _gated(call, step: Step):
    """``call`` run only when the step's gate says so; a skipped optimizer kernel's group takes
    back the step counts the replay advanced for it."""
    gate, group = step.gate, step.group

    def gated_call():
        if gate():
            call()
        elif group is not None:
            group.rewind()

    return gated_call


def _close(compiled: Compiled, lower) -> None:
    run = lower(None)
    if run is not None:
        compiled.runs.append(run)


def _kind(value, step: Step, xp) -> str:
    """How a replay refreshes one output: "none", "view", "buffer" or "cell"."""
    if value is None:
        return "none"
    if type(value) is not xp.ndarray:
        return "cell"
    for arg in step.args:
        if type(arg) is xp.ndarray and (arg is value or xp.may_share_memory(arg, value)):
            return "view"
    # CuPy arrays are always writeable (their flags do not say).
    return "buffer" if getattr(value.flags, "writeable", True) else "cell"


def _substitutions(step: Step, compiled: Compiled) -> list:
    """(argument position or keyword, getter) for each argument read afresh on every replay."""
    subs = []
    values, cells = compiled.values, compiled.cells
    for position, slot in step.scalars.items():
        if isinstance(slot, list):
            subs.append((position, lambda slots=slot: [values[s] for s in slots]))
        else:
            subs.append((position, lambda s=slot: values[s]))
    items = list(enumerate(step.args)) + list(step.kwargs.items())
    for position, arg in items:
        index = compiled.cell_of.get(id(arg))
        if index is not None:
            subs.append((position, lambda i=index: cells[i]))
    return subs


def _python_call(step: Step, kinds: list, subs: list, compiled: Compiled, xp):
    """A callable that reruns ``step``'s kernel and stores its results (buffers or cells)."""
    kernel, args, kwargs = step.kernel, step.args, step.kwargs
    copyto, cells = xp.copyto, compiled.cells
    stores: list = []
    for index, (kind, value) in enumerate(zip(kinds, step.outputs(), strict=True)):
        if kind == "buffer":
            stores.append((index, value, None))
        elif kind == "cell":
            compiled.cell_of[id(value)] = len(cells)
            stores.append((index, None, len(cells)))
            cells.append(value)
    single = not isinstance(step.result, tuple)
    if not subs and single and len(stores) == 1 and stores[0][1] is not None:
        buffer = stores[0][1]
        ufunc = getattr(xp, "ufunc", None)
        if ufunc is not None and isinstance(kernel, ufunc) and not kwargs:
            write = kernel  # a ufunc: it writes straight into the buffer
            return lambda: write(*args, out=buffer)
        return lambda: copyto(buffer, kernel(*args, **kwargs))

    def call():
        call_args, call_kwargs = args, kwargs
        if subs:
            call_args, call_kwargs = list(args), dict(kwargs)
            for position, get in subs:
                if isinstance(position, int):
                    call_args[position] = get()
                else:
                    call_kwargs[position] = get()
        result = kernel(*call_args, **call_kwargs)
        if single:
            result = (result,)
        for index, buffer, cell in stores:
            if buffer is not None:
                copyto(buffer, result[index])
            else:
                cells[cell] = result[index]

    return call
