"""Exception types a PyTorch user can catch the way they are used to.

PyTorch raises RuntimeError for shape mismatches and IndexError for a dim out of range; NumPy users
catch ValueError (and NumPy's AxisError derives from both ValueError and IndexError). deeplite's
errors derive from both families, so either ``except`` clause works.
"""


class ShapeError(ValueError, RuntimeError):
    """Operand shapes do not fit the op (broadcasting, matmul, reshape, cat ...)."""


class DimError(IndexError, ValueError):
    """A dimension index is out of range for the tensor's number of dimensions."""


def normalize_dim(dim: int, ndim: int, name: str) -> int:
    """``dim`` as a non-negative index into ``ndim`` dimensions (a 0-d tensor takes 0 and -1).

    Raises DimError naming the op and the valid range, as PyTorch's "Dimension out of range".
    """
    if isinstance(dim, bool) or not isinstance(dim, int):
        try:
            dim = dim.__index__()
        except AttributeError:
            raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}") from None
    span = max(ndim, 1)  # PyTorch lets a 0-d tensor be addressed as if it had one dimension
    if not -span <= dim < span:
        raise DimError(f"{name}: dim {dim} is out of range for a tensor with {ndim} dimensions "
                       f"(expected a dim in [{-span}, {span - 1}])")
    return dim % span


class DtypeError(TypeError, RuntimeError):
    """Operands of dtypes the op will not mix (a float64 batch into float32 weights ...)."""
