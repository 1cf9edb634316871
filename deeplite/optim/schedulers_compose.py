"""Schedulers that drive others or follow a metric, as PyTorch 2.x's: SequentialLR and
ReduceLROnPlateau."""
from bisect import bisect_right
from typing import Optional

from .optimizer import Optimizer
from .scheduler_base import LRScheduler


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``, and so on; each
    later scheduler starts from its epoch 0 (its closed form) at its milestone.

    Example (5 epochs of linear warm-up, then cosine annealing):
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
        >>> optimizer = deeplite.optim.SGD(deeplite.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
        >>> cosine = CosineAnnealingLR(optimizer, T_max=45)
        >>> scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[5])
        >>> lrs = [round(scheduler.get_last_lr()[0], 4)]
        >>> for epoch in range(7):
        ...     optimizer.step()
        ...     scheduler.step()
        ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
        >>> lrs
        [0.01, 0.028, 0.046, 0.064, 0.082, 0.1, 0.0999, 0.0995]
    """

    def __init__(self, optimizer: Optimizer, schedulers: list, milestones: list,
                 last_epoch: int = -1):
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for index, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"{name} at index {index} should have `optimizer` as its "
                                f"attribute.")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it "
                                 f"requires additional kwargs to be specified when calling "
                                 f"`step`, but got one at index {index} in the given schedulers "
                                 f"sequence.")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, "
                                 f"but got scheduler {type(scheduler).__name__} at index {index} "
                                 f"with a different one.")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"Sequential Schedulers expects number of schedulers provided to be "
                             f"one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo what the schedulers' constructors set
            group["lr"] = group["initial_lr"]
        _undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]  # no epoch argument, as PyTorch's
        """Advance one epoch on the scheduler whose span holds it."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """This scheduler's counters plus each inner scheduler's state dict."""
        state = {key: value for key, value in vars(self).items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``'s values into this and the inner schedulers."""
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, values in zip(self._schedulers, inner, strict=True):
            scheduler.load_state_dict(values)


def _undo_initial_steps(scheduler) -> None:
    """Take back the epoch each (nested) scheduler's constructor counted."""
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_initial_steps(inner)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class ReduceLROnPlateau(LRScheduler):
    """Multiply each lr by ``factor`` when ``metrics`` (passed to ``step``) stops improving for
    more than ``patience`` epochs, as PyTorch's.

    Args:
        mode: "min" (lower is better) or "max". factor: 0.1 (< 1). patience: 10 epochs.
        threshold: 1e-4, relative ("rel": better than best * (1 - threshold)) or absolute
        ("abs"). cooldown: epochs to wait after a reduction. min_lr: a floor (or one per group).
        eps: reductions smaller than this are skipped.
    Example:
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import ReduceLROnPlateau
        >>> optimizer = deeplite.optim.SGD(deeplite.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = ReduceLROnPlateau(optimizer, patience=3)
        >>> lrs = []
        >>> for validation_loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9]:
        ...     scheduler.step(validation_loss)
        ...     lrs.append(round(optimizer.param_groups[0]["lr"], 4))
        >>> lrs  # the fourth epoch without improvement is more than patience=3
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.01]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.factor, self.optimizer = factor, optimizer
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"expected {groups} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * groups
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._current()
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch: Optional[int] = None) -> None:  # type: ignore[override]
        """Record this epoch's ``metrics`` and reduce the learning rates if it has plateaued."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._current()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The number of param groups in the `optimizer` ({len(groups)}) "
                                   f"differs from when `ReduceLROnPlateau` was initialized "
                                   f"({len(self.min_lrs)}); set `min_lrs` to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    @property
    def in_cooldown(self) -> bool:
        """True while waiting after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, value: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < best - self.threshold
        if self.threshold_mode == "rel":
            return value > best * (self.threshold + 1.0)
        return value > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown! (use 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown! (use 'rel' or 'abs')")
        self.mode_worse = float("inf") if mode == "min" else -float("inf")
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``'s values."""
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
