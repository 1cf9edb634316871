"""Module and Parameter: the containers that hold a model's learnable tensors.

A Module finds its parameters and sub-modules by walking its own ``__dict__`` in insertion order,
through lists, tuples and dicts as well, so there is no registration step and the order (hence the
state-dict names such as ``layers.0.weight``) is deterministic.
"""
from typing import Optional

from ..jit import hooks as jit_hooks
from ..tensor import Tensor
from .hooks import ModuleHooks, RemovableHandle, call_with_hooks
from .module_state import IncompatibleKeys, ModuleState, join

_new = object.__new__

__all__ = ["IncompatibleKeys", "Module", "Parameter"]


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
        jit_hooks.refuse_creation("a Parameter")
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


class Module(ModuleState):
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

    # Class attributes, so a subclass that forgets super().__init__() still has a mode, and a
    # module without hooks is called with a single attribute check.
    training = True
    _hooks: Optional[ModuleHooks] = None

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        """Compute the module's output; subclasses override this."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if self._hooks is None:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, args, kwargs)

    # ---- hooks -----------------------------------------------------------------------------------
    def _add_hook(self, kind: str, hook, prepend: bool, **options) -> RemovableHandle:
        """Register ``hook`` in table ``kind``; removing the last hook restores the fast path."""
        existing = vars(self).get("_hooks")
        hooks: ModuleHooks = existing if existing is not None else ModuleHooks()
        self._hooks = hooks

        def tidy():
            if vars(self).get("_hooks") is hooks and hooks.empty():
                del self._hooks
        return hooks.add(getattr(hooks, kind), hook, prepend, tidy, **options)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args (a tuple, or
        one value). With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or
        ``(args, kwargs)``. Returns a handle whose ``remove()`` unregisters it.
        """
        return self._add_hook("forward_pre", hook, prepend, with_kwargs=with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces the
        output. With ``with_kwargs``: ``hook(module, args, kwargs, output)``. ``always_call``: run
        it (with output None) even when forward raises.

        Example:
            >>> import deeplite
            >>> model = deeplite.nn.MLP([2, 8, 1])
            >>> hidden = model.layers[0]
            >>> handle = hidden.register_forward_hook(lambda m, args, out: print(out.shape))
            >>> _ = model(deeplite.zeros(4, 2))
            (4, 8)
            >>> handle.remove()
            >>> _ = model(deeplite.zeros(4, 2))  # the hook no longer runs
        """
        return self._add_hook("forward", hook, prepend, with_kwargs=with_kwargs,
                              always_call=always_call)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's inputs are computed, as PyTorch's.

        ``grad_input`` and ``grad_output`` are tuples with one entry per positional input / output
        (None where a tensor needs no gradient); a non-None result (a tuple like ``grad_input``)
        replaces ``grad_input`` for the rest of the backward pass. When no input requires grad the
        hook still runs, with ``grad_input`` all None.

        Example:
            >>> import deeplite
            >>> model = deeplite.nn.MLP([2, 8, 1])
            >>> seen = []
            >>> out = model.layers[1]
            >>> handle = out.register_full_backward_hook(lambda m, gin, gout: seen.append(gout[0]))
            >>> model(deeplite.zeros(3, 2)).sum().backward()
            >>> seen[0].tolist()  # d(sum)/d(output)
            [[1.0], [1.0], [1.0]]
        """
        return self._add_hook("backward", hook, prepend)

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
            children = [(join(name, child_name), child) for child_name, child in
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
                yield join(prefix, member_name), value
            elif recurse:
                yield from value._walk_parameters(join(prefix, member_name), recurse, seen)

    def parameters(self, recurse: bool = True):
        """Yield every Parameter, in the order of ``named_parameters()``."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def get_submodule(self, target: str) -> "Module":
        """The sub-module named ``target`` (dotted, as in ``named_modules()``; "" is self).

        Example:
            >>> import deeplite
            >>> model = deeplite.nn.MLP([2, 8, 1])
            >>> [name for name, _ in model.named_modules()]
            ['', 'layers.0', 'layers.1']
            >>> model.get_submodule("layers.1")
            Linear(in_features=8, out_features=1, bias=True)
        """
        if target == "":
            return self
        module = dict(self.named_modules()).get(target)
        if module is None:
            raise AttributeError(f"{type(self).__name__} has no submodule {target!r}; its "
                                 f"submodules are {[n for n, _ in self.named_modules() if n]}")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter named ``target`` (dotted, as in ``named_parameters()``)."""
        parameter = dict(self.named_parameters()).get(target)
        if parameter is None:
            raise AttributeError(f"{type(self).__name__} has no parameter {target!r}")
        return parameter

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

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` on every parameter (False freezes the module); returns self."""
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as in PyTorch)."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad = parameter.grad.detach().zero_()

    # ---- printing --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        # As PyTorch: the lines of extra_repr, then one "(name): child" line per sub-module.
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self.named_children():
            lines.append(f"({name}): " + repr(child).replace("\n", "\n  "))
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and extra:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
