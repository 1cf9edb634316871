"""Cyclic schedules with PyTorch 2.x's rules: OneCycleLR and CosineAnnealingWarmRestarts."""
import math
from typing import Optional

from .optimizer import Optimizer
from .scheduler_base import LRScheduler, per_group


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Expected positive integer {name}, but got {value}")
    return value


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): lr rises from ``max_lr / div_factor`` to ``max_lr``
    over the first ``pct_start`` of the steps, then anneals to ``initial_lr / final_div_factor``;
    momentum (or Adam's beta1) cycles the opposite way. Step it once per batch.

    Args:
        optimizer. max_lr: the peak lr (or one per group). total_steps, or epochs and
        steps_per_epoch. pct_start: 0.3. anneal_strategy: "cos" or "linear".
        cycle_momentum: True (needs an optimizer with ``momentum`` or ``betas``).
        base_momentum: 0.85. max_momentum: 0.95. div_factor: 25. final_div_factor: 1e4.
        three_phase: a third phase annealing to the minimum after going back to initial_lr.
    Example:
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import OneCycleLR
        >>> model = deeplite.nn.Linear(2, 1)
        >>> optimizer = deeplite.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=2, steps_per_epoch=5)
        >>> lrs = []
        >>> for epoch in range(2):
        ...     for batch in range(5):
        ...         lrs.append(round(scheduler.get_last_lr()[0], 4))
        ...         optimizer.step()
        ...         scheduler.step()
        >>> lrs  # up from 0.1 / 25 over 30% of the 10 steps, then down to 0.004 / 1e4
        [0.004, 0.052, 0.1, 0.095, 0.0812, 0.0611, 0.0389, 0.0188, 0.005, 0.0]
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                 pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            self.total_steps = _positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _positive_int("epochs", epochs) * \
                _positive_int("steps_per_epoch", steps_per_epoch)
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        # Each phase: (last step, lr key at its start, at its end, momentum keys likewise).
        warm_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                       "base_momentum", "max_momentum"),
                _phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                       "max_momentum")]
        else:
            self._schedule_phases = [
                _phase(warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum",
                       "max_momentum")]
        if last_epoch == -1:
            for peak, group in zip(per_group("max_lr", optimizer, max_lr),
                                   optimizer.param_groups, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` "
                                 "option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for high, low, group in zip(per_group("max_momentum", optimizer, max_momentum),
                                            per_group("base_momentum", optimizer, base_momentum),
                                            optimizer.param_groups, strict=True):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or index == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]],
                                            pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                               group[phase["end_momentum"]], pct))
                    break
                start_step = end_step
        return lrs


def _phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str,
           end_momentum: str) -> dict:
    return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
            "start_momentum": start_momentum, "end_momentum": end_momentum}


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from each lr to ``eta_min`` over ``T_i`` epochs, then a restart; the
    period starts at ``T_0`` and is multiplied by ``T_mult`` after each restart (SGDR).

    ``step(epoch)`` with a fractional epoch (``epoch + batch / batches``) anneals within an
    epoch, as PyTorch documents.

    Example:
        >>> import deeplite
        >>> from deeplite.optim.lr_scheduler import CosineAnnealingWarmRestarts
        >>> optimizer = deeplite.optim.SGD(deeplite.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
        >>> lrs = [round(scheduler.get_last_lr()[0], 4)]
        >>> for epoch in range(7):
        ...     optimizer.step()
        ...     scheduler.step()
        ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
        >>> lrs  # restarts at epochs 2 (then T_i = 4) and 6 (then T_i = 8)
        [0.1, 0.05, 0.1, 0.0854, 0.05, 0.0146, 0.1, 0.0962]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur: float = last_epoch  # fractional when step(epoch) gets a fractional epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [self.eta_min + (base - self.eta_min) *
                (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch: Optional[float] = None) -> None:
        """Advance one epoch, or go to ``epoch`` (which may be fractional)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # how many whole periods fit: T_0 (1 + m + ... + m^(n-1)) <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())
