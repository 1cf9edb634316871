"""Flatten and Unflatten: reshape layers for moving between (N, C, ...) and (N, features)."""
import math

from ..ops import reshape
from ..tensor import Tensor
from .module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one, as PyTorch's Flatten.

    Example:
        >>> import deeplite
        >>> deeplite.nn.Flatten()(deeplite.zeros(32, 1, 8, 8)).shape
        (32, 64)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        """``x`` with the chosen dimensions merged (a 0-d input becomes shape (1,))."""
        if x.ndim == 0:
            return reshape(x, 1)
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if not -x.ndim <= self.start_dim < x.ndim or not -x.ndim <= self.end_dim < x.ndim \
                or start > end:
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not "
                             f"select dimensions of an input of shape {x.shape}")
        merged = math.prod(x.shape[start:end + 1])
        return reshape(x, *x.shape[:start], merged, *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (one entry may be -1), as PyTorch's.

    Example:
        >>> import deeplite
        >>> deeplite.nn.Unflatten(1, (1, 8, 8))(deeplite.zeros(32, 64)).shape
        (32, 1, 8, 8)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(int(size) for size in unflattened_size)
        if not self.unflattened_size or list(self.unflattened_size).count(-1) > 1:
            raise ValueError(f"Unflatten: unflattened_size must be a non-empty tuple with at most "
                             f"one -1, got {unflattened_size}")

    def forward(self, x: Tensor) -> Tensor:
        """``x`` with dimension ``dim`` split."""
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for shape {x.shape}")
        dim = self.dim % x.ndim
        sizes = self.unflattened_size
        known = math.prod(size for size in sizes if size != -1)
        if (-1 in sizes and (known == 0 or x.shape[dim] % known)) or \
                (-1 not in sizes and known != x.shape[dim]):
            raise ValueError(f"Unflatten: cannot split dimension {self.dim} of size "
                             f"{x.shape[dim]} into {sizes}")
        return reshape(x, *x.shape[:dim], *sizes, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
