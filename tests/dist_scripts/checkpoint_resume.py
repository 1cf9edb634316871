"""Per rank: DDP training with a checkpoint. Modes: full (EPOCHS epochs at once), first (one
epoch, then rank 0 saves), resume (rank 0 loads and broadcasts; the remaining epochs)."""
import os

from rank_common import arguments, make_data, make_model, parameters_of, write_result

import deeplite as dl
import deeplite.distributed as dist
import deeplite.nn.functional as F
from deeplite.data import DistributedSampler
from deeplite.distributed.checkpoint import load_training_state, save_training_state
from deeplite.nn.parallel import DistributedDataParallel

EPOCHS, LOCAL_BATCH = 3, 8


def main():
    out, (mode, folder) = arguments()
    dist.init()
    rank = dist.rank()
    x, y = make_data("float64")
    inner = make_model("float64", seed=100 + rank)
    # Adam keeps per-parameter state and a step count: a resume that loses them shows.
    optimizer = dl.optim.Adam(inner.parameters(), lr=0.01)
    first_epoch = 0
    path = os.path.join(folder, "state.safetensors")
    if mode == "resume":
        first_epoch = int(load_training_state(path, inner, optimizer)["epoch"])
    model = DistributedDataParallel(inner)
    sampler = DistributedSampler(range(len(x)), seed=5)
    last_epoch = 1 if mode == "first" else EPOCHS
    for epoch in range(first_epoch, last_epoch):
        sampler.set_epoch(epoch)
        indices = sampler.epoch_indices()
        for start in range(0, len(indices), LOCAL_BATCH):
            piece = indices[start:start + LOCAL_BATCH]
            optimizer.zero_grad()
            # Dropout-free model, but draw from the generator so its state matters on resume.
            noise = dl.randn(len(piece), x.shape[1], dtype=dl.float64) * 0.01
            loss = F.cross_entropy(model(dl.tensor(x[piece]) + noise), dl.tensor(y[piece]))
            loss.backward()
            optimizer.step()
    if mode == "first":
        save_training_state(path, inner, optimizer, {"epoch": str(last_epoch)})
    write_result(out, rank, parameters_of(model))


if __name__ == "__main__":
    main()
