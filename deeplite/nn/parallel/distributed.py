"""DistributedDataParallel: one model replica per rank, gradients averaged after each backward.

Each rank runs the same model on its share of the batch. At construction every rank checks it
built the same parameters (names, shapes, dtypes) and takes rank 0's values; after each
``backward()`` the gradients are all-reduced in buckets and divided by the world size, so each
optimizer step is the step one process would take on the whole global batch.
"""
import contextlib

from ... import autograd
from ... import distributed as dist
from ...autograd import bump_version
from ...distributed.collectives import broadcast_array, reduce_array
from ...distributed.world import WORLD
from ..module import Module
from .buckets import make_buckets


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training under ``deeplite.distributed``.

    Args:
        module: the model, built identically on every rank (same parameter names, shapes and
            dtypes: a mismatch raises ValueError naming the parameter and both ranks, before
            any tensor is exchanged).
        bucket_cap_mb: megabytes of gradients per all-reduce.
        broadcast_buffers: copy rank 0's buffers (BatchNorm's running statistics) to every rank
            at construction and before each training forward.
    Example:
        >>> import deeplite as dl
        >>> import deeplite.distributed as dist
        >>> import deeplite.nn.functional as F
        >>> from deeplite.nn.parallel import DistributedDataParallel
        >>> dist.init()
        >>> model = DistributedDataParallel(dl.nn.MLP([4, 8, 3]))
        >>> optimizer = dl.optim.SGD(model.parameters(), lr=0.1)
        >>> x_local, y_local = dl.randn(16, 4), dl.randint(0, 3, (16,))  # this rank's share
        >>> F.cross_entropy(model(x_local), y_local).backward()  # gradients averaged over ranks
        >>> optimizer.step()
        >>> dist.destroy()
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25, broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a deeplite.nn.Module, got "
                            f"{type(module).__name__}")
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) \
                or not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, "
                             f"got {bucket_cap_mb!r}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: call deeplite.distributed.init() first")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        named = list(module.named_parameters())
        _check_same_model(named, list(module.named_buffers()))
        # Frozen parameters (requires_grad=False) get rank 0's values but no gradient buckets,
        # as in PyTorch. Backward produces gradients roughly from the last layer to the first:
        # the buckets fill in that order.
        trainable = [parameter for _, parameter in reversed(named) if parameter.requires_grad]
        cap = int(bucket_cap_mb * 1024 * 1024)
        self._buckets = make_buckets(trainable, cap)
        self._callback_queued = False
        self._hook_handles: list = []
        if dist.world_size() > 1:
            for bucket in make_buckets([parameter for _, parameter in named], cap):
                bucket.pack_values()
                broadcast_array(bucket.flat, bucket.backend, 0)
                bucket.unpack_values()
            self._sync_buffers()
            self._attach_hooks(trainable)

    def _attach_hooks(self, parameters: list) -> None:
        # The tape calls each hook once the parameter's .grad is final for this backward; the
        # first one queues the reduction for the end of the backward pass (PyTorch's design).
        for parameter in parameters:
            self._hook_handles.append(
                parameter.register_post_accumulate_grad_hook(self._gradient_ready))

    def _gradient_ready(self, parameter) -> None:
        """A parameter's gradient is final: make sure the reduction runs as backward ends."""
        if self.require_backward_grad_sync and not self._callback_queued:
            self._callback_queued = True
            autograd.queue_callback(self._end_of_backward)

    def _end_of_backward(self) -> None:
        self._callback_queued = False
        self.reduce_gradients()

    def reduce_gradients(self) -> None:
        """All-reduce every parameter's gradient in buckets and divide by the world size.

        Runs by itself at the end of each ``backward()`` outside ``no_sync()``; call it directly
        only to synchronise gradients computed another way.
        """
        size = dist.world_size()
        if size == 1:
            return
        WORLD.step += 1
        for bucket in self._buckets:
            bucket.pack_gradients()
            reduce_array(bucket.flat, bucket.backend, "sum")
            bucket.unpack_gradients(1.0 / size)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally; the first backward after syncs all.

        Example:
            >>> import deeplite as dl
            >>> import deeplite.distributed as dist
            >>> from deeplite.nn.parallel import DistributedDataParallel
            >>> dist.init()
            >>> model = DistributedDataParallel(dl.nn.Linear(3, 1))
            >>> with model.no_sync():
            ...     model(dl.randn(2, 3)).sum().backward()   # local only
            >>> model(dl.randn(2, 3)).sum().backward()       # all-reduces the sum of both
            >>> dist.destroy()
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _sync_buffers(self) -> None:
        for _, buffer in self.module.named_buffers():
            broadcast_array(buffer.data, buffer._backend, 0)
            bump_version(buffer)

    def forward(self, *args, **kwargs):
        """Run the wrapped module (after taking rank 0's buffers, in training mode)."""
        self._callback_queued = False  # a backward that raised midway left it set
        if self.broadcast_buffers and self.training and autograd.is_grad_enabled() \
                and dist.world_size() > 1:
            self._sync_buffers()
        return self.module(*args, **kwargs)

    def __repr__(self) -> str:
        return f"DistributedDataParallel(\n  (module): {self.module!r}\n)"


FIELDS = ("shape", "dtype", "requires_grad")


def _describe(entry, fields) -> str:
    """E.g. "shape (5, 8) and dtype float32": the named fields of a gathered entry."""
    return " and ".join(f"{FIELDS[i]} {entry[2 + i]}" for i in fields)


def _check_same_model(parameters: list, buffers: list) -> None:
    """Every rank must hold the same tensors: MPI on mismatched sizes is undefined behaviour."""
    mine = [(kind, name, tuple(tensor.shape), str(tensor.dtype), bool(tensor.requires_grad))
            for kind, named in (("parameter", parameters), ("buffer", buffers))
            for name, tensor in named]
    everyone = [None] * dist.world_size()
    dist.all_gather_object(everyone, mine)
    reference = everyone[0]
    for other_rank, theirs in enumerate(everyone[1:], start=1):
        if theirs == reference:
            continue
        for ours, other in zip(reference, theirs, strict=False):
            if ours != other:
                if ours[:2] != other[:2]:
                    raise ValueError(
                        f"DistributedDataParallel: rank 0 has {ours[0]} {ours[1]!r} where rank "
                        f"{other_rank} has {other[0]} {other[1]!r}; every rank must build the "
                        f"same model")
                differ = [i for i in range(len(FIELDS)) if ours[2 + i] != other[2 + i]]
                raise ValueError(
                    f"DistributedDataParallel: {ours[0]} {ours[1]!r} has "
                    f"{_describe(ours, differ)} on rank 0 but {_describe(other, differ)} on rank "
                    f"{other_rank}; every rank must build the same model")
        extra = reference[len(theirs):] or theirs[len(reference):]
        holder = 0 if len(reference) > len(theirs) else other_rank
        raise ValueError(f"DistributedDataParallel: rank 0 has {len(reference)} tensors and rank "
                         f"{other_rank} has {len(theirs)}; {extra[0][0]} {extra[0][1]!r} exists "
                         f"only on rank {holder}; every rank must build the same model")
