"""Training state in one safetensors file: model + optimizer (+ scheduler, loss scaler, RNG), to
resume exactly.

Tensors: ``model.<name>`` for the parameters and ``optimizer.state.<i>.<key>`` for optimizer
buffers. Metadata: the caller's (str -> str), plus JSON of the optimizer's hyperparameters and step
counts, the scheduler's state, the GradScaler's state and the random generator's state. Loading
checks everything before it changes anything, and changes all or nothing: a damaged entry leaves
the model, optimizer, scheduler, scaler and generator as they were.
"""
import json
from typing import Optional

import numpy as np

from . import backends
from .creation import get_rng_state, set_rng_state
from .safetensors_file import (
    RESERVED,
    CheckpointError,
    check_metadata,
    host_array,
    read_file,
    write_file,
)
from .tensor import Tensor

_OPTIMIZER_KEY = "deeplite.optimizer"
_SCHEDULER_KEY = "deeplite.scheduler"
_RNG_KEY = "deeplite.rng"
_SCALER_KEY = "deeplite.grad_scaler"


def flatten_optimizer_state(state_dict: dict, prefix: str = "optimizer.") -> tuple:
    """Split ``optimizer.state_dict()`` into tensors for the file and JSON for the metadata.

    Returns ``(tensors, info)``: tensors named ``{prefix}state.{index}.{key}`` (e.g.
    ``optimizer.state.0.exp_avg``), and a JSON-ready dict of the param_groups (hyperparameters)
    and the non-tensor state (``step`` counts).
    """
    tensors: dict = {}
    scalars: dict = {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if isinstance(value, Tensor):
                tensors[f"{prefix}state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(tensors: dict, info: dict, prefix: str = "optimizer.") -> dict:
    """Inverse of ``flatten_optimizer_state``: a dict for ``optimizer.load_state_dict``."""
    state = {int(index): dict(values) for index, values in info["scalars"].items()}
    head = f"{prefix}state."
    for name, value in tensors.items():
        if name.startswith(head):
            index, key = name[len(head):].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    # JSON turned tuples (Adam's betas) into lists: turn them back, "params" aside.
    groups = [{key: value if key == "params" or not isinstance(value, list) else tuple(value)
               for key, value in group.items()} for group in info["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_training_state(path, model, optimizer=None, metadata: Optional[dict] = None, *,
                        scheduler=None, scaler=None) -> None:
    """Save everything needed to resume training exactly, atomically, in one safetensors file.

    Tensors: ``model.<name>`` for the parameters and ``optimizer.state.<i>.<key>`` for optimizer
    buffers. Metadata: yours (str -> str; keys must not start with "deeplite."), plus JSON of the
    optimizer's hyperparameters and step counts, the scheduler's state, the
    ``deeplite.amp.GradScaler``'s state (``scaler``: its scale and growth tracker, for float16
    training) and the random generator's state (so dropout and shuffling continue identically).

    Example:
        >>> import os, tempfile
        >>> import deeplite
        >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1)
        >>> scheduler = deeplite.optim.lr_scheduler.StepLR(optimizer, step_size=10)
        >>> scaler = deeplite.amp.GradScaler("numpy")
        >>> save_training_state(path, model, optimizer, {"epoch": "3"}, scheduler=scheduler,
        ...                     scaler=scaler)
    """
    write_file(path, *training_state_contents(model, optimizer, metadata, scheduler=scheduler,
                                              scaler=scaler))


def training_state_contents(model, optimizer=None, metadata: Optional[dict] = None, *,
                            scheduler=None, scaler=None, copy: bool = False) -> tuple:
    """``(arrays, metadata)``: what ``save_training_state`` writes, for ``write_file``.

    ``copy``: host copies of every array, so training may go on changing the tensors before
    the file is written (on cpu the host arrays are otherwise views of them).
    """
    try:
        metadata = check_metadata(metadata)
    except ValueError as error:
        raise ValueError(f"save_training_state: {error}") from None
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    if optimizer is not None:
        optimizer_tensors, info = flatten_optimizer_state(optimizer.state_dict())
        tensors.update(optimizer_tensors)
        metadata[_OPTIMIZER_KEY] = _typed_state(optimizer, info)
    if scheduler is not None:
        metadata[_SCHEDULER_KEY] = _typed_state(scheduler, scheduler.state_dict())
    if scaler is not None:
        metadata[_SCALER_KEY] = _typed_state(scaler, scaler.state_dict())
    metadata[_RNG_KEY] = json.dumps(get_rng_state())
    arrays = {name: host_array(name, value) for name, value in tensors.items()}
    if copy:
        arrays = {name: _unshared(array, tensors[name]) for name, array in arrays.items()}
    return arrays, metadata


def _typed_state(obj, state) -> str:
    """The metadata entry of an optimizer, scheduler or scaler: JSON of its type name and
    ``state`` (what ``_component`` reads back and checks)."""
    return json.dumps({"type": type(obj).__name__, "state": state})


def _unshared(array, value):
    """``array``, copied if it is (a view of) the storage of ``value`` (a Tensor or array): a
    device tensor's host copy is already private."""
    storage = value.data if isinstance(value, Tensor) else value
    return array.copy() if isinstance(storage, np.ndarray) and \
        np.may_share_memory(array, storage) else array


def _component(metadata: dict, key: str, obj, path):
    """The saved JSON state of ``obj`` (optimizer, scheduler, scaler; None: the RNG), checked."""
    what = key.split(".")[-1]
    if key not in metadata:
        raise CheckpointError(f"load_training_state: {path} holds no {what} state; it was "
                              f"saved without one")
    try:
        saved = json.loads(metadata[key])
        if obj is None:
            return saved
        kind, state = saved["type"], saved["state"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise CheckpointError(f"load_training_state: {path}: the {what} entry is damaged (not "
                              f"the JSON deeplite writes)") from None
    if kind != type(obj).__name__:
        raise ValueError(f"load_training_state: {path} holds {kind} state, but the {what} given "
                         f"is a {type(obj).__name__}")
    return state


def _scaler_state(metadata: dict, scaler, path) -> dict:
    """The saved state of ``scaler`` (a GradScaler), checked: a float16 run's checkpoint without
    one, or with a disabled scaler's, cannot continue its loss scaling."""
    state = _component(metadata, _SCALER_KEY, scaler, path)
    if not isinstance(state, dict) or (scaler.is_enabled() and not state):
        raise CheckpointError(f"load_training_state: {path}: the grad_scaler entry holds no "
                              f"scale (saved from a disabled GradScaler); pass a disabled one "
                              f"or none")
    return state


def _snapshot(model, optimizer, scheduler, scaler) -> tuple:
    """What ``_restore`` needs to undo a half-applied load."""
    weights = {name: value.numpy().copy() for name, value in model.state_dict().items()}
    return (weights, *(part.state_dict() if part is not None else None
                       for part in (optimizer, scheduler, scaler)),
            get_rng_state())


def _restore(snapshot, model, optimizer, scheduler, scaler) -> None:
    weights, *states, rng_state = snapshot
    model.load_state_dict(weights)
    for part, state in zip((optimizer, scheduler, scaler), states, strict=True):
        if part is not None:
            part.load_state_dict(state)
    set_rng_state(rng_state)


def load_training_state(path, model, optimizer=None, *, scheduler=None, scaler=None,
                        strict: bool = True, restore_rng: bool = True) -> dict:
    """Restore what ``save_training_state`` wrote into ``model`` (and optimizer, scheduler,
    GradScaler).

    Build the model, optimizer, scheduler and scaler as for a fresh run, then call this:
    parameters and optimizer buffers are copied in place onto the model's device, hyperparameters,
    step counts and the loss scale restored, and (with ``restore_rng``) the random generator set
    back to its saved state.
    Every part is read and checked first; should applying one still fail, the others are put
    back, so an error leaves everything as it was. Returns your metadata (the keys not starting
    with "deeplite.").

    Raises:
        CheckpointError (a ValueError): a truncated, corrupt or damaged file or entry, or one
            without the state of an optimizer, scheduler or scaler given.
        ValueError: the file does not fit this model, optimizer or scheduler.
    Example:
        >>> import os, tempfile
        >>> from deeplite import nn, optim
        >>> model = nn.MLP([3, 8, 2])
        >>> adam = optim.Adam(model.parameters())
        >>> state = os.path.join(tempfile.mkdtemp(), "state.safetensors")
        >>> save_training_state(state, model, adam, {"epoch": "3"})
        >>> info = load_training_state(state, model, adam)
        >>> int(info["epoch"]) + 1
        4
    """
    arrays, metadata = read_file(path)
    device = next((parameter.device for parameter in model.parameters()), None)
    backend = backends.get(device) if device else None
    tensors = {name: Tensor._wrap(backend.asarray(array), backend) if backend else array
               for name, array in arrays.items()}
    model_state = {name[len("model."):]: value for name, value in tensors.items()
                   if name.startswith("model.")}
    if not model_state and _OPTIMIZER_KEY not in metadata:
        raise CheckpointError(f"load_training_state: {path} is not a training state (no "
                              f"'model.*' tensors); load a plain checkpoint with deeplite.load")
    optimizer_state = scheduler_state = scaler_state = rng_state = None
    if optimizer is not None:
        info = _component(metadata, _OPTIMIZER_KEY, optimizer, path)
        try:
            optimizer_state = unflatten_optimizer_state(tensors, info)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise CheckpointError(f"load_training_state: {path}: the optimizer entry is "
                                  f"damaged") from None
    if scheduler is not None:
        scheduler_state = _component(metadata, _SCHEDULER_KEY, scheduler, path)
    if scaler is not None:
        scaler_state = _scaler_state(metadata, scaler, path)
    if restore_rng and _RNG_KEY in metadata:
        rng_state = _component(metadata, _RNG_KEY, None, path)
    snapshot = _snapshot(model, optimizer, scheduler, scaler)
    stage = "model"
    try:
        model.load_state_dict(model_state, strict=strict)
        stage = "optimizer"
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_state)
        stage = "scheduler"
        if scheduler is not None:
            scheduler.load_state_dict(scheduler_state)
        stage = "grad_scaler"
        if scaler is not None:
            scaler.load_state_dict(scaler_state)
        stage = "rng"
        if rng_state is not None:
            set_rng_state(rng_state)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        _restore(snapshot, model, optimizer, scheduler, scaler)
        if stage == "model":
            raise  # a model that does not fit the file: load_state_dict says which keys/shapes
        raise CheckpointError(f"load_training_state: {path}: the {stage} entry does not load "
                              f"({type(error).__name__}: {error}); nothing was changed") from None
    return {key: value for key, value in metadata.items() if not key.startswith(RESERVED)}
