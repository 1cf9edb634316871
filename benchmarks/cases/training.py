"""End-to-end training steps (forward, loss, backward, SGD) in ms per step and samples/s.

The four networks span the regimes: (a) GEMM-bound 784-1024-1024-10, (b) a mid-size BCE model where
GEMM and framework overhead are comparable, (c) a tiny model that only measures overhead, and (d) a
deep narrow stack where the tape's per-layer cost adds up.

Beside each deeplite backend runs its ``deeplite.jit`` replay (``deeplite[cpu]+jit``), and beside
the peers JAX's ``jax.jit`` of the whole step (in a child process pinned like this one: see
benchmarks/jax_peer.py) and ``torch.compile`` (each when installed; the compile is absorbed by
the warm-up, and torch.compile sits out --quick runs, whose budget its compile would exceed).
For each replay the run also times its kernels alone, with no per-step refresh:
``kernel_fraction`` is their share of the replayed step.
"""
import dataclasses
import importlib.util
import json
import logging
import os
import subprocess
import sys

from .. import timing
from ..contenders import Contender
from ..mlp import MLPSpec, host_data, host_weights, make_step

IN_QUICK = True
log = logging.getLogger("benchmarks")

STEPS = {
    "train_a_mnist_mlp": MLPSpec((784, 1024, 1024, 10), 256, "ce"),
    "train_b_bce_mlp": MLPSpec((64, 256, 256, 1), 128, "bce"),
    "train_c_tiny_mlp": MLPSpec((2, 16, 16, 1), 32, "bce"),
    "train_d_deep_mlp": MLPSpec((256,) * 20 + (10,), 128, "ce"),
}
QUICK_STEPS = ("train_b_bce_mlp", "train_c_tiny_mlp")
JAX = Contender("jax", "jax", "cpu")
TORCH_COMPILE = Contender("torch.compile", "torch.compile", "cpu")


def extra_contenders(ctx) -> list:
    """The replays of each deeplite backend, then JAX and torch.compile where they can run."""
    extras = [Contender(f"{c.name}+jit", "deeplite", c.device) for c in ctx.contenders
              if c.framework == "deeplite"]
    if importlib.util.find_spec("jax") is None:
        log.info("jax skipped: not installed (pip install jax to add it)")
    if any(c.framework == "torch" and c.device == "cpu" for c in ctx.contenders):
        if ctx.quick:
            log.info("torch.compile skipped in --quick runs (its compile takes minutes)")
        else:
            extras.append(TORCH_COMPILE)
    return extras


def _maker(ctx, spec, made: dict):
    """make(contender) for one network, remembering each callable in ``made``."""
    def make(contender):
        if contender is TORCH_COMPILE:
            from ..peers import torch_compiled_step

            data, weights = host_data(spec, ctx.rng), host_weights(spec, ctx.rng)
            step = torch_compiled_step(Contender("torch", "torch", "cpu"), spec, data, weights)
        elif contender.name.endswith("+jit"):
            from ..ours import deeplite_step

            data, weights = host_data(spec, ctx.rng), host_weights(spec, ctx.rng)
            step = deeplite_step(contender, spec, data, weights, jit=True)
        else:
            step = make_step(contender, spec, ctx.rng)
        made[contender.name] = step
        return step
    return make


def jax_record(ctx, case: str, spec: MLPSpec):
    """JAX's step timed in a child process (see benchmarks/jax_peer.py), as a record; None if
    JAX is not installed."""
    if importlib.util.find_spec("jax") is None:
        return None
    # XLA's CPU pool takes every core the process may use and no XLA flag limits it: pin the
    # child to as many cores as the run has threads (it inherits the mask).
    cores = sorted(os.sched_getaffinity(0))
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(cores[:ctx.threads]))
    try:
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.jax_peer", "--sizes", ",".join(map(str, spec.sizes)),
             "--batch", str(spec.batch), "--loss", spec.loss, "--lr", str(spec.lr),
             "--repeats", str(ctx.repeats)], capture_output=True, text=True, check=True).stdout
    finally:
        os.sched_setaffinity(0, previous)
    stats = json.loads(output.strip().splitlines()[-1])
    record = ctx.base_record(case, spec.label, JAX, "float32")
    record.update(median_s=stats["median_s"], min_s=stats["min_s"], max_s=stats["max_s"],
                  repeats=stats["repeats"], calls_per_sample=stats["inner"])
    ctx._add_rates(record, JAX, spec.flops, None, spec.batch)
    return record


def _kernel_fractions(ctx, records: list, made: dict) -> None:
    """Time each replay's kernels alone; set kernels_s and kernel_fraction on its record."""
    for record in records:
        step = made.get(record["backend"])
        plans = step.jitted.plans() if hasattr(step, "jitted") else []
        if not plans:
            continue
        contender = next(c for c in ctx.contenders if c.name == record["backend"])
        stats = timing.compare({"kernels": plans[0].kernels_only},
                               {"kernels": contender.sync}, ctx.repeats)
        record["kernels_s"] = stats["kernels"].median_s
        record["kernel_fraction"] = record["kernels_s"] / record["median_s"]


def _ratios_to_compilers(records: list) -> None:
    """ratio_jax and ratio_torch_compile on each deeplite record, and a line saying them."""
    by_name = {record["backend"]: record for record in records}
    for record in records:
        if record["framework"] != "deeplite" or record["device"] == "cuda":
            continue
        parts = [f"{record['backend']} {record['median_s'] * 1e6:.1f} us"]
        for key, peer in (("ratio_jax", "jax"), ("ratio_torch_compile", "torch.compile")):
            if peer in by_name:
                record[key] = record["median_s"] / by_name[peer]["median_s"]
                peer_us = by_name[peer]["median_s"] * 1e6
                parts.append(f"{record[key]:.2f}x {peer} ({peer_us:.1f} us)")
        if "kernel_fraction" in record:
            parts.append(f"kernels {record['kernels_s'] * 1e6:.1f} us = "
                         f"{record['kernel_fraction']:.0%} of the replay")
        log.info("%s %s: %s", record["case"], record["shape"], ", ".join(parts))


def run(ctx):
    """Yield one group of records per network."""
    extras = extra_contenders(ctx)
    wide = dataclasses.replace(ctx, contenders=ctx.contenders + extras)
    for case, spec in STEPS.items():
        if ctx.quick and case not in QUICK_STEPS:
            continue
        made = {}
        records = wide.measure(case, spec.label, _maker(ctx, spec, made), flops=spec.flops,
                               samples=spec.batch)
        _kernel_fractions(wide, records, made)
        jax = jax_record(ctx, case, spec)
        if jax is not None:
            records.append(jax)
        _ratios_to_compilers(records)
        yield records
