"""deeplite's training step, written as a user writes it: nn.MLP, a functional loss, optim.SGD.

nn.MLP fuses each activation into its Linear layer's kernel and optim.SGD updates every parameter
in one fused backend call, so this is also the fastest way deeplite offers to write the step.
"""
from typing import Callable, Optional

from .contenders import Contender


def deeplite_step(contender: Contender, spec, data, weights, jit: bool = False,
                  optimizer: str = "sgd", amp: Optional[str] = None) -> Callable:
    """One deeplite training step of ``spec`` on the contender's backend, from ``weights``.

    ``optimizer`` is "sgd" (plain, as the peers run) or "adam" (``deeplite train``'s default).
    ``amp`` ("bfloat16" or "float16") runs the forward pass and the loss under
    ``deeplite.autocast``, float16 with a ``GradScaler`` (as ``peers.torch_step`` does).

    With ``jit`` the step is ``deeplite.jit``'s replay of the same code (its eager and traced
    calls already made); the callable then has the plan as ``.jitted``.
    """
    import deeplite
    import deeplite.functional as F

    x, target = (contender.put(array) for array in data)
    loss_fn = F.cross_entropy if spec.loss == "ce" else F.binary_cross_entropy_with_logits
    model = deeplite.nn.MLP(list(spec.sizes), device=contender.device)
    with deeplite.no_grad():  # the same start as the peers
        for layer, (w, b) in zip(model.layers, weights, strict=True):
            layer.weight.copy_(contender.put(w))
            layer.bias.copy_(contender.put(b))
    kind = {"sgd": deeplite.optim.SGD, "adam": deeplite.optim.Adam}[optimizer]
    optimizer = kind(model.parameters(), lr=spec.lr)

    if amp is None:
        def step(x=x, target=target):
            optimizer.zero_grad()
            loss = loss_fn(model(x), target)
            loss.backward()
            optimizer.step()
            return loss
    else:
        region = deeplite.autocast(contender.device, dtype=getattr(deeplite, amp))
        scaler = deeplite.amp.GradScaler(contender.device, enabled=amp == "float16")

        def step(x=x, target=target):
            optimizer.zero_grad()
            with region:
                loss = loss_fn(model(x), target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            return loss

    if not jit:
        return step
    jitted = deeplite.jit(step)

    def replay():
        return jitted(x, target)

    # The eager call and the trace run here: the timing's warm-up and its calibration call
    # (which sizes each sample) then see replays, not the slow trace.
    replay()
    replay()

    replay.jitted = jitted
    return replay
