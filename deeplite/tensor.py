"""Tensor: an array of one backend plus what the tape needs (requires_grad, grad, its node).

The array is the backend's own (``numpy.ndarray`` on ``numpy`` and ``cpu``, ``cupy.ndarray`` on
``cuda``) and lives in ``tensor.data``. Every math method forwards to the function of the same name
in ``deeplite.ops`` (attached at the end of ``deeplite/ops/__init__.py``).
"""
import numpy as np

from . import dtypes

_new = object.__new__


class Tensor:
    """An n-dimensional array on one device that can record the ops applied to it."""

    __slots__ = ("data", "_backend", "requires_grad", "grad", "_node", "_retains_grad",
                 "__weakref__")
    __array_priority__ = 1000  # make NumPy defer to Tensor's reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor  # construction rules live in one place

        made = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.data, self._backend, self.requires_grad = made.data, made._backend, requires_grad
        self.grad = None
        self._node = None

    @staticmethod
    def _wrap(data, backend, requires_grad=False) -> "Tensor":
        """A new leaf around an existing array (no copy, no checks): the engine's fast path."""
        out = _new(Tensor)
        out.data = data
        out._backend = backend
        out.requires_grad = requires_grad
        out.grad = None
        out._node = None
        return out

    # ---- attributes -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """Size of each dimension."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self):
        """Element type, a NumPy dtype (``deeplite.float32`` ...)."""
        return self.data.dtype

    @property
    def device(self) -> str:
        """Name of the backend holding the data: "numpy", "cpu" or "cuda"."""
        return self._backend.name

    @property
    def is_leaf(self) -> bool:
        """True unless the tensor was computed by a recorded op."""
        return self._node is None

    @property
    def grad_fn(self):
        """The recorded node that computed this tensor, or None for a leaf."""
        return self._node

    @property
    def T(self) -> "Tensor":
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        return self.transpose(*reversed(range(self.ndim)))

    def size(self, dim=None):
        """The shape, or the size of dimension ``dim`` (as ``torch.Tensor.size``)."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """Number of dimensions."""
        return self.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (floating-point leaves only) and return self."""
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the tape."""
        return Tensor._wrap(self.data, self._backend)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    # ---- conversion -----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on numpy/cpu, copied from a GPU)."""
        if self.requires_grad:
            raise RuntimeError("numpy() on a tensor that requires grad; call .detach().numpy()")
        return self._backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        array = self._backend.to_numpy(self.data)
        return array if dtype is None else array.astype(dtype, copy=False)

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to Python scalars, "
                             f"got shape {self.shape}")
        return self._backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        """The data as nested Python lists."""
        return self._backend.to_numpy(self.data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def to(self, device=None, dtype=None) -> "Tensor":
        """This tensor on ``device`` and/or as ``dtype`` (differentiable; self if nothing changes).

        Accepts ``t.to("cuda")``, ``t.to(deeplite.float64)`` and ``t.to(device=..., dtype=...)``.
        """
        from .ops import movement

        if dtype is None and device is not None and dtypes.looks_like_dtype(device):
            device, dtype = None, device
        out = self
        if device is not None and device != self.device:
            out = movement.to_device(out, device)
        if dtype is not None and dtypes.resolve(dtype) != out.dtype:
            out = movement.cast(out, dtypes.resolve(dtype))
        return out

    def float(self) -> "Tensor":
        """Cast to float32."""
        return self.to(dtype=dtypes.float32)

    def double(self) -> "Tensor":
        """Cast to float64."""
        return self.to(dtype=dtypes.float64)

    def long(self) -> "Tensor":
        """Cast to int64."""
        return self.to(dtype=dtypes.int64)

    # ---- in-place updates (outside the tape) ---------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        from .autograd import is_grad_enabled

        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: a tensor that requires grad cannot be changed in place while "
                               f"grad mode is on; wrap the update in `with deeplite.no_grad():`")

    def copy_(self, source) -> "Tensor":
        """Overwrite the data with ``source`` (broadcast), in place."""
        self._check_inplace("copy_")
        if isinstance(source, Tensor):
            if source._backend is not self._backend:
                raise ValueError(f"copy_: source on {source.device}, target on {self.device}; "
                                 f"call .to({self.device!r}) on the source first")
            source = source.data
        self._backend.copyto(self.data, self._backend.asarray(source, self.dtype))
        return self

    def fill_(self, value) -> "Tensor":
        """Set every element to ``value``, in place."""
        return self.copy_(self._backend.full((), value, self.dtype))

    def zero_(self) -> "Tensor":
        """Set every element to 0, in place."""
        return self.fill_(0)

    def __setitem__(self, index, value) -> None:
        from .ops.movement import raw_index

        self._check_inplace("__setitem__")
        # Host values (lists, NumPy arrays) onto this device first: CuPy refuses them in setitem.
        value = value.data if isinstance(value, Tensor) else self._backend.asarray(value)
        self.data[raw_index(index, self._backend)] = value

    def _inplace(self, op: str, other) -> "Tensor":
        from .autograd import is_grad_enabled

        if not is_grad_enabled() or not (self.requires_grad or getattr(other, "requires_grad", 0)):
            result = getattr(self, op)(other)  # computed without a node, then written back
            self._backend.copyto(self.data, result.data)
            return self
        self._check_inplace(op)
        return getattr(self, op)(other)  # a non-leaf: rebind to a new recorded tensor

    def __iadd__(self, other):
        return self._inplace("__add__", other)

    def __isub__(self, other):
        return self._inplace("__sub__", other)

    def __imul__(self, other):
        return self._inplace("__mul__", other)

    def __itruediv__(self, other):
        return self._inplace("__truediv__", other)

    # ---- printing and hashing --------------------------------------------------------------------
    __hash__ = object.__hash__  # identity hash: tensors are dict keys (optimizer state)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self._backend.to_numpy(self.data), separator=", ", precision=4,
                               prefix="tensor(")
        extras = [f"device={self.device!r}"]
        if self.dtype != dtypes.float32:
            extras.append(f"dtype={self.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"
