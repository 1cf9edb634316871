"""The MLP training step every framework runs: a spec, its data, its weights, and one builder.

A step is forward, loss, backward and a plain SGD update, on one fixed batch, so the figure is the
framework's cost and not a data loader's. Each framework's step lives with its kind of contender:
deeplite's in ``ours.py``, the hand-written NumPy and the PyTorch steps in ``peers.py``.
"""
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from .contenders import Contender


@dataclass(frozen=True)
class MLPSpec:
    """A ReLU MLP, its batch and its loss: "ce" (softmax cross-entropy) or "bce" (on logits)."""

    sizes: Tuple[int, ...]
    batch: int
    loss: str
    lr: float = 0.01

    @property
    def label(self) -> str:
        """The shape as the report shows it: "784-1024-1024-10 b256", "256-(256x19)-10 b128"."""
        hidden = self.sizes[1:-1]
        if len(hidden) > 3 and len(set(hidden)) == 1:  # a deep stack of equal widths, abridged
            widths = [str(self.sizes[0]), f"({hidden[0]}x{len(hidden)})", str(self.sizes[-1])]
        else:
            widths = [str(size) for size in self.sizes]
        return "-".join(widths) + f" b{self.batch}"

    @property
    def flops(self) -> int:
        """GEMM FLOPs of one training step (``gemm_flops``)."""
        return gemm_flops(self.sizes, self.batch)


def gemm_flops(sizes: Sequence[int], batch: int) -> int:
    """GEMM FLOPs of one training step of an MLP with layer ``sizes`` at ``batch`` rows: 2 per
    multiply-add for the forward x @ W and for each weight's gradient x^T @ g, and for each
    input's gradient g @ W^T except the first layer's (the data needs no gradient)."""
    weights = sum(fan_in * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    return 2 * batch * (3 * weights - sizes[0] * sizes[1])


def host_data(spec: MLPSpec, rng: np.random.Generator):
    """A fixed batch: inputs (batch, sizes[0]) and labels (int64) or 0/1 targets (batch, 1)."""
    x = rng.standard_normal((spec.batch, spec.sizes[0]), dtype=np.float32)
    if spec.loss == "ce":
        return x, rng.integers(0, spec.sizes[-1], spec.batch, dtype=np.int64)
    return x, (rng.random((spec.batch, spec.sizes[-1])) < 0.5).astype(np.float32)


def host_weights(spec: MLPSpec, rng: np.random.Generator):
    """[(weight (in, out), bias (out,)), ...] drawn as PyTorch's Linear does: U(±1/sqrt(in))."""
    layers = []
    for fan_in, fan_out in zip(spec.sizes, spec.sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def make_step(contender: Contender, spec: MLPSpec, rng: np.random.Generator,
              jit: bool = False, amp: Optional[str] = None) -> Callable:
    """A zero-argument callable running one training step of ``spec`` on ``contender``
    (deeplite's replayed by ``deeplite.jit`` when ``jit``; the peers' always as written), under
    autocast to ``amp`` ("bfloat16", "float16"; deeplite and torch only) when given."""
    if spec.loss not in ("ce", "bce"):
        raise ValueError(f"make_step: loss must be 'ce' or 'bce', got {spec.loss!r}")
    data = host_data(spec, rng)
    weights = host_weights(spec, rng)
    if contender.framework == "deeplite":
        from .ours import deeplite_step
        return deeplite_step(contender, spec, data, weights, jit=jit, amp=amp)
    from .peers import NumpyMLP, torch_step
    if contender.framework == "torch":
        return torch_step(contender, spec, data, weights, amp=amp)
    if amp is not None:
        raise ValueError(f"make_step: {contender.framework} has no autocast ({amp} asked)")
    return NumpyMLP(spec, data, weights)
