"""``deeplite.jit(fn)``: run ``fn`` eagerly once, trace its kernels on the next call, then replay.

One plan per input signature (the shapes, dtypes and devices of the tensor arguments, and the
values of the others); a new signature warms up and traces again. See docs/jit.md.
"""
import functools

from .. import backends
from ..tensor import Tensor
from .hooks import TraceError
from .recorder import Recorder
from .replay import compile_steps

_WARM = "warm"  # a signature seen once: its next call is traced


class Jitted:
    """A function whose calls replay a recorded kernel sequence (made by ``deeplite.jit``)."""

    def __init__(self, fn, native: bool = True):
        if not callable(fn):
            raise TypeError(f"deeplite.jit: expected a function, got {type(fn).__name__}")
        self.fn = fn
        self.native = native
        self._plans = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        key = _signature(args, kwargs)
        plan = self._plans.get(key)
        if plan is None:
            self._plans[key] = _WARM
            return self.fn(*args, **kwargs)  # warm-up: creates optimizer state, lazy buffers
        if plan is _WARM:
            plan, outputs = self._trace(args, kwargs)
            self._plans[key] = plan
            return outputs
        return plan(args, kwargs)

    def reset(self) -> None:
        """Forget every plan: the next call warms up again and the one after traces afresh."""
        self._plans.clear()

    def plans(self) -> list:
        """The plans traced so far (one per input signature), for inspection."""
        return [plan for plan in self._plans.values() if plan is not _WARM]

    def _trace(self, args, kwargs):
        backend = _backend_of(args, kwargs)
        # The recorded input buffers are private copies: replays copy new inputs into them, and
        # must never write into a tensor the caller passed on the traced call.
        private_args, inputs = _private_inputs(args, backend)
        with Recorder(backend) as recorder:
            outputs = self.fn(*private_args, **kwargs)
        plan = Plan(self.fn, backend, recorder, inputs, outputs, self.native)
        return plan, plan.outputs()


class Plan:
    """One traced signature: refreshes scalars and random draws, copies inputs, runs the steps."""

    def __init__(self, fn, backend, recorder: Recorder, inputs: list, outputs, native: bool):
        self.name = getattr(fn, "__qualname__", "function")
        self.backend, self.recorder, self.inputs = backend, recorder, inputs
        self.groups, self.randoms = recorder.groups, recorder.randoms
        xp = backend.xp
        lowering = None
        if native and backend.name == "cpu":
            from .. import _C
            from .native import NativeLowering

            lowering = NativeLowering(_C, recorder.scalar_count)
        self.compiled = compile_steps(recorder.steps, xp, recorder.scalar_count, lowering)
        self.block = None if lowering is None else lowering.block
        self._output_tree = _output_tree(outputs, self.compiled, xp, backend)
        self._runs = self.compiled.runs
        self._copyto = xp.copyto

    def __call__(self, args, kwargs):
        values = self.compiled.values
        for group in self.groups:
            group.refresh(values)  # raises before anything changes if a hyperparameter did
        copyto = self._copyto
        for host, draw in self.randoms:
            copyto(host, draw())
        position = 0
        for arg in args:
            if isinstance(arg, Tensor):
                copyto(self.inputs[position], arg.data)
                position += 1
        block = self.block
        if block is not None and values:
            block[:] = values
        for run in self._runs:
            run()
        return self.outputs()

    def outputs(self):
        """The traced function's return value for the latest run (fresh tensors)."""
        return self._output_tree()

    def __repr__(self) -> str:
        compiled = self.compiled
        return (f"<deeplite.jit plan of {self.name}: {len(self.recorder.steps)} kernels, "
                f"{compiled.native_kernels} native in "
                f"{sum(1 for run in self._runs if getattr(run, '__self__', None))} _C calls, "
                f"{compiled.python_kernels} Python calls>")


def _signature(args, kwargs) -> tuple:
    """What a plan is specialised to: tensor shapes, dtypes and devices; other values as given."""
    parts = []
    for value in (*args, *kwargs.items()):
        if isinstance(value, Tensor):
            data = value.data
            if value.requires_grad:
                raise TraceError("deeplite.jit: a tensor argument requires grad; pass data as "
                                 "arguments and keep parameters in modules or closures")
            parts.append((data.shape, data.dtype, value._backend.name))
        else:
            try:
                hash(value)
            except TypeError:
                raise TypeError(f"deeplite.jit: arguments must be tensors or hashable values "
                                f"(plans are keyed on them), got {type(value).__name__}") from None
            parts.append((type(value), value))
    return tuple(parts)


def _backend_of(args, kwargs):
    """The one backend of the tensor arguments (the default device's when there are none)."""
    found = {arg._backend.name: arg._backend for arg in (*args, *kwargs.values())
             if isinstance(arg, Tensor)}
    if len(found) > 1:
        raise TraceError(f"deeplite.jit: tensor arguments on {' and '.join(found)}; a traced "
                         f"step runs on one device")
    if found:
        return next(iter(found.values()))
    from ..creation import get_default_device

    return backends.get(get_default_device())


def _private_inputs(args, backend) -> tuple:
    """``args`` with each tensor replaced by a copy, and the list of those copies' arrays."""
    private, inputs = [], []
    for arg in args:
        if isinstance(arg, Tensor):
            data = backend.copy(arg.data)
            inputs.append(data)
            arg = Tensor._wrap(data, backend)
        private.append(arg)
    return private, inputs


def _output_tree(outputs, compiled, xp, backend):
    """A callable rebuilding ``outputs`` with fresh tensors holding the latest run's values."""
    if isinstance(outputs, Tensor):
        data = outputs.data
        index = compiled.cell_of.get(id(data))
        cells = compiled.cells
        if index is not None:
            return lambda: Tensor._wrap(cells[index], backend)
        copy = xp.copy
        return lambda: Tensor._wrap(copy(data), backend)
    if isinstance(outputs, (tuple, list)):
        parts = [_output_tree(item, compiled, xp, backend) for item in outputs]
        kind = type(outputs)
        return lambda: kind(part() for part in parts)
    if isinstance(outputs, dict):
        parts = {key: _output_tree(item, compiled, xp, backend) for key, item in outputs.items()}
        return lambda: {key: part() for key, part in parts.items()}
    return lambda: outputs  # None, numbers, strings: constants of the trace
