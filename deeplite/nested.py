"""Nested Python structures <-> (flat name -> array, JSON structure), for ``deeplite.save``.

A structure is made of dicts, lists, tuples, Tensors, NumPy arrays and NumPy scalars, and plain
None/bool/int/float/str. Tensors and arrays go to the file under names made of their path
(``{"model": {"w": t}}`` stores ``model.w``); the structure becomes JSON in which plain values
stand for themselves and every other node is a one-key object:

    {"dict": [[key, node], ...]}   keys: str, int, float, bool or None, in insertion order
    {"list": [node, ...]}          {"tuple": [node, ...]}
    {"tensor": name}               a Tensor (``"requires_grad": true`` when it required grad)
    {"ndarray": name}              {"scalar": name}  (a NumPy scalar such as np.float32(1.5))
"""
import numpy as np

from .safetensors_file import CheckpointError, host_array

MAX_DEPTH = 64  # nesting deeper than this is refused (a cycle or a corrupt structure)
_PLAIN = (type(None), bool, int, float, str)


def _refuse(where: str, value) -> None:
    """Raise the TypeError for a value ``save`` cannot store, with the fix when there is one."""
    from .nn import Module
    from .optim import Optimizer

    kind = type(value).__name__
    if isinstance(value, Module):
        raise TypeError(f"save: {where} is a Module ({kind}); save its weights with "
                        f"deeplite.save(model.state_dict(), path) and restore them with "
                        f"model.load_state_dict(deeplite.load(path))")
    if isinstance(value, Optimizer):
        raise TypeError(f"save: {where} is an optimizer ({kind}); save optimizer.state_dict() "
                        f"and restore it with optimizer.load_state_dict(...)")
    raise TypeError(f"save: {where} is a {kind}; deeplite.save stores dicts, lists, tuples, "
                    f"Tensors, NumPy arrays and None/bool/int/float/str (never pickle)")


class Flattener:
    """Walks a structure once, collecting its arrays under unique path names."""

    def __init__(self):
        self.arrays = {}

    def _name(self, path: tuple) -> str:
        name = ".".join(path) or "value"
        unique, suffix = name, 2
        while unique in self.arrays or unique == "__metadata__":  # {"a.b": x, "a": {"b": y}}
            unique, suffix = f"{name}~{suffix}", suffix + 1
        return unique

    def node(self, value, path: tuple, where: str, depth: int = 0):
        """The JSON node of ``value`` (found at ``where``), storing its arrays."""
        from .tensor import Tensor

        if depth > MAX_DEPTH:
            raise ValueError(f"save: {where} nests more than {MAX_DEPTH} levels deep (a "
                             f"structure that contains itself?)")
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            name = self._name(path)
            array = np.asarray(value) if isinstance(value, np.generic) else value
            self.arrays[name] = host_array(where, array)
            if isinstance(value, Tensor):
                return {"tensor": name, **({"requires_grad": True} if value.requires_grad
                                           else {})}
            return {"scalar" if isinstance(value, np.generic) else "ndarray": name}
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                if not isinstance(key, _PLAIN):
                    raise TypeError(f"save: {where} has a key of type {type(key).__name__}; "
                                    f"dict keys must be str, int, float, bool or None")
                items.append([key, self.node(item, path + (str(key),), f"{where}[{key!r}]",
                                             depth + 1)])
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {kind: [self.node(item, path + (str(index),), f"{where}[{index}]", depth + 1)
                           for index, item in enumerate(value)]}
        _refuse(where, value)


def build(node, tensors: dict, arrays: dict, depth: int = 0):
    """The structure a JSON ``node`` describes; ``tensors``/``arrays`` hold the loaded values.

    Raises CheckpointError on anything ``Flattener`` does not write (a damaged structure).
    """
    if depth > MAX_DEPTH:
        raise CheckpointError(f"the structure nests more than {MAX_DEPTH} levels deep")
    if isinstance(node, _PLAIN):
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise CheckpointError(f"unknown structure node {str(node)[:60]!r}")
    kind, content = next(iter(node.items()))
    if kind == "dict" and isinstance(content, list) and all(
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], _PLAIN)
            for item in content):
        return {key: build(item, tensors, arrays, depth + 1) for key, item in content}
    if kind in ("list", "tuple") and isinstance(content, list):
        items = [build(item, tensors, arrays, depth + 1) for item in content]
        return tuple(items) if kind == "tuple" else items
    if kind in ("tensor", "ndarray", "scalar") and isinstance(content, str):
        if content not in arrays:
            raise CheckpointError(f"the structure names a tensor {content!r} the file lacks")
        if kind == "tensor":
            tensor = tensors[content]
            return tensor.requires_grad_(True) if node.get("requires_grad") is True else tensor
        return arrays[content][()] if kind == "scalar" else arrays[content]
    raise CheckpointError(f"unknown structure node {str(node)[:60]!r}")
