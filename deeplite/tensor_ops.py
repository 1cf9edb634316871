"""Tensor's methods for the PyTorch surface: each is the op of the same name in ``deeplite``
(``deeplite/ops/surface.py`` collects them), and a few conversions PyTorch users reach for.

``Tensor`` (``deeplite/tensor.py``) derives from this mixin; the methods are spelled out (no
setattr loop) so readers and type checkers see them. The op modules import ``Tensor``, so they
are bound here by ``tensor.py`` once it exists (``bind``).
"""
from typing import Any

from . import dtypes, tensor_math
from .errors import ShapeError

_ops: Any = None  # deeplite.ops.surface, bound by tensor.py
_creation: Any = None  # deeplite.creation, bound by tensor.py

# PyTorch's legacy type names (``t.type()``) for the dtypes that have one.
TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
              "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
              "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def bind(ops_module, creation_module) -> None:
    """Give the methods their op modules (called once by tensor.py, after Tensor exists)."""
    global _ops, _creation
    _ops, _creation = ops_module, creation_module
    tensor_math.bind(ops_module)


class TensorOps(tensor_math.TensorMath):
    """The surface's methods and conversions; holds no state (see ``Tensor``)."""

    __slots__ = ()
    # ---- shape and movement ----------------------------------------------------------------------
    def squeeze(self, *args, **kwargs):
        """``deeplite.squeeze(self, ...)``."""
        return _ops.squeeze(self, *args, **kwargs)

    def unsqueeze(self, *args, **kwargs):
        """``deeplite.unsqueeze(self, ...)``."""
        return _ops.unsqueeze(self, *args, **kwargs)

    def flatten(self, *args, **kwargs):
        """``deeplite.flatten(self, ...)``."""
        return _ops.flatten(self, *args, **kwargs)

    def unflatten(self, *args, **kwargs):
        """``deeplite.unflatten(self, ...)``."""
        return _ops.unflatten(self, *args, **kwargs)

    def expand(self, *args, **kwargs):
        """``deeplite.expand(self, ...)``."""
        return _ops.expand(self, *args, **kwargs)

    def repeat(self, *args, **kwargs):
        """``deeplite.repeat(self, ...)``."""
        return _ops.repeat(self, *args, **kwargs)

    def tile(self, *args, **kwargs):
        """``deeplite.tile(self, ...)``."""
        return _ops.tile(self, *args, **kwargs)

    def flip(self, *args, **kwargs):
        """``deeplite.flip(self, ...)``."""
        return _ops.flip(self, *args, **kwargs)

    def fliplr(self, *args, **kwargs):
        """``deeplite.fliplr(self, ...)``."""
        return _ops.fliplr(self, *args, **kwargs)

    def flipud(self, *args, **kwargs):
        """``deeplite.flipud(self, ...)``."""
        return _ops.flipud(self, *args, **kwargs)

    def roll(self, *args, **kwargs):
        """``deeplite.roll(self, ...)``."""
        return _ops.roll(self, *args, **kwargs)

    def split(self, *args, **kwargs):
        """``deeplite.split(self, ...)``."""
        return _ops.split(self, *args, **kwargs)

    def chunk(self, *args, **kwargs):
        """``deeplite.chunk(self, ...)``."""
        return _ops.chunk(self, *args, **kwargs)

    def tensor_split(self, *args, **kwargs):
        """``deeplite.tensor_split(self, ...)``."""
        return _ops.tensor_split(self, *args, **kwargs)

    def narrow(self, *args, **kwargs):
        """``deeplite.narrow(self, ...)``."""
        return _ops.narrow(self, *args, **kwargs)

    def unbind(self, *args, **kwargs):
        """``deeplite.unbind(self, ...)``."""
        return _ops.unbind(self, *args, **kwargs)

    def repeat_interleave(self, *args, **kwargs):
        """``deeplite.repeat_interleave(self, ...)``."""
        return _ops.repeat_interleave(self, *args, **kwargs)

    def movedim(self, *args, **kwargs):
        """``deeplite.movedim(self, ...)``."""
        return _ops.movedim(self, *args, **kwargs)

    def moveaxis(self, *args, **kwargs):
        """``deeplite.moveaxis(self, ...)``."""
        return _ops.moveaxis(self, *args, **kwargs)

    def swapaxes(self, *args, **kwargs):
        """``deeplite.swapaxes(self, ...)``."""
        return _ops.swapaxes(self, *args, **kwargs)

    def swapdims(self, *args, **kwargs):
        """``deeplite.swapdims(self, ...)``."""
        return _ops.swapdims(self, *args, **kwargs)

    def diagonal(self, *args, **kwargs):
        """``deeplite.diagonal(self, ...)``."""
        return _ops.diagonal(self, *args, **kwargs)

    def diag(self, *args, **kwargs):
        """``deeplite.diag(self, ...)``."""
        return _ops.diag(self, *args, **kwargs)

    def diag_embed(self, *args, **kwargs):
        """``deeplite.diag_embed(self, ...)``."""
        return _ops.diag_embed(self, *args, **kwargs)

    def tril(self, *args, **kwargs):
        """``deeplite.tril(self, ...)``."""
        return _ops.tril(self, *args, **kwargs)

    def triu(self, *args, **kwargs):
        """``deeplite.triu(self, ...)``."""
        return _ops.triu(self, *args, **kwargs)

    def clone(self, *args, **kwargs):
        """``deeplite.clone(self, ...)``."""
        return _ops.clone(self, *args, **kwargs)

    def contiguous(self, *args, **kwargs):
        """``deeplite.contiguous(self, ...)``."""
        return _ops.contiguous(self, *args, **kwargs)

    # ---- reductions, sorting and cumulative ops --------------------------------------------------
    def prod(self, *args, **kwargs):
        """``deeplite.prod(self, ...)``."""
        return _ops.prod(self, *args, **kwargs)

    def amax(self, *args, **kwargs):
        """``deeplite.amax(self, ...)``."""
        return _ops.amax(self, *args, **kwargs)

    def amin(self, *args, **kwargs):
        """``deeplite.amin(self, ...)``."""
        return _ops.amin(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        """``deeplite.argmin(self, ...)``."""
        return _ops.argmin(self, *args, **kwargs)

    def all(self, *args, **kwargs):
        """``deeplite.all(self, ...)``."""
        return _ops.all(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        """``deeplite.any(self, ...)``."""
        return _ops.any(self, *args, **kwargs)

    def logsumexp(self, *args, **kwargs):
        """``deeplite.logsumexp(self, ...)``."""
        return _ops.logsumexp(self, *args, **kwargs)

    def norm(self, *args, **kwargs):
        """``deeplite.norm(self, ...)``."""
        return _ops.norm(self, *args, **kwargs)

    def median(self, *args, **kwargs):
        """``deeplite.median(self, ...)``."""
        return _ops.median(self, *args, **kwargs)

    def nanmedian(self, *args, **kwargs):
        """``deeplite.nanmedian(self, ...)``."""
        return _ops.nanmedian(self, *args, **kwargs)

    def sort(self, *args, **kwargs):
        """``deeplite.sort(self, ...)``."""
        return _ops.sort(self, *args, **kwargs)

    def argsort(self, *args, **kwargs):
        """``deeplite.argsort(self, ...)``."""
        return _ops.argsort(self, *args, **kwargs)

    def msort(self, *args, **kwargs):
        """``deeplite.msort(self, ...)``."""
        return _ops.msort(self, *args, **kwargs)

    def topk(self, *args, **kwargs):
        """``deeplite.topk(self, ...)``."""
        return _ops.topk(self, *args, **kwargs)

    def kthvalue(self, *args, **kwargs):
        """``deeplite.kthvalue(self, ...)``."""
        return _ops.kthvalue(self, *args, **kwargs)

    def cumsum(self, *args, **kwargs):
        """``deeplite.cumsum(self, ...)``."""
        return _ops.cumsum(self, *args, **kwargs)

    def cumprod(self, *args, **kwargs):
        """``deeplite.cumprod(self, ...)``."""
        return _ops.cumprod(self, *args, **kwargs)

    def cummax(self, *args, **kwargs):
        """``deeplite.cummax(self, ...)``."""
        return _ops.cummax(self, *args, **kwargs)

    def cummin(self, *args, **kwargs):
        """``deeplite.cummin(self, ...)``."""
        return _ops.cummin(self, *args, **kwargs)

    def logcumsumexp(self, *args, **kwargs):
        """``deeplite.logcumsumexp(self, ...)``."""
        return _ops.logcumsumexp(self, *args, **kwargs)

    # ---- indexing with tensors -------------------------------------------------------------------
    def gather(self, *args, **kwargs):
        """``deeplite.gather(self, ...)``."""
        return _ops.gather(self, *args, **kwargs)

    def scatter(self, *args, **kwargs):
        """``deeplite.scatter(self, ...)``."""
        return _ops.scatter(self, *args, **kwargs)

    def scatter_add(self, *args, **kwargs):
        """``deeplite.scatter_add(self, ...)``."""
        return _ops.scatter_add(self, *args, **kwargs)

    def scatter_reduce(self, *args, **kwargs):
        """``deeplite.scatter_reduce(self, ...)``."""
        return _ops.scatter_reduce(self, *args, **kwargs)

    def index_select(self, *args, **kwargs):
        """``deeplite.index_select(self, ...)``."""
        return _ops.index_select(self, *args, **kwargs)

    def masked_fill(self, *args, **kwargs):
        """``deeplite.masked_fill(self, ...)``."""
        return _ops.masked_fill(self, *args, **kwargs)

    def masked_select(self, *args, **kwargs):
        """``deeplite.masked_select(self, ...)``."""
        return _ops.masked_select(self, *args, **kwargs)

    def nonzero(self, *args, **kwargs):
        """``deeplite.nonzero(self, ...)``."""
        return _ops.nonzero(self, *args, **kwargs)

    def argwhere(self, *args, **kwargs):
        """``deeplite.argwhere(self, ...)``."""
        return _ops.argwhere(self, *args, **kwargs)

    def take_along_dim(self, *args, **kwargs):
        """``deeplite.take_along_dim(self, ...)``."""
        return _ops.take_along_dim(self, *args, **kwargs)

    @property
    def mT(self):
        """The last two dims swapped (each matrix of a batch transposed), as ``Tensor.mT``."""
        return _ops.matrix_transpose(self)

    def mm(self: Any, other):
        """The matrix product of two 2-D tensors (as ``Tensor.mm``; ``matmul`` broadcasts)."""
        if self.ndim != 2 or getattr(other, "ndim", None) != 2:
            raise ShapeError(f"mm: expects two 2-D tensors, got shapes {self.shape} and "
                                  f"{getattr(other, 'shape', type(other).__name__)}; "
                                  f"use matmul for batches and vectors")
        return self @ other

    def clamp_min(self: Any, min):
        """max(self, min) elementwise (``Tensor.clamp_min``)."""
        return self.clip(min=min)

    def clamp_max(self: Any, max):
        """min(self, max) elementwise (``Tensor.clamp_max``)."""
        return self.clip(max=max)

    # ---- conversions ------------------------------------------------------------------------
    def int(self: Any):
        """Cast to int32 (as ``Tensor.int``)."""
        return self.to(dtype=dtypes.int32)

    def bool(self: Any):
        """Cast to bool (as ``Tensor.bool``)."""
        return self.to(dtype=dtypes.bool_)

    def half(self: Any):
        """Cast to float16 (as ``Tensor.half``)."""
        return self.to(dtype=dtypes.float16)

    def type(self: Any, dtype=None):
        """The type name ("deeplite.FloatTensor", as ``Tensor.type()``), or with ``dtype`` the
        tensor cast to it (a dtype, its name, or a type name like "torch.LongTensor")."""
        if dtype is None:
            return f"deeplite.{TYPE_NAMES.get(str(self.dtype), str(self.dtype))}"
        if isinstance(dtype, str) and dtype.rpartition(".")[2] in TYPE_NAMES.values():
            wanted = dtype.rpartition(".")[2]
            dtype = next(name for name, type_name in TYPE_NAMES.items() if type_name == wanted)
        return self.to(dtype=dtype)

    def uniform_(self, a: float = 0.0, b: float = 1.0):
        """Fill in place with uniform draws on [a, b) from the seeded generator."""
        return _creation.fill_random_(self, "uniform", a, b)

    def normal_(self, mean: float = 0.0, std: float = 1.0):
        """Fill in place with normal draws (``mean``, ``std``) from the seeded generator."""
        return _creation.fill_random_(self, "normal", mean, std)

    def __format__(self: Any, spec: str) -> str:
        # A 0-d tensor formats as its number (f"{loss:.4f}"), as in PyTorch.
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a tensor of shape "
                            f"{self.shape}; format .item() of a 0-d tensor instead")
        return repr(self)
