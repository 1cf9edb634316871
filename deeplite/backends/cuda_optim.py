"""The cuda backend's fused optimizer steps: one kernel per parameter (deeplite/kernels/optim.cu,
the update rules of dl_optim.h); parameters the kernels do not take (float16, non-contiguous
state) get the reference composition from fallbacks.py. Imported by cuda_backend once CuPy works.

The learning rate and step counts may be DeviceScalars (cuda_launch.py): a CUDA graph's scalar
block, read by the kernels at launch, so one captured step serves every learning rate and step.
"""
from . import fallbacks, get
from .cuda_launch import OPTIM_SUFFIX, grid_for, launch, suffix_of
from .device_scalars import scalar_args


def sgd_step(params, grads, bufs, first, lr, momentum, dampening, weight_decay, nesterov,
             maximize):
    """PyTorch's SGD update, in place: one fused kernel per parameter."""
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        buf = bufs[i] if momentum else None
        suffix = suffix_of(p, g, *([] if buf is None else [buf]), table=OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.sgd_step(get("cuda"), [p], [g], None if buf is None else [buf], first, lr,
                               momentum, dampening, weight_decay, nesterov, maximize)
            continue
        launch("optim.cu", f"sgd_step_{suffix}", grid_for(p.size), p, g, buf, p.size,
               *scalar_args(lr), float(momentum), float(dampening), float(weight_decay),
               int(nesterov), int(maximize), int(first))


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
              eps, weight_decay, decoupled, amsgrad, maximize):
    """PyTorch's Adam / AdamW update, in place: one fused kernel per parameter."""
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs, strict=True)):
        vmax = max_exp_avg_sqs[i] if amsgrad else None
        suffix = suffix_of(p, g, m, v, *([] if vmax is None else [vmax]), table=OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.adam_step(get("cuda"), [p], [g], [m], [v], None if vmax is None else [vmax],
                                [steps[i]], lr, beta1, beta2, eps, weight_decay, decoupled,
                                amsgrad, maximize)
            continue
        # The bias corrections are computed on the device from lr and the step (optim.cu).
        launch("optim.cu", f"adam_step_{suffix}", grid_for(p.size), p, g, m, v, vmax, p.size,
               float(beta1), float(beta2), float(eps), float(weight_decay),
               *scalar_args(lr, steps[i]), int(decoupled), int(maximize))


def rmsprop_step(params, grads, square_avgs, grad_avgs, bufs, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize):
    """PyTorch's RMSprop update, in place: one fused kernel per parameter."""
    for i, (p, g, sq) in enumerate(zip(params, grads, square_avgs, strict=True)):
        ga = grad_avgs[i] if centered else None
        buf = bufs[i] if momentum > 0 else None
        suffix = suffix_of(p, g, sq, *(a for a in (ga, buf) if a is not None), table=OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.rmsprop_step(get("cuda"), [p], [g], [sq], None if ga is None else [ga],
                                   None if buf is None else [buf], lr, alpha, eps, weight_decay,
                                   momentum, centered, maximize)
            continue
        launch("optim.cu", f"rmsprop_step_{suffix}", grid_for(p.size), p, g, sq, ga, buf, p.size,
               *scalar_args(lr), float(alpha), float(eps), float(weight_decay), float(momentum),
               int(maximize))


def adagrad_step(params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps, maximize):
    """PyTorch's Adagrad update, in place: one fused kernel per parameter."""
    for p, g, state_sum, step in zip(params, grads, state_sums, steps, strict=True):
        suffix = suffix_of(p, g, state_sum, table=OPTIM_SUFFIX)
        if suffix is None:
            fallbacks.adagrad_step(get("cuda"), [p], [g], [state_sum], [step], lr, lr_decay,
                                   weight_decay, eps, maximize)
            continue
        launch("optim.cu", f"adagrad_step_{suffix}", grid_for(p.size), p, g, state_sum, p.size,
               *scalar_args(lr, step), float(lr_decay), float(eps), float(weight_decay),
               int(maximize))
