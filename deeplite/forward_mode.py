"""Forward mode: Jacobian-vector products from the reverse-mode engine (the double-VJP trick).

The lecture notes that the chain rule can also be evaluated from inputs to outputs; ``jvp`` gives
that result without a second engine, because every backward in deeplite is itself differentiable.
"""
from .engine import _as_tuple, grad
from .grad_mode import enable_grad
from .tensor import Tensor


def jvp(func, primals, tangents) -> tuple:
    """Forward mode: ``(func(*primals), J @ tangents)``, like ``torch.func.jvp``.

    Computed by the double-VJP trick: the VJP ``u -> J^T u`` is linear in ``u``, so differentiating
    it with respect to ``u`` along the tangents gives ``J @ tangents``.
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    for primal, tangent in zip(primals, tangents):
        if primal.shape != tangent.shape:
            raise ValueError(f"jvp: tangent of shape {tangent.shape} for a primal of shape "
                             f"{primal.shape}")
    with enable_grad():
        primals = tuple(primal.detach().requires_grad_() for primal in primals)
        output = func(*primals)
        outputs = _as_tuple(output)
        dummies = tuple(Tensor._wrap(out._backend.zeros(out.shape, out.dtype), out._backend)
                        .requires_grad_() for out in outputs)
        live = [i for i, out in enumerate(outputs) if out.requires_grad]
        vjps = grad([outputs[i] for i in live], primals, [dummies[i] for i in live],
                    create_graph=True, allow_unused=True) if live else (None,) * len(primals)
        used = [i for i, vjp in enumerate(vjps) if vjp is not None and vjp.requires_grad]
        tangent_outs: list = [None] * len(outputs)  # None: no dependence on the primals
        if used:
            found = grad([vjps[i] for i in used], [dummies[i] for i in live],
                         [tangents[i] for i in used], allow_unused=True)
            for i, value in zip(live, found):
                tangent_outs[i] = value
    tangents_out = tuple(
        Tensor._wrap(out._backend.zeros(out.shape, out.dtype), out._backend) if value is None
        else value.detach() for out, value in zip(outputs, tangent_outs))
    outputs = tuple(out.detach() for out in outputs)
    if isinstance(output, (tuple, list)):
        return outputs, tangents_out
    return outputs[0], tangents_out[0]
