"""Gradient buckets: each a preallocated contiguous buffer holding several parameters' gradients.

One all-reduce per bucket instead of one per parameter: a collective's fixed cost (microseconds on
shared memory, tens of them over a network) is then paid per ~25 MB, not per tensor. Buckets fill
in reverse parameter order, the order backward produces gradients in. Each bucket ends with one
slot per parameter that says whether this rank has a gradient for it: after the sum, a parameter
no rank touched keeps ``grad=None`` (as in one process), and one some ranks touched gets the
others' zeros averaged in.
"""
from ...autograd import bump_version
from ...tensor import Tensor


class Bucket:
    """Parameters of one device and dtype, and the flat buffer their gradients travel in."""

    def __init__(self, parameters: list):
        self.parameters = parameters
        first = parameters[0]
        self.backend, self.dtype = first._backend, first.dtype
        self.slices, start = [], 0
        for parameter in parameters:
            self.slices.append((start, start + parameter.numel(), parameter.shape))
            start += parameter.numel()
        self.presence_start = start
        self.flat = self.backend.xp.empty(start + len(parameters), dtype=self.dtype)
        self.all_present = True  # every parameter had a gradient here at the last pack

    @property
    def nbytes(self) -> int:
        """Bytes one all-reduce of this bucket moves per rank."""
        return int(self.flat.nbytes)

    def _view(self, index: int):
        start, stop, shape = self.slices[index]
        return self.flat[start:stop].reshape(shape)

    def pack_gradients(self) -> None:
        """Copy every gradient into the buffer (zeros, and a 0 presence slot, where none)."""
        xp = self.backend.xp
        present = [parameter.grad is not None for parameter in self.parameters]
        self.all_present = all(present)
        for index, parameter in enumerate(self.parameters):
            if present[index]:
                xp.copyto(self._view(index), parameter.grad.data)
            else:
                self._view(index)[...] = 0
        # One write for all the slots (on a GPU: one small copy, not one kernel per parameter).
        self.flat[self.presence_start:] = xp.asarray(present, dtype=self.dtype)

    def unpack_gradients(self, scale: float) -> None:
        """Write the summed buffer times ``scale`` back into the gradients, in place."""
        xp = self.backend.xp
        # Reading the summed slots back is a host sync on a GPU: needed only when this rank
        # lacked a gradient (otherwise every sum is at least 1).
        presence = [1] * len(self.parameters) if self.all_present else \
            self.backend.to_numpy(self.flat[self.presence_start:])
        xp.multiply(self.flat[:self.presence_start], scale, out=self.flat[:self.presence_start])
        for index, parameter in enumerate(self.parameters):
            if not presence[index]:
                continue  # no rank has a gradient for it: it stays None, as in one process
            values, grad = self._view(index), parameter.grad
            if grad is not None and grad.data.flags.c_contiguous and grad.data.flags.writeable:
                xp.copyto(grad.data, values)
                bump_version(grad)
            else:
                parameter.grad = Tensor._wrap(values.copy(), self.backend)

    def pack_values(self) -> None:
        """Copy the parameters' values into the buffer (to broadcast them)."""
        for index, parameter in enumerate(self.parameters):
            self.backend.xp.copyto(self._view(index), parameter.data)

    def unpack_values(self) -> None:
        """Write the buffer back into the parameters' values, in place."""
        for index, parameter in enumerate(self.parameters):
            self.backend.xp.copyto(parameter.data, self._view(index))
            bump_version(parameter)


def make_buckets(parameters: list, cap_bytes: int) -> list:
    """Group ``parameters`` (in backward order) into buckets of one device and dtype, each up to
    ``cap_bytes`` (a larger parameter gets a bucket of its own)."""
    buckets: list = []
    open_buckets: dict = {}  # (device, dtype) -> [members, bytes] of the bucket being filled
    for parameter in parameters:
        key = (parameter.device, str(parameter.dtype))
        group = open_buckets.get(key)
        size = parameter.numel() * parameter.dtype.itemsize
        if group is not None and group[1] + size > cap_bytes:
            buckets.append(Bucket(group[0]))
            group = None
        if group is None:
            group = open_buckets[key] = [[], 0]
        group[0].append(parameter)
        group[1] += size
    buckets.extend(Bucket(members) for members, _ in open_buckets.values())
    return buckets
