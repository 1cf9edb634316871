"""Per rank, on a GPU: collectives and a DDP step on CUDA tensors. With one GPU for all ranks
they are staged through the host (and say why once); a 1-process run uses a 1-rank NCCL
communicator directly, since a world of one skips collectives."""
import numpy as np
from rank_common import arguments, make_data, make_model, parameters_of, train, write_result

import deeplite as dl
import deeplite.distributed as dist
from deeplite.distributed.world import WORLD
from deeplite.nn.parallel import DistributedDataParallel


def main():
    out, rest = arguments()
    dist.init(backend=rest[0] if rest else "auto")
    rank, size = dist.rank(), dist.world_size()
    arrays, info = {}, {"world_size": size}
    values = dl.tensor(np.arange(6.0) + rank, device="cuda")
    if size == 1:
        group = WORLD.nccl
        info["nccl_usable"] = bool(group and group.usable)
        if group is not None and group.usable:
            group.all_reduce(values.data, "sum")  # a 1-rank communicator: values unchanged
            group.broadcast(values.data, 0)
    else:
        dist.all_reduce(values)
        info["staged_reason"] = WORLD.nccl.reason if WORLD.nccl else "backend mpi"
    arrays["all_reduce"] = values.numpy()
    x, y = make_data("float32")
    model = DistributedDataParallel(make_model("float32", seed=100 + rank).to("cuda"))
    local = 12 // size
    order = np.arange(48)[rank::size]
    train(model, x, y, [order[start:start + local] for start in range(0, len(order), local)],
          device="cuda")
    arrays.update(parameters_of(model))
    write_result(out, rank, arrays, info)


if __name__ == "__main__":
    main()
