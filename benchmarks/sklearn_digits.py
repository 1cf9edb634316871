"""``python -m benchmarks.sklearn_digits``: deeplite.sklearn.MLPClassifier beside scikit-learn's.

Same data (digits, stratified 75/25 split, standardised), same parameters (defaults: one hidden
layer of 100 ReLUs, adam, batch 200, tol-based stopping) and same random_state, so both start
from the same Glorot draws. Fit times are the median of ``--repeats`` fits, the contenders
alternating so that drifting machine load hits both alike; accuracy is on the held-out quarter.
"""
import argparse
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler

from deeplite import backends
from deeplite.sklearn import MLPClassifier


def contenders(hidden: tuple, seed: int) -> dict:
    """Name -> a fresh, unfitted estimator."""
    made = {"scikit-learn MLPClassifier": lambda: SkMLPClassifier(hidden, random_state=seed)}
    for device in ("cpu", "numpy"):
        if backends.is_available(device):
            made[f"deeplite.sklearn ({device})"] = (
                lambda device=device: MLPClassifier(hidden, random_state=seed, device=device))
    return made


def main(argv=None) -> None:
    """Print a Markdown table: accuracy, epochs, median fit time per contender."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sklearn_digits")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=args.seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    made = contenders((args.hidden,), args.seed)
    times: dict = {name: [] for name in made}
    results = {}
    for _ in range(args.repeats):
        for name, make in made.items():
            estimator = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                estimator.fit(X_train, y_train)
                times[name].append(time.perf_counter() - start)
            results[name] = (estimator.score(X_test, y_test), estimator.n_iter_)
    print(f"digits: {len(X_train)} train / {len(X_test)} test samples, hidden ({args.hidden},), "
          f"median of {args.repeats} fits\n")
    print("| estimator | test accuracy | epochs | fit time (s) |")
    print("| --- | --- | --- | --- |")
    for name in made:
        accuracy, epochs = results[name]
        print(f"| {name} | {accuracy:.4f} | {epochs} | {statistics.median(times[name]):.2f} |")


if __name__ == "__main__":
    main()
