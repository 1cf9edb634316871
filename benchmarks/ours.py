"""deeplite's training step, written as a user writes it: nn.MLP, a functional loss, optim.SGD.

Until ``deeplite.nn``/``deeplite.optim`` exist, the same step is spelled with the fused
``F.linear(..., activation="relu")`` and the backend's fused ``sgd_step`` kernel, which is what
nn.MLP and optim.SGD run underneath.
"""
from typing import Callable

from .contenders import Contender


def _has_nn_and_optim() -> bool:
    """Whether deeplite's nn.MLP and optim.SGD have landed."""
    try:
        import deeplite.nn
        import deeplite.optim
    except ImportError:
        return False
    return hasattr(deeplite.nn, "MLP") and hasattr(deeplite.optim, "SGD")


def deeplite_step(contender: Contender, spec, data, weights) -> Callable:
    """One deeplite training step of ``spec`` on the contender's backend."""
    import deeplite.functional as F

    x, target = (contender.put(array) for array in data)
    loss_fn = F.cross_entropy if spec.loss == "ce" else F.binary_cross_entropy_with_logits
    if _has_nn_and_optim():
        return _module_step(contender, spec, x, target, loss_fn, weights)
    return _functional_step(contender, spec, x, target, loss_fn, weights)


def _module_step(contender, spec, x, target, loss_fn, weights) -> Callable:
    """The step through nn.MLP (activations fused into each Linear) and optim.SGD."""
    import deeplite

    model = deeplite.nn.MLP(list(spec.sizes), device=contender.device)
    with deeplite.no_grad():  # the same start as the peers
        for layer, (w, b) in zip(model.layers, weights):
            layer.weight.copy_(contender.put(w))
            layer.bias.copy_(contender.put(b))
    optimizer = deeplite.optim.SGD(model.parameters(), lr=spec.lr)

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), target).backward()
        optimizer.step()

    return step


def _functional_step(contender, spec, x, target, loss_fn, weights) -> Callable:
    """The same step through F.linear and the backend's fused sgd_step kernel."""
    import deeplite
    import deeplite.functional as F

    layers = [(contender.put(w, True), contender.put(b, True)) for w, b in weights]
    params = [tensor for layer in layers for tensor in layer]
    backend = deeplite.backends.get(contender.device)
    last = len(layers) - 1

    def step():
        h = x
        for i, (w, b) in enumerate(layers):
            h = F.linear(h, w, b, activation="relu" if i < last else "identity")
        loss_fn(h, target).backward()
        backend.sgd_step([p.data for p in params], [p.grad.data for p in params], None, False,
                         spec.lr, 0.0, 0.0, 0.0, False, False)
        for p in params:
            p.grad = None

    return step
