"""Universal approximation: one hidden layer of ReLUs fits a smooth 1-D function, better with width.

A network x ↦ Σⱼ vⱼ relu(wⱼ x + bⱼ) + c is a piecewise-linear function with (up to) one kink per
hidden unit, so more units can follow the curve more closely. Each width is trained with Adam on
samples of f(x) = exp(-x²) cos(3x) on [-3, 3]; the error is measured on a dense grid.

    python -m deeplite.examples.universal_approximation --out figures
"""
import numpy as np

import deeplite as dl
from deeplite import functional as F
from deeplite.data import make_regression_1d

from ._common import parser, pyplot, save

FUNCTION = "bump"  # exp(-x²) cos(3x), one of deeplite.data.make_regression_1d's functions


def fit_width(width: int, x: np.ndarray, y: np.ndarray, steps: int, seed: int):
    """A 1-hidden-layer ReLU MLP of ``width`` units trained full-batch with Adam."""
    dl.manual_seed(seed)
    model = dl.nn.MLP([1, width, 1], activation="relu")
    # Spread the kinks: unit j bends at x = -b_j / w_j, so draw those points over the data's range
    # (with the default zero biases every unit would bend at x = 0 and training must move them).
    hidden = model.layers[0]
    kinks = dl.creation.generator().uniform(x.min(), x.max(), width)
    with dl.no_grad():
        hidden.bias.copy_(dl.tensor(-hidden.weight.detach().numpy()[0] * kinks,
                                    dtype=hidden.bias.dtype))
    optimizer = dl.optim.Adam(model.parameters(), lr=0.01)
    inputs, targets = dl.tensor(x), dl.tensor(y[:, None])
    for _ in range(steps):
        optimizer.zero_grad()
        F.mse_loss(model(inputs), targets).backward()
        optimizer.step()
    return model


def _plot(grid, truth, x, y, predictions: dict, errors: dict, out: str):
    plt = pyplot()
    figure, (fits, curve) = plt.subplots(1, 2, figsize=(11, 4.2))
    fits.plot(x, y, ".", color="grey", ms=3, label="training samples")
    fits.plot(grid, truth, color="black", lw=2, label="f(x)")
    for width, prediction in predictions.items():
        fits.plot(grid, prediction, lw=1, label=f"{width} units")
    fits.set(xlabel="x", ylabel="y", title="fits of a 1-hidden-layer ReLU net")
    fits.legend(fontsize=7)
    curve.loglog(list(errors), list(errors.values()), "o-")
    curve.set(xlabel="hidden units", ylabel="mean squared error on a dense grid",
              title="error falls as the hidden layer widens")
    curve.grid(alpha=0.3, which="both")
    return save(figure, out, "universal_approximation.png")


def main(argv=None) -> dict:
    """Fit several widths, print width vs error, save the plot."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--widths", default="1,2,4,8,16,64", help="hidden layer sizes")
    args_parser.add_argument("--steps", type=int, default=1500, help="Adam steps per width")
    args_parser.add_argument("--n", type=int, default=200, help="training samples")
    args = args_parser.parse_args(argv)
    samples = make_regression_1d(FUNCTION, args.n, seed=args.seed)
    x, y = samples.x, samples.y
    grid_data = make_regression_1d(FUNCTION, 1000, seed=args.seed + 1)
    grid, truth = grid_data.x, grid_data.y
    predictions, errors = {}, {}
    for width in (int(text) for text in args.widths.split(",")):
        model = fit_width(width, x, y, args.steps, args.seed)
        with dl.no_grad():
            prediction = model(dl.tensor(grid)).numpy()[:, 0]
        predictions[width] = prediction
        errors[width] = float(np.mean((prediction - truth) ** 2))
        print(f"{width:>4} hidden units: test MSE {errors[width]:.2e}")
    figure = _plot(grid[:, 0], truth, x[:, 0], y, predictions, errors, args.out)
    return {"errors": errors, "figure": str(figure)}


if __name__ == "__main__":
    main()
