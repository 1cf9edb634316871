"""Removable hook handles, as ``torch.utils.hooks.RemovableHandle``."""
import itertools

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*hook``: ``handle.remove()`` takes the hook out again.

    Also a context manager: ``with tensor.register_hook(fn): ...`` removes it on exit.
    """

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = next(_ids)

    def remove(self) -> None:
        """Remove the hook (doing so twice is harmless)."""
        self.hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def add_hook(hooks: dict, hook) -> RemovableHandle:
    """Store ``hook`` in the ordered dict ``hooks`` and return the handle that removes it."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle
