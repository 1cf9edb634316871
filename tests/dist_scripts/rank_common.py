"""What every per-rank script shares: data, a model, one training run, and the result file.

The data set has 103 samples, which neither 2 nor 3 ranks divide: DistributedSampler pads it by
wrapping. A one-process reference reproduces a run on N ranks by training on the same padded
global order (the N ranks' index lists interleaved) in global batches.
"""
import json
import os
import sys

import numpy as np

import deeplite as dl
import deeplite.nn.functional as F
from deeplite.data import DistributedSampler

SAMPLES, FEATURES, CLASSES = 103, 5, 3
GLOBAL_BATCH = 12  # divisible by 1, 2, 3 and 4: every rank's local batch is the same size
EPOCHS = 2


def make_data(dtype):
    """The same random classification set on every rank (fixed seed)."""
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((SAMPLES, FEATURES)).astype(dtype)
    y = rng.integers(0, CLASSES, SAMPLES)
    return x, y


def make_model(dtype, seed: int):
    """A small MLP; ``seed`` differs per rank on purpose: DDP must broadcast rank 0's weights."""
    dl.manual_seed(seed)
    return dl.nn.MLP([FEATURES, 16, 16, CLASSES], activation="tanh").to(dtype=dtype)


def global_order(replicas: int, epoch: int) -> np.ndarray:
    """Positions of the padded global order, as ``replicas`` ranks see it together."""
    dataset = range(SAMPLES)
    parts = []
    for rank in range(replicas):
        sampler = DistributedSampler(dataset, replicas, rank, shuffle=True, seed=7)
        sampler.set_epoch(epoch)
        parts.append(sampler.epoch_indices())
    return np.stack(parts, axis=1).reshape(-1)  # rank r holds positions r, r+N, r+2N, ...


def train(model, x, y, batches, accumulate: int = 1, device: str = None):
    """SGD with momentum over ``batches`` (index arrays); optionally split each batch into
    ``accumulate`` micro-batches whose gradients add up (DDP: under no_sync but the last)."""
    optimizer = dl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for index in batches:
        optimizer.zero_grad()
        pieces = np.array_split(index, accumulate)
        for number, piece in enumerate(pieces):
            xb, yb = dl.tensor(x[piece], device=device), dl.tensor(y[piece], device=device)
            loss = F.cross_entropy(model(xb), yb) * (len(piece) / len(index))
            last = number == len(pieces) - 1
            sync = getattr(model, "no_sync", None)
            if sync is not None and not last:
                with sync():
                    loss.backward()
            else:
                loss.backward()
        optimizer.step()
    return optimizer


def parameters_of(model) -> dict:
    """Name -> float64 copy of each parameter (the inner module's names, without "module.")."""
    inner = getattr(model, "module", model)
    return {name: parameter.detach().numpy().copy() for name, parameter in
            inner.named_parameters()}


def write_result(out: str, rank: int, arrays: dict, info: dict = None) -> None:
    """Every rank writes its result: the test checks all are there (MPICH can exit 0 when one
    rank dies)."""
    np.savez(os.path.join(out, f"rank{rank}.npz"), **arrays)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as file:
        json.dump(info or {}, file)


def arguments():
    """(output folder, other arguments) from the command line."""
    return sys.argv[1], sys.argv[2:]
