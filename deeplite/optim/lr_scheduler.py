"""Learning-rate schedulers: StepLR, ExponentialLR, CosineAnnealingLR (PyTorch's chainable forms).

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``. Each scheduler rewrites
``group["lr"]`` of its optimizer's groups from the current values, exactly as PyTorch does, so
the same schedule gives the same floating-point learning rates.

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

from .optimizer import Optimizer


class LRScheduler:
    """Base class: remembers each group's initial lr, counts epochs, and applies ``get_lr()``."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            f"Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()  # epoch 0: leaves the learning rates as they are, as PyTorch's first step

    def get_lr(self) -> list:
        """The learning rate of each group for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set each group's ``lr``."""
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rates set by the latest ``step()``, one per group."""
        return self._last_lr

    def _current(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything but the optimizer (plain numbers and lists: JSON-friendly)."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned."""
        self.__dict__.update(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    Args: optimizer; step_size: epochs between decays; gamma: factor (0.1).
    Example: lr 0.1, step_size 2, gamma 0.5 gives 0.1, 0.1, 0.05, 0.05, 0.025, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size}")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    Example: lr 0.1, gamma 0.9 gives 0.1, 0.09, 0.081, ...
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    """Anneal each lr along a half cosine from its initial value to ``eta_min`` in ``T_max`` epochs.

    lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed recursively
    from the current lr as PyTorch does (so manual changes to lr carry over); after T_max it rises
    again (a period of 2 T_max).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max}")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list:
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if epoch == 0:
            return self._current()
        if (epoch - 1 - period) % (2 * period) == 0:
            # at the trough the recursive ratio is 0/0: step up by the closed form instead
            rise = (1 - math.cos(math.pi / period)) / 2
            return [lr + (base - low) * rise for lr, base in zip(self._current(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) /
                                                                           period))
        return [ratio * (lr - low) + low for lr in self._current()]
