"""``python -m benchmarks.jit_profile``: where a replayed step's time goes, kernel by kernel.

For (b) 64-256-256-1 b128 (SGD, BCE) and the digits step of ``deeplite train`` (64-512-10 b32,
Adam, cross-entropy) on ``cpu``: each native kernel of the traced plan timed alone (a one-kernel
plan on the replay's own buffers), their sum, the whole replay, and the GEMM floor (the step's
multiply-adds at this core's float32 rate, measured on a 1024^3 GEMM), and JAX's ``jax.jit``
of the same step (a pinned child process, as ``python -m benchmarks.jit_check`` runs it). One
pinned CPU, one thread, medians of interleaved rounds.
"""
import os
import sys

for _name in ("DEEPLITE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402  (after the pinning, before any thread pool starts)

from . import timing  # noqa: E402
from .contenders import Contender  # noqa: E402
from .jit_check import jax_median  # noqa: E402
from .mlp import MLPSpec, host_data, host_weights  # noqa: E402
from .ours import deeplite_step  # noqa: E402

B = MLPSpec((64, 256, 256, 1), 128, "bce")
DIGITS = MLPSpec((64, 512, 10), 32, "ce", lr=1e-3)  # deeplite train's defaults


def peak_macs_per_s() -> float:
    """Multiply-adds per second of a float32 1024^3 GEMM through deeplite's matmul (its
    fastest round: a capacity, which a busy machine only ever lowers)."""
    import deeplite.backends.cpu_backend as cpu

    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    stats = timing.compare({"gemm": lambda: cpu.matmul(a, a)}, repeats=5, target_s=0.05)
    return 1024 ** 3 / stats["gemm"].min_s


def gemm_macs(step) -> int:
    """Multiply-adds of one recorded linear_act / linear_act_grad call (the outputs it makes)."""
    if step.name == "linear_act":
        x, w = step.args[0], step.args[1]
        return x.shape[0] * x.shape[1] * w.shape[1]
    if step.name == "linear_act_grad":
        x, w = step.args[0], step.args[1]
        need_x, need_w = step.args[6], step.args[7]
        return x.shape[0] * x.shape[1] * w.shape[1] * (int(need_x) + int(need_w))
    return 0


def kernels_alone(plan) -> dict:
    """{"<index> <kernel>": a one-kernel native plan of each step the replay runs natively}."""
    from deeplite import _C
    from deeplite.jit.native import NativeLowering

    runs = {}
    for index, step in enumerate(plan.recorder.steps):
        lowering = NativeLowering(_C, plan.recorder.scalar_count)
        lowering.block[:] = plan.block
        if lowering(step) is not None:
            runs[f"{index:2d} {step.name}"] = lowering(None)
    return runs


def profile(label: str, spec: MLPSpec, optimizer: str, peak: float) -> None:
    """Print the per-kernel table of one step."""
    rng = np.random.default_rng(0)
    contender = Contender("deeplite[cpu]", "deeplite", "cpu")
    replay = deeplite_step(contender, spec, host_data(spec, rng), host_weights(spec, rng),
                           jit=True, optimizer=optimizer)
    for _ in range(3):  # warm-up and trace
        replay()
    plan = replay.jitted.plans()[0]
    # The whole replay first: the kernels run alone afterwards repeat one update many times
    # over, which drives the weights where a step's arithmetic gets slower (huge logits).
    whole = {"replay": replay, "kernels only": plan.kernels_only}
    alone = kernels_alone(plan)
    medians = {name: stats.median_s for calls in (whole, alone)
               for name, stats in timing.compare(calls, repeats=5).items()}
    macs = sum(gemm_macs(step) for step in plan.recorder.steps)
    print(f"{label} {spec.label} ({optimizer}): {plan!r}")
    for name, seconds in medians.items():
        print(f"  {name:22s} {seconds * 1e6:8.1f} us")
    total = sum(medians[name] for name in alone)
    print(f"  {'sum of the kernels':22s} {total * 1e6:8.1f} us; GEMM floor {macs / 1e6:.1f}M "
          f"multiply-adds at {peak / 1e9:.1f} G/s = {macs / peak * 1e6:.1f} us")
    jax = jax_median(spec, repeats=5) if optimizer == "sgd" else None  # the peer runs SGD
    if jax is not None:
        print(f"  {'jax.jit step':22s} {jax * 1e6:8.1f} us; replay / jax "
              f"{medians['replay'] / jax:.2f}x")


def main() -> int:
    """Print the tables of (b) and of the digits step."""
    peak = peak_macs_per_s()
    profile("(b)", B, "sgd", peak)
    profile("digits", DIGITS, "adam", peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
