"""Per rank: train with DDP + DistributedSampler; without a launcher and with ``--reference N``,
train one process on the global order N ranks would see. Both write their final parameters."""
import numpy as np
from rank_common import (
    EPOCHS,
    GLOBAL_BATCH,
    arguments,
    global_order,
    make_data,
    make_model,
    parameters_of,
    train,
    write_result,
)

import deeplite.distributed as dist
from deeplite.data import DistributedSampler
from deeplite.nn.parallel import DistributedDataParallel

DTYPES = ("float64", "float32")


def distributed_run(dtype, accumulate: int):
    """This rank's share: local batches of GLOBAL_BATCH / world_size from the sampler."""
    rank, size = dist.rank(), dist.world_size()
    x, y = make_data(dtype)
    model = DistributedDataParallel(make_model(dtype, seed=100 + rank), bucket_cap_mb=0.001)
    sampler = DistributedSampler(range(len(x)), shuffle=True, seed=7)
    local = GLOBAL_BATCH // size
    batches = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        indices = sampler.epoch_indices()
        batches.extend(indices[start:start + local] for start in range(0, len(indices), local))
    train(model, x, y, batches, accumulate)
    return parameters_of(model)


def reference_run(dtype, replicas: int):
    """One process, global batches over the padded global order of ``replicas`` ranks."""
    x, y = make_data(dtype)
    model = make_model(dtype, seed=100)  # rank 0's initial weights, which DDP broadcasts
    batches = []
    for epoch in range(EPOCHS):
        order = global_order(replicas, epoch)
        batches.extend(order[start:start + GLOBAL_BATCH]
                       for start in range(0, len(order), GLOBAL_BATCH))
    train(model, x, y, batches)
    return parameters_of(model)


def main():
    out, rest = arguments()
    dist.init()
    arrays = {}
    if rest and rest[0] == "--reference":
        for dtype in DTYPES:
            for name, value in reference_run(dtype, int(rest[1])).items():
                arrays[f"{dtype}/{name}"] = value
    else:
        for dtype in DTYPES:
            for name, value in distributed_run(dtype, accumulate=1).items():
                arrays[f"{dtype}/{name}"] = value
        # Gradient accumulation under no_sync must give the same step as one larger batch.
        for name, value in distributed_run("float64", accumulate=2).items():
            arrays[f"no_sync/{name}"] = value
    write_result(out, dist.rank(), arrays, {"world_size": dist.world_size(),
                                            "checksum": float(sum(np.sum(v) for v in
                                                                  arrays.values()))})


if __name__ == "__main__":
    main()
