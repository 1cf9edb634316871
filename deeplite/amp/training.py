"""``deeplite train --amp``: the training step under autocast, with loss scaling for float16."""
from .. import dtypes
from .autocast_mode import autocast
from .grad_scaler import GradScaler

# --amp value -> dtype name
CHOICES = {"bf16": "bfloat16", "fp16": "float16"}


def amp_train_step(model, optimizer, task, device: str, amp: str, labels_checked: bool = False):
    """``step(x, y) -> (loss, score)`` as ``train.make_train_step``, the forward pass and the
    loss under ``autocast(device, amp's dtype)``; float16 scales the loss (``GradScaler``)."""
    dtype = dtypes.resolve(CHOICES[amp])
    region = autocast(device, dtype=dtype)
    scaler = GradScaler(device, enabled=amp == "fp16")

    def step(inputs, targets):
        optimizer.zero_grad()
        with region:
            outputs = model(inputs)
            loss = task.loss(outputs, targets, labels_checked)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return loss, task.score(outputs.detach().float(), targets)

    return step
