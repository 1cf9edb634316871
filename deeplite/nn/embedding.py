"""Embedding: a lookup table of learnable vectors, with a dense gradient built by index_add."""
from typing import Optional

import numpy as np

from ..autograd import Function, no_grad
from ..creation import empty
from ..ops.movement import GetItem, IndexAdd
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class _EmbeddingLookup(Function):
    """``weight[indices]``; backward scatter-adds the rows' gradients into a dense (V, D) array,
    skipping ``padding_idx`` and dividing by each index's count when ``scale_grad_by_freq``."""

    name = "embedding"
    inputs: tuple  # set by Function.apply while the tape holds this node

    def forward(self, b, weight, indices, padding_idx, scale_grad_by_freq):
        self.indices, self.padding_idx = indices, padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        return b.getitem(weight, indices)

    def backward(self, gy):
        b, indices = gy._backend, self.indices
        host = np.asarray(b.to_numpy(indices))
        scale = None
        if self.padding_idx is not None:
            scale = (host != self.padding_idx).astype(gy.dtype)
        if self.scale_grad_by_freq:
            counts = np.bincount(host.reshape(-1), minlength=1)[host].astype(gy.dtype)
            scale = (1.0 / counts) if scale is None else scale / counts
        if scale is not None:
            gy = gy * Tensor._wrap(b.asarray(scale[..., None]), b)
        return IndexAdd.apply(gy, shape=self.inputs[0].shape, index=indices)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``forward(indices)``
    returns the rows at ``indices``, as PyTorch's Embedding (dense gradients only).

    Args:
        num_embeddings: the vocabulary size V. embedding_dim: the vector size D.
        padding_idx: a row that starts at zero and never receives gradient.
        max_norm: if given, rows looked up are rescaled in place to at most this ``norm_type``
            norm (as PyTorch, before the lookup).
        scale_grad_by_freq: divide each row's gradient by how often it occurs in the batch.
        sparse: must be False (deeplite has dense gradients only).
        _weight: an initial (V, D) table instead of N(0, 1) draws.
    Shapes:
        indices: any shape of integers in [0, V) -> (*indices.shape, D); weight (V, D).
    Example:
        >>> import deeplite
        >>> embed = deeplite.nn.Embedding(10, 4)
        >>> embed(deeplite.tensor([[1, 2], [3, 9]])).shape
        (2, 2, 4)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__()
        if sparse:
            raise ValueError("Embedding: sparse=True is not supported; deeplite computes dense "
                             "gradients (use sparse=False)")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings {self.num_embeddings}")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(self.num_embeddings, self.embedding_dim, device=device,
                                          dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight.detach() if isinstance(_weight, Tensor) else _weight,
                                    requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """Draw the table from N(0, 1) and zero the padding row, as PyTorch."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: Optional[int] = None,
                        max_norm: Optional[float] = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> "Embedding":
        """An Embedding whose table is ``embeddings`` (V, D); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, indices) -> Tensor:
        """The rows of ``weight`` at ``indices``: shape (*indices.shape, embedding_dim)."""
        b = self.weight._backend
        raw = indices.data if isinstance(indices, Tensor) else b.asarray(np.asarray(indices))
        if raw.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got {raw.dtype}; call .long()")
        host = np.asarray(b.to_numpy(raw))
        if host.size and (host.min() < 0 or host.max() >= self.num_embeddings):
            raise IndexError(f"Embedding: indices must lie in [0, {self.num_embeddings}), got "
                             f"values from {host.min()} to {host.max()}")
        if self.max_norm is not None:
            self._renorm(np.unique(host))
        return _EmbeddingLookup.apply(self.weight, indices=raw, padding_idx=self.padding_idx,
                                      scale_grad_by_freq=self.scale_grad_by_freq)

    def _renorm(self, rows: np.ndarray) -> None:
        """Rescale the looked-up rows whose norm exceeds max_norm, in place (PyTorch's rule)."""
        with no_grad():
            index = self.weight._backend.asarray(rows)
            selected = GetItem.apply(self.weight.detach(), index=index)
            norms = (selected.abs() ** self.norm_type).sum(axis=1, keepdims=True) \
                ** (1.0 / self.norm_type)
            scale = (self.max_norm / (norms + 1e-7)).clip(None, 1.0)
            self.weight[index] = selected * scale

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        return text
