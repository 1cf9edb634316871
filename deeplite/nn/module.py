"""Module and Parameter: the containers that hold a model's learnable tensors.

A Module finds its parameters and sub-modules by walking its own ``__dict__`` in insertion order,
through lists, tuples and dicts as well, so there is no registration step and the order (hence the
state-dict names such as ``layers.0.weight``) is deterministic.
"""
from collections import OrderedDict, namedtuple

from ..autograd import no_grad
from ..tensor import Tensor

_new = object.__new__

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor a Module treats as learnable: requires_grad=True, listed by ``parameters()``.

    ``Parameter(tensor)`` shares ``tensor``'s data (no copy); other data goes through
    ``deeplite.tensor``. Ops on a Parameter return plain Tensors.

    Example:
        >>> import deeplite
        >>> w = Parameter(deeplite.randn(3, 2))
        >>> w.requires_grad
        True
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True):
        if not isinstance(data, Tensor):
            from ..creation import tensor

            data = tensor([] if data is None else data)
        out = _new(cls)
        out.data = data.data
        out._backend = data._backend
        out.grad = None
        out._node = None
        out.requires_grad = False
        if requires_grad:
            out.requires_grad_()  # refuses integer data, with the dtype in the message
        return out

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # everything happened in __new__; Tensor.__init__ would copy the data

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _unpack(name: str, value):
    """Yield (dotted name, value) for each Parameter or Module in ``value``, into containers."""
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _unpack(f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unpack(f"{name}.{key}", item)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class of every layer and model: subclass it, set attributes in ``__init__``, define
    ``forward``.

    Parameters and sub-modules held in attributes (directly or inside lists, tuples and dicts) are
    found automatically, in the order they were assigned.

    Example:
        >>> from deeplite.nn import Linear
        >>> class TwoLayer(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = Linear(2, 8, activation="relu")
        ...         self.out = Linear(8, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x))
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    # A class attribute, so a subclass that forgets super().__init__() still has a mode.
    training = True

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        """Compute the module's output; subclasses override this."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- discovery -------------------------------------------------------------------------------
    def _members(self):
        """(name, value) of every Parameter and Module this module holds directly."""
        for key, value in vars(self).items():
            yield from _unpack(key, value)

    def named_children(self):
        """Yield (name, module) for each direct sub-module."""
        seen = set()
        for name, value in self._members():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self):
        """Yield each direct sub-module."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for self and every sub-module, each once, depth first."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue  # shared or cyclic references are visited once
            seen.add(id(module))
            yield name, module
            children = [(_join(name, child_name), child) for child_name, child in
                        module.named_children()]
            stack.extend(reversed(children))

    def modules(self):
        """Yield this module and every sub-module."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield (dotted name, Parameter) depth first in assignment order; shared ones once."""
        yield from self._walk_parameters(prefix, recurse, {id(self)})

    def _walk_parameters(self, prefix: str, recurse: bool, seen: set):
        for member_name, value in self._members():
            if id(value) in seen:
                continue  # a shared Parameter or Module (or a cycle) is visited once
            seen.add(id(value))
            if isinstance(value, Parameter):
                yield _join(prefix, member_name), value
            elif recurse:
                yield from value._walk_parameters(_join(prefix, member_name), recurse, seen)

    def parameters(self, recurse: bool = True):
        """Yield every Parameter, in the order of ``named_parameters()``."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def apply(self, fn) -> "Module":
        """Call ``fn`` on each sub-module (children first, as PyTorch), then on self; returns self.

        Example:
            >>> from deeplite.nn import MLP, Linear, init
            >>> model = MLP([2, 16, 1])
            >>> def zero_biases(m):
            ...     if isinstance(m, Linear):
            ...         init.zeros_(m.bias)
            >>> model = model.apply(zero_biases)
            >>> float(abs(model.layers[0].bias.detach().numpy()).sum())
            0.0
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes, gradients, devices --------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (Dropout active) on this module and all sub-modules; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (Dropout off); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as in PyTorch)."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad = parameter.grad.detach().zero_()

    def to(self, device=None, dtype=None) -> "Module":
        """Move (and/or cast) every parameter in place and return self.

        The Parameter objects stay the same, so an optimizer built before the move still updates
        them. Accepts ``model.to("cuda")``, ``model.to(deeplite.float64)`` and keywords.
        """
        for parameter in self.parameters():
            _move(parameter, device, dtype)
            if parameter.grad is not None:
                parameter.grad = parameter.grad.to(device, dtype)
        return self

    # ---- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict":
        """Name -> detached Tensor sharing each parameter's data (as PyTorch's)."""
        return OrderedDict((name, parameter.detach())
                           for name, parameter in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (name -> Tensor or array) into the parameters, in place.

        Shapes must match exactly (a transposed ``Linear.weight`` is refused with a hint); values
        are moved to each parameter's device and cast to its dtype. With ``strict`` (the default),
        missing or unexpected keys raise ValueError; otherwise they are returned.
        """
        own = OrderedDict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                             f"unexpected keys {unexpected}; pass strict=False to load the rest")
        # Check every shape before copying anything, so a bad checkpoint changes nothing.
        sources = [(parameter, _source_for(name, state_dict[name], parameter))
                   for name, parameter in own.items() if name in state_dict]
        with no_grad():
            for parameter, source in sources:
                parameter.copy_(source)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self.named_children():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        extra = self.extra_repr()
        head = [f"  {extra}"] if extra else []
        return f"{type(self).__name__}(\n" + "\n".join(head + lines) + "\n)"


def _move(parameter: Tensor, device, dtype) -> None:
    """Rebind ``parameter``'s data to ``device``/``dtype`` in place, keeping the object."""
    moved = parameter.detach().to(device, dtype)
    parameter.data = moved.data
    parameter._backend = moved._backend


def _source_for(name: str, value, parameter: Tensor) -> Tensor:
    """``value`` as a Tensor on ``parameter``'s device, after checking its shape."""
    if not isinstance(value, Tensor):
        from ..creation import tensor

        value = tensor(value, device=parameter.device)
    if value.shape != parameter.shape:
        hint = ""
        if value.ndim == 2 and value.shape == parameter.shape[::-1]:
            hint = (" (it looks transposed: deeplite's Linear.weight is (in_features, "
                    "out_features), PyTorch's is (out_features, in_features); load weight.T)")
        raise ValueError(f"load_state_dict: {name!r} has shape {value.shape} in the checkpoint but "
                         f"{parameter.shape} in the model{hint}")
    return value.detach().to(parameter.device)
