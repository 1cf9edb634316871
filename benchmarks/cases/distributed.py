"""Data-parallel costs on this machine: all-reduce latency and bandwidth for 2 ranks, and the
share of an MLP (a) training step spent all-reducing gradients at 1 and 2 ranks.

The ranks run under ``mpiexec`` (the mpich wheel's, beside this interpreter) as
``benchmarks.dist_worker``, each pinned to one thread. Peers in the same run: raw mpi4py on NumPy
arrays (framework "numpy": the MPI floor deeplite's all_reduce stands on) and torch.distributed
over gloo (and PyTorch's DDP for the step), when torch is installed. Bandwidth is the bus
bandwidth, 2(N-1)/N x bytes / time, the figure a ring all-reduce's cost model uses.
"""
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

IN_QUICK = False
RANKS = 2
NAMES = {"deeplite": ("cpu", "deeplite"), "numpy": ("mpi4py", "numpy"),
         "torch": ("torch-gloo", "torch")}
log = logging.getLogger("benchmarks")


def _launch(ranks: int, quick: bool, repeats: int) -> dict:
    """Run the worker on ``ranks`` ranks; rank 0's JSON."""
    launcher = Path(sys.executable).parent / "mpiexec"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "distributed.json"
        command = [str(launcher), "-n", str(ranks), sys.executable, "-m",
                   "benchmarks.dist_worker", str(out), "--repeats", str(repeats)]
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   DEEPLITE_NUM_THREADS="1", MKL_NUM_THREADS="1")
        completed = subprocess.run(command + (["--quick"] if quick else []), env=env,
                                   capture_output=True, text=True, timeout=600)
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}): "
                               f"{completed.stderr.strip()[-2000:]}")
        return json.loads(out.read_text())


def _record(case: str, shape: str, entry: dict) -> dict:
    backend, framework = NAMES[entry["framework"]]
    record = {"case": case, "shape": shape, "backend": backend, "framework": framework,
              "device": "cpu", "dtype": "float32", "threads": 1}
    record.update({key: entry[key] for key in ("median_s", "min_s", "max_s", "repeats",
                                               "calls_per_sample")})
    return record


def run(ctx):
    """Yield one group per all-reduce size and one per world size of the step."""
    if not (Path(sys.executable).parent / "mpiexec").exists():
        log.warning("distributed: no mpiexec beside %s; pip install \"deeplite[dist]\"",
                    sys.executable)
        return
    by_ranks = {ranks: _launch(ranks, ctx.quick, ctx.repeats) for ranks in (1, RANKS)}
    sizes = sorted({entry["bytes"] for entry in by_ranks[RANKS]["all_reduce"]})
    for size in sizes:
        group = []
        for entry in by_ranks[RANKS]["all_reduce"]:
            if entry["bytes"] != size:
                continue
            record = _record("all_reduce_2_ranks", f"{size} B", entry)
            # Bus bandwidth: what each rank's link carries in a ring all-reduce.
            record["gbps"] = 2 * (RANKS - 1) / RANKS * size / entry["median_s"] / 1e9
            record["bytes"] = size
            group.append(record)
        yield group
    for ranks, results in by_ranks.items():
        group = []
        for entry in results["steps"]:
            record = _record("ddp_step_train_a", f"784-1024-1024-10 b256 on {ranks} rank"
                             + ("s" if ranks > 1 else ""), entry)
            record.update(samples_per_s=256 / entry["median_s"], comm_s=entry["comm_s"],
                          comm_share=entry["comm_share"], ranks=ranks)
            group.append(record)
        yield group
