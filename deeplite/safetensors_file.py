"""One safetensors file: write arrays + str metadata atomically; read them back, checked.

The format (https://huggingface.co/docs/safetensors): 8 bytes little-endian header length N, N
bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str:
str}}``, then the raw little-endian bytes. The ``safetensors`` library (Rust, fuzzed upstream)
parses the framing; deeplite adds, on top:

- integrity: ``deeplite.checksum`` holds ``crc32:XXXXXXXX``, the CRC-32 of the whole file with
  those 8 hex digits read as ``00000000``, so a flipped bit anywhere (length, header, data) is
  caught. A file deeplite wrote (it has ``deeplite.version``) without a checksum is refused.
  Files of deeplite 0.1 carry ``deeplite.crc32`` (of the data only), still verified.
- strict JSON: a key that appears twice anywhere in the header is refused (JSON readers
  disagree on which copy wins, so a duplicate could hide a value from the checks).
- limits: a header over ``MAX_HEADER_BYTES`` or with more than ``MAX_TENSORS`` entries is
  refused before anything big is allocated.
- the path must be a regular file: a directory, FIFO or symlink loop is a clear error, not a hang.

Writes are atomic: a temporary file in the same directory is written, flushed, fsynced and renamed
over the target, then the directory is fsynced, so a crash never leaves a half-written file.
"""
import json
import os
import stat
import struct
import tempfile
import zlib

import numpy as np

from . import __version__

# safetensors dtype codes deeplite reads and writes; BF16 (ml_dtypes' bfloat16) is added on first
# use, and read as float32 where ml_dtypes is not installed.
DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
          "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
_CODES = {np.dtype(spec).newbyteorder("="): code for code, spec in DTYPES.items()}
# The dtypes an array can be written in as it is (little-endian; checked first, it is the case of
# nearly every array: the full checks cost a checkpoint of a dozen arrays ~50 us).
_AS_IS = frozenset(np.dtype(spec) for spec in DTYPES.values())
MAX_HEADER_BYTES = 16 * 1024 * 1024  # a 100,000-tensor model's header is about 10 MiB
MAX_TENSORS = 100_000
RESERVED = "deeplite."  # metadata keys deeplite writes itself
CHECKSUM_KEY = "deeplite.checksum"
LEGACY_CHECKSUM_KEY = "deeplite.crc32"  # deeplite 0.1: CRC-32 of the data only
VERSION_KEY = "deeplite.version"
_PLACEHOLDER = "crc32:00000000"
_NEEDLE = f'"{CHECKSUM_KEY}":"crc32:'.encode()  # how json.dumps(separators=(",", ":")) writes it


class CheckpointError(ValueError):
    """A file that is not a valid safetensors checkpoint (truncated, corrupt or foreign)."""


# ---- writing -------------------------------------------------------------------------------------
def host_array(name: str, value) -> np.ndarray:
    """``value`` (a Tensor or NumPy array) as a C-contiguous little-endian array, or a TypeError."""
    from .tensor import Tensor

    if isinstance(value, Tensor):
        value = value._backend.to_numpy(value.data)
    if type(value) is np.ndarray and value.dtype in _AS_IS and value.flags.c_contiguous:
        return value
    if not isinstance(value, np.ndarray):
        raise TypeError(f"save: {name!r} is a {type(value).__name__}; values must be Tensors or "
                        f"NumPy arrays")
    if value.dtype.name == "bfloat16":
        _CODES.setdefault(value.dtype, "BF16")
    if value.dtype.newbyteorder("=") not in _CODES:
        raise TypeError(f"save: {name!r} has dtype {value.dtype}, which safetensors checkpoints "
                        f"do not hold here; use one of {', '.join(DTYPES)}")
    # reshape: ascontiguousarray makes a 0-d array 1-d, which would change a scalar's shape
    return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).reshape(value.shape)


def check_metadata(metadata, reserved_ok: bool = False) -> dict:
    """``metadata`` as a new str -> str dict; keys starting "deeplite." only if ``reserved_ok``."""
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save: metadata must map str to str (safetensors' __metadata__), got "
                            f"{key!r}: {type(value).__name__}; encode values with json.dumps")
        if key.startswith(RESERVED) and not reserved_ok:
            raise ValueError(f"save: metadata key {key!r} starts with {RESERVED!r}, which "
                             f"deeplite reserves; rename it")
    return metadata


def _write_array(file, array: np.ndarray) -> None:
    file.write(array.reshape(-1).view(np.uint8))


def write_file(path, arrays: dict, metadata: dict) -> None:
    """Write ``arrays`` (name -> array from ``host_array``) and str ``metadata`` atomically."""
    # Widest dtypes first, as the safetensors writer does, so every tensor stays aligned.
    layout = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    entries, offset = {}, 0
    for name in layout:
        array = arrays[name]
        entries[name] = {"dtype": _CODES[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                         "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    metadata = {**metadata, VERSION_KEY: __version__, CHECKSUM_KEY: _PLACEHOLDER}
    header = {"__metadata__": metadata, **{name: entries[name] for name in arrays}}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # pad so the data starts 8-byte aligned
    prefix = struct.pack("<Q", len(text))
    checksum = zlib.crc32(text, zlib.crc32(prefix))
    for name in layout:
        checksum = zlib.crc32(arrays[name].reshape(-1).view(np.uint8), checksum)
    start = text.index(_NEEDLE) + len(_NEEDLE)
    text = text[:start] + f"{checksum:08x}".encode() + text[start + 8:]

    def write(file):
        file.write(prefix)
        file.write(text)
        for name in layout:
            _write_array(file, arrays[name])

    atomic_write(path, write)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write) -> None:
    """Run ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                             dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make checkpoints private
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
def _open_regular(path):
    """A binary file object for ``path``, which must be a regular file (never blocks on a FIFO)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise
    except OSError as error:  # a symlink loop (ELOOP), a name too long, no permission...
        raise CheckpointError(f"load: {path}: cannot be opened ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"load: {path} is a directory, not a checkpoint file; give the "
                              f".safetensors file inside it")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"load: {path} is not a regular file (a FIFO, socket or device); "
                              f"give a .safetensors file")
    # O_NONBLOCK: should a FIFO replace the file after the check, open still returns at once.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    file = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        file.close()
        raise CheckpointError(f"load: {path} is not a regular file; give a .safetensors file")
    return file


def _unique_keys(pairs: list) -> dict:
    """``json.loads`` hook refusing a key that appears twice in one object."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise CheckpointError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _read_header(path, file) -> tuple:
    """(8-byte prefix, raw header bytes, header dict); the file is left at the data."""
    file_size = os.fstat(file.fileno()).st_size
    if file_size < 8:
        raise CheckpointError(f"load: {path} is {file_size} bytes, too short to be a safetensors "
                              f"file (truncated?)")
    prefix = file.read(8)
    (size,) = struct.unpack("<Q", prefix)
    if size > MAX_HEADER_BYTES:
        raise CheckpointError(f"load: {path}: its header claims {size} bytes; deeplite reads "
                              f"headers up to {MAX_HEADER_BYTES} bytes (not a safetensors file, "
                              f"or corrupt)")
    if 8 + size > file_size:
        raise CheckpointError(f"load: {path} is not a safetensors file, or is truncated: its "
                              f"header claims {size} bytes but the file has {file_size}")
    raw = file.read(size)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except CheckpointError as error:
        raise CheckpointError(f"load: {path}: corrupt header: {error}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not "
                              f"JSON ({type(error).__name__}: {error})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not a "
                              f"JSON object")
    tensors = len(header) - ("__metadata__" in header)
    if tensors > MAX_TENSORS:
        raise CheckpointError(f"load: {path}: its header lists {tensors} tensors; deeplite "
                              f"reads up to {MAX_TENSORS}")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(value, str)
                                                 for value in metadata.values()):
        raise CheckpointError(f"load: {path}: __metadata__ must map str to str")
    return prefix, raw, header


def _verify(path, prefix: bytes, raw: bytes, body: bytes, metadata: dict) -> None:
    """Check the file's checksum; CheckpointError when it fails or deeplite's is missing."""
    if CHECKSUM_KEY in metadata:
        saved = metadata[CHECKSUM_KEY]
        if raw.count(_NEEDLE) != 1 or len(saved) != len(_PLACEHOLDER):
            raise CheckpointError(f"load: {path} is corrupt: its checksum field is damaged")
        start = raw.index(_NEEDLE) + len(_NEEDLE)
        blank = raw[:start] + b"00000000" + raw[start + 8:]
        checksum = f"crc32:{zlib.crc32(body, zlib.crc32(blank, zlib.crc32(prefix))):08x}"
        if checksum != saved:
            raise CheckpointError(f"load: {path} is corrupt: the file's CRC-32 is {checksum}, "
                                  f"the header recorded {saved}")
    elif LEGACY_CHECKSUM_KEY in metadata:
        checksum = str(zlib.crc32(body))
        if checksum != metadata[LEGACY_CHECKSUM_KEY]:
            raise CheckpointError(f"load: {path} is corrupt: the data's CRC-32 is {checksum}, "
                                  f"the header recorded {metadata[LEGACY_CHECKSUM_KEY]}")
    elif VERSION_KEY in metadata:
        raise CheckpointError(f"load: {path} is corrupt: deeplite wrote it with a checksum, "
                              f"which is missing from the header")


def _bfloat16_array(bits: np.ndarray) -> np.ndarray:
    """BF16 bits as a bfloat16 array, or widened to float32 where ml_dtypes is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        # bfloat16 is the top half of a float32: shift it back into place (a new array)
        return (bits.astype(np.uint32) << 16).view(np.float32)
    return bits.view(ml_dtypes.bfloat16).copy()


def _to_numpy(path, name: str, entry: dict) -> np.ndarray:
    """One tensor the safetensors library parsed, as an owned NumPy array."""
    code, shape, data = entry["dtype"], tuple(entry["shape"]), entry["data"]
    if code == "BF16":
        return _bfloat16_array(np.frombuffer(data, dtype="<u2").reshape(shape))
    if code not in DTYPES:
        raise CheckpointError(f"load: {path}: tensor {name!r} has dtype {code!r}, which deeplite "
                              f"does not support (supported: {', '.join(DTYPES)}, BF16)")
    dtype = np.dtype(DTYPES[code])
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_file(path) -> tuple:
    """(name -> NumPy array in the file's order, str metadata) of a checked safetensors file."""
    import safetensors

    with _open_regular(path) as file:
        prefix, raw, header = _read_header(path, file)
        body = file.read()
    try:
        parsed = dict(safetensors.deserialize(prefix + raw + body))
    except Exception as error:  # SafetensorError, or anything else its parser raises
        raise CheckpointError(f"load: {path}: not a valid safetensors file (truncated or "
                              f"corrupt?): {error}") from None
    metadata = header.get("__metadata__") or {}
    _verify(path, prefix, raw, body, metadata)
    arrays = {name: _to_numpy(path, name, parsed[name]) for name in header
              if name != "__metadata__"}
    return arrays, metadata


def read_metadata(path) -> dict:
    """The str -> str metadata of a file, checking its framing without reading the data.

    The safetensors library validates the header against the file size (through a memory map,
    so nothing big is read); the checksum, which needs the data, is verified by ``read_file``.
    """
    import safetensors

    with _open_regular(path) as file:
        header = _read_header(path, file)[2]
    try:
        with safetensors.safe_open(os.fspath(path), framework="numpy"):
            pass
    except Exception as error:  # SafetensorError, or anything else its parser raises
        raise CheckpointError(f"load: {path}: not a valid safetensors file (truncated or "
                              f"corrupt?): {error}") from None
    return header.get("__metadata__") or {}
