"""Automatic differentiation on the lecture's guiding example: dℓ/dW1 three ways, and its graph.

The network ``f(x; W1, W2) = σ(W2ᵀ σ(W1ᵀ x))`` with loss ``ℓ = cross_ent(y, ŷ) + λ(‖W1‖ + ‖W2‖)``
is a composition of differentiable functions. Named as in the lecture:

    u1 = W1ᵀ x      u2 = σ(u1)      u3 = W2ᵀ u2     u4 = σ(u3) = ŷ
    u5 = cross_ent(y, u4)           u6 = ‖W1‖      u7 = ‖W2‖      u8 = λ (u6 + u7)
    ℓ  = u5 + u8

W1 reaches ℓ along two paths, through u4 (the data) and through u8 (the penalty), so

    dℓ/dW1 = ∂ℓ/∂u8 du8/dW1 + ∂ℓ/∂u4 du4/dW1.

The example computes that sum by hand in NumPy, compares it with the tape's backward and with
forward mode (``deeplite.jvp``, one tangent per entry of W1), draws the graph with the u-names
(``deeplite.viz.graph``) and plots the gradient and its two path terms.

    python -m deeplite.examples.autodiff_paths --out figures
"""
import numpy as np

import deeplite as dl
from deeplite import functional as F
from deeplite import viz

from ._common import parser, pyplot, save


def norm(matrix):
    """Frobenius norm ‖W‖ in differentiable ops."""
    return (matrix * matrix).sum().sqrt()


def forward(x, y, w1, w2, lam: float) -> dict:
    """Every named value of the lecture's graph, computed on the tape."""
    u = {"x": x, "y": y, "W1": w1, "W2": w2}
    u["u1"] = x @ w1  # W1ᵀ x, for a vector x
    u["u2"] = F.sigmoid(u["u1"])
    u["u3"] = u["u2"] @ w2  # W2ᵀ u2
    u["u4"] = F.sigmoid(u["u3"])
    u["u5"] = F.binary_cross_entropy(u["u4"], y, reduction="sum")
    u["u6"] = norm(w1)
    u["u7"] = norm(w2)
    u["u8"] = lam * (u["u6"] + u["u7"])
    u["ℓ"] = u["u5"] + u["u8"]
    return u


def gradient_by_paths(values: dict, lam: float) -> tuple:
    """(∂ℓ/∂u4 du4/dW1, ∂ℓ/∂u8 du8/dW1), each factor written out in NumPy float64."""
    v = {name: np.asarray(tensor.detach(), dtype=np.float64) for name, tensor in values.items()}
    # Path through u4: ∂ℓ/∂u4 = ∂ℓ/∂u5 ∂u5/∂u4, with ∂ℓ/∂u5 = 1 and the cross-entropy's
    # derivative (u4 - y) / (u4 (1 - u4)); then back through σ, W2ᵀ, σ and W1ᵀ x.
    dl_du4 = (v["u4"] - v["y"]) / (v["u4"] * (1 - v["u4"]))
    dl_du3 = dl_du4 * v["u4"] * (1 - v["u4"])  # σ'(u3) = u4 (1 - u4)
    dl_du2 = v["W2"] @ dl_du3  # u3 = W2ᵀ u2
    dl_du1 = dl_du2 * v["u2"] * (1 - v["u2"])  # σ'(u1) = u2 (1 - u2)
    through_u4 = np.outer(v["x"], dl_du1)  # ∂u1_j / ∂W1_ij = x_i
    # Path through u8: ∂ℓ/∂u8 = 1 and du8/dW1 = λ d‖W1‖/dW1 = λ W1 / ‖W1‖.
    through_u8 = 1.0 * lam * v["W1"] / v["u6"]
    return through_u4, through_u8


def gradient_by_forward_mode(x, y, w1, w2, lam: float) -> np.ndarray:
    """dℓ/dW1 entry by entry: one Jacobian-vector product per basis direction of W1."""
    def loss_of(w):
        return forward(x, y, w, w2, lam)["ℓ"]

    result = np.zeros(w1.shape)
    for index in np.ndindex(*w1.shape):
        tangent = np.zeros(w1.shape)
        tangent[index] = 1.0
        _, derivative = dl.jvp(loss_of, w1, dl.tensor(tangent, dtype=w1.dtype))
        result[index] = float(derivative)
    return result


def _plot(panels: dict, out: str):
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    limit = max(np.abs(values).max() for values in panels.values())
    for axis, (title, values) in zip(axes, panels.items(), strict=True):
        image = axis.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        axis.set(title=title, xlabel="hidden unit j", ylabel="input i",
                 xticks=range(values.shape[1]), yticks=range(values.shape[0]))
    figure.colorbar(image, ax=axes[-1])
    return save(figure, out, "autodiff_paths.png")


def main(argv=None) -> dict:
    """Compute dℓ/dW1 by backward, by the sum over paths and by forward mode; save the figures."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--inputs", type=int, default=3, help="size of x")
    args_parser.add_argument("--hidden", type=int, default=4, help="size of u1 and u2")
    args_parser.add_argument("--outputs", type=int, default=2, help="size of ŷ")
    args_parser.add_argument("--lam", type=float, default=0.1, help="penalty weight λ")
    args = args_parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = dl.tensor(rng.standard_normal(args.inputs), dtype=dl.float64)
    y = dl.tensor(rng.integers(0, 2, args.outputs), dtype=dl.float64)
    w1 = dl.tensor(rng.standard_normal((args.inputs, args.hidden)), dtype=dl.float64,
                   requires_grad=True)
    w2 = dl.tensor(rng.standard_normal((args.hidden, args.outputs)), dtype=dl.float64,
                   requires_grad=True)
    values = forward(x, y, w1, w2, args.lam)
    drawing = viz.graph(values["ℓ"], {"W1": w1, "W2": w2}, show_values=True,
                        names={name: values[name] for name in ("x", "y", "ℓ", *[
                            f"u{i}" for i in range(1, 9)])})
    graph_path = drawing.render(f"{args.out}/autodiff_paths_graph.png")
    print(f"saved {graph_path}")

    values["ℓ"].backward()  # 1. reverse mode on the tape
    by_backward = np.asarray(w1.grad, dtype=np.float64)
    through_u4, through_u8 = gradient_by_paths(values, args.lam)  # 2. the lecture's sum
    by_paths = through_u4 + through_u8
    by_forward = gradient_by_forward_mode(x, y, w1.detach(), w2.detach(), args.lam)  # 3.
    results = {"loss": float(values["ℓ"]), "backward": by_backward, "paths": by_paths,
               "forward": by_forward, "through_u4": through_u4, "through_u8": through_u8,
               "paths_vs_backward": float(np.abs(by_paths - by_backward).max()),
               "forward_vs_backward": float(np.abs(by_forward - by_backward).max()),
               "graph": str(graph_path)}
    print(f"ℓ = {results['loss']:.6f}")
    print(f"‖∂ℓ/∂u4 du4/dW1‖ = {np.linalg.norm(through_u4):.4e} (the data path), "
          f"‖∂ℓ/∂u8 du8/dW1‖ = {np.linalg.norm(through_u8):.4e} (the penalty path)")
    print(f"max |paths - backward|  = {results['paths_vs_backward']:.2e}")
    print(f"max |forward - backward| = {results['forward_vs_backward']:.2e}")
    agree = max(results["paths_vs_backward"], results["forward_vs_backward"]) < 1e-10
    print("the three gradients agree" if agree else "the three gradients DISAGREE")
    results["agree"] = agree
    results["figure"] = str(_plot({"∂ℓ/∂u4 du4/dW1": through_u4, "∂ℓ/∂u8 du8/dW1": through_u8,
                                   "sum over paths": by_paths, "tape backward": by_backward},
                                  args.out))
    return results


if __name__ == "__main__":
    main()
