"""Recording a step: every outermost kernel call on the traced backend becomes a ``Step``.

The recorder wraps each kernel of the backend (``Backend.intercept``). A kernel called from inside
another kernel (a fallback composition, cpu's NumPy fallback) is part of its caller's step, so only
the outermost calls are kept. The trace-time arrays stay alive with the steps: they become the
replay's buffers (see ``replay.py``).
"""
from operator import attrgetter, is_not
from typing import Optional

from .. import backends
from . import hooks
from .hooks import TraceError

# Optimizer kernels: position of the learning rate and of the per-parameter step counts (None when
# the kernel takes none), as in backends/contract.py. Both are read afresh on every replay.
OPTIMIZER_SCALARS = {"sgd_step": (4, None), "adam_step": (6, 5), "rmsprop_step": (5, None),
                     "adagrad_step": (4, 3)}
CREATION_KERNELS = frozenset({"full", "zeros", "empty", "asarray"})
# Keys of an optimizer group that may change between replays: the rest is fixed at trace time.
VARYING_KEYS = frozenset({"params", "lr", "initial_lr"})
_MISSING = object()
_data = attrgetter("data")


class Step:
    """One kernel call: the kernel, its trace-time arguments and result, and its per-step scalars.

    ``scalars`` maps an argument position to a slot (or a list of slots) of the replay's scalar
    block; the argument is read from there on every replay. ``gate``: a predicate the replay
    asks before running the kernel (None: always runs); ``group``: the OptimizerGroup an
    optimizer kernel updates.
    """

    __slots__ = ("name", "kernel", "args", "kwargs", "result", "scalars", "gate", "group")

    def __init__(self, name, kernel, args, kwargs, result, gate=None):
        self.name, self.kernel, self.args, self.kwargs, self.result = (
            name, kernel, args, kwargs, result)
        self.scalars = {}
        self.gate, self.group = gate, None

    def outputs(self) -> tuple:
        """The result as a tuple of values (empty for in-place kernels)."""
        if self.result is None:
            return ()
        return self.result if isinstance(self.result, tuple) else (self.result,)


class OptimizerGroup:
    """One optimizer group updated by the traced step: what may change, and what may not."""

    def __init__(self, optimizer, group: dict, params: list):
        self.optimizer, self.group, self.params = optimizer, group, list(params)
        self.arrays = [param.data for param in params]
        self.fixed = {key: value for key, value in group.items() if key not in VARYING_KEYS}
        self._fixed_keys, self._fixed_values = tuple(self.fixed), tuple(self.fixed.values())
        self.lr_slot: int = -1  # set when the group's kernel is recorded
        self.step_slots: Optional[list] = None
        self._steps_before = self.step_counts()
        self.counts_steps = False  # whether each update adds 1 to state["step"]
        # This replay's update of the group ran (or will run): refresh added its step counts
        # and no rewind has taken them back yet.
        self.updated = False

    def step_counts(self) -> list:
        """Each parameter's ``state["step"]`` (None where it has none)."""
        state = self.optimizer.state
        return [state.get(param, {}).get("step") for param in self.params]

    def refresh(self, values: list) -> None:
        """Check nothing fixed changed; write this step's lr (and step counts) into ``values``."""
        group = self.group
        if tuple(map(group.get, self._fixed_keys)) != self._fixed_values:
            changed = [key for key, value in self.fixed.items()
                       if group.get(key, _MISSING) != value]
            name = type(self.optimizer).__name__
            raise TraceError(f"deeplite.jit: {name}'s {', '.join(sorted(changed))} changed since "
                             f"the step was traced; only lr may change between replays. Call "
                             f".reset() on the jitted function to trace it again")
        if any(map(is_not, map(_data, self.params), self.arrays)):
            raise TraceError("deeplite.jit: a parameter's data was replaced since the step was "
                             "traced (copy into it in place instead, or call .reset() on the "
                             "jitted function)")
        values[self.lr_slot] = group["lr"]
        self.updated = True
        if self.counts_steps:
            state = self.optimizer.state
            for param in self.params:
                entry = state[param]
                entry["step"] = int(entry["step"]) + 1  # as Optimizer._advance_steps
            if self.step_slots is not None:
                for param, slot in zip(self.params, self.step_slots, strict=True):
                    values[slot] = state[param]["step"]

    def rewind(self) -> None:
        """Undo ``refresh``'s step counts (the replay failed before the update ran, or a
        GradScaler skipped it); only once per refresh, however many of those happen."""
        if not self.updated:
            return
        self.updated = False
        if self.counts_steps:
            state = self.optimizer.state
            for param in self.params:
                state[param]["step"] -= 1


class StreamDraw:
    """One ``dropout_mask`` kernel of the step: how many stream words it reserves, and the slots
    of the scalar block that hold its key and counter words (read afresh on every replay)."""

    __slots__ = ("draws", "key_slots", "counter_slots")

    def __init__(self, draws: int, key_slots: list, counter_slots: list):
        self.draws, self.key_slots, self.counter_slots = draws, key_slots, counter_slots

    def refresh(self, values: list, reserve) -> None:
        """Reserve this step's words as the eager call would; write its key and counter."""
        key, counter = reserve(self.draws)
        values[self.key_slots[0]], values[self.key_slots[1]] = key
        values[self.counter_slots[0]], values[self.counter_slots[1]] = counter


class Recorder:
    """Context manager recording the kernel calls made on ``backend`` while it is active."""

    def __init__(self, backend):
        self.backend = backend
        self.steps = []
        self.groups = []
        self.randoms = []  # (host array, draw) in the order the draws happened
        self.streams: list = []  # StreamDraw of each dropout_mask kernel, in order
        self._reserved = None  # (draws, key, counter) of the last stream reservation
        self.scalar_count = 0
        self._pending = None  # the group whose optimizer kernel comes next
        self._depth = 0
        self._others = []
        self.gate = None  # the predicate of the open hooks.gated block, if any
        self.incomplete = False  # hooks.retrace() was called: the trace is not kept

    def __enter__(self):
        if hooks.active[0] is not None:
            raise TraceError("deeplite.jit: a jitted function was called while another one was "
                             "being traced; jit the outer function only")
        hooks.active[0] = self
        self.backend.intercept(self._wrap)
        # Kernels of any other loaded backend would escape the recording: refuse them instead.
        self._others = [b for b in list(backends._loaded.values()) if b is not self.backend]
        for other in self._others:
            other.intercept(self._refuse)
        return self

    def __exit__(self, *exc_info):
        for other in [self.backend, *self._others]:
            other.intercept(None)
        hooks.active[0] = None
        return False

    # ---- the hooks ---------------------------------------------------------------------------
    def optimizer_update(self, optimizer, group: dict, params: list) -> None:
        """The next optimizer kernel updates ``group`` of ``optimizer``."""
        self._pending = OptimizerGroup(optimizer, group, params)

    def guard(self, check, args: tuple) -> None:
        """Rerun ``check(*args)`` at this point of every replay (it raises on bad data)."""
        self.steps.append(Step(check.__name__, check, args, {}, None))

    def open_gate(self, predicate) -> None:
        """Gate the kernels recorded from now on by ``predicate`` (None: stop gating)."""
        self.gate = predicate

    def stream_reserved(self, draws: int, key: tuple, counter: tuple) -> None:
        """Dropout reserved stream words: its ``dropout_mask`` kernel comes next."""
        self._reserved = (draws, tuple(key), tuple(counter))

    def mark_random(self, host_array, draw) -> None:
        """``host_array`` holds random numbers: the replay refills it from ``draw()``."""
        self.randoms.append((host_array, draw))

    # ---- kernel wrappers ---------------------------------------------------------------------
    def _wrap(self, name: str, kernel):
        def recorded(*args, **kwargs):
            if self._depth:
                return kernel(*args, **kwargs)  # inside another kernel: part of its step
            self._check(name)
            self._depth = 1
            try:
                result = kernel(*args, **kwargs)
            finally:
                self._depth = 0
            step = Step(name, kernel, args, kwargs, result, self.gate)
            if name in OPTIMIZER_SCALARS and self._pending is not None:
                self._bind_optimizer(step, self._pending)
                step.group, self._pending = self._pending, None
            elif name == "dropout_mask" and self._reserved is not None:
                self._bind_stream(step, self._reserved)
                self._reserved = None
            self.steps.append(step)
            return result

        recorded.__name__ = name
        return recorded

    def _refuse(self, name: str, kernel):
        def refused(*args, **kwargs):
            if self._depth:
                return kernel(*args, **kwargs)
            raise TraceError(f"deeplite.jit: the traced function ran {name} on another device "
                             f"than {self.backend.name!r}; a traced step runs on one device")

        return refused

    def _check(self, name: str) -> None:
        if name == "to_numpy":
            raise TraceError("deeplite.jit: the traced function reads a tensor's value on the host "
                             "(.item(), .numpy(), float(), print, or `if tensor:`); a replay "
                             "cannot do that. Return the tensor and read it after the call")
        if name in CREATION_KERNELS and self._pending is not None:
            raise TraceError(f"deeplite.jit: {type(self._pending.optimizer).__name__} created new "
                             f"state inside the traced step (a parameter got its first gradient); "
                             f"run the step once without tracing first, or call .reset()")

    def _bind_optimizer(self, step: Step, group: OptimizerGroup) -> None:
        """Make the step's lr (and step counts) per-replay scalars read from ``group``."""
        lr_index, steps_index = OPTIMIZER_SCALARS[step.name]
        if step.args[lr_index] != group.group["lr"]:
            raise TraceError(f"deeplite.jit: {step.name} got lr {step.args[lr_index]!r}, but its "
                             f"group's lr is {group.group['lr']!r}; cannot trace this optimizer")
        if group.lr_slot < 0:
            # The update's Python side ran already (the kernel's arguments are evaluated first).
            group.counts_steps = all(
                after is not None and after == (before or 0) + 1
                for before, after in zip(group._steps_before, group.step_counts(), strict=True))
            group.lr_slot = self._new_slot()
            if steps_index is not None:
                group.step_slots = [self._new_slot() for _ in group.params]
            self.groups.append(group)
        step.scalars[lr_index] = group.lr_slot
        if steps_index is not None:
            if not group.counts_steps or list(step.args[steps_index]) != group.step_counts():
                raise TraceError(f"deeplite.jit: {step.name}'s step counts do not match its "
                                 f"optimizer's state; cannot trace this optimizer")
            step.scalars[steps_index] = group.step_slots

    def _bind_stream(self, step: Step, reserved: tuple) -> None:
        """Make the mask's key and counter (arguments 3 and 4) per-replay scalars."""
        draws, key, counter = reserved
        if (tuple(step.args[3]), tuple(step.args[4])) != (key, counter):
            return  # not the reserved words: a kernel called with constants keeps them
        stream = StreamDraw(draws, [self._new_slot(), self._new_slot()],
                            [self._new_slot(), self._new_slot()])
        step.scalars[3], step.scalars[4] = stream.key_slots, stream.counter_slots
        self.streams.append(stream)

    def _new_slot(self) -> int:
        self.scalar_count += 1
        return self.scalar_count - 1
