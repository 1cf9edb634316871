"""scatter_reduce's five reductions (sum, mean, prod, amax, amin) at precomputed coordinates.

``indexing.scatter_reduce`` checks the arguments and builds the coordinates; this module reduces.
sum and mean compose IndexAdd; prod, amax and amin run the array library's ``ufunc.at``
(NumPy and CuPy both have it) and write their gradients in differentiable ops.
"""
import numpy as np

from ..autograd import Function
from ..dtypes import is_floating
from ..tensor import Tensor
from .arithmetic import where
from .integer_math import floor_divide
from .movement import GetItem, IndexAdd


def _const(b, array) -> Tensor:
    return Tensor._wrap(array, b)


def _received(b, shape, coords):
    """Bool array: which positions of the output receive at least one source element."""
    hit = b.zeros(shape, np.bool_)
    hit[coords] = True
    return hit


def _identity(dtype, reduce: str):
    """The value an empty reduction starts from (what include_self=False starts a slot at)."""
    if reduce == "prod":
        return 1
    big = np.inf if is_floating(dtype) else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


class ScatterUfunc(Function):
    """out = x (or the identity where a slot receives, without self) reduced with src at coords."""

    name = "scatter_reduce"
    save_output = True

    def forward(self, b, x, src, coords, reduce, include_self):
        self.coords, self.reduce, self.include_self = coords, reduce, include_self
        out = b.copy(x)
        if not include_self:
            out[coords] = _identity(x.dtype, reduce)
        ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        if b.xp is np:
            ufunc.at(out, coords, src)
            return out
        # CuPy has ufunc.at for few ufuncs: reduce on the host (correct everywhere, slow on GPU).
        host = b.to_numpy(out)
        ufunc.at(host, tuple(b.to_numpy(c) if hasattr(c, "shape") else c for c in coords),
                 b.to_numpy(src))
        return b.asarray(host)

    def backward(self, gy):
        x, src = self.inputs
        b = gy._backend
        result = self.output()
        own = None if self.include_self else _const(b, ~_received(b, x.shape, self.coords))
        if self.reduce == "prod":
            return self._prod_backward(gy, x, src, result, own)
        # amax / amin: the gradient is shared evenly among the elements equal to the result.
        from_self = b.eq(x.data, result.data)
        if own is not None:
            from_self = b.mul(from_self, own.data)
        from_src = b.eq(src.data, b.getitem(result.data, self.coords))
        ties = b.add(b.astype(from_self, gy.dtype),
                     b.index_add(x.shape, self.coords, b.astype(from_src, gy.dtype)))
        share = gy / _const(b, b.where(b.gt(ties, 0), ties, gy.dtype.type(1)))
        gx = share * _const(b, b.astype(from_self, gy.dtype)) if x.requires_grad else None
        gsrc = (GetItem.apply(share, index=self.coords) * _const(b, b.astype(from_src, gy.dtype))
                if src.requires_grad else None)
        return gx, gsrc

    def _prod_backward(self, gy, x, src, result, own):
        """d result / d element = the product of the slot's other elements (exact with zeros)."""
        b = gy._backend
        coords = self.coords
        x_zero, src_zero = _const(b, b.eq(x.data, 0)), _const(b, b.eq(src.data, 0))
        counted_self = x_zero.data if own is None else b.mul(x_zero.data, own.data)
        zeros = b.add(b.astype(counted_self, np.int64),
                      b.index_add(x.shape, coords, b.astype(src_zero.data, np.int64)))
        no_zero, one_zero = _const(b, b.eq(zeros, 0)), _const(b, b.eq(zeros, 1))
        safe_x, safe_src = where(x_zero, 1.0, x), where(src_zero, 1.0, src)
        # Every non-zero element of the slot multiplied together (the zeros replaced by 1).
        nonzero_product = ScatterUfunc.apply(safe_x, safe_src, coords=coords, reduce="prod",
                                             include_self=self.include_self)
        gx = gsrc = None
        if x.requires_grad:
            if own is None:
                others = where(x_zero, where(one_zero, nonzero_product, 0.0),
                               where(no_zero, result / safe_x, 0.0))
            else:  # without self, only the slots that receive nothing depend on x (they are x)
                others = where(own, 1.0, 0.0)
            gx = gy * others
        if src.requires_grad:
            at = {name: GetItem.apply(t, index=coords) for name, t in (
                ("result", result), ("nonzero", nonzero_product), ("gy", gy),
                ("no_zero", no_zero), ("one_zero", one_zero))}
            others = where(src_zero, where(at["one_zero"], at["nonzero"], 0.0),
                           where(at["no_zero"], at["result"] / safe_src, 0.0))
            gsrc = at["gy"] * others
        return gx, gsrc


def scatter_reduce(x: Tensor, coords: tuple, src: Tensor, reduce: str,
                   include_self: bool) -> Tensor:
    """x with ``src`` reduced in at ``coords`` (see ``deeplite.scatter_reduce``)."""
    b = x._backend
    src = src if src.dtype == x.dtype else src.to(dtype=x.dtype)
    if reduce in ("prod", "amax", "amin"):
        return ScatterUfunc.apply(x, src, coords=coords, reduce=reduce, include_self=include_self)
    hit = _const(b, _received(b, x.shape, coords))
    base = x if include_self else where(hit, 0, x)
    total = base + IndexAdd.apply(src, shape=x.shape, index=coords)
    if reduce == "sum":
        return total
    ones = b.full(src.shape, 1, np.float64)
    count = b.index_add(x.shape, coords, ones) + (1 if include_self else 0)
    count = b.where(hit.data, count, 1.0)  # untouched slots keep x (divided by 1)
    if not is_floating(x.dtype):  # integer means round down, as PyTorch's
        return floor_divide(total, _const(b, b.astype(count, x.dtype)))
    return total / _const(b, b.astype(count, x.dtype))
