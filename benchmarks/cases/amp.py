"""Mixed precision: training step (a) under bfloat16 autocast, deeplite against PyTorch's
``torch.autocast("cpu", torch.bfloat16)`` (ms per step). deeplite's bf16 GEMMs run on AMX
through oneDNN where the CPU has it (``deeplite doctor``); elsewhere its autocast stays float32.
Beside each deeplite backend runs its ``deeplite.jit`` replay of the same step (``+jit``).
The GPU's float16/bfloat16 steps are in ``gpu.py``.
"""
import dataclasses

from ..contenders import Contender
from ..mlp import MLPSpec, host_data, host_weights

IN_QUICK = False
STEP_A = MLPSpec((784, 1024, 1024, 10), 256, "ce")


def run(ctx):
    """Yield step (a) under bf16 autocast for deeplite[cpu] (eager and +jit) and torch (cpu)."""
    from ..ours import deeplite_step
    from ..peers import torch_step

    data, weights = host_data(STEP_A, ctx.rng), host_weights(STEP_A, ctx.rng)
    replays = [Contender(f"{c.name}+jit", "deeplite", c.device) for c in ctx.contenders
               if c.framework == "deeplite"]
    wide = dataclasses.replace(ctx, contenders=ctx.contenders + replays)

    def make(contender):
        if contender.on_gpu or contender.framework == "numpy" or contender.device == "numpy":
            return None
        if contender.framework == "deeplite":
            return deeplite_step(contender, STEP_A, data, weights, amp="bfloat16",
                                 jit=contender.name.endswith("+jit"))
        if contender.framework == "torch":
            return torch_step(contender, STEP_A, data, weights, amp="bfloat16")
        return None

    yield wide.measure("amp_a_bf16_step", STEP_A.label, make, dtype="bfloat16",
                       flops=STEP_A.flops, samples=STEP_A.batch)
