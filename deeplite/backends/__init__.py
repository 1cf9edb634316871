"""Backend registry: ``get(name)`` loads a backend once, ``available()`` lists those that work here.

Backends are imported lazily: ``import deeplite`` never imports CuPy or the C++ extension.
"""
import functools
import importlib
from typing import TYPE_CHECKING, Any

from . import fallbacks
from .contract import ACTIVATIONS, OPTIONAL, REQUIRED

# Device name -> module implementing the kernel contract, in order of preference for "auto".
MODULES = {"cuda": ".cuda_backend", "cpu": ".cpu_backend", "numpy": ".numpy_backend"}


class Backend:
    """One backend's kernels as attributes; missing OPTIONAL kernels are bound to fallbacks."""

    def __init__(self, name: str, module):
        missing = [kernel for kernel in REQUIRED if not hasattr(module, kernel)]
        if missing:
            raise ImportError(f"backend {name!r} lacks required kernels: {', '.join(missing)}")
        self.name = name
        self.module = module
        self.xp = module.xp  # the array library of this backend's storage (numpy or cupy)
        # Capabilities, so code outside backends/ never tests a device's name:
        # host_storage: arrays live in host memory (numpy and cpu share them without a copy);
        # cheap_host_sync: reading a value on the host costs no device synchronisation.
        self.host_storage = getattr(module, "host_storage", True)
        self.cheap_host_sync = getattr(module, "cheap_host_sync", True)
        for kernel in REQUIRED:
            setattr(self, kernel, getattr(module, kernel))
        # Which fused kernels are native here; tests assert this so a kernel cannot silently vanish.
        self.native = frozenset(kernel for kernel in OPTIONAL if hasattr(module, kernel))
        for kernel in OPTIONAL:
            if kernel in self.native:
                setattr(self, kernel, getattr(module, kernel))
            else:
                setattr(self, kernel, functools.partial(getattr(fallbacks, kernel), self))
        self.kernels = {kernel: getattr(self, kernel) for kernel in (*REQUIRED, *OPTIONAL)}

    # ---- recording hook (deeplite.jit): every kernel call passes through wrap(name, kernel) ----
    def intercept(self, wrap) -> None:
        """Route each kernel through ``wrap(name, kernel)``; ``wrap=None`` restores them."""
        for name, kernel in self.kernels.items():
            setattr(self, name, kernel if wrap is None else wrap(name, kernel))

    if TYPE_CHECKING:  # the kernels are set per instance in __init__, by name
        def __getattr__(self, kernel: str) -> Any: ...

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, native={sorted(self.native)})"

    def apply_act(self, x, act: str, slope: float):
        """``act(x)`` by name (see ``contract.ACTIVATIONS``), through this backend's activation
        kernels, native or fallback: the one dispatcher from a name to a kernel."""
        if act == "identity":
            return x
        if act == "leaky_relu":
            return self.leaky_relu(x, slope)
        if act in ("relu", "sigmoid", "tanh", "softplus"):
            return getattr(self, act)(x)
        raise ValueError(f"unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)}")


_loaded: dict = {}
_failures: dict = {}


def get(name: str) -> Backend:
    """The backend called ``name``; ValueError for an unknown name, RuntimeError if unusable."""
    backend = _loaded.get(name)
    if backend is not None:
        return backend
    if name not in MODULES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(MODULES)}")
    if name in _failures:
        raise RuntimeError(f"device {name!r} is not available here: {_failures[name]}")
    try:
        backend = Backend(name, importlib.import_module(MODULES[name], __name__))
    except ImportError as error:
        _failures[name] = str(error) or type(error).__name__
        raise RuntimeError(f"device {name!r} is not available here: {_failures[name]}") from None
    except Exception as error:  # a backend that fails to load in any other way: still a reason
        _failures[name] = f"{type(error).__name__} while loading the backend: {error}"
        raise RuntimeError(f"device {name!r} is not available here: {_failures[name]}") from None
    _loaded[name] = backend
    return backend


def is_available(name: str) -> bool:
    """Whether ``get(name)`` succeeds on this machine."""
    try:
        get(name)
    except RuntimeError:
        return False
    return True


def available() -> list:
    """Names of the backends that work on this machine, fastest first."""
    return [name for name in MODULES if is_available(name)]


def why_unavailable(name: str):
    """The reason ``name`` failed to load, or None when it works."""
    return None if is_available(name) else _failures.get(name, "it failed to load")
