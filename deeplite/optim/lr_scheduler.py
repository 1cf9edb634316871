"""Learning-rate schedulers with PyTorch 2.x's rules, so the same schedule gives the same floats.

Call ``scheduler.step()`` after ``optimizer.step()``: once per epoch (once per batch for
OneCycleLR). Each scheduler rewrites ``group["lr"]`` of its optimizer's groups, from the current
values where PyTorch does (its "chainable" forms), so two schedulers can be stacked.

This file holds the multiplicative family; ``schedulers_cyclic`` has OneCycleLR and
CosineAnnealingWarmRestarts, ``schedulers_compose`` SequentialLR and ReduceLROnPlateau. All are
importable from here, as in ``torch.optim.lr_scheduler``.

Example:
    >>> import deeplite
    >>> optimizer = deeplite.optim.SGD(deeplite.nn.MLP([2, 16, 1]).parameters(), lr=0.1)
    >>> scheduler = deeplite.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    >>> for epoch in range(100):
    ...     optimizer.step()  # one epoch of training, then
    ...     scheduler.step()
    >>> round(scheduler.get_last_lr()[0], 6)  # 0.1, divided by 10 at epochs 30, 60 and 90
    0.0001
"""
import math
import types
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer
from .scheduler_base import LRScheduler


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    Example: lr 0.1, step_size 2, gamma 0.5 gives 0.1, 0.1, 0.05, 0.05, 0.025, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size}")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` at each epoch listed in ``milestones``.

    Example: lr 0.1, milestones [2, 4], gamma 0.1 gives 0.1, 0.1, 0.01, 0.01, 0.001, ...
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch not in self.milestones:
            return self._current()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``'s values (milestone keys may come back from JSON as text)."""
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(key): int(count)
                                   for key, count in dict(self.milestones).items()})


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    Example: lr 0.1, gamma 0.9 gives 0.1, 0.09, 0.081, ...
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Scale each lr by ``factor`` for the first ``total_iters`` epochs, then restore it.

    Example: lr 0.05, factor 0.5, total_iters 4 gives 0.025 (epochs 0-3), then 0.05.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        reached = self.last_epoch >= self.total_iters
        return [base * (self.factor + reached * (1 - self.factor)) for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale each lr by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs (a warm-up), then keep it.

    Example: lr 0.05, start_factor 0.5, total_iters 4 gives 0.025, 0.03125, 0.0375, 0.04375,
    0.05, 0.05, ...
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor +
                               (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base * factor for base in self.base_lrs]


class _LambdaScheduler(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one function of the epoch per group."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"Expected {groups} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(f"lr_lambda should be a function, but got "
                                f"{type(function).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        """As PyTorch: plain functions are not saved; callable objects save their ``__dict__``."""
        state = {key: value for key, value in vars(self).items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``'s values, keeping this scheduler's functions."""
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for fn, values in zip(self.lr_lambdas, saved, strict=False):
            if values is not None:
                vars(fn).update(values)


class LambdaLR(_LambdaScheduler):
    """Set each group's lr to ``initial_lr * lr_lambda(epoch)``.

    Args:
        lr_lambda: a function of the epoch, or a list with one per parameter group.
    Example:
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import LambdaLR
        >>> optimizer = deeplite.optim.SGD(deeplite.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = LambdaLR(optimizer, lr_lambda=lambda epoch: 0.5 ** epoch)
        >>> lrs = []
        >>> for epoch in range(3):
        ...     optimizer.step()
        ...     scheduler.step()
        ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
        >>> lrs  # 0.1 * 0.5 ** epoch for epochs 1, 2, 3
        [0.05, 0.025, 0.0125]
    """

    def get_lr(self) -> list:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs,
                                                               strict=True)]


class MultiplicativeLR(_LambdaScheduler):
    """Multiply each group's lr by ``lr_lambda(epoch)`` every epoch (after the first).

    Example:
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import MultiplicativeLR
        >>> optimizer = deeplite.optim.SGD(deeplite.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = MultiplicativeLR(optimizer, lr_lambda=lambda epoch: 0.9)
        >>> lrs = []
        >>> for epoch in range(3):
        ...     optimizer.step()
        ...     scheduler.step()
        ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
        >>> lrs  # the previous lr times 0.9, each epoch
        [0.09, 0.081, 0.0729]
    """

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current(),
                                                           strict=True)]


class CosineAnnealingLR(LRScheduler):
    """Anneal each lr along a half cosine from its initial value to ``eta_min`` in ``T_max`` epochs.

    lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed recursively
    from the current lr as PyTorch does (so manual changes to lr carry over); after T_max it rises
    again (a period of 2 T_max).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max}")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and epoch > 0:  # resumed with last_epoch: the closed form
            return self._get_closed_form_lr()
        if (epoch - 1 - period) % (2 * period) == 0:
            # at the trough the recursive ratio is 0/0: step up by the closed form instead
            rise = (1 - math.cos(math.pi / period)) / 2
            return [lr + (base - low) * rise for lr, base in zip(self._current(), self.base_lrs,
                                                                 strict=True)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) /
                                                                           period))
        return [ratio * (lr - low) + low for lr in self._current()]

    def _get_closed_form_lr(self) -> list:
        return [self.eta_min + (base - self.eta_min) *
                (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


# The other families, importable from here as from torch.optim.lr_scheduler.
from .schedulers_compose import ReduceLROnPlateau, SequentialLR  # noqa: E402
from .schedulers_cyclic import CosineAnnealingWarmRestarts, OneCycleLR  # noqa: E402

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR",
           "LambdaLR", "MultiplicativeLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "OneCycleLR", "SequentialLR", "ReduceLROnPlateau"]
