"""Containers as in PyTorch: ModuleList, ModuleDict, ParameterList, ParameterDict.

Each holds its items in one private list or dict and names them itself (``"0"``, ``"1"`` ... or
the keys), so ``self.blocks = ModuleList([...])`` gives state-dict names ``blocks.0.weight``,
exactly as PyTorch's.
"""
import operator
from collections import OrderedDict
from typing import Any, Callable

from .. import dtypes
from ..tensor import Tensor
from .module import Module, Parameter


def _check_module(owner: str, value) -> Module:
    """``value`` itself, after checking that it is a Module."""
    if not isinstance(value, Module):
        raise TypeError(f"{owner}: expected a Module, got {type(value).__name__}")
    return value


def _as_parameter(owner: str, value) -> Parameter:
    """``value`` as a Parameter: Tensors are wrapped (sharing data), as PyTorch 2.x does."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value.detach(), requires_grad=dtypes.is_floating(value.dtype))
    raise TypeError(f"{owner}: expected a Parameter or Tensor, got {type(value).__name__}")


def _index(owner: str, index, length: int) -> int:
    index = operator.index(index)
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} items")
    return index % length


def _compressed_repr(name: str, items: list) -> str:
    """PyTorch 2.x's list repr: runs of identical children print once, as ``(0-2): 3 x ...``."""
    lines, start = [], 0
    texts = [repr(item).replace("\n", "\n  ") for item in items]
    while start < len(texts):
        stop = start
        while stop + 1 < len(texts) and texts[stop + 1] == texts[start]:
            stop += 1
        label = f"({start})" if stop == start else f"({start}-{stop}): {stop - start + 1} x"
        sep = ":" if stop == start else ""
        lines.append(f"  {label}{sep} {texts[start]}")
        start = stop + 1
    if not lines:
        return f"{name}()"
    return f"{name}(\n" + "\n".join(lines) + "\n)"


class _ListContainer(Module):
    """The list behaviour ModuleList and ParameterList share; ``_convert`` checks an item."""

    _convert: Callable[[str, Any], Any] = staticmethod(_check_module)

    def __init__(self, values=None):
        super().__init__()
        self._items = []
        if values is not None:
            self.extend(values)

    def _members(self):
        for index, item in enumerate(self._items):
            yield str(index), item

    def _position(self, index) -> int:
        return _index(type(self).__name__, index, len(self._items))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(self._items[index])
        return self._items[self._position(index)]

    def __setitem__(self, index, value) -> None:
        self._items[self._position(index)] = self._convert(type(self).__name__, value)

    def __delitem__(self, index) -> None:
        del self._items[index if isinstance(index, slice) else self._position(index)]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __iadd__(self, values):
        return self.extend(values)

    def __add__(self, other):
        return type(self)(list(self) + list(other))

    def append(self, value):
        """Add ``value`` at the end; returns self."""
        self._items.append(self._convert(type(self).__name__, value))
        return self

    def extend(self, values):
        """Append each value of an iterable; returns self."""
        for value in values:
            self.append(value)
        return self

    def insert(self, index: int, value) -> None:
        """Insert ``value`` before position ``index``."""
        self._items.insert(index, self._convert(type(self).__name__, value))

    def pop(self, index: int = -1):
        """Remove and return the item at ``index``."""
        return self._items.pop(self._position(index))


class _DictContainer(Module):
    """The dict behaviour ModuleDict and ParameterDict share; ``_convert`` checks a value."""

    _convert: Callable[[str, Any], Any] = staticmethod(_check_module)

    def __init__(self, values=None):
        super().__init__()
        self._items = OrderedDict()
        if values is not None:
            self.update(values)

    def _members(self):
        yield from self._items.items()

    def __getitem__(self, key: str):
        return self._items[key]

    def __setitem__(self, key: str, value) -> None:
        name = type(self).__name__
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"{name}: keys must be non-empty strings without '.', got {key!r}")
        self._items[key] = self._convert(name, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items

    def keys(self):
        """The keys, in insertion order."""
        return self._items.keys()

    def values(self):
        """The values, in insertion order."""
        return self._items.values()

    def items(self):
        """(key, value) pairs, in insertion order."""
        return self._items.items()

    def update(self, values) -> None:
        """Add the (key, value) pairs of a mapping or an iterable of pairs."""
        pairs = values.items() if hasattr(values, "items") else values
        for key, value in pairs:
            self[key] = value

    def pop(self, key: str):
        """Remove and return the value under ``key``."""
        return self._items.pop(key)

    def clear(self) -> None:
        """Remove every item."""
        self._items.clear()


class ModuleList(_ListContainer):
    """A list of sub-modules, indexable and iterable, whose parameters the parent finds.

    Supports ``append``, ``extend``, ``insert``, ``pop``, indexing, slicing, ``del``, ``+``, ``+=``.

    Example:
        >>> import deeplite
        >>> from deeplite.nn import Linear, Module, ModuleList
        >>> class Stack(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.blocks = ModuleList([Linear(16, 16) for _ in range(3)])
        ...     def forward(self, x):
        ...         for block in self.blocks:
        ...             x = block(x)
        ...         return x
        >>> model = Stack()
        >>> model(deeplite.zeros(4, 16)).shape
        (4, 16)
        >>> [name for name, _ in model.named_parameters()][:3]
        ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight']
    """

    def __repr__(self) -> str:
        return _compressed_repr(type(self).__name__, self._items)


class ModuleDict(_DictContainer):
    """An ordered dict of sub-modules (string keys), named by their keys in the state dict.

    Example:
        >>> import deeplite
        >>> from deeplite.nn import Linear, ModuleDict
        >>> heads = ModuleDict({"age": Linear(16, 1), "kind": Linear(16, 3)})
        >>> heads["kind"](deeplite.zeros(8, 16)).shape
        (8, 3)
        >>> list(heads.state_dict())
        ['age.weight', 'age.bias', 'kind.weight', 'kind.bias']
    """


class ParameterList(_ListContainer):
    """A list of Parameters (Tensors given to it become Parameters), named "0", "1", ...

    Example:
        >>> import deeplite
        >>> from deeplite.nn import ParameterList
        >>> scales = ParameterList([deeplite.ones(4) for _ in range(3)])
        >>> type(scales[0]).__name__, [name for name, _ in scales.named_parameters()]
        ('Parameter', ['0', '1', '2'])
    """

    _convert = staticmethod(_as_parameter)

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for i, p in enumerate(self._items))


class ParameterDict(_DictContainer):
    """An ordered dict of Parameters (string keys; Tensors given to it become Parameters)."""

    _convert = staticmethod(_as_parameter)

    def extra_repr(self) -> str:
        return "\n".join(f"({key}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for key, p in self._items.items())
