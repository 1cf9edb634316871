"""Peak resident memory of training run (a), 784-1024-1024-10 at batch 256, per contender.

Each contender trains in a fresh subprocess (``python -m benchmarks.rss``) that imports only its
own framework, so the peak is that framework's: interpreter, libraries, weights, activations,
gradients and whatever its allocator keeps.
"""
import json
import subprocess
import sys

from .training import STEPS as NETWORKS

IN_QUICK = False
STEPS = 10


def peak_rss_mib(contender, steps: int = STEPS) -> float:
    """Peak RSS in MiB of ``steps`` training steps of (a) on ``contender``, in a subprocess."""
    command = [sys.executable, "-m", "benchmarks.rss", contender.framework, contender.device,
               str(steps)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"peak RSS of {contender.name} failed: {completed.stderr.strip()}")
    return json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_mib"]


def run(ctx):
    """Yield one group: a peak-RSS record per host contender."""
    spec = NETWORKS["train_a_mnist_mlp"]
    records = []
    for contender in ctx.contenders:
        if contender.on_gpu:  # host RSS says little about a GPU run
            continue
        record = ctx.base_record("peak_rss_train_a", spec.label, contender, "float32")
        record["peak_rss_mib"] = peak_rss_mib(contender)
        records.append(record)
    yield records
