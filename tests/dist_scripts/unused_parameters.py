"""Per rank: layer a is used everywhere, b only on rank 0, c nowhere; each rank writes the
gradients DDP leaves (c's as a flag: it must stay None), and a buffer that starts different on
each rank and that DDP makes rank 0's at construction and before each training forward."""
import numpy as np
from rank_common import arguments, write_result

import deeplite as dl
import deeplite.distributed as dist
from deeplite.nn.parallel import DistributedDataParallel


class ThreeLayers(dl.nn.Module):
    def __init__(self, rank: int):
        super().__init__()
        self.a, self.b, self.c = dl.nn.Linear(3, 2), dl.nn.Linear(3, 2), dl.nn.Linear(3, 2)
        self.frozen = dl.nn.Linear(3, 2)
        self.frozen.weight.requires_grad_(False)  # rank 0's values, but no gradient bucket
        self.register_buffer("running", dl.tensor([float(rank), 1.0 + rank], dtype=dl.float64))

    def forward(self, x):
        return self.a(x)


def main():
    out, _ = arguments()
    dist.init()
    rank = dist.rank()
    inner = ThreeLayers(rank).to(dl.float64)
    frozen_before = inner.frozen.weight.numpy().copy()  # drawn unseeded: differs per rank
    model = DistributedDataParallel(inner)
    at_construction = inner.running.numpy().copy()
    inner.running.data[...] = 7.0 + rank
    x = dl.tensor(np.arange(6.0).reshape(2, 3) + 10 * rank)  # known inputs: the test redoes it
    loss = model(x).sum()  # the forward takes rank 0's buffer again
    if rank == 0:
        loss = loss + (inner.b(x) * 3).sum()
    loss.backward()
    write_result(out, rank, {"a": inner.a.weight.grad.numpy(), "b": inner.b.weight.grad.numpy(),
                             "at_construction": at_construction,
                             "after_forward": inner.running.numpy(),
                             "frozen_before": frozen_before,
                             "frozen": inner.frozen.weight.numpy()},
                 {"c_is_none": inner.c.weight.grad is None,
                  "frozen_grad_is_none": inner.frozen.weight.grad is None})


if __name__ == "__main__":
    main()
