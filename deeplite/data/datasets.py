"""Ready-made datasets: two real ones bundled with scikit-learn (no download) and the lecture's
synthetic ones. Each returns a ``TabularData`` (``.x`` (n, p) float32, ``.y`` (n,)).
"""
import importlib.util
from pathlib import Path

import numpy as np

from ..creation import generator
from .tabular import TabularData


# The breast cancer features: ten measurements of the cell nuclei, each as mean, error and worst.
_NUCLEUS = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
            "concave points", "symmetry", "fractal dimension")
CANCER_FEATURES = ([f"mean {name}" for name in _NUCLEUS] + [f"{name} error" for name in _NUCLEUS]
                   + [f"worst {name}" for name in _NUCLEUS])


def _bundled_file(name: str):
    """Path of a data file shipped inside scikit-learn, found without importing scikit-learn.

    Importing scikit-learn costs 1-4 s (it loads SciPy); reading its bundled file directly costs
    milliseconds. None when the file is not where scikit-learn keeps it.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ImportError("the bundled datasets come with scikit-learn: pip install scikit-learn")
    path = Path(spec.origin).parent / "datasets" / "data" / name
    return path if path.exists() else None


def load_digits() -> TabularData:
    """8x8 handwritten digits: 1797 images as 64 pixel intensities (0-16), 10 classes.

    Read from the copy bundled inside scikit-learn: nothing is downloaded.
    """
    names = [f"pixel_{row}_{col}" for row in range(8) for col in range(8)]
    path = _bundled_file("digits.csv.gz")
    if path is not None:
        table = np.loadtxt(path, delimiter=",")
        x, y = table[:, :-1], table[:, -1]
    else:  # another scikit-learn layout: ask it (slower)
        from sklearn import datasets

        bunch = datasets.load_digits()
        x, y = bunch.data, bunch.target
    return TabularData(x.astype(np.float32), y.astype(np.int64), names, "digit",
                       list(range(10)), "digits")


def load_breast_cancer() -> TabularData:
    """Wisconsin breast cancer: 569 tumours, 30 features, classes "malignant" (0) / "benign" (1).

    Read from the copy bundled inside scikit-learn: nothing is downloaded.
    """
    path = _bundled_file("breast_cancer.csv")
    if path is not None:
        table = np.loadtxt(path, delimiter=",", skiprows=1)  # row 1: counts and class names
        x, y = table[:, :-1], table[:, -1]
    else:
        from sklearn import datasets

        bunch = datasets.load_breast_cancer()
        x, y = bunch.data, bunch.target
    return TabularData(x.astype(np.float32), y.astype(np.int64), list(CANCER_FEATURES),
                       "diagnosis", ["malignant", "benign"], "breast_cancer")


def make_gaussian_classes(n: int = 500, p: int = 2, distance: float = 3.0,
                          correlation: float = 0.6, prior: float = 0.5,
                          seed: int = None) -> TabularData:
    """The lecture's two homoscedastic Gaussian classes: x | y=k ~ N(mu_k, Sigma), shared Sigma.

    Sigma has unit variances and correlation ``correlation ** |i - j|`` between features i and j;
    mu_0 = 0 and mu_1 lies at Mahalanobis distance ``distance`` from it along (1, -1, 1, ...),
    so Bayes' optimal boundary is linear (what LDA recovers) and is not orthogonal to mu_1 - mu_0.

    Args:
        n: number of samples. p: number of features. prior: P(y = 1).
        seed: None draws from ``deeplite.manual_seed``'s generator.
    Returns:
        TabularData with y in {0, 1}; ``extras`` holds the true "means" (2, p) and "covariance".
    """
    if n < 2 or p < 1:
        raise ValueError(f"make_gaussian_classes: need n >= 2 and p >= 1, got n={n}, p={p}")
    if not -1.0 < correlation < 1.0:
        raise ValueError(f"make_gaussian_classes: correlation must be in (-1, 1), got "
                         f"{correlation}")
    rng = generator() if seed is None else np.random.default_rng(seed)
    lags = np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    covariance = correlation ** lags
    cholesky = np.linalg.cholesky(covariance)
    direction = np.where(np.arange(p) % 2 == 0, 1.0, -1.0) if p > 1 else np.ones(1)
    # Scale the direction to Mahalanobis length `distance`: delta' Sigma^-1 delta = distance^2.
    mahalanobis = np.sqrt(direction @ np.linalg.solve(covariance, direction))
    means = np.stack([np.zeros(p), direction * distance / mahalanobis])
    y = (rng.random(n) < prior).astype(np.int64)
    x = means[y] + rng.standard_normal((n, p)) @ cholesky.T
    return TabularData(x.astype(np.float32), y, [f"x{j}" for j in range(p)], "class", [0, 1],
                       "gaussians", {"means": means, "covariance": covariance})


_FUNCTIONS = {
    "sin": np.sin,
    "cubic": lambda x: x ** 3 / 9.0 - x,
    "bump": lambda x: np.exp(-x ** 2) * np.cos(3 * x),
    "abs": np.abs,
}


def make_regression_1d(fn="sin", n: int = 200, noise: float = 0.0, low: float = -3.0,
                       high: float = 3.0, seed: int = None) -> TabularData:
    """Samples of a 1-D function on [low, high]: x (n, 1) sorted, y = fn(x) + noise * N(0, 1).

    Args:
        fn: a callable on NumPy arrays, or one of "sin", "cubic", "bump", "abs".
    """
    if isinstance(fn, str):
        if fn not in _FUNCTIONS:
            raise ValueError(f"make_regression_1d: unknown function {fn!r}; choose one of "
                             f"{', '.join(_FUNCTIONS)} or pass a callable")
        fn = _FUNCTIONS[fn]
    if n < 1 or not low < high:
        raise ValueError(f"make_regression_1d: need n >= 1 and low < high, got n={n}, "
                         f"[{low}, {high}]")
    rng = generator() if seed is None else np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    y = np.asarray(fn(x), dtype=np.float64) + noise * rng.standard_normal(n)
    return TabularData(x[:, None].astype(np.float32), y.astype(np.float32), ["x"], "y", None,
                       "regression_1d")
