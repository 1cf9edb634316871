"""Checkpoints in the safetensors format: ``save`` / ``load`` tensors, and training state to resume.

The format (https://huggingface.co/docs/safetensors): 8 bytes little-endian header length N, N
bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str:
str}}``, then the raw little-endian bytes. Loading parses JSON and copies bytes — it never runs
code (unlike pickle) — and checks every field, so a truncated, corrupt or foreign file raises
``CheckpointError`` (a ValueError) saying what is wrong. Files from other safetensors writers load
too. deeplite also stores a CRC-32 of the data in the metadata and verifies it when present.

Writes are atomic: a temporary file in the same directory is written, flushed, fsynced and renamed
over the target, then the directory is fsynced, so a crash never leaves a half-written checkpoint.

Example:
    >>> import deeplite
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model = deeplite.nn.MLP([2, 16, 1])
    >>> deeplite.save(model.state_dict(), path, metadata={"sizes": "[2, 16, 1]"})
    >>> model.load_state_dict(deeplite.load(path))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""
import json
import os
import struct
import tempfile
import zlib

import numpy as np

from . import __version__, backends
from .creation import generator, get_default_device
from .tensor import Tensor

# safetensors dtype codes deeplite reads and writes (BF16 is read only, widened to float32).
_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
           "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
_CODES = {np.dtype(spec).newbyteorder("="): code for code, spec in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024  # the limit the safetensors library itself enforces
CHECKSUM_KEY = "deeplite.crc32"
_RESERVED = "deeplite."  # metadata keys deeplite writes itself


class CheckpointError(ValueError):
    """A file that is not a valid safetensors checkpoint (truncated, corrupt or foreign)."""


# ---- writing -------------------------------------------------------------------------------------
def _host_array(name: str, value) -> np.ndarray:
    """``value`` as a C-contiguous little-endian NumPy array, or a TypeError naming ``name``."""
    if isinstance(value, Tensor):
        value = value._backend.to_numpy(value.data)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"save: {name!r} is a {type(value).__name__}; values must be Tensors or "
                        f"NumPy arrays")
    if value.dtype.newbyteorder("=") not in _CODES:
        raise TypeError(f"save: {name!r} has dtype {value.dtype}, which safetensors checkpoints "
                        f"do not hold here; use one of {', '.join(_DTYPES)}")
    return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))


def _check_metadata(metadata) -> dict:
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save: metadata must map str to str (safetensors' __metadata__), got "
                            f"{key!r}: {type(value).__name__}; encode values with json.dumps")
    return metadata


def _write_array(file, array: np.ndarray) -> None:
    file.write(array.reshape(-1).view(np.uint8))


def save(state_dict, path, metadata: dict = None) -> None:
    """Write ``state_dict`` (name -> Tensor or NumPy array) to ``path`` as safetensors, atomically.

    Args:
        state_dict: e.g. ``model.state_dict()``; tensors on any device are copied to the host.
        path: file to write (str or path-like); its directory must exist.
        metadata: optional str -> str, stored in the header's ``__metadata__`` next to
            ``deeplite.version`` and ``deeplite.crc32``.
    """
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise TypeError(f"save: tensor names must be non-empty strings other than "
                            f"'__metadata__', got {name!r}")
        arrays[name] = _host_array(name, value)
    metadata = _check_metadata(metadata)
    # Widest dtypes first, as the safetensors writer does, so every tensor stays aligned.
    layout = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    header, offset, checksum = {}, 0, 0
    for name in layout:
        array = arrays[name]
        header[name] = {"dtype": _CODES[array.dtype.newbyteorder("=")],
                        "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        checksum = zlib.crc32(array.reshape(-1).view(np.uint8), checksum)
    metadata.update({"deeplite.version": __version__, CHECKSUM_KEY: str(checksum)})
    header = {"__metadata__": metadata, **{name: header[name] for name in arrays}}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # pad so the data starts 8-byte aligned

    def write(file):
        file.write(struct.pack("<Q", len(text)))
        file.write(text)
        for name in layout:
            _write_array(file, arrays[name])

    _atomic_write(path, write)


def _atomic_write(path, write) -> None:
    """Run ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                             dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would make checkpoints private
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX: persist the rename itself
        directory_descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory_descriptor)
        finally:
            os.close(directory_descriptor)


# ---- reading -------------------------------------------------------------------------------------
def _read_header(path, file) -> tuple:
    """(header dict without metadata, metadata) after checking the framing; ``file`` is left at
    the start of the data."""
    file_size = os.fstat(file.fileno()).st_size
    if file_size < 8:
        raise CheckpointError(f"load: {path} is {file_size} bytes, too short to be a safetensors "
                              f"file (truncated?)")
    (size,) = struct.unpack("<Q", file.read(8))
    if size > _MAX_HEADER or 8 + size > file_size:
        raise CheckpointError(f"load: {path} is not a safetensors file, or is truncated: its "
                              f"header claims {size} bytes but the file has {file_size}")
    try:
        header = json.loads(file.read(size).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not "
                              f"JSON ({error})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not a "
                              f"JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(key, str) and isinstance(value, str)
                                                 for key, value in metadata.items()):
        raise CheckpointError(f"load: {path}: __metadata__ must map str to str")
    return header, metadata


def _entry(path, name: str, entry) -> tuple:
    """(NumPy dtype, shape, begin, end) of one header entry, checked."""
    try:
        code, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise CheckpointError(f"load: {path}: entry {name!r} lacks dtype, shape or "
                              f"data_offsets") from None
    if code not in _DTYPES and code != "BF16":
        raise CheckpointError(f"load: {path}: tensor {name!r} has dtype {code!r}, which deeplite "
                              f"does not support (supported: {', '.join(_DTYPES)}, BF16)")
    dtype = np.dtype("<u2" if code == "BF16" else _DTYPES[code])
    numbers = shape + (begin, end)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        raise CheckpointError(f"load: {path}: tensor {name!r} has an invalid shape {shape} or "
                              f"offsets [{begin}, {end}]")
    if end - begin != int(np.prod(shape)) * dtype.itemsize:
        raise CheckpointError(f"load: {path}: tensor {name!r} of shape {shape} and dtype {code} "
                              f"needs {int(np.prod(shape)) * dtype.itemsize} bytes but its "
                              f"offsets span {end - begin} (corrupt header)")
    return dtype, shape, begin, end


def _read(path) -> tuple:
    """(name -> NumPy array, metadata) of a checked safetensors file."""
    with open(path, "rb") as file:
        header, metadata = _read_header(path, file)
        body = memoryview(file.read())
    entries = {name: _entry(path, name, entry) for name, entry in header.items()}
    # The data must be tiled exactly by the tensors: no gaps, overlaps, or missing bytes.
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != position:
            raise CheckpointError(f"load: {path}: tensor {name!r} starts at byte {begin}, "
                                  f"expected {position} (overlapping or corrupt offsets)")
        position = end
    if position != len(body):
        raise CheckpointError(f"load: {path} is truncated or corrupt: the tensors need {position} "
                              f"bytes of data, the file holds {len(body)}")
    if CHECKSUM_KEY in metadata:
        checksum = zlib.crc32(body)  # the tensors tile the body, so this is the saved CRC's input
        if str(checksum) != metadata[CHECKSUM_KEY]:
            raise CheckpointError(f"load: {path} is corrupt: the data's CRC-32 is {checksum}, the "
                                  f"header recorded {metadata[CHECKSUM_KEY]}")
    arrays = {}
    for name, (dtype, shape, begin, end) in entries.items():
        array = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape)
        if header[name]["dtype"] == "BF16":
            # bfloat16 is the top half of a float32: shift it back into place (a new array)
            arrays[name] = (array.astype(np.uint32) << 16).view(np.float32)
        else:
            arrays[name] = array.astype(dtype.newbyteorder("="), copy=True)  # own, writable
    return arrays, metadata


def _load(path, device) -> tuple:
    """(name -> Tensor on ``device`` or the default device, metadata)."""
    backend = backends.get(device or get_default_device())
    arrays, metadata = _read(path)
    tensors = {name: Tensor._wrap(backend.asarray(array), backend)
               for name, array in arrays.items()}
    return tensors, metadata


def load(path, device: str = None) -> dict:
    """Read a safetensors file into a dict name -> Tensor (on ``device``, default device if None).

    Raises:
        CheckpointError (a ValueError): the file is truncated, corrupt or not safetensors.
        FileNotFoundError: no file at ``path``.
    Example:
        >>> import deeplite
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> deeplite.save(model.state_dict(), path)
        >>> model.load_state_dict(deeplite.load(path))
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    return _load(path, device)[0]


def load_metadata(path) -> dict:
    """The str -> str metadata of a checkpoint, reading only its header (fast for big files)."""
    with open(path, "rb") as file:
        return _read_header(path, file)[1]


# ---- training state: model + optimizer (+ scheduler, RNG) in one file, to resume exactly ---------
_OPTIMIZER_KEY = "deeplite.optimizer"
_SCHEDULER_KEY = "deeplite.scheduler"
_RNG_KEY = "deeplite.rng"


def flatten_optimizer_state(state_dict: dict, prefix: str = "optimizer.") -> tuple:
    """Split ``optimizer.state_dict()`` into tensors for the file and JSON for the metadata.

    Returns ``(tensors, info)``: tensors named ``{prefix}state.{index}.{key}`` (e.g.
    ``optimizer.state.0.exp_avg``), and a JSON-ready dict of the param_groups (hyperparameters)
    and the non-tensor state (``step`` counts).
    """
    tensors, scalars = {}, {}
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


def save_training_state(path, model, optimizer=None, metadata: dict = None, *,
                        scheduler=None) -> None:
    """Save everything needed to resume training exactly, atomically, in one safetensors file.

    Tensors: ``model.<name>`` for the parameters and ``optimizer.state.<i>.<key>`` for optimizer
    buffers. Metadata: yours (str -> str; keys must not start with "deeplite."), plus JSON of the
    optimizer's hyperparameters and step counts, the scheduler's state and the random generator's
    state (so dropout and shuffling continue identically).

    Example:
        >>> import deeplite
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1)
        >>> scheduler = deeplite.optim.lr_scheduler.StepLR(optimizer, step_size=10)
        >>> save_training_state(path, model, optimizer, {"epoch": "3"}, scheduler=scheduler)
    """
    metadata = _check_metadata(metadata)
    reserved = [key for key in metadata if key.startswith(_RESERVED)]
    if reserved:
        raise ValueError(f"save_training_state: metadata keys {reserved} start with "
                         f"{_RESERVED!r}, which deeplite reserves; rename them")
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    if optimizer is not None:
        optimizer_tensors, info = flatten_optimizer_state(optimizer.state_dict())
        tensors.update(optimizer_tensors)
        metadata[_OPTIMIZER_KEY] = json.dumps({"type": type(optimizer).__name__, "state": info})
    if scheduler is not None:
        metadata[_SCHEDULER_KEY] = json.dumps({"type": type(scheduler).__name__,
                                               "state": scheduler.state_dict()})
    metadata[_RNG_KEY] = json.dumps(generator().bit_generator.state)
    save(tensors, path, metadata)


def _component(metadata: dict, key: str, obj, path) -> dict:
    """The saved JSON state of ``obj`` (an optimizer or scheduler), checking its type matches."""
    if key not in metadata:
        raise CheckpointError(f"load_training_state: {path} holds no {key.split('.')[-1]} state; "
                              f"it was saved without one")
    saved = json.loads(metadata[key])
    if saved["type"] != type(obj).__name__:
        raise ValueError(f"load_training_state: {path} holds {saved['type']} state, but the "
                         f"{key.split('.')[-1]} given is a {type(obj).__name__}")
    return saved["state"]


def load_training_state(path, model, optimizer=None, *, scheduler=None, strict: bool = True,
                        restore_rng: bool = True) -> dict:
    """Restore what ``save_training_state`` wrote into ``model`` (and optimizer, scheduler).

    Build the model, optimizer and scheduler as for a fresh run, then call this: parameters and
    optimizer buffers are copied in place onto the model's device, hyperparameters and step
    counts restored, and (with ``restore_rng``) the random generator set back to its saved state.
    Returns your metadata (the keys not starting with "deeplite.").

    Example:
        >>> import deeplite
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
        >>> model = deeplite.nn.MLP([2, 16, 1])
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1)
        >>> save_training_state(path, model, optimizer, {"epoch": "3"})
        >>> info = load_training_state(path, model, optimizer)
        >>> int(info["epoch"]) + 1  # the epoch to start from
        4
    """
    device = next((parameter.device for parameter in model.parameters()), None)
    tensors, metadata = _load(path, device)  # straight onto the model's device
    model_state = {name[len("model."):]: value for name, value in tensors.items()
                   if name.startswith("model.")}
    if not model_state and _OPTIMIZER_KEY not in metadata:
        raise CheckpointError(f"load_training_state: {path} is not a training state (no "
                              f"'model.*' tensors); load a plain checkpoint with deeplite.load")
    model.load_state_dict(model_state, strict=strict)
    if optimizer is not None:
        info = _component(metadata, _OPTIMIZER_KEY, optimizer, path)
        optimizer.load_state_dict(unflatten_optimizer_state(tensors, info))
    if scheduler is not None:
        scheduler.load_state_dict(_component(metadata, _SCHEDULER_KEY, scheduler, path))
    if restore_rng and _RNG_KEY in metadata:
        generator().bit_generator.state = json.loads(metadata[_RNG_KEY])
    return {key: value for key, value in metadata.items() if not key.startswith(_RESERVED)}
