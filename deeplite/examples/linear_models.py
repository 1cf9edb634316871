"""Three linear classifiers on the lecture's two Gaussian classes with a shared covariance.

- Rosenblatt's perceptron: on each mistake, w += y x and b += y (labels y in {-1, +1}).
- LDA in closed form: w = Σ⁻¹(μ₁ - μ₀), b = -½(μ₁ + μ₀)ᵀw + log(π₁/π₀), with the pooled Σ.
- Logistic regression by gradient descent on the logistic loss (deeplite autograd).

With homoscedastic Gaussian classes the Bayes posterior is exactly logistic in x with LDA's
weights, so logistic regression estimates the same direction: their cosine similarity is ~1.

    python -m deeplite.examples.linear_models --out figures
"""
import numpy as np

import deeplite as dl
from deeplite import functional as F
from deeplite.data import make_gaussian_classes

from ._common import parser, pyplot, save


def perceptron(x: np.ndarray, signs: np.ndarray, epochs: int, seed: int) -> tuple:
    """Rosenblatt's rule, one sample at a time in a shuffled order each epoch; (w, b, mistakes)."""
    rng = np.random.default_rng(seed)
    w, b = np.zeros(x.shape[1]), 0.0
    mistakes = []
    for _ in range(epochs):
        count = 0
        for i in rng.permutation(len(x)):
            if signs[i] * (x[i] @ w + b) <= 0:  # wrong side (or on the boundary): move it
                w, b = w + signs[i] * x[i], b + signs[i]
                count += 1
        mistakes.append(count)
        if count == 0:
            break  # separable and separated: the rule has converged
    return w, b, mistakes


def lda(x: np.ndarray, labels: np.ndarray) -> tuple:
    """Closed-form LDA: (w, b) with w = Σ⁻¹(μ₁ - μ₀) for the pooled within-class covariance."""
    groups = [x[labels == k] for k in (0, 1)]
    means = [group.mean(axis=0) for group in groups]
    pooled = sum((group - mean).T @ (group - mean) for group, mean in zip(groups, means))
    pooled /= len(x) - 2
    w = np.linalg.solve(pooled, means[1] - means[0])
    prior_1 = labels.mean()
    b = -0.5 * (means[1] + means[0]) @ w + np.log(prior_1 / (1 - prior_1))
    return w, b


def logistic_regression(x: np.ndarray, labels: np.ndarray, steps: int, lr: float) -> tuple:
    """Full-batch gradient descent on the mean logistic loss; (w, b, final loss)."""
    inputs = dl.tensor(x, dtype=dl.float64)
    targets = dl.tensor(labels, dtype=dl.float64)
    w = dl.zeros(x.shape[1], dtype=dl.float64, requires_grad=True)
    b = dl.zeros(1, dtype=dl.float64, requires_grad=True)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(inputs @ w + b, targets)
        w.grad = b.grad = None
        loss.backward()
        with dl.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
    return w.detach().numpy().copy(), float(b.item()), float(loss)


def accuracy(x: np.ndarray, labels: np.ndarray, w: np.ndarray, b: float) -> float:
    """Share of samples on the right side of the boundary x·w + b = 0."""
    return float(np.mean((x @ w + b > 0) == (labels == 1)))


def _plot(x, labels, models: dict, out: str):
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 5))
    for k, colour in ((0, "tab:blue"), (1, "tab:orange")):
        axis.scatter(*x[labels == k].T, s=8, alpha=0.5, color=colour, label=f"class {k}")
    xs = np.linspace(x[:, 0].min(), x[:, 0].max(), 2)
    styles = (("-", "black"), ("--", "tab:red"), (":", "tab:green"))
    for (name, (w, b)), (style, colour) in zip(models.items(), styles):
        axis.plot(xs, -(w[0] * xs + b) / w[1], style, color=colour, lw=2, label=name)  # x·w+b=0
    axis.set(ylim=(x[:, 1].min(), x[:, 1].max()), xlabel="x1", ylabel="x2",
             title="decision boundaries on two Gaussian classes")
    axis.legend(fontsize=8)
    return save(figure, out, "linear_models.png")


def main(argv=None) -> dict:
    """Fit the three models, print their accuracies and the LDA/logistic cosine; save the plot."""
    args_parser = parser(__doc__.splitlines()[0])
    args_parser.add_argument("--n", type=int, default=600, help="number of samples")
    args_parser.add_argument("--steps", type=int, default=500, help="logistic regression steps")
    args = args_parser.parse_args(argv)
    data = make_gaussian_classes(args.n, 2, distance=3.0, correlation=0.7, seed=args.seed)
    x, labels = data.x.astype(np.float64), data.y
    w_perceptron, b_perceptron, mistakes = perceptron(x, 2.0 * labels - 1, 50, args.seed)
    w_lda, b_lda = lda(x, labels)
    w_logistic, b_logistic, loss = logistic_regression(x, labels, args.steps, lr=0.5)
    cosine = float(w_lda @ w_logistic / (np.linalg.norm(w_lda) * np.linalg.norm(w_logistic)))
    models = {"perceptron": (w_perceptron, b_perceptron), "LDA": (w_lda, b_lda),
              "logistic regression": (w_logistic, b_logistic)}
    results = {"cosine_lda_logistic": cosine, "logistic_loss": loss,
               "perceptron_mistakes_last_epoch": mistakes[-1]}
    for name, (w, b) in models.items():
        results[f"accuracy_{name.split()[0].lower()}"] = accuracy(x, labels, w, b)
        print(f"{name:<20} w = {np.array2string(w, precision=3)}, b = {b:+.3f}, "
              f"training accuracy {results[f'accuracy_{name.split()[0].lower()}']:.1%}")
    print(f"cosine similarity of the LDA and logistic weight directions: {cosine:.4f}")
    results["figure"] = str(_plot(x, labels, models, args.out))
    return results


if __name__ == "__main__":
    main()
