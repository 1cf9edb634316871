"""Checkpoints the PyTorch way: ``save(obj, path)`` / ``load(path)``, stored as safetensors.

``obj`` is a nested structure of dicts, lists, tuples, Tensors, NumPy arrays and plain
None/bool/int/float/str, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(),
"epoch": 3}``. Tensors go to the file under their flattened path (``model.layers.0.weight``), the
structure and the plain values ride as JSON in the metadata (see ``deeplite.nested``), and
``load`` gives back the same structure. Nothing is pickled, so loading never runs code, and
every file is checked (``deeplite.safetensors_file``): a truncated, corrupt, foreign or hostile
file raises ``CheckpointError`` (a ValueError) saying what is wrong. Files from other
safetensors writers load as a flat dict name -> Tensor. Writes are atomic.

To resume training exactly (optimizer buffers, scheduler, random generator, in one call), see
``save_training_state`` / ``load_training_state`` (``deeplite.training_state``).

Example:
    >>> import os, tempfile
    >>> import deeplite
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> model = deeplite.nn.MLP([2, 16, 1])
    >>> deeplite.save({"model": model.state_dict(), "epoch": 3}, path)
    >>> checkpoint = deeplite.load(path)
    >>> checkpoint["epoch"]
    3
    >>> model.load_state_dict(checkpoint["model"])
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""
import json
from typing import Optional

from . import backends
from .creation import get_default_device
from .nested import Flattener, build
from .safetensors_file import (
    CHECKSUM_KEY,
    MAX_HEADER_BYTES,
    MAX_TENSORS,
    CheckpointError,
    check_metadata,
    host_array,
    read_file,
    read_metadata,
    write_file,
)
from .tensor import Tensor
from .training_state import (
    flatten_optimizer_state,
    load_training_state,
    save_training_state,
    unflatten_optimizer_state,
)

__all__ = ["CHECKSUM_KEY", "MAX_HEADER_BYTES", "MAX_TENSORS", "CheckpointError",
           "flatten_optimizer_state", "load", "load_metadata", "load_training_state", "save",
           "save_training_state", "unflatten_optimizer_state"]

STRUCTURE_KEY = "deeplite.structure"


def _is_flat(obj) -> bool:
    """A dict of str -> Tensor/array: stored as is, readable by any safetensors tool."""
    import numpy as np

    return isinstance(obj, dict) and all(isinstance(key, str) and isinstance(value, (
        Tensor, np.ndarray)) for key, value in obj.items())


def save(obj, path, metadata: Optional[dict] = None) -> None:
    """Write ``obj`` to ``path`` as a safetensors file, atomically.

    Args:
        obj: a nested structure of dicts (keys str/int/float/bool/None), lists, tuples, Tensors
            (any device; copied to the host), NumPy arrays and scalars, and None/bool/int/float/
            str. A Module or an optimizer is refused: save ``model.state_dict()``.
        path: file to write (str or path-like); its directory must exist.
        metadata: optional str -> str, stored in the header's ``__metadata__`` (keys must not
            start with "deeplite.", which holds the version, checksum and structure).
    Raises:
        TypeError: a value the format cannot hold, named by its place in ``obj``.
    Example:
        >>> import os, tempfile
        >>> import deeplite
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> opt = deeplite.optim.Adam(model.parameters())
        >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.safetensors")
        >>> deeplite.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
        ...                "epoch": 3}, path)
    """
    metadata = check_metadata(metadata)
    if _is_flat(obj):  # the common state_dict: names as given, no structure needed
        for name in obj:
            if not name or name == "__metadata__":
                raise TypeError(f"save: tensor names must be non-empty strings other than "
                                f"'__metadata__', got {name!r}")
        arrays = {name: host_array(name, value) for name, value in obj.items()}
    else:
        flattener = Flattener()
        metadata[STRUCTURE_KEY] = json.dumps(flattener.node(obj, (), "obj"),
                                             separators=(",", ":"))
        arrays = flattener.arrays
    write_file(path, arrays, metadata)


def load(path, device: Optional[str] = None):
    """Read a file written by ``save`` back into the structure saved, tensors on ``device``.

    Args:
        path: a safetensors file.
        device: where tensors go ("cpu", "cuda", "numpy"); None: the default device. NumPy
            arrays saved as arrays come back as arrays. (PyTorch's ``map_location``.)
    Returns:
        The saved structure; for a file without one (a flat state_dict, or another tool's
        file) a dict name -> Tensor in the file's order.
    Raises:
        CheckpointError (a ValueError): the file is truncated, corrupt, hostile or not
        safetensors. FileNotFoundError: no file at ``path``.
    Example:
        >>> import deeplite
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> deeplite.save(model.state_dict(), path)
        >>> model.load_state_dict(deeplite.load(path))
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    arrays, metadata = read_file(path)
    backend = backends.get(device or get_default_device())
    tensors = {name: Tensor._wrap(backend.asarray(array), backend)
               for name, array in arrays.items()}
    if STRUCTURE_KEY not in metadata:
        return tensors
    try:
        return build(json.loads(metadata[STRUCTURE_KEY]), tensors, arrays)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"load: {path}: the saved structure is damaged: {error}") from None


def load_metadata(path) -> dict:
    """The str -> str metadata of a checkpoint, reading only its header (fast for big files).

    The header is not verified against the checksum here (that needs the whole file); ``load``
    and ``load_training_state`` verify it.
    """
    return read_metadata(path)
