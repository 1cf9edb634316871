"""LRScheduler: the base every learning-rate scheduler shares, following PyTorch 2.x's.

A scheduler remembers each group's ``initial_lr`` (set once, so a second scheduler on the same
optimizer sees the same base), counts epochs in ``last_epoch`` and, on each ``step()``, writes
``get_lr()`` into ``group["lr"]``. ``step(epoch)`` (deprecated in PyTorch, kept for scripts that
use it) jumps to ``epoch`` by the closed form where the scheduler has one.
"""
from typing import Optional

from .optimizer import Optimizer


def per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` for each parameter group: a list/tuple must have one entry per group."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} "
                             f"has {len(value)} values, param_groups has {groups}.")
        return list(value)
    return [value] * groups


class LRScheduler:
    """Base class: sets ``initial_lr``, counts epochs and applies ``get_lr()`` on each step.

    Args:
        optimizer: the Optimizer whose ``param_groups`` get new learning rates.
        last_epoch: index of the last epoch seen; -1 (default) starts fresh. Another value
            resumes a schedule and needs ``initial_lr`` in every group (a restored optimizer).
    """

    _is_initial = False  # True during the constructor's first step (some get_lr read it)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{index}] "
                                   f"when resuming scheduler with last_epoch >= 0; load the "
                                   f"optimizer's state first, or pass last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step: epoch 0's learning rates."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        """The learning rate of each group for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self, epoch: Optional[int] = None) -> None:
        """Advance one epoch (or jump to ``epoch``) and set each group's ``lr``.

        Call it after ``optimizer.step()``: once per epoch for epoch schedules, once per batch
        for per-step ones such as OneCycleLR.
        """
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: Optional[int] = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values: list) -> None:
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rates set by the latest ``step()``, one per group."""
        return self._last_lr

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (plain numbers and lists: JSON-friendly)."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned."""
        self.__dict__.update(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"
