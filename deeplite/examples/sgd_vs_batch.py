"""Batch gradient descent against stochastic gradient descent, per example seen.

Linear regression y ≈ w x + b on noisy samples of y = 2x - 1. Batch GD makes one update per
pass over the data (the exact gradient); SGD makes one update per example (a noisy gradient).
For the same number of examples seen SGD is far ahead, and then jitters around the minimum
(its step never averages the noise away at a constant learning rate). Both use deeplite's
DataLoader and autograd.

    python -m deeplite.examples.sgd_vs_batch --out figures
"""
import numpy as np

import deeplite as dl
from deeplite import functional as F
from deeplite.data import DataLoader, TensorDataset

from ._common import parser, pyplot, save

TRUE_W, TRUE_B = 2.0, -1.0
START = (-1.0, 2.5)  # both methods start from the same (w, b), far from the minimum


def full_loss(x: np.ndarray, y: np.ndarray, w: float, b: float) -> float:
    """Mean squared error of (w, b) on the whole dataset."""
    return float(np.mean((w * x + b - y) ** 2))


def train(x: np.ndarray, y: np.ndarray, batch_size: int, lr: float, epochs: int,
          seed: int) -> tuple:
    """(trajectory of (w, b) after each update, examples seen after each update)."""
    w = dl.tensor(START[0], dtype=dl.float64, requires_grad=True)
    b = dl.tensor(START[1], dtype=dl.float64, requires_grad=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    path, seen = [START], [0]
    for _ in range(epochs):
        for inputs, targets in loader:
            w.grad = b.grad = None
            F.mse_loss(w * inputs + b, targets).backward()
            with dl.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
            path.append((float(w.item()), float(b.item())))
            seen.append(seen[-1] + len(targets))
    return np.array(path), np.array(seen)


def _plot(x, y, runs: dict, out: str):
    plt = pyplot()
    figure, (plane, curve) = plt.subplots(1, 2, figsize=(11, 4.5))
    ws, bs = np.meshgrid(np.linspace(-1.5, 3.5, 120), np.linspace(-2.5, 3.0, 120))
    surface = np.mean((ws[..., None] * x + bs[..., None] - y) ** 2, axis=-1)
    plane.contour(ws, bs, surface, levels=np.geomspace(surface.min() + 1e-3, surface.max(), 15),
                  cmap="Greys", linewidths=0.7)
    for name, (path, seen, losses) in runs.items():
        plane.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=0.8, label=name)
        curve.plot(np.maximum(seen, 1), losses, lw=1, label=name)
    plane.plot([START[0]], [START[1]], "ko", label="start")
    plane.set(xlabel="w", ylabel="b", title="trajectories on the loss contours")
    curve.set(xscale="log", yscale="log", xlabel="examples seen", ylabel="training loss (MSE)",
              title="loss per example seen")
    for axis in (plane, curve):
        axis.legend()
    return save(figure, out, "sgd_vs_batch.png")


def main(argv=None) -> dict:
    """Train both ways for the same number of examples; print the losses; save the plot."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--n", type=int, default=200, help="number of samples")
    args_parser.add_argument("--epochs", type=int, default=10, help="passes over the data")
    args = args_parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, args.n)
    y = TRUE_W * x + TRUE_B + 0.3 * rng.standard_normal(args.n)
    optimum = full_loss(x, y, *np.polyfit(x, y, 1))
    runs: dict = {}
    results: dict = {"optimum_loss": optimum}
    for name, batch_size, lr in (("batch GD", args.n, 0.5), ("SGD", 1, 0.05)):
        path, seen = train(x, y, batch_size, lr, args.epochs, args.seed)
        losses = np.array([full_loss(x, y, w, b) for w, b in path])
        runs[name] = (path, seen, losses)
        after_one_pass = losses[np.searchsorted(seen, args.n)]
        results[name] = {"loss_after_one_epoch": float(after_one_pass),
                         "final_loss": float(losses[-1]), "updates": len(path) - 1}
        print(f"{name:<9} {len(path) - 1:>5} updates: loss after one epoch {after_one_pass:.4f}, "
              f"after {args.epochs} epochs {losses[-1]:.4f} (least-squares optimum "
              f"{optimum:.4f})")
    results["figure"] = str(_plot(x, y, runs, args.out))
    return results


if __name__ == "__main__":
    main()
