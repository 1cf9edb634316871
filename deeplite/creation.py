"""Creating tensors: from data, filled, ranges and seeded random draws; the default device.

Random numbers are drawn on the host by one NumPy PCG64 generator and then moved to the device,
so ``manual_seed(n)`` makes the draws identical on every backend. Dropout masks come instead from
a counter-based stream (``dropout_stream.py``) that each backend's kernel computes on its own
device; ``manual_seed(n)`` seeds and rewinds it too.
"""
import warnings

import numpy as np

from . import backends, dropout_stream, dtypes
from .interop.dlpack import detached, from_dlpack, is_foreign_array
from .jit import hooks as jit_hooks
from .tensor import Tensor

_settings: dict = {"device": None}
_generator = [np.random.default_rng()]


def set_default_device(device: str) -> None:
    """Device of tensors created without ``device=`` ("numpy", "cpu", "cuda")."""
    backends.get(device)  # fail now, with the reason, if it is unknown or unavailable
    _settings["device"] = device


def get_default_device() -> str:
    """The device set by ``set_default_device``, else "cpu" when built, else "numpy"."""
    if _settings["device"] is None:
        _settings["device"] = "cpu" if backends.is_available("cpu") else "numpy"
        if _settings["device"] == "numpy":  # never a silent slow-down: say what happened
            warnings.warn(f"deeplite: using the numpy backend (slower): the cpu backend is "
                          f"unavailable: {backends.why_unavailable('cpu')}", RuntimeWarning,
                          stacklevel=2)
    return _settings["device"]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random draw (all devices): the host generator, returned, and the dropout
    stream (its seed set to ``seed`` modulo 2**64, its offset back to 0)."""
    _generator[0] = np.random.default_rng(seed)
    dropout_stream.reseed(seed)
    return _generator[0]


def get_rng_state() -> dict:
    """Every random generator's state, as JSON-ready data: {"host": the PCG64 state,
    "stream": {"seed", "offset"} of the dropout stream}; ``set_rng_state`` restores it."""
    return {"host": _generator[0].bit_generator.state, "stream": dropout_stream.state()}


def set_rng_state(state: dict) -> None:
    """Restore what ``get_rng_state`` returned (a bare PCG64 state, as older checkpoints hold,
    sets the host generator only); ValueError naming the fault for anything else."""
    if not isinstance(state, dict):
        raise ValueError(f"set_rng_state: expected a dict from get_rng_state, got "
                         f"{type(state).__name__}")
    host, stream = (state["host"], state.get("stream")) if "host" in state else (state, None)
    stream = None if stream is None else dropout_stream.validated(stream)  # before any change
    _generator[0].bit_generator.state = host  # raises ValueError/TypeError on a damaged state
    if stream is not None:
        dropout_stream.restore(stream)


def generator() -> np.random.Generator:
    """The generator that ``manual_seed`` seeds (for code that draws its own host randomness)."""
    return _generator[0]


def _backend(device):
    return backends.get(get_default_device() if device is None else device)


def _finish(data, backend, requires_grad) -> Tensor:
    out = Tensor._wrap(data, backend)
    if requires_grad:
        jit_hooks.refuse_creation("a tensor with requires_grad=True")
        out.requires_grad_()
    return out


def _host_array(data, dtype):
    """``data`` as a NumPy array, applying PyTorch's dtype rules for Python data."""
    if isinstance(data, Tensor):
        data = data._backend.to_numpy(data.data)
    elif hasattr(data, "__cuda_array_interface__"):
        data = data.get()  # a CuPy array headed for a host device
    from_python = not hasattr(data, "__array_interface__") and not hasattr(data, "dtype")
    array = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtypes.resolve(dtype))
    if dtype is None:
        if from_python and array.dtype.kind == "f":
            array = array.astype(dtypes.get_default_dtype())  # Python floats: float32
        elif array.dtype not in dtypes.SUPPORTED:
            raise TypeError(f"tensor: cannot make a tensor from data of dtype {array.dtype}")
    return array


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (lists, numbers, arrays, tensors of any
    DLPack library: NumPy, PyTorch, JAX, CuPy).

    As in PyTorch: Python floats and lists give float32, Python ints give int64, and a NumPy
    array keeps its dtype.

    Example:
        >>> import deeplite
        >>> x = deeplite.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    backend = _backend(device)
    if is_foreign_array(data):  # PyTorch, JAX, CuPy, ...: read in place, copied below
        data = from_dlpack(detached(data))
    if isinstance(data, Tensor) and data._backend is backend:
        data = data.data
    if hasattr(data, "__cuda_array_interface__") and not backend.host_storage:
        array = data if dtype is None else backend.astype(data, dtypes.resolve(dtype))
        return _finish(backend.copy(array), backend, requires_grad)
    array = _host_array(data, dtype)
    return _finish(backend.copy(backend.asarray(array)), backend, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory, on the default host device ("cpu" or "numpy")."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, backends.get(host_device()))


def host_device() -> str:
    """The default device when it is a host one, else "cpu" (or "numpy" when cpu is not built)."""
    device = get_default_device()
    if device in ("cpu", "numpy"):
        return device
    return "cpu" if backends.is_available("cpu") else "numpy"


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(n) for n in size)


def _dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.resolve(dtype)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``.

    Without ``dtype`` the value decides, as in PyTorch: a bool gives bool, an int int64, a float
    the default float dtype (``full((2,), 4)`` is int64).
    """
    backend = _backend(device)
    if dtype is None:
        dtype = dtypes.bool_ if isinstance(fill_value, (bool, np.bool_)) else \
            dtypes.int64 if isinstance(fill_value, (int, np.integer)) else None
    data = backend.full(_shape((size,)), fill_value, _dtype(dtype))
    return _finish(data, backend, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return full(_shape(size), 0, _dtype(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    return full(_shape(size), 1, _dtype(dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor."""
    backend = _backend(device)
    return _finish(backend.empty(_shape(size), _dtype(dtype)), backend, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for int arguments."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    backend = _backend(device)
    data = backend.arange(start, end, step, dtypes.resolve(dtype))
    return _finish(data, backend, requires_grad)


def _random(draw, size, dtype, device, requires_grad) -> Tensor:
    backend = _backend(device)
    dtype = _dtype(dtype)
    shape = _shape(size)
    host = draw(_generator[0], shape).astype(dtype)
    jit_hooks.mark_random(host, lambda: draw(_generator[0], shape).astype(dtype))
    return _finish(backend.asarray(host), backend, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal draws (seeded by ``manual_seed``)."""
    return _random(lambda g, s: g.standard_normal(s), size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform draws on [0, 1) (seeded by ``manual_seed``)."""
    return _random(lambda g, s: g.random(s), size, dtype, device, requires_grad)


def randint(low, high, size, dtype=None, device=None) -> Tensor:
    """Integers uniform on [low, high) (seeded by ``manual_seed``); int64 by default."""
    dtype = dtypes.int64 if dtype is None else dtype
    return _random(lambda g, s: g.integers(low, high, s), (size,), dtype, device, False)


def _like(maker, other, dtype, device, requires_grad, *args) -> Tensor:
    return maker(*args, other.shape, dtype=other.dtype if dtype is None else dtype,
                 device=other.device if device is None else device, requires_grad=requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros with ``other``'s shape, dtype and device."""
    return _like(zeros, other, dtype, device, requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones with ``other``'s shape, dtype and device."""
    return _like(ones, other, dtype, device, requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` with ``other``'s shape, dtype and device (as ``torch.full_like``)."""
    return full(other.shape, fill_value, other.dtype if dtype is None else dtype,
                other.device if device is None else device, requires_grad)


def randn_like(other, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal draws with ``other``'s shape, dtype and device."""
    return _like(randn, other, dtype, device, requires_grad)


def rand_like(other, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) draws with ``other``'s shape, dtype and device."""
    return _like(rand, other, dtype, device, requires_grad)


def empty_like(other, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor with ``other``'s shape, dtype and device."""
    return _like(empty, other, dtype, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n x m identity matrix (m = n by default), as ``torch.eye``."""
    m = n if m is None else m
    if n < 0 or m < 0:
        raise ValueError(f"eye: n and m must be non-negative, got {n} and {m}")
    backend = _backend(device)
    return _finish(backend.asarray(np.eye(n, m, dtype=_dtype(dtype))), backend, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both ends included, as
    ``torch.linspace``."""
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    backend = _backend(device)
    values = np.linspace(float(start), float(end), int(steps)).astype(_dtype(dtype))
    return _finish(backend.asarray(values), backend, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """``base ** linspace(start, end, steps)``, as ``torch.logspace``."""
    if steps < 0:
        raise ValueError(f"logspace: number of steps must be non-negative, got {steps}")
    backend = _backend(device)
    values = np.logspace(float(start), float(end), int(steps), base=base).astype(_dtype(dtype))
    return _finish(backend.asarray(values), backend, requires_grad)


def normal(mean=0.0, std=1.0, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Normal draws, as ``torch.normal``: scalar ``mean``/``std`` with a ``size``, or tensors of
    means and/or stds (broadcast together) giving one draw per element."""
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if like is None:
        if size is None:
            raise TypeError("normal: with a float mean and std, pass size=(...)")
        if std < 0:
            raise ValueError(f"normal: std must be non-negative, got {std}")
        return _random(lambda g, s: g.normal(mean, std, s), (size,), dtype, device, requires_grad)
    host_mean, host_std = (np.asarray(v, dtype=np.float64) for v in (mean, std))
    if (host_std < 0).any():
        raise ValueError("normal: std must be non-negative")
    shape = np.broadcast_shapes(host_mean.shape, host_std.shape)
    draws = _generator[0].normal(host_mean, host_std, shape)
    return tensor(draws, dtype=like.dtype if dtype is None else dtype,
                  device=like.device if device is None else device, requires_grad=requires_grad)


def fill_random_(target: Tensor, distribution: str, a: float, b: float) -> Tensor:
    """Overwrite ``target`` in place with uniform [a, b) or normal (mean a, std b) draws from the
    seeded generator: ``Tensor.uniform_`` and ``Tensor.normal_``."""
    draw = _generator[0].uniform if distribution == "uniform" else _generator[0].normal
    if distribution == "normal" and b < 0:
        raise ValueError(f"normal_: std must be non-negative, got {b}")
    if distribution == "uniform" and a > b:
        raise ValueError(f"uniform_: expects from <= to, got from={a} and to={b}")
    host = draw(a, b, target.shape).astype(target.dtype)
    return target.copy_(target._backend.asarray(host))
