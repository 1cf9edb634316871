"""``deeplite.jit(fn)``: run ``fn`` eagerly once, trace its kernels on the next call, then replay.

One plan per input signature (the shapes, dtypes and devices of the tensor arguments, and the
values of the others); a new signature warms up and traces again. See docs/jit.md.
"""
import functools

from .. import backends, dropout_stream
from ..tensor import Tensor
from ..versions import bump_versions
from . import hooks
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
        self._plans: dict = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if hooks.active[0] is not None:
            raise TraceError("deeplite.jit: a jitted function was called while another one was "
                             "being traced; jit the outer function only")
        key = _signature(args, kwargs)
        plan = self._plans.get(key)
        if plan is None:
            hooks.skipped[0] = False
            outputs = self.fn(*args, **kwargs)  # warm-up: creates optimizer state, lazy buffers
            if not hooks.skipped[0]:  # else no update ran: warm up again next call
                self._plans[key] = _WARM
            return outputs
        if plan is _WARM:
            plan, outputs = self._trace(args, kwargs)
            self._plans[key] = plan
            return outputs
        return plan(args)

    def __get__(self, instance, owner=None):
        """As a method: the instance becomes the first argument (part of the signature)."""
        return self if instance is None else functools.partial(self, instance)

    def reset(self) -> None:
        """Forget every plan: the next call warms up again and the one after traces afresh."""
        self._plans.clear()

    def plans(self) -> list:
        """The plans traced so far (one per input signature), for inspection."""
        return [plan for plan in self._plans.values() if plan is not _WARM]

    def _trace(self, args, kwargs):
        if any(isinstance(value, Tensor) for value in kwargs.values()):
            raise TypeError("deeplite.jit: pass tensors as positional arguments (keyword "
                            "arguments are constants of the trace)")
        if any(isinstance(arg, Tensor) and arg.requires_grad for arg in args):
            raise TraceError("deeplite.jit: a tensor argument requires grad; pass data as "
                             "arguments and keep parameters in modules or closures")
        backend = _backend_of(args)
        # The recorded input buffers are private copies: replays copy new inputs into them, and
        # must never write into a tensor the caller passed on the traced call.
        private_args, inputs = _private_inputs(args, backend)
        with Recorder(backend) as recorder:
            outputs = self.fn(*private_args, **kwargs)
        if recorder.incomplete:  # the step skipped work a replay needs: trace the next call
            return _WARM, outputs
        plan = Plan(self.fn, backend, recorder, inputs, outputs, self.native)
        # The traced call's own results (its buffers are the plan's now: hand out copies).
        return plan, _output_tree(outputs, None, backend.xp, backend)()


class Plan:
    """One traced signature: refreshes scalars and random draws, copies inputs, runs the steps."""

    def __init__(self, fn, backend, recorder: Recorder, inputs: list, outputs, native: bool):
        self.name = getattr(fn, "__qualname__", "function")
        self.backend, self.recorder, self.inputs = backend, recorder, inputs
        self.groups, self.randoms = recorder.groups, recorder.randoms
        self.streams = recorder.streams
        xp = backend.xp
        lowering = None
        if native and backend.name == "cpu":
            from .. import _C
            from .native import NativeLowering

            lowering = NativeLowering(_C, recorder.scalar_count)
            self._unsupported = _C.Unsupported
        bind = getattr(backend.module, "bind_replay", None) if native else None
        self.compiled = compile_steps(recorder.steps, xp, recorder.scalar_count, lowering, bind)
        self.native_plans: list = [] if lowering is None else lowering.closed
        self.block = None if lowering is None else lowering.block
        self.outputs = _output_tree(outputs, self.compiled, xp, backend)
        self.replays = 0  # how many calls this plan has served
        # Each optimized parameter's .grad as the traced call left it (its data is a buffer the
        # replay refreshes, or a cell): set again after each replay, as the eager step would.
        cells = self.compiled.cells
        self._grads = [(param, param.grad, self.compiled.cell_of.get(id(param.grad.data))
                        if param.grad is not None else None)
                       for group in self.groups for param in group.params]
        self._cell_grads = [(grad, index) for _, grad, index in self._grads if index is not None]
        self._cells = cells
        self.runs = self.compiled.runs
        self._copyto = xp.copyto
        self.graph = None  # cuda: the runs behind one CUDA graph (cuda_graph.py)
        if native and backend.name == "cuda":
            from .cuda_graph import graphed

            self.graph = graphed(backend, self.compiled, recorder)
            self.runs = [self.graph]
        # When the step starts with native code, that plan copies the inputs in itself.
        runs = self.runs
        self._first = None
        plans = self.native_plans
        if runs and plans and getattr(runs[0], "__self__", None) is plans[0]:
            self._first, self._rest = self.native_plans[0], runs[1:]
            self._first.bind_inputs(inputs)

    def __call__(self, args):
        """Replay the step on the tensors among ``args`` (their signature matches the trace's)."""
        values = self.compiled.values
        self.replays += 1
        for done, group in enumerate(self.groups):
            try:
                group.refresh(values)  # raises before any kernel runs if a hyperparameter changed
            except TraceError:
                for earlier in self.groups[:done]:
                    earlier.rewind()
                raise
        for stream in self.streams:  # dropout: the stream words the eager step would take
            stream.refresh(values, dropout_stream.reserve)
        copyto = self._copyto
        for host, draw in self.randoms:
            copyto(host, draw())
        sources = [arg.data for arg in args if isinstance(arg, Tensor)]
        block = self.block
        if block is not None:
            for slot, value in enumerate(values):
                block[slot] = value
        try:
            if self.graph is None:
                self._run(sources)
            else:
                with self.graph.stream:  # inputs, the graph and the outputs on one stream
                    self._run(sources)
                    return self._finish()
        except Exception:
            for group in self.groups:  # a check failed (bad labels): no update happened
                group.rewind()
            raise
        return self._finish()

    def _finish(self):
        """Tick the versions of the parameters the replay updated (as ``Optimizer.step`` does:
        a graph that saved their old values raises at backward); point each .grad where the
        traced call left it; the outputs, as fresh tensors."""
        for group in self.groups:
            if group.updated:
                bump_versions(group.params)
        for param, grad, _ in self._grads:
            param.grad = grad
        for grad, index in self._cell_grads:
            grad.data = self._cells[index]
        return self.outputs()

    def _run(self, sources) -> None:
        first = self._first
        if first is None:
            self._copy_inputs(sources)
            for run in self.runs:
                run()
            return
        try:
            first.run(sources)
        except self._unsupported:  # an input of another layout: copied here instead
            self._copy_inputs(sources)
            first.run()
        for run in self._rest:
            run()

    def _copy_inputs(self, sources) -> None:
        copyto = self._copyto
        for buffer, source in zip(self.inputs, sources, strict=True):
            copyto(buffer, source)

    def kernels_only(self) -> None:
        """Run the step's kernels once, without refreshing anything (for benchmarks)."""
        for run in self.runs:
            run()

    def __repr__(self) -> str:
        compiled = self.compiled
        bound = f" ({compiled.bound_kernels} bound in place)" if compiled.bound_kernels else ""
        return (f"<deeplite.jit plan of {self.name} on {self.backend.name}: "
                f"{len(self.recorder.steps)} kernels, {compiled.native_kernels} native in "
                f"{len(self.native_plans)} _C call(s), {compiled.python_kernels} from Python"
                f"{bound}>")


def _signature(args, kwargs) -> tuple:
    """What a plan is specialised to: tensor shapes, dtypes and devices; other values as given."""
    parts = [tuple(kwargs)] if kwargs else []
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor):
            data = value.data
            parts.append((data.shape, data.dtype, value._backend, value.requires_grad))
        else:
            try:
                hash(value)
            except TypeError:
                raise TypeError(f"deeplite.jit: arguments must be tensors or hashable values "
                                f"(plans are keyed on them), got {type(value).__name__}") from None
            parts.append((type(value), value))
    return tuple(parts)


def _backend_of(args):
    """The one backend of the tensor arguments (the default device's when there are none)."""
    found = {arg._backend.name: arg._backend for arg in args if isinstance(arg, Tensor)}
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


def _fresh(value, xp):
    """``value`` itself when immutable (a NumPy scalar), else a copy."""
    return value.copy() if type(value) is xp.ndarray else value


def _output_tree(outputs, compiled, xp, backend):
    """A callable rebuilding ``outputs`` with fresh tensors holding the latest run's values
    (``compiled`` None: the values ``outputs`` hold now)."""
    if isinstance(outputs, Tensor):
        data = outputs.data
        index = None if compiled is None else compiled.cell_of.get(id(data))
        if index is not None:  # a NumPy scalar, or a 0-d buffer the native plan writes
            cells = compiled.cells
            return lambda: Tensor._wrap(_fresh(cells[index], xp), backend)
        wrap = Tensor._wrap
        return lambda: wrap(_fresh(data, xp), backend)
    if isinstance(outputs, (tuple, list)):
        items = [_output_tree(item, compiled, xp, backend) for item in outputs]
        kind = type(outputs)
        return lambda: kind(part() for part in items)
    if isinstance(outputs, dict):
        entries = {key: _output_tree(item, compiled, xp, backend) for key, item in outputs.items()}
        return lambda: {key: part() for key, part in entries.items()}
    return lambda: outputs  # None, numbers, strings: constants of the trace
