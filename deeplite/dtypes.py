"""dtypes: deeplite's dtypes are NumPy dtype objects; strings and NumPy types are accepted too."""
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

SUPPORTED = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
             bool_)
_ALIASES: dict = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int64,
            "bool": bool_}

_default = [float32]


def resolve(dtype) -> np.dtype:
    """The NumPy dtype that ``dtype`` names; raises TypeError naming the supported ones."""
    if isinstance(dtype, str) and dtype in _ALIASES:
        return _ALIASES[dtype]
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
        return value in _ALIASES or value in {str(d) for d in SUPPORTED}
    return isinstance(value, (np.dtype, type))


def is_floating(dtype) -> bool:
    """Whether values of ``dtype`` can carry gradients."""
    return np.dtype(dtype).kind == "f"


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(dtype) -> None:
    """Set the dtype of tensors made from Python floats (float32 or float64)."""
    dtype = resolve(dtype)
    if not is_floating(dtype):
        raise TypeError(f"set_default_dtype: only floating-point dtypes are allowed, got {dtype}")
    _default[0] = dtype
