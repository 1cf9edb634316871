"""Mixed precision: training step (a) under bfloat16 autocast, deeplite against PyTorch's
``torch.autocast("cpu", torch.bfloat16)`` (ms per step). deeplite's bf16 GEMMs run on AMX
through oneDNN where the CPU has it (``deeplite doctor``); elsewhere its autocast stays float32.
Beside each deeplite backend runs its ``deeplite.jit`` replay of the same step (``+jit``).
"""
import dataclasses

from ..contenders import Contender
from ..mlp import MLPSpec, host_data, host_weights

IN_QUICK = False
STEP_A = MLPSpec((784, 1024, 1024, 10), 256, "ce")


def _deeplite_step(contender, data, weights, jit=False):
    import deeplite
    import deeplite.functional as F

    x, target = (contender.put(array) for array in data)
    model = deeplite.nn.MLP(list(STEP_A.sizes), device=contender.device)
    with deeplite.no_grad():
        for layer, (w, b) in zip(model.layers, weights, strict=True):
            layer.weight.copy_(contender.put(w))
            layer.bias.copy_(contender.put(b))
    optimizer = deeplite.optim.SGD(model.parameters(), lr=STEP_A.lr)
    region = deeplite.autocast(contender.device, dtype=deeplite.bfloat16)

    def step(x=x, target=target):
        optimizer.zero_grad()
        with region:
            loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    if not jit:
        return step
    jitted = deeplite.jit(step)
    return lambda: jitted(x, target)


def _torch_step(contender, data, weights):
    import torch

    modules = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if i < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=STEP_A.lr)
    x, target = (contender.put(array) for array in data)

    def step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()

    return step


def run(ctx):
    """Yield step (a) under bf16 autocast for deeplite[cpu] and torch (cpu)."""
    data, weights = host_data(STEP_A, ctx.rng), host_weights(STEP_A, ctx.rng)
    replays = [Contender(f"{c.name}+jit", "deeplite", c.device) for c in ctx.contenders
               if c.framework == "deeplite"]
    wide = dataclasses.replace(ctx, contenders=ctx.contenders + replays)

    def make(contender):
        if contender.on_gpu or contender.framework == "numpy" or contender.device == "numpy":
            return None
        if contender.framework == "deeplite":
            return _deeplite_step(contender, data, weights, jit=contender.name.endswith("+jit"))
        return _torch_step(contender, data, weights) if contender.framework == "torch" else None

    yield wide.measure("amp_a_bf16_step", STEP_A.label, make, dtype="bfloat16",
                      flops=STEP_A.flops, samples=STEP_A.batch)
