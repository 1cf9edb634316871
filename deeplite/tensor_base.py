"""What a Tensor is without any op: its attributes, conversions to Python and NumPy, and printing.

``Tensor`` (``deeplite/tensor.py``) derives from this and adds the ops and the tape.
"""
from typing import Any

import numpy as np

from . import dtypes
from .errors import ShapeError, normalize_dim


class TensorBase:
    """Attributes and conversions of a Tensor; holds no state of its own (see ``Tensor``)."""

    __slots__ = ()
    # Declared for readers and type checkers; the slots themselves are on Tensor.
    data: Any
    _backend: Any
    requires_grad: bool
    grad: Any  # a Tensor after backward, else None (Any: update rules use it without a check)
    _node: Any
    _version_counter: Any
    _hooks: dict
    _history: tuple
    _bf16_shadow: Any  # autocast's bfloat16 copy of a weight (deeplite/weight_shadows.py)
    __array_priority__ = 1000  # make NumPy defer to Tensor's reflected operators

    # ---- attributes ---------------------------------------------------------------------------
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
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has seen (``torch.Tensor._version``)."""
        counter = getattr(self, "_version_counter", None)
        return 0 if counter is None else counter.count

    def size(self, dim=None):
        """The shape, or the size of dimension ``dim`` (as ``torch.Tensor.size``)."""
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim, "size")]

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

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on numpy/cpu, copied from a GPU).

        A write into the returned array changes the tensor behind the tape's back (no version
        counter sees it): never do that to a tensor a graph still needs.
        """
        if self.requires_grad:
            raise RuntimeError("numpy() on a tensor that requires grad; call .detach().numpy()")
        return self._backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        array = self._backend.to_numpy(self.data)
        return array if dtype is None else array.astype(dtype, copy=False)

    # DLPack and CUDA array interface: zero-copy hand-offs to NumPy, PyTorch, JAX, CuPy.
    # Writes made through a foreign view bypass deeplite's version counters (see docs/interop.md).
    def __dlpack__(self, *, stream=None, **kwargs):
        """A DLPack capsule sharing this tensor's memory (``torch.from_dlpack(t)``, ...)."""
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; "
                               "use tensor.detach()")
        if self._backend.host_storage and self.data.dtype.name == "bfloat16":
            from .interop.dlpack_capsule import export_bfloat16  # NumPy exports no bfloat16

            return export_bfloat16(self.data, stream=stream, **kwargs)
        return self.data.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self) -> tuple:
        """The DLPack (device type, device id) of the data: (1, 0) on the host, (2, id) on CUDA."""
        return self.data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict:
        """The CUDA array interface of a cuda tensor's data (absent on host tensors)."""
        if self._backend.host_storage:
            raise AttributeError(f"__cuda_array_interface__: a {self.device} tensor is not on "
                                 "a GPU; use __array__ or __dlpack__")
        return self.data.__cuda_array_interface__

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
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"use .any() or .all()")
        return bool(self.item())

    # ---- printing and hashing -----------------------------------------------------------------
    __hash__ = object.__hash__  # identity hash: tensors are dict keys (optimizer state)

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
