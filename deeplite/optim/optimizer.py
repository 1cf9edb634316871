"""Optimizer: parameter groups, per-parameter state, zero_grad, step and state dicts, as PyTorch.

A subclass only says how to update one group: ``_update(group, params, backend)`` gathers the
state arrays of the parameters that have gradients and hands them, as lists, to ONE fused backend
kernel (``backend.sgd_step``, ``backend.adam_step``, ...), so the C++ and CUDA backends update a
whole group in one pass and the NumPy backend uses the reference composition.
"""
import copy

from .. import dtypes, weight_shadows
from ..autograd import enable_grad, no_grad
from ..jit import hooks as jit_hooks
from ..tensor import Tensor
from ..versions import bump_versions


def check_non_negative(name: str, value: float) -> None:
    """Raise PyTorch's ``ValueError("Invalid <name>: <value>")`` for a negative hyperparameter."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name}: {value}")


class Optimizer:
    """Base class of the optimizers: holds ``param_groups`` and ``state`` and runs ``step()``.

    Args:
        params: an iterable of Parameters, or of dicts ``{"params": [...], "lr": ...}`` giving
            each group its own hyperparameters (missing ones come from ``defaults``).
        defaults: the hyperparameters of the subclass.
    Attributes:
        param_groups: list of dicts; ``group["params"]`` is the list of Parameters, the other
            keys are hyperparameters (schedulers change ``group["lr"]``).
        state: Parameter -> dict of its state ("step", "momentum_buffer", "exp_avg", ...);
            tensors in it live on the parameter's device.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor; pass [tensor] or "
                            "model.parameters()")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with optional per-group hyperparameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor; optimize the leaf it was "
                                 "computed from, or .detach().requires_grad_() it")
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or taken & {id(p) for p in params}:
            raise ValueError("some parameters appear more than once in the parameter groups")
        group = dict(self.defaults)
        group.update(param_group)
        group["params"] = params
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every optimized parameter (to None by default, as in PyTorch)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.grad is None:
                    param.grad = None
                else:
                    param.grad = param.grad.detach().zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient, one fused kernel call per group.

        ``closure``, if given, re-evaluates the model and returns the loss (it runs with grad
        mode on); the loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for index, group in enumerate(self.param_groups):
                params = [param for param in group["params"] if param.grad is not None]
                if params:
                    jit_hooks.optimizer_update(self, group, params)  # a trace reads lr per replay
                    self._update(group, params, _group_backend(type(self).__name__, index, params))
                    # The kernels rewrote them in place, as add_ would: a graph that saved the
                    # old values now raises; a bfloat16 shadow the step wrote is current.
                    bump_versions(params)
                    for param in params:
                        weight_shadows.settle(param)
        return loss

    def _update(self, group: dict, params: list, backend) -> None:
        """Apply this optimizer's rule to ``params`` (all with gradients, all on ``backend``)."""
        raise NotImplementedError

    # ---- state helpers for subclasses ------------------------------------------------------------
    def _buffers(self, params: list, name: str, fill: float = 0.0) -> tuple:
        """The raw arrays of state ``name`` of each param, creating missing ones filled with
        ``fill``; also, per param, whether its array was created by this call."""
        arrays, fresh = [], []
        for param in params:
            state = self.state.setdefault(param, {})
            fresh.append(name not in state)
            if fresh[-1]:
                backend = param._backend
                state[name] = Tensor._wrap(backend.full(param.shape, fill, param.dtype), backend)
            elif state[name]._backend is not param._backend:
                state[name] = state[name].to(param.device)  # the model moved after some steps
            arrays.append(state[name].data)
        return arrays, fresh

    def _advance_steps(self, params: list) -> list:
        """Increment and return each parameter's step count (a Python int in ``state["step"]``)."""
        steps = []
        for param in params:
            state = self.state.setdefault(param, {})
            state["step"] = int(state.get("step", 0)) + 1
            steps.append(state["step"])
        return steps

    # ---- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as PyTorch.

        Parameters are numbered across groups in order; state tensors are references, not copies.
        """
        index_of: dict = {}
        groups = []
        for group in self.param_groups:
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {index_of[id(param)]: dict(values) for param, values in self.state.items()
                 if id(param) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict()`` (values are copied).

        State tensors are moved to each parameter's device and floating ones cast to its dtype.
        Raises ValueError if the groups or shapes do not match this optimizer's.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        for index, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"loaded state dict's parameter group {index} has "
                                 f"{len(saved['params'])} parameters, the optimizer's has "
                                 f"{len(own['params'])}")
        by_index = {saved_index: param for saved, own in zip(saved_groups, self.param_groups)
                    for saved_index, param in zip(saved["params"], own["params"])}
        new_state = {}
        for key, values in state_dict["state"].items():
            param = by_index.get(int(key))
            if param is None:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no "
                                 f"parameter group lists")
            new_state[param] = {name: _state_value(name, value, param, key)
                                for name, value in values.items()}
        for saved, own in zip(saved_groups, self.param_groups):
            own.update({key: copy.deepcopy(value) for key, value in saved.items()
                        if key != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {value}" for key, value in sorted(group.items())
                         if key != "params")
        return "\n".join(lines + [")"])


def shadow_step(kernel, params: list, *args) -> None:
    """``kernel(*args)``, a fused step over ``params``, also writing their bfloat16 shadows where
    they have them (deeplite/weight_shadows.py; backends without them never see ``shadows=``)."""
    arrays = weight_shadows.targets(params)
    if arrays is None:
        kernel(*args)
    elif kernel(*args, shadows=arrays):  # False/None: a fallback ran and wrote no shadow
        weight_shadows.wrote(params, arrays)


def _group_backend(name: str, index: int, params: list):
    """The one backend holding every parameter of a group and its gradient, or a clear error."""
    backend = params[0]._backend
    for param in params:
        if param._backend is not backend or param.grad._backend is not backend:
            raise ValueError(f"{name}.step: parameter group {index} mixes devices "
                             f"({params[0].device}, {param.device}, gradient on "
                             f"{param.grad.device}); move the model with .to(device) before "
                             f"building the optimizer's groups")
        if param.grad.shape != param.shape:
            raise ValueError(f"{name}.step: a gradient of shape {param.grad.shape} for a parameter "
                             f"of shape {param.shape}")
    return backend


def _state_value(name: str, value, param: Tensor, key):
    """A saved state entry as this optimizer keeps it: "step" an int, arrays a Tensor like param."""
    if name == "step":
        return int(value.item() if isinstance(value, Tensor) else value)
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    if value.shape != param.shape:
        raise ValueError(f"loaded optimizer state {name!r} of parameter {key} has shape "
                         f"{value.shape}, the parameter has shape {param.shape}")
    value = value.detach().to(param.device)
    if dtypes.is_floating(value.dtype):
        value = value.to(dtype=param.dtype)
    return Tensor._wrap(value._backend.copy(value.data), value._backend)
