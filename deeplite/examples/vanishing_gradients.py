"""Vanishing gradients (Glorot & Bengio, 2010): per-layer gradient norms of a deep MLP at init.

A deep sigmoid network multiplies the backpropagated signal by σ'(z) ≤ 1/4 and by the weights at
every layer, so the gradients of its first layers are orders of magnitude smaller than those of
its last: the early layers barely learn. The same depth with ReLU units (derivative 1 where
active, He initialisation) passes gradients down with much less shrinkage. Both nets are
``deeplite.nn.MLP`` on a batch of the digits data; norms are of each layer's weight gradient.

The lecture's 3-layer scalar chain ``σ(w3 σ(w2 σ(w1 x)))`` shows why: its graph is drawn with each
local derivative on its edge, and dℓ/dw1 is their product, x σ'(u1) w2 σ'(u2) w3 σ'(u3), in which
every σ' is at most 1/4.

    python -m deeplite.examples.vanishing_gradients --out figures
"""
import numpy as np

import deeplite as dl
from deeplite import functional as F
from deeplite import viz
from deeplite.data import load_digits, split_and_standardize

from ._common import parser, pyplot, save


def layer_gradients(activation: str, depth: int, width: int, x, labels, seed: int) -> list:
    """Weight gradients (NumPy arrays), first layer first, of one backward pass at init."""
    dl.manual_seed(seed)
    model = dl.nn.MLP([x.shape[1], *[width] * depth, 10], activation=activation)
    F.cross_entropy(model(x), labels).backward()
    return [layer.weight.grad.numpy() for layer in model.layers]


def scalar_chain(seed: int, out: str) -> dict:
    """The lecture's σ(w3 σ(w2 σ(w1 x))): its graph with local derivatives, and their product."""
    rng = np.random.default_rng(seed)
    x = dl.tensor(rng.uniform(0.5, 1.5), dtype=dl.float64)
    weights = {f"w{i}": dl.tensor(rng.uniform(0.5, 1.5), dtype=dl.float64, requires_grad=True)
               for i in (1, 2, 3)}
    hidden = x
    for weight in weights.values():
        hidden = F.sigmoid(dl.mul(weight, hidden))
    drawing = viz.graph(hidden, weights, show_values=True, show_local_grads=True,
                        names={"x": x})
    path = drawing.render(f"{out}/vanishing_gradients_chain.png")
    print(f"saved {path}")
    # Follow the drawing from w1 to the output, reading the derivative written on each edge.
    # With u_i = w_i h_(i-1) the edges carry, in order: x, σ'(u1), w2, σ'(u2), w3, σ'(u3).
    names = ["x", "σ'(u1)", "w2", "σ'(u2)", "w3", "σ'(u3)"]
    node = next(i for i, n in enumerate(drawing.nodes) if n.title == "w1")
    factors = []
    while drawing.nodes[node].kind != "output":
        (edge,) = [e for e in drawing.edges if e.source == node]
        if edge.label is not None:
            factors.append(float(edge.label))
        node = edge.target
    (by_tape,) = dl.grad(hidden, weights["w1"])
    product = float(np.prod(factors))
    print("3-layer chain: dℓ/dw1 = " + " · ".join(names) + " = "
          + " · ".join(f"{f:.3g}" for f in factors) + f" = {product:.4g} "
          f"(tape: {float(by_tape):.4g}); every σ' ≤ 1/4, so each layer shrinks it")
    return {"factors": dict(zip(names, factors, strict=True)), "product": product,
            "grad_w1": float(by_tape), "graph": str(path)}


def _plot(gradients: dict, out: str):
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, grads in gradients.items():
        norms = [np.linalg.norm(g) for g in grads]
        axes[0].semilogy(range(1, len(norms) + 1), norms, "o-", label=name)
    axes[0].set(xlabel="layer (1 = nearest the input)", ylabel="||∂loss/∂W||",
                title="gradient norm per layer at initialisation")
    axes[0].legend()
    for axis, (name, grads) in zip(axes[1:], gradients.items()):
        bins = np.linspace(-12, 0, 60)
        for index, g in enumerate(grads):
            values = np.log10(np.abs(g[g != 0]) + 1e-30)
            axis.hist(values, bins=bins, histtype="step", label=f"layer {index + 1}")
        axis.set(xlabel="log10 |gradient entry|", ylabel="count", title=f"{name}: histograms")
        axis.legend(fontsize=7)
    return save(figure, out, "vanishing_gradients.png")


def main(argv=None) -> dict:
    """Compare per-layer gradient norms of a deep sigmoid and ReLU MLP; save the plot."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--depth", type=int, default=8, help="hidden layers")
    args_parser.add_argument("--width", type=int, default=128, help="units per hidden layer")
    args_parser.add_argument("--batch", type=int, default=256, help="samples in the batch")
    args = args_parser.parse_args(argv)
    train, _, _ = split_and_standardize(load_digits(), seed=args.seed)
    x = dl.tensor(train.x[:args.batch])
    labels = dl.tensor(train.y[:args.batch])
    gradients: dict = {}
    results: dict = {}  # per activation, and the figure's path
    for activation in ("sigmoid", "relu"):
        grads = layer_gradients(activation, args.depth, args.width, x, labels, args.seed)
        norms = [float(np.linalg.norm(g)) for g in grads]
        gradients[activation] = grads
        ratio = norms[-1] / norms[0]
        results[activation] = {"norms": norms, "last_over_first": ratio}
        print(f"{activation:<8} ||grad W|| first layer {norms[0]:.2e}, last layer "
              f"{norms[-1]:.2e}: last/first = {ratio:.3g} "
              f"({np.log10(ratio):.1f} orders of magnitude)")
        print("         per layer: " + " ".join(f"{n:.1e}" for n in norms))
    results["chain"] = scalar_chain(args.seed, args.out)
    results["figure"] = str(_plot(gradients, args.out))
    return results


if __name__ == "__main__":
    main()
