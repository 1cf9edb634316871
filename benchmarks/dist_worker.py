"""``mpiexec -n N python -m benchmarks.dist_worker OUT.json``: one rank of the distributed case.

Times, on every rank at once and keeping the slowest rank's time of each round:
- all-reduce of float32 buffers from 1 KB to 64 MB: deeplite's ``all_reduce``, raw mpi4py on a
  NumPy array (the floor deeplite stands on) and torch.distributed's gloo (when torch is here);
- one training step of MLP (a), 784-1024-1024-10 at a global batch of 256, under deeplite's and
  PyTorch's DistributedDataParallel, with the time spent all-reducing gradients.
Rank 0 writes the figures as JSON.
"""
import argparse
import json
import statistics
import time

import numpy as np

import deeplite as dl
import deeplite.distributed as dist
import deeplite.nn.functional as F
from deeplite.distributed.world import WORLD
from deeplite.nn.parallel import DistributedDataParallel

SIZES = [1 << bits for bits in range(10, 27, 2)]  # 1 KB, 4 KB, ..., 64 MB
QUICK_SIZES = [1 << 10, 1 << 16, 1 << 22]
MLP_A, GLOBAL_BATCH = (784, 1024, 1024, 10), 256
ROUND_S = 0.02  # aim each timed round at about this long


def slowest(seconds: float) -> float:
    """The largest of every rank's ``seconds``: a collective is as slow as its slowest rank."""
    return WORLD.comm.allreduce(seconds, op=WORLD.mpi.MAX) if WORLD.comm else seconds


def time_rounds(call, repeats: int) -> dict:
    """Median, min and max seconds per call over ``repeats`` rounds, all ranks in step."""
    call()
    call()  # warm up: first-touch pages, connections, caches
    dist.barrier()
    started = time.perf_counter()
    for _ in range(3):
        call()
    probe = slowest((time.perf_counter() - started) / 3)
    inner = int(np.clip(ROUND_S / max(probe, 1e-7), 1, 1000))
    rounds = []
    for _ in range(repeats):
        dist.barrier()
        started = time.perf_counter()
        for _ in range(inner):
            call()
        rounds.append(slowest((time.perf_counter() - started) / inner))
    return {"median_s": statistics.median(rounds), "min_s": min(rounds), "max_s": max(rounds),
            "repeats": repeats, "calls_per_sample": inner}


def torch_group(torch):
    """torch.distributed over gloo on this machine, the port chosen by rank 0."""
    import socket

    port = None
    if dist.rank() == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    port = WORLD.comm.bcast(port, root=0) if WORLD.comm else port
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                         rank=dist.rank(), world_size=dist.world_size())
    return torch.distributed


def _contenders(host: np.ndarray, torch_dist) -> dict:
    """Framework -> a call that all-reduces its own copy of ``host`` in place."""
    ours = dl.tensor(host.copy(), device="cpu" if "cpu" in dl.available_devices() else "numpy")
    raw = host.copy()
    calls = {"deeplite": lambda: dist.all_reduce(ours),
             "numpy": lambda: WORLD.comm.Allreduce(WORLD.mpi.IN_PLACE, raw)}
    if torch_dist is not None:
        import torch

        theirs = torch.from_numpy(host.copy())
        calls["torch"] = lambda: torch_dist.all_reduce(theirs)
    return calls


def all_reduce_cases(sizes, repeats: int, torch_dist) -> list:
    """One entry per (size, contender)."""
    results = []
    for size in sizes:
        host = np.random.default_rng(dist.rank()).standard_normal(size // 4, dtype=np.float32)
        for framework, call in _contenders(host, torch_dist).items():
            results.append({"bytes": size, "framework": framework, **time_rounds(call, repeats)})
    return results


def deeplite_step(local_batch: int, rng):
    """A DDP training step of MLP (a) and a dict where it adds up the all-reduce seconds."""
    device = "cpu" if "cpu" in dl.available_devices() else "numpy"
    model = DistributedDataParallel(dl.nn.MLP(list(MLP_A), device=device))
    optimizer = dl.optim.SGD(model.parameters(), lr=0.01)
    x = dl.tensor(rng.standard_normal((local_batch, MLP_A[0]), dtype=np.float32), device=device)
    y = dl.tensor(rng.integers(0, MLP_A[-1], local_batch), device=device)
    spent = {"comm_s": 0.0}
    reduce = model.reduce_gradients

    def timed_reduce():
        started = time.perf_counter()
        reduce()
        spent["comm_s"] += time.perf_counter() - started
    model.reduce_gradients = timed_reduce  # the end-of-backward callback calls it by name

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step, spent


def torch_step(torch, local_batch: int, rng):
    """PyTorch's DDP step of MLP (a) (gloo), and its all-reduce seconds via a comm hook."""
    layers = []
    for fan_in, fan_out in zip(MLP_A, MLP_A[1:], strict=False):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(*layers[:-1]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.from_numpy(rng.standard_normal((local_batch, MLP_A[0]), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, MLP_A[-1], local_batch))
    spent = {"comm_s": 0.0}

    def timed_hook(state, bucket):
        started = time.perf_counter()
        tensor = bucket.buffer()
        torch.distributed.all_reduce(tensor)  # synchronous, so the time is the all-reduce's
        spent["comm_s"] += time.perf_counter() - started
        future = torch.futures.Future()
        future.set_result(tensor / dist.world_size())
        return future
    model.register_comm_hook(None, timed_hook)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step, spent


def step_cases(repeats: int, torch) -> list:
    """Step time and all-reduce share of MLP (a) for each framework, at this world size."""
    local_batch = GLOBAL_BATCH // dist.world_size()
    makers = {"deeplite": lambda rng: deeplite_step(local_batch, rng)}
    if torch is not None and dist.world_size() > 1:
        makers["torch"] = lambda rng: torch_step(torch, local_batch, rng)
    results = []
    for framework, make in makers.items():
        step, spent = make(np.random.default_rng(0))
        timing = time_rounds(step, repeats)
        calls = 5 + timing["repeats"] * timing["calls_per_sample"]  # 2 warm-ups, 3 probes
        comm = slowest(spent["comm_s"] / calls)
        results.append({"framework": framework, "ranks": dist.world_size(),
                        "comm_s": comm, "comm_share": comm / timing["median_s"], **timing})
    return results


def main(argv=None) -> int:
    """Run this rank's share; rank 0 writes the JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dist_worker")
    parser.add_argument("out")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    dist.init()
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            torch = None
    torch_dist = torch_group(torch) if torch is not None and dist.world_size() > 1 else None
    results = {"ranks": dist.world_size(), "steps": step_cases(args.repeats, torch),
               "versions": {"mpi": WORLD.mpi.Get_library_version().splitlines()[0]
                            if WORLD.mpi else None,
                            "torch": getattr(torch, "__version__", None)}}
    if dist.world_size() > 1:
        sizes = QUICK_SIZES if args.quick else SIZES
        results["all_reduce"] = all_reduce_cases(sizes, args.repeats, torch_dist)
    if dist.rank() == 0:
        with open(args.out, "w") as file:
            json.dump(results, file)
    if torch_dist is not None:
        torch_dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
