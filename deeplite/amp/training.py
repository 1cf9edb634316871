"""``deeplite train --amp``: the training step under autocast, with loss scaling for float16."""
import contextlib

from .. import dtypes
from .autocast_mode import autocast
from .grad_scaler import GradScaler

# --amp value -> dtype name
CHOICES = {"bf16": "bfloat16", "fp16": "float16"}


def amp_region(device: str, amp):
    """The context the forward pass and loss of ``--amp amp`` run in: ``autocast(device, its
    dtype)``, or nothing for float32 (``amp`` None)."""
    if amp is None:
        return contextlib.nullcontext()
    return autocast(device, dtype=dtypes.resolve(CHOICES[amp]))


def loss_scaler(device: str, amp):
    """The ``GradScaler`` of ``--amp fp16`` (its state rides in the checkpoint); None for
    bf16, which has float32's range, and for float32."""
    return GradScaler(device) if amp == "fp16" else None


def backward_and_step(loss, optimizer, scaler=None) -> None:
    """``loss.backward()`` then ``optimizer.step()``; through ``scaler`` (fp16's GradScaler:
    scaled loss, inf/NaN skip, scale schedule) when given."""
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


def amp_train_step(model, optimizer, task, device: str, amp: str, labels_checked: bool = False,
                   scaler=None):
    """``step(x, y) -> (loss, score)`` as ``train.make_train_step``, the forward pass and the
    loss under ``autocast(device, amp's dtype)``; ``scaler`` (a ``GradScaler``; for fp16, a
    fresh one when None) scales the loss."""
    region = amp_region(device, amp)
    if scaler is None:
        scaler = loss_scaler(device, amp)

    def step(inputs, targets):
        optimizer.zero_grad()
        with region:
            outputs = model(inputs)
            loss = task.loss(outputs, targets, labels_checked)
        backward_and_step(loss, optimizer, scaler)
        return loss, task.score(outputs.detach().float(), targets)

    return step
