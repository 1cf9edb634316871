"""Tensor: an array of one backend plus what the tape needs (requires_grad, grad, its node).

The array is the backend's own (``numpy.ndarray`` on ``numpy`` and ``cpu``, ``cupy.ndarray`` on
``cuda``) and lives in ``tensor.data``. Every operator and math method is defined here and calls
the op of the same name in ``deeplite.ops`` (public as ``deeplite.*`` / ``deeplite.functional.*``),
imported at the bottom of this file (the ops import ``Tensor`` themselves). The hot operators
(``+ - * / @``) call their Function directly: small MLPs are overhead-bound, and each Python
frame counts.
"""
import builtins

from . import dtypes
from .hooks import RemovableHandle, add_hook
from .tensor_base import TensorBase
from .tensor_ops import TensorOps

_new = object.__new__


class Tensor(TensorOps, TensorBase):
    """An n-dimensional array on one device that can record the ops applied to it.

    >>> import deeplite as dl
    >>> x = dl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [[2.0, 4.0], [6.0, 8.0]]
    """

    # The last five stay unset until used (read with getattr defaults): setting them on every
    # op's output would cost each op time for features most tensors never use.
    __slots__ = ("data", "_backend", "requires_grad", "grad", "_node", "_version_counter",
                 "_hooks", "_retains_grad", "_history", "_bf16_shadow", "__weakref__")

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor  # construction rules live in one place

        if isinstance(dtype, int) and not isinstance(dtype, bool):
            sizes = ", ".join(str(n) for n in (data, dtype))
            raise TypeError(f"Tensor({sizes}): deeplite.Tensor takes data, not a shape; call "
                            f"deeplite.empty({sizes}) (or zeros, ones, randn), or "
                            f"deeplite.tensor(data) for values")

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

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (floating-point leaves only) and return self."""
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data (and its version counter), cut from the tape."""
        out = Tensor._wrap(self.data, self._backend)
        out._version_counter = _versions.counter_of(self)
        return out

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces
        the gradient (as ``torch.Tensor.register_hook``)."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        return self._add_hook("grad", hook)

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(tensor)`` once a backward pass has accumulated into this leaf's ``.grad``."""
        if self._node is not None or not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors that require "
                               "grad take post-accumulate hooks")
        return self._add_hook("post_accumulate", hook)

    def _add_hook(self, kind: str, hook) -> RemovableHandle:
        hooks: dict = getattr(self, "_hooks", None) or {}
        self._hooks = hooks
        _engine.hooks_in_use()
        return add_hook(hooks.setdefault(kind, {}), hook)

    # ---- devices and dtypes -------------------------------------------------------------------
    def to(self, device=None, dtype=None) -> "Tensor":
        """This tensor on ``device`` and/or as ``dtype`` (differentiable; self if nothing changes).

        Accepts ``t.to("cuda")``, ``t.to(deeplite.float64)`` and ``t.to(device=..., dtype=...)``.
        """
        if dtype is None and device is not None and dtypes.looks_like_dtype(device):
            device, dtype = None, device
        out = self
        if device is not None and device != self.device:
            out = _ops.to_device(out, device)
        if dtype is not None and dtypes.resolve(dtype) != out.dtype:
            out = _ops.cast(out, dtypes.resolve(dtype))
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

    def half(self) -> "Tensor":
        """Cast to float16."""
        return self.to(dtype=dtypes.float16)

    def bfloat16(self) -> "Tensor":
        """Cast to bfloat16 (needs ml_dtypes: ``pip install 'deeplite[bf16]'``)."""
        return self.to(dtype=dtypes.bfloat16_dtype())

    # ---- operators ----------------------------------------------------------------------------
    # The fast path takes two tensors of one dtype; mixed dtypes promote as PyTorch's rules say
    # (lift_pair), and true division of integers gives the default float dtype (ops.div).
    def __add__(self, other) -> "Tensor":
        if isinstance(other, Tensor) and other.data.dtype is self.data.dtype:
            return _add(self, other)
        return _add(*_lift_pair(self, other))

    def __sub__(self, other) -> "Tensor":
        if isinstance(other, Tensor) and other.data.dtype is self.data.dtype:
            return _sub(self, other)
        return _sub(*_lift_pair(self, other))

    def __mul__(self, other) -> "Tensor":
        if isinstance(other, Tensor) and other.data.dtype is self.data.dtype:
            return _mul(self, other)
        return _mul(*_lift_pair(self, other))

    def __truediv__(self, other) -> "Tensor":
        if (isinstance(other, Tensor) and other.data.dtype is self.data.dtype
                and self.data.dtype.kind == "f"):
            return _div(self, other)
        return _ops.div(self, other)

    def __matmul__(self, other) -> "Tensor":
        if isinstance(other, Tensor) and _autocast.dtype is None:
            return _matmul(self, other)
        if isinstance(other, Tensor):
            return _ops.matmul(self, other)  # under deeplite.autocast
        return _matmul(*_lift_pair(self, other))

    def __radd__(self, other) -> "Tensor":
        return _ops.add(other, self)

    def __rsub__(self, other) -> "Tensor":
        return _ops.sub(other, self)

    def __rmul__(self, other) -> "Tensor":
        return _ops.mul(other, self)

    def __rtruediv__(self, other) -> "Tensor":
        return _ops.div(other, self)

    def __rmatmul__(self, other) -> "Tensor":
        return _ops.matmul(*_lift_pair(other, self))

    def __pow__(self, exponent) -> "Tensor":
        return _ops.pow(self, exponent)

    def __rpow__(self, base) -> "Tensor":
        return _ops.pow(base, self)

    def __neg__(self) -> "Tensor":
        return _ops.neg(self)

    def __abs__(self) -> "Tensor":
        return _ops.abs(self)

    def __getitem__(self, index) -> "Tensor":
        return _ops.getitem(self, index)

    def __eq__(self, other) -> "Tensor":  # type: ignore[override]  # elementwise, as PyTorch
        return _ops.eq(self, other)

    def __ne__(self, other) -> "Tensor":  # type: ignore[override]
        return _ops.ne(self, other)

    def __lt__(self, other) -> "Tensor":
        return _ops.lt(self, other)

    def __le__(self, other) -> "Tensor":
        return _ops.le(self, other)

    def __gt__(self, other) -> "Tensor":
        return _ops.gt(self, other)

    def __ge__(self, other) -> "Tensor":
        return _ops.ge(self, other)

    __hash__ = TensorBase.__hash__  # defining __eq__ would otherwise make tensors unhashable

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ---- in-place updates ---------------------------------------------------------------------
    def __iadd__(self, other) -> "Tensor":
        return _inplace.update(self, "add_", _ops.add, other)

    def __isub__(self, other) -> "Tensor":
        return _inplace.update(self, "sub_", _ops.sub, other)

    def __imul__(self, other) -> "Tensor":
        return _inplace.update(self, "mul_", _ops.mul, other)

    def __itruediv__(self, other) -> "Tensor":
        return _inplace.update(self, "div_", _ops.div, other)

    def add_(self, other) -> "Tensor":
        """``self += other`` in place."""
        return _inplace.update(self, "add_", _ops.add, other)

    def sub_(self, other) -> "Tensor":
        """``self -= other`` in place."""
        return _inplace.update(self, "sub_", _ops.sub, other)

    def mul_(self, other) -> "Tensor":
        """``self *= other`` in place."""
        return _inplace.update(self, "mul_", _ops.mul, other)

    def div_(self, other) -> "Tensor":
        """``self /= other`` in place."""
        return _inplace.update(self, "div_", _ops.div, other)

    def copy_(self, source) -> "Tensor":
        """Overwrite the data with ``source`` (broadcast, cast to this dtype), in place."""
        return _inplace.overwrite(self, "copy_", source)

    def fill_(self, value) -> "Tensor":
        """Set every element to ``value``, in place."""
        return _inplace.overwrite(self, "fill_", value)

    def zero_(self) -> "Tensor":
        """Set every element to 0, in place."""
        return _inplace.overwrite(self, "zero_", 0)

    def __setitem__(self, index, value) -> None:
        _inplace.set_items(self, index, value)

    # ---- math methods (each is the function of the same name in deeplite / deeplite.functional)
    def add(self, other) -> "Tensor":
        """``deeplite.add(self, other)``."""
        return _ops.add(self, other)

    def sub(self, other) -> "Tensor":
        """``deeplite.sub(self, other)``."""
        return _ops.sub(self, other)

    def mul(self, other) -> "Tensor":
        """``deeplite.mul(self, other)``."""
        return _ops.mul(self, other)

    def div(self, other, *, rounding_mode=None) -> "Tensor":
        """``deeplite.div(self, other, rounding_mode=...)``."""
        return _ops.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent) -> "Tensor":
        """``deeplite.pow(self, exponent)``."""
        return _ops.pow(self, exponent)

    def maximum(self, other) -> "Tensor":
        """``deeplite.maximum(self, other)``."""
        return _ops.maximum(self, other)

    def minimum(self, other) -> "Tensor":
        """``deeplite.minimum(self, other)``."""
        return _ops.minimum(self, other)

    def matmul(self, other) -> "Tensor":
        """``deeplite.matmul(self, other)``."""
        return _ops.matmul(self, other)

    def neg(self) -> "Tensor":
        """``-self``."""
        return _ops.neg(self)

    def exp(self) -> "Tensor":
        """``deeplite.exp(self)``."""
        return _ops.exp(self)

    def log(self) -> "Tensor":
        """``deeplite.log(self)``."""
        return _ops.log(self)

    def sqrt(self) -> "Tensor":
        """``deeplite.sqrt(self)``."""
        return _ops.sqrt(self)

    def abs(self) -> "Tensor":
        """``deeplite.abs(self)``."""
        return _ops.abs(self)

    def clip(self, min=None, max=None) -> "Tensor":
        """``deeplite.clip(self, min, max)``."""
        return _ops.clip(self, min, max)

    clamp = clip

    def eq(self, other) -> "Tensor":
        """``self == other`` elementwise."""
        return _ops.eq(self, other)

    def ne(self, other) -> "Tensor":
        """``self != other`` elementwise."""
        return _ops.ne(self, other)

    def lt(self, other) -> "Tensor":
        """``self < other`` elementwise."""
        return _ops.lt(self, other)

    def le(self, other) -> "Tensor":
        """``self <= other`` elementwise."""
        return _ops.le(self, other)

    def gt(self, other) -> "Tensor":
        """``self > other`` elementwise."""
        return _ops.gt(self, other)

    def ge(self, other) -> "Tensor":
        """``self >= other`` elementwise."""
        return _ops.ge(self, other)

    def sum(self, *args, **kwargs) -> "Tensor":
        """``deeplite.sum(self, ...)``."""
        return _ops.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs) -> "Tensor":
        """``deeplite.mean(self, ...)``."""
        return _ops.mean(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        """``deeplite.max(self, ...)``."""
        return _ops.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        """``deeplite.min(self, ...)``."""
        return _ops.min(self, *args, **kwargs)

    def argmax(self, *args, **kwargs) -> "Tensor":
        """``deeplite.argmax(self, ...)``."""
        return _ops.argmax(self, *args, **kwargs)

    def var(self, *args, **kwargs) -> "Tensor":
        """``deeplite.var(self, ...)``."""
        return _ops.var(self, *args, **kwargs)

    def std(self, *args, **kwargs) -> "Tensor":
        """``deeplite.std(self, ...)``."""
        return _ops.std(self, *args, **kwargs)

    def reshape(self, *shape) -> "Tensor":
        """``deeplite.reshape(self, *shape)``."""
        return _ops.reshape(self, *shape)

    view = reshape

    def transpose(self, *dims) -> "Tensor":
        """``deeplite.transpose(self, *dims)``."""
        return _ops.transpose(self, *dims)

    def permute(self, *dims) -> "Tensor":
        """``deeplite.permute(self, *dims)``."""
        return _ops.permute(self, *dims)

    @property
    def T(self) -> "Tensor":
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        return _ops.permute(self, *reversed(range(self.ndim)))

    def broadcast_to(self, shape) -> "Tensor":
        """``deeplite.broadcast_to(self, shape)``."""
        return _ops.broadcast_to(self, shape)


    def sigmoid(self) -> "Tensor":
        """``deeplite.sigmoid(self)``."""
        return _ops.activation.sigmoid(self)

    def relu(self) -> "Tensor":
        """``deeplite.relu(self)``."""
        return _ops.activation.relu(self)

    def leaky_relu(self, negative_slope: builtins.float = 0.01) -> "Tensor":
        """``deeplite.functional.leaky_relu(self, negative_slope)``."""
        return _ops.activation.leaky_relu(self, negative_slope)

    def tanh(self) -> "Tensor":
        """``deeplite.tanh(self)``."""
        return _ops.activation.tanh(self)

    def softplus(self) -> "Tensor":
        """``deeplite.softplus(self)``."""
        return _ops.activation.softplus(self)

    def log_sigmoid(self) -> "Tensor":
        """``deeplite.log_sigmoid(self)``."""
        return _ops.activation.log_sigmoid(self)

    def softmax(self, *args, **kwargs) -> "Tensor":
        """``deeplite.softmax(self, ...)``."""
        return _ops.activation.softmax(self, *args, **kwargs)

    def log_softmax(self, *args, **kwargs) -> "Tensor":
        """``deeplite.log_softmax(self, ...)``."""
        return _ops.activation.log_softmax(self, *args, **kwargs)

    def heaviside(self, value: builtins.float = 0.0) -> "Tensor":
        """``deeplite.heaviside(self, value)``."""
        return _ops.activation.heaviside(self, value)


# The ops import Tensor, so they are imported once it exists; the methods above find them here.
from . import autograd as _autograd  # noqa: E402
from . import engine as _engine  # noqa: E402
from . import inplace as _inplace  # noqa: E402
from . import ops as _ops  # noqa: E402
from . import versions as _versions  # noqa: E402
from .ops.arithmetic import Add, Div, Mul, Sub  # noqa: E402
from .ops.autocast import state as _autocast  # noqa: E402
from .ops.linalg import MatMul  # noqa: E402
from .ops.scalars import lift_pair as _lift_pair  # noqa: E402

_add, _sub, _mul, _div, _matmul = Add.apply, Sub.apply, Mul.apply, Div.apply, MatMul.apply
from . import creation as _creation  # noqa: E402
from .ops import surface as _surface_ops  # noqa: E402
from .tensor_ops import bind as _bind_surface  # noqa: E402

_bind_surface(_surface_ops, _creation)
