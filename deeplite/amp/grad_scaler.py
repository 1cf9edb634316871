"""``deeplite.amp.GradScaler``: dynamic loss scaling for float16 training, as PyTorch's."""
import warnings
from typing import Any, Callable

import numpy as np

from ..jit import hooks
from . import scaler_replay

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Scale the loss up so float16 gradients do not underflow; skip steps whose gradients
    overflowed and adapt the scale, as ``torch.amp.GradScaler``.

    Each step: ``scaler.scale(loss).backward()``; optionally ``scaler.unscale_(optimizer)`` before
    clipping gradients; ``scaler.step(optimizer)`` (unscales if not done, skips the step when a
    gradient is inf/NaN); ``scaler.update()`` (halves the scale after an overflow, doubles it after
    ``growth_interval`` clean steps). ``state_dict()`` belongs in the training checkpoint.

    Args:
        device: the device of the gradients ("cuda" as PyTorch's default, "cpu", "numpy"); on a
            device that is not available here the scaler warns and disables itself.
        init_scale: the first scale (2**16).
        growth_factor, backoff_factor: multiply the scale after ``growth_interval`` steps
            without overflow, or after an overflow.
        growth_interval: clean steps between growths.
        enabled: False makes every method a pass-through (``scale`` returns its input).

    >>> import deeplite as dl
    >>> scaler = dl.amp.GradScaler("numpy", init_scale=1024.0)
    >>> scaler.get_scale()
    1024.0
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        from .. import backends

        if enabled and not backends.is_available(device):
            warnings.warn(f"GradScaler is enabled, but device {device!r} is not available; "
                          f"disabling it", UserWarning, stacklevel=2)
            enabled = False
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if int(growth_interval) != growth_interval or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive integer, got "
                             f"{growth_interval}")
        self._device, self._enabled = device, bool(enabled)
        self._scale = _float32(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval, self._growth_tracker = int(growth_interval), 0
        self._per_optimizer: dict = {}  # id(optimizer) -> {"stage", "found_inf"}
        self._replay_overflow: dict = {}  # id(optimizer) -> bool, read by a replayed step

    # ---- the training step ------------------------------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a tensor, or a list/tuple/dict of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {key: self.scale(value) for key, value in outputs.items()}
        if not hasattr(outputs, "_backend"):
            raise TypeError(f"GradScaler.scale: expected a Tensor, got {type(outputs).__name__}")
        if hooks.active[0] is not None:  # inside deeplite.jit's trace: see scaler_replay.py
            return scaler_replay.scale(self, outputs)
        return outputs * self._scale

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and record any inf/NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        if hooks.active[0] is not None:
            grads = [param.grad for group in optimizer.param_groups for param in group["params"]
                     if param.grad is not None]
            state["checks"] = scaler_replay.unscale(self, grads)
            state["stage"], state["found_inf"] = _UNSCALED, scaler_replay.overflowed(
                state["checks"])
            return
        inverse, found_inf = 1.0 / self._scale, False
        for group in optimizer.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                xp, data = grad._backend.xp, grad.data
                found_inf = found_inf or not bool(xp.isfinite(data).all())
                xp.multiply(data, data.dtype.type(inverse), out=data)
        state["stage"], state["found_inf"] = _UNSCALED, found_inf

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless a gradient is inf/NaN (then the step is skipped: None)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if "checks" in state and not state["found_inf"]:  # traced: replays decide again
            with scaler_replay.gated_step(self, id(optimizer), state["checks"]):
                result = optimizer.step(*args, **kwargs)
        elif state["found_inf"]:
            hooks.retrace()  # a jitted function warms up again (no optimizer state yet)
            result = None
        else:
            result = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Adapt the scale after this iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        tracing = hooks.active[0] is not None
        if new_scale is not None:
            if tracing:
                raise hooks.TraceError("deeplite.jit: GradScaler.update(new_scale) inside a "
                                       "traced step; set the scale outside the step")
            self._scale = _float32(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer.values()
                     if s["found_inf"] is not None]
            if not found:
                raise RuntimeError("No inf checks were recorded prior to update(); call "
                                   "scaler.step(optimizer) first.")
            self._advance(any(found))
            if tracing:
                scaler_replay.record_update(self)
        self._per_optimizer.clear()

    def _advance(self, found_inf: bool) -> None:
        """The scale schedule after one iteration: back off after an overflow, else grow."""
        if found_inf:
            self._scale = _float32(self._scale * self._backoff_factor)
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                grown = _float32(self._scale * self._growth_factor)
                if np.isfinite(grown):  # as PyTorch: never grow to inf
                    self._scale = grown
                self._growth_tracker = 0

    # ---- accessors and checkpoints ----------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by."""
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by after an overflow."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale shrinks by after an overflow."""
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        """Clean steps between growths."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the clean steps between growths."""
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False: every method passes through)."""
        return self._enabled

    def state_dict(self) -> dict:
        """The scale and its schedule, as PyTorch's keys ({} when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``'s values (a checkpoint's); all or nothing.

        Raises:
            RuntimeError: ``state_dict`` is empty (saved from a disabled scaler), as PyTorch.
            ValueError: a key is missing or a value out of range (the scaler is left as it was).
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        missing = set(_KEYS) - set(state_dict)
        if missing:
            raise ValueError(f"GradScaler.load_state_dict: missing keys {sorted(missing)}")
        try:
            values = [kind(state_dict[key]) for key, kind in _KEYS.items()]
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"GradScaler.load_state_dict: expected numbers for {list(_KEYS)}, "
                             f"got {state_dict!r}") from None
        scale, growth, backoff, interval, tracker = values
        if not (np.isfinite(scale) and scale > 0 and growth > 1 and 0 < backoff < 1
                and interval >= 1 and 0 <= tracker < interval):
            raise ValueError(f"GradScaler.load_state_dict: values out of range (scale > 0, "
                             f"growth_factor > 1, 0 < backoff_factor < 1, 0 <= _growth_tracker "
                             f"< growth_interval): {state_dict!r}")
        self._scale, self._growth_factor, self._backoff_factor = scale, growth, backoff
        self._growth_interval, self._growth_tracker = interval, tracker


def _float32(value) -> float:
    """``value`` rounded to float32, as PyTorch keeps the scale (a float32 tensor)."""
    with np.errstate(over="ignore"):  # a scale grown past float32's range is inf, not a warning
        return float(np.float32(value))


def _whole(value) -> int:
    """``value`` as an int, refusing a fraction or a bool (a damaged checkpoint's)."""
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"not a whole number: {value!r}")
    return int(value)


# state_dict's keys (PyTorch's), each with how load_state_dict reads it
_KEYS: dict[str, Callable[[Any], Any]] = {
    "scale": _float32, "growth_factor": float, "backoff_factor": float,
    "growth_interval": _whole, "_growth_tracker": _whole}
