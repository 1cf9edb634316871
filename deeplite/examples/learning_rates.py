"""Gradient descent on a 1-D loss with two minima: the learning rate decides where it ends.

The loss f(x) = x⁴ - 3x² + x has a local minimum near x = 1.13 and the global one near
x = -1.30. From the same start x₀ = 2, a small step creeps into the nearby local minimum, a
larger one jumps over the hump into the global basin, and a too large one overshoots further
each step: |x| explodes. Gradients come from deeplite's autograd.

    python -m deeplite.examples.learning_rates --out figures
"""
import itertools
import math

import numpy as np

import deeplite as dl

from ._common import parser, pyplot, save

LOCAL_MINIMUM, GLOBAL_MINIMUM = 1.1309, -1.3008  # roots of f'(x) = 4x³ - 6x + 1
DIVERGED = 1e6  # |x| beyond this: the run has blown up


def loss(x):
    """The lecture-style double-well loss f(x) = x⁴ - 3x² + x (works on tensors and arrays)."""
    return x ** 4 - 3 * x ** 2 + x


def descend(start: float, lr: float, steps: int) -> list:
    """Iterates x₀, x₁, ... of x ← x - lr f'(x), stopping early once they diverge."""
    x = dl.tensor(start, dtype=dl.float64, requires_grad=True)
    path = [start]
    for _ in range(steps):
        x.grad = None
        loss(x).backward()
        with dl.no_grad():
            x -= lr * x.grad
        path.append(float(x.item()))
        if not math.isfinite(path[-1]) or abs(path[-1]) > DIVERGED:
            break
    return path


def outcome(x: float) -> str:
    """Which minimum ``x`` ended at, or "diverged"."""
    if not math.isfinite(x) or abs(x) > DIVERGED:
        return "diverged"
    if abs(x - GLOBAL_MINIMUM) < 1e-2:
        return "global minimum"
    if abs(x - LOCAL_MINIMUM) < 1e-2:
        return "local minimum"
    return "not converged"


def _plot(paths: dict, out: str):
    plt = pyplot()
    figure, (curve_axis, trace_axis) = plt.subplots(1, 2, figsize=(11, 4))
    grid = np.linspace(-2.2, 2.2, 400)
    curve_axis.plot(grid, loss(grid), color="grey")
    for lr, path in paths.items():
        inside = list(itertools.takewhile(lambda x: abs(x) <= 2.2, path))  # until it leaves
        shown = np.array(inside[:40])
        curve_axis.plot(shown, loss(shown), ".-", alpha=0.8, label=f"lr={lr:g}")
        trace_axis.plot(np.sign(path) * np.log10(1 + np.abs(path)), ".-", label=f"lr={lr:g}")
    curve_axis.set(xlabel="x", ylabel="f(x)", title="f(x) = x⁴ - 3x² + x, start x₀ = 2")
    trace_axis.set(xlabel="step", ylabel="x, signed log scale: sign(x)·log10(1 + |x|)",
                   title="iterates")
    for axis in (curve_axis, trace_axis):
        axis.legend()
        axis.grid(alpha=0.3)
    return save(figure, out, "learning_rates.png")


def main(argv=None) -> dict:
    """Run gradient descent with three learning rates; print where each ends; save the plot."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--start", type=float, default=2.0)
    args_parser.add_argument("--steps", type=int, default=100)
    args_parser.add_argument("--lrs", default="0.01,0.1,0.2", help="learning rates to compare")
    args = args_parser.parse_args(argv)
    paths: dict = {}
    results: dict = {}  # per learning rate, and the figure's path
    for lr in (float(text) for text in args.lrs.split(",")):
        paths[lr] = descend(args.start, lr, args.steps)
        end = paths[lr][-1]
        results[lr] = {"x": end, "outcome": outcome(end), "steps": len(paths[lr]) - 1}
        value = f"f(x) = {loss(end):.4f}" if outcome(end) != "diverged" else "f(x) = overflow"
        print(f"lr = {lr:<5g} after {results[lr]['steps']:>3} steps: x = {end:.4g}, {value}  "
              f"-> {results[lr]['outcome']}")
    results["figure"] = str(_plot(paths, args.out))
    return results


if __name__ == "__main__":
    main()
