"""What a Module holds besides its code: buffers, state dicts, and moves between devices/dtypes.

``ModuleState`` is a base of ``Module``; it lives in its own file so each file keeps one job.
Buffers are plain Tensors kept as ordinary attributes (``self.running_mean``); the module only
remembers their names and whether they are persistent, so reassigning ``self.running_mean = t``
keeps it a buffer, as in PyTorch.
"""
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator

from .. import dtypes
from ..autograd import no_grad
from ..tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def join(prefix: str, name: str) -> str:
    """``prefix.name``, or ``name`` at the top level."""
    return f"{prefix}.{name}" if prefix else name


class ModuleState:
    """Buffers, ``state_dict``/``load_state_dict`` and ``to``/``float``/``double``/``half``."""

    # name -> persistent; a class-level empty dict so modules without buffers need no setup
    _buffer_flags: dict = {}
    # provided by Module, which derives from this class
    named_modules: Callable[..., Iterator[tuple[str, Any]]]
    named_parameters: Callable[..., Iterator[tuple[str, Any]]]
    parameters: Callable[..., Iterator[Any]]
    get_submodule: Callable[[str], Any]

    # ---- registration by name -------------------------------------------------------------------
    def _check_new_name(self, kind: str, name) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_{kind}: {kind} name must be a non-empty string without "
                           f"'.', got {name!r}")

    def register_parameter(self, name: str, param) -> None:
        """``setattr(self, name, param)`` with PyTorch's checks: ``param`` is a Parameter or None.

        Example:
            >>> import deeplite
            >>> from deeplite.nn import Module, Parameter
            >>> class Scale(Module):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.register_parameter("scale", Parameter(deeplite.ones(4)))
            ...     def forward(self, x):
            ...         return x * self.scale
            >>> [name for name, _ in Scale().named_parameters()]
            ['scale']
        """
        from .module import Parameter

        self._check_new_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__!r} object to parameter "
                            f"{name!r} (deeplite.nn.Parameter or None required)")
        if name in vars(self) and not isinstance(vars(self)[name], (Parameter, type(None))):
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        setattr(self, name, param)

    def add_module(self, name: str, module) -> None:
        """``setattr(self, name, module)`` with PyTorch's checks: ``module`` is a Module or None."""
        from .module import Module

        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name)
        if name in vars(self) and not isinstance(vars(self)[name], (Module, type(None))):
            raise KeyError(f"add_module: attribute {name!r} already exists")
        setattr(self, name, module)

    register_module = add_module

    # ---- buffers ---------------------------------------------------------------------------------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: a Tensor that is state but not a parameter (BatchNorm's running mean).

        Buffers move with ``.to()`` and the dtype casts, are listed by ``buffers()`` /
        ``named_buffers()``, and are in ``state_dict()`` unless ``persistent=False``. ``tensor``
        may be None (a slot filled later). Access it as an attribute: ``self.<name>``.

        Example:
            >>> import deeplite
            >>> from deeplite.nn import Module
            >>> class Tracker(Module):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.register_buffer("running_mean", deeplite.zeros(8))
            >>> tracker = Tracker()
            >>> tracker.running_mean.shape, list(tracker.state_dict()), list(tracker.parameters())
            ((8,), ['running_mean'], [])
        """
        self._check_new_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} to buffer "
                            f"{name!r} (a Tensor or None is required)")
        from .module import Module, Parameter

        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: {name!r} is a Parameter; assign it as an attribute "
                            f"to make it a parameter, or register tensor.detach() as a buffer")
        if name in vars(self) and name not in self._buffer_flags:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if isinstance(getattr(self, name, None), Module):
            raise KeyError(f"register_buffer: {name!r} is a sub-module's name")
        if "_buffer_flags" not in vars(self):
            self._buffer_flags = {}
        self._buffer_flags[name] = bool(persistent)
        setattr(self, name, tensor)

    def _own_buffers(self, persistent_only: bool = False):
        """(name, Tensor) of this module's own buffers that are set."""
        for name, persistent in self._buffer_flags.items():
            value = vars(self).get(name)
            if value is not None and (persistent or not persistent_only):
                yield name, value

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield (dotted name, buffer) for this module's buffers and (``recurse``) its
        sub-modules', e.g. ``("norm.running_mean", tensor)``."""
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, buffer in module._own_buffers():
                if remove_duplicate and id(buffer) in seen:
                    continue
                seen.add(id(buffer))
                yield join(module_name, name), buffer

    def buffers(self, recurse: bool = True):
        """Yield every buffer, in the order of ``named_buffers()``."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_buffer(self, target: str) -> Tensor:
        """The buffer named ``target`` (dotted, as in ``named_buffers()``)."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffer_flags or vars(module).get(name) is None:
            raise AttributeError(f"{type(module).__name__} has no buffer {name!r}")
        return vars(module)[name]

    # ---- devices and dtypes ---------------------------------------------------------------------
    def to(self, device=None, dtype=None):
        """Move (and/or cast) every parameter and buffer in place and return self.

        The Parameter objects stay the same, so an optimizer built before the move still updates
        them. A dtype applies to floating-point tensors only (an int64 counter stays int64), as
        in PyTorch. Accepts ``model.to("cuda")``, ``model.to(deeplite.float64)`` and keywords.
        """
        if dtype is None and device is not None and dtypes.looks_like_dtype(device):
            device, dtype = None, device
        for parameter in self.parameters():
            _move(parameter, device, dtype)
            if parameter.grad is not None:
                parameter.grad = parameter.grad.to(device, _floating_only(parameter.grad, dtype))
        for buffer in self.buffers():
            _move(buffer, device, dtype)
        return self

    def cpu(self):
        """Move to the ``cpu`` backend (deeplite's C++ kernels); returns self."""
        return self.to("cpu")

    def cuda(self, device=None):
        """Move to the GPU (``cuda``; one GPU, so ``device`` must be None or 0); returns self."""
        if device not in (None, 0, "cuda", "cuda:0"):
            raise ValueError(f"cuda: deeplite uses one GPU, got device {device!r}; use cuda()")
        return self.to("cuda")

    def float(self):
        """Cast floating-point parameters and buffers to float32; returns self."""
        return self.to(dtype=dtypes.float32)

    def double(self):
        """Cast floating-point parameters and buffers to float64; returns self."""
        return self.to(dtype=dtypes.float64)

    def half(self):
        """Cast floating-point parameters and buffers to float16; returns self."""
        return self.to(dtype=dtypes.float16)

    # ---- checkpoints ----------------------------------------------------------------------------
    def _named_state(self):
        """(dotted name, Tensor) of every parameter and persistent buffer, each object once, in
        PyTorch's order: each module's own parameters, then its buffers, then its children's."""
        from .module import Parameter

        seen = set()
        for module_name, module in self.named_modules():
            own = [(name, value) for name, value in module._members()
                   if isinstance(value, Parameter)]
            for name, value in own + list(module._own_buffers(persistent_only=True)):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield join(module_name, name), value

    def state_dict(self, *, keep_vars: bool = False) -> "OrderedDict":
        """Name -> Tensor of every parameter and persistent buffer (as PyTorch's).

        The tensors share the module's data (detached unless ``keep_vars``), so save or copy them.
        """
        return OrderedDict((name, value if keep_vars else value.detach())
                           for name, value in self._named_state())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (name -> Tensor or array) into the parameters and
        persistent buffers, in place.

        Shapes must match exactly (a transposed ``Linear.weight`` is refused with a hint); values
        are moved to each target's device and cast to its dtype. With ``strict`` (the default),
        missing or unexpected keys raise ValueError; otherwise they are returned.
        """
        own = OrderedDict(self._named_state())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                             f"unexpected keys {unexpected}; pass strict=False to load the rest")
        # Check every shape before copying anything, so a bad checkpoint changes nothing.
        sources = [(target, _source_for(name, state_dict[name], target))
                   for name, target in own.items() if name in state_dict]
        with no_grad():
            for target, source in sources:
                target.copy_(source)
        return IncompatibleKeys(missing, unexpected)


def _floating_only(tensor: Tensor, dtype):
    """``dtype`` if ``tensor`` is floating point (casts leave integer state alone), else None."""
    return dtype if dtype is not None and dtypes.is_floating(tensor.dtype) else None


def _move(tensor: Tensor, device, dtype) -> None:
    """Rebind ``tensor``'s data to ``device``/``dtype`` in place, keeping the object."""
    moved = tensor.detach().to(device, _floating_only(tensor, dtype))
    tensor.data = moved.data
    tensor._backend = moved._backend


def _source_for(name: str, value, target: Tensor) -> Tensor:
    """``value`` as a Tensor on ``target``'s device, after checking its shape."""
    if not isinstance(value, Tensor):
        from ..creation import tensor

        value = tensor(value, device=target.device)
    if value.shape != target.shape:
        hint = ""
        if value.ndim == 2 and value.shape == target.shape[::-1]:
            hint = (" (it looks transposed: deeplite's Linear.weight is (in_features, "
                    "out_features), PyTorch's is (out_features, in_features); load weight.T)")
        raise ValueError(f"load_state_dict: {name!r} has shape {value.shape} in the checkpoint but "
                         f"{target.shape} in the model{hint}")
    return value.detach().to(target.device)
