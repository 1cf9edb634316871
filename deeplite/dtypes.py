"""dtypes: deeplite's dtypes are NumPy dtype objects; strings and NumPy types are accepted too.

``bfloat16`` is ml_dtypes' NumPy storage dtype (the optional extra ``deeplite[bf16]``); it is
looked up on first use, so ``import deeplite`` never imports ml_dtypes.
"""
import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
bool_ = np.dtype("bool")

SUPPORTED: tuple = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
                   uint64, bool_)
_ALIASES: dict = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int64,
            "bool": bool_}

_default = [float32]
_BFLOAT16_HINT = "bfloat16 needs the ml_dtypes package; pip install 'deeplite[bf16]'"


def bfloat16_dtype() -> np.dtype:
    """ml_dtypes' bfloat16 as a NumPy dtype, registered as supported on first use."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(_BFLOAT16_HINT) from None
    dtype = np.dtype(ml_dtypes.bfloat16)
    global SUPPORTED
    if dtype not in SUPPORTED:
        SUPPORTED = SUPPORTED + (dtype,)
        _ALIASES["bfloat16"] = dtype
    return dtype


def is_low_precision(dtype) -> bool:
    """Whether ``dtype`` is a 16-bit float (float16 or bfloat16)."""
    # Tested per kernel argument: itemsize first, and no dtype.name (a microsecond each).
    dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    return dtype.itemsize == 2 and (dtype.kind == "f" or dtype.type.__name__ == "bfloat16")


def resolve(dtype) -> np.dtype:
    """The NumPy dtype that ``dtype`` names; raises TypeError naming the supported ones."""
    if isinstance(dtype, str) and dtype in _ALIASES:
        return _ALIASES[dtype]
    if dtype == "bfloat16" or getattr(dtype, "__name__", None) == "bfloat16":
        return bfloat16_dtype()
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved not in SUPPORTED:  # np.dtype == None compares to float64
        names = ", ".join(str(d) for d in SUPPORTED)
        raise TypeError(f"unknown or unsupported dtype {dtype!r}; use one of {names}")
    return resolved


def looks_like_dtype(value) -> bool:
    """Whether ``value`` names a dtype rather than a device (for ``Tensor.to``)."""
    if isinstance(value, str):
        return value in _ALIASES or value in {str(d) for d in SUPPORTED} or value == "bfloat16"
    return isinstance(value, (np.dtype, type))


def is_floating(dtype) -> bool:
    """Whether values of ``dtype`` can carry gradients (bfloat16 included: its kind is "V")."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype.name == "bfloat16"


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(dtype) -> None:
    """Set the dtype of tensors made from Python floats (a floating-point dtype)."""
    dtype = resolve(dtype)
    if not is_floating(dtype):
        raise TypeError(f"set_default_dtype: only floating-point dtypes are allowed, got {dtype}")
    _default[0] = dtype
