"""Grad mode: whether ops record themselves on the tape, per thread, as in PyTorch."""
import contextlib
import threading


class _GradMode(threading.local):
    """Per-thread switch plus the stack of settings that open ``with`` blocks will restore."""

    def __init__(self):
        self.enabled = True
        self.saved: list = []


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops record themselves on the tape (in this thread)."""
    return _mode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode on or off, restoring it on exit.

    The setting to restore lives in the thread's own state, not on this object: one decorated
    function called from two threads at once must not hand one thread's setting to the other.
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        _mode.saved.append(_mode.enabled)
        _mode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _mode.enabled = _mode.saved.pop()
        return False


class _FixedGradMode(set_grad_enabled):
    """A grad-mode switch with a fixed setting, usable as ``with m():``, ``@m()`` and ``@m``."""

    fixed_mode = True

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # bare ``@no_grad``: decorate at once, as PyTorch allows

    def __init__(self, func=None):
        super().__init__(self.fixed_mode)


class no_grad(_FixedGradMode):
    """Context manager and decorator under which no op is recorded.

    >>> import deeplite as dl
    >>> w = dl.ones(2, requires_grad=True)
    >>> with dl.no_grad():
    ...     (w * 2).requires_grad
    False
    """

    fixed_mode = False


class enable_grad(_FixedGradMode):
    """Context manager and decorator that turns recording back on (inside ``no_grad``, say)."""

    fixed_mode = True
