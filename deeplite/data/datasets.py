"""Ready-made datasets: real ones bundled with scikit-learn (digits, breast_cancer, wine, iris,
diabetes; no download) and the lecture's synthetic ones. Each returns a ``TabularData`` (``.x``
(n, p) float32, ``.y`` (n,)).
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


def _labelled_table(name: str, sklearn_loader: str) -> tuple:
    """(x, y) of one of scikit-learn's bundled classification CSVs (a header row of counts and
    class names, then the features and the class index on each row)."""
    path = _bundled_file(name)
    if path is not None:
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        return table[:, :-1], table[:, -1]
    from sklearn import datasets  # another scikit-learn layout: ask it (slower)

    bunch = getattr(datasets, sklearn_loader)()
    return bunch.data, bunch.target


def _classification(name: str, sklearn_loader: str, features, target: str,
                    classes: list) -> TabularData:
    x, y = _labelled_table(name, sklearn_loader)
    return TabularData(x.astype(np.float32), y.astype(np.int64), list(features), target,
                       list(classes), sklearn_loader[len("load_"):])


def load_breast_cancer() -> TabularData:
    """Wisconsin breast cancer: 569 tumours, 30 features, classes "malignant" (0) / "benign" (1).

    Read from the copy bundled inside scikit-learn: nothing is downloaded.
    """
    return _classification("breast_cancer.csv", "load_breast_cancer", CANCER_FEATURES,
                           "diagnosis", ["malignant", "benign"])


WINE_FEATURES = ("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
                 "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
                 "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline")
IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                 "petal width (cm)")
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def load_wine() -> TabularData:
    """Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars (class_0..class_2).

    Read from the copy bundled inside scikit-learn: nothing is downloaded.
    """
    return _classification("wine_data.csv", "load_wine", WINE_FEATURES, "cultivar",
                           ["class_0", "class_1", "class_2"])


def load_iris() -> TabularData:
    """Fisher's iris: 150 flowers, 4 measurements in cm, classes setosa, versicolor, virginica.

    Read from the copy bundled inside scikit-learn: nothing is downloaded.
    """
    return _classification("iris.csv", "load_iris", IRIS_FEATURES, "species",
                           ["setosa", "versicolor", "virginica"])


def load_diabetes(scaled: bool = True) -> TabularData:
    """Diabetes progression (regression): 442 patients, 10 baseline features, ``y`` a
    quantitative measure of disease progression one year later (25-346), float32.

    As scikit-learn's ``load_diabetes``: with ``scaled`` (the default) each feature is
    mean-centred and divided by its standard deviation times sqrt(442), so every column has
    unit Euclidean norm; ``scaled=False`` gives the raw measurements. Read from the copy
    bundled inside scikit-learn: nothing is downloaded.
    """
    data_path, target_path = (_bundled_file("diabetes_data_raw.csv.gz"),
                              _bundled_file("diabetes_target.csv.gz"))
    if data_path is not None and target_path is not None:
        x, y = np.loadtxt(data_path), np.loadtxt(target_path)
        if scaled:
            x = (x - x.mean(axis=0)) / x.std(axis=0) / np.sqrt(x.shape[0])
    else:
        from sklearn import datasets

        bunch = datasets.load_diabetes(scaled=scaled)
        x, y = bunch.data, bunch.target
    return TabularData(x.astype(np.float32), y.astype(np.float32), list(DIABETES_FEATURES),
                       "progression", source="diabetes")  # classes None: a numeric target


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
