"""Per-replay scalars on the device (import-free: no CuPy): what deeplite.jit's CUDA graphs hand
deeplite's CUDA kernels in place of learning rates, step counts and dropout stream words, and
the (block, value, slot) launch arguments the kernels read them from (dl_cuda.h's ScalarOf).
"""


class DeviceScalar:
    """Slot ``slot`` of a device scalar block (a float64 CuPy array): handed to a kernel in place
    of a number, the kernel reads the value there at launch. deeplite.jit's CUDA graphs capture
    their per-replay scalars (learning rates, step counts, dropout stream words) this way, so one
    graph serves every replay. It has no value on the host: arithmetic on it raises TypeError."""

    __slots__ = ("block", "slot")

    def __init__(self, block, slot: int):
        self.block, self.slot = block, int(slot)

    def __repr__(self) -> str:
        return f"DeviceScalar(slot={self.slot})"


def scalar_args(*values) -> tuple:
    """The kernel arguments of per-replay scalars: the scalar block (None when every value is a
    number), then (value, slot) for each, as dl_cuda.h's ScalarOf reads them."""
    block, args = None, []
    for value in values:
        if isinstance(value, DeviceScalar):
            if block is not None and value.block is not block:
                raise ValueError("scalar_args: device scalars of two different blocks")
            block = value.block
            args += [0.0, value.slot]
        else:
            args += [float(value), 0]
    return (block, *args)
