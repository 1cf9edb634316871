"""Version counters: how deeplite notices that a value saved for backward was overwritten.

As PyTorch's ``_version``: every in-place write ticks a global clock and stamps the written
storage's counter (shared by the tensors that share that storage: views, ``detach()``); each node
remembers the clock when it was recorded, so backward can tell that a value it saved was
overwritten and raise instead of returning a silently wrong gradient.
"""
from .tensor import Tensor

clock = 0  # ticks on every in-place write
rebased = False  # set once any non-leaf was written in place: parents may need their history


class VersionCounter:
    """Shared by the tensors that share one storage: how often it was written, and when last."""

    __slots__ = ("count", "last", "viewed")

    def __init__(self):
        self.count, self.last, self.viewed = 0, -1, False


def counter_of(tensor: Tensor) -> VersionCounter:
    counter = getattr(tensor, "_version_counter", None)
    if counter is None:
        counter = tensor._version_counter = VersionCounter()
    return counter


def share(view: Tensor, source: Tensor) -> None:
    """Give ``view`` the counter of ``source`` when their arrays really overlap."""
    xp = source._backend.xp
    if view.data is source.data or (view._backend.xp is xp
                                    and xp.may_share_memory(view.data, source.data)):
        counter = counter_of(source)
        counter.viewed = True
        view._version_counter = counter


def bump_version(tensor: Tensor) -> None:
    """Record an in-place write to ``tensor``'s storage (called by every in-place method)."""
    global clock
    clock += 1
    counter = counter_of(tensor)
    counter.count += 1
    counter.last = clock


def bump_versions(tensors) -> None:
    """``bump_version`` of each of ``tensors``, written at one tick (an optimizer's update of
    its parameters, the jit's replay of it)."""
    global clock
    clock += 1
    for tensor in tensors:
        counter = counter_of(tensor)
        counter.count += 1
        counter.last = clock


def mark_rebased() -> int:
    """Note that a non-leaf was written in place; returns the clock of that write."""
    global rebased
    rebased = True
    return clock


def check_saved(node) -> None:
    """Raise if a value ``node`` needs for its backward was overwritten after it was recorded."""
    saved = list(node.inputs) if node.saved_inputs else []
    if node.save_output and node._output() is not None:
        saved.append(node._output())
    for tensor in saved:
        counter = getattr(tensor, "_version_counter", None)
        if counter is not None and counter.last > node.clock:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: a tensor of shape {tensor.shape} saved by {node.name} is at "
                f"version {counter.count}; compute it out of place (or .clone() it) instead")


def parents(node) -> tuple:
    """The node's inputs as they were when it was recorded (a non-leaf written in place since then
    is replaced by the snapshot of its earlier value that holds its earlier history)."""
    if not rebased:
        return node.inputs
    parents = []
    for tensor in node.inputs:
        for written_at, before in getattr(tensor, "_history", ()):
            if written_at > node.clock:
                tensor = before
                break
        parents.append(tensor)
    return tuple(parents)
