"""deeplite.sklearn: scikit-learn's own estimator checks, Pipeline, GridSearchCV, clone,
partial_fit, pickling, and agreement with scikit-learn's MLP on the same initialisation."""
import pickle
import warnings

import numpy as np
import pytest

try:
    import sklearn  # noqa: F401
except Exception as error:  # not only ImportError: scipy.stats raises AttributeError when torch
    # is blocked as None in sys.modules (test_cuda_rules.py's collection test does that)
    pytest.skip(f"scikit-learn does not import here: {error!r}", allow_module_level=True)

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from deeplite.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Checks that may be skipped, each with why. check_estimator runs every other check and fails
# this test if one fails; a skip not listed here fails it too.
JUSTIFIED_SKIPS = {
    "check_array_api_input": "scikit-learn skips it unless SCIPY_ARRAY_API=1 is set; the "
                             "estimators take NumPy-convertible input (array API dispatch is "
                             "not supported: the network lives on deeplite's device instead)",
}


def _pandas_missing() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor], ids=lambda c: c.__name__)
def test_check_estimator_passes(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(make(max_iter=100, random_state=0), on_fail=None,
                                  on_skip=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    # scikit-learn runs its "data not an array" checks through pandas: skipped, with that reason,
    # when pandas (an optional extra of deeplite) is not installed.
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"
               and not (_pandas_missing() and "pandas" in str(r.get("exception", "")).lower())}
    assert not failed, failed
    assert skipped <= set(JUSTIFIED_SKIPS), skipped - set(JUSTIFIED_SKIPS)
    assert len(results) > 40  # the whole suite ran


def test_same_losses_as_sklearn_from_the_same_start(iris):
    """Same initialisation draws, loss and stopping rule: loss curves agree to ~1e-3."""
    X, y = iris
    settings = dict(hidden_layer_sizes=(12,), max_iter=30, random_state=3, alpha=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**settings, shuffle=False).fit(X, y)
        theirs = SkMLPClassifier(**settings, shuffle=False).fit(X, y)
    np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], atol=2e-3)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=2e-3)
    assert ours.n_iter_ == theirs.n_iter_ == 30


def test_fitted_attributes_and_probabilities(iris):
    X, y = iris
    names = [f"f{i}" for i in range(4)]
    pd = pytest.importorskip("pandas")
    clf = MLPClassifier((16,), learning_rate_init=0.01, random_state=0)
    clf.fit(pd.DataFrame(X, columns=names), np.array(["a", "b", "c"])[y])
    assert list(clf.feature_names_in_) == names and clf.n_features_in_ == 4
    assert list(clf.classes_) == ["a", "b", "c"] and clf.n_outputs_ == 3
    proba = clf.predict_proba(pd.DataFrame(X, columns=names))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.score(pd.DataFrame(X, columns=names), np.array(["a", "b", "c"])[y]) > 0.9
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] and len(clf.loss_curve_) == clf.n_iter_
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]


def test_binary_uses_one_logistic_output(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=200, random_state=1).fit(X[y < 2], y[y < 2])
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.predict_proba(X[:5]).shape == (5, 2) and clf.score(X[y < 2], y[y < 2]) == 1.0


def test_pipeline_gridsearch_and_clone(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=150, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (32,)],
                               "mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_score_ > 0.85 and set(grid.best_params_) == {
        "mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    fitted = grid.best_estimator_[-1]
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "coefs_")


def test_partial_fit_learns_and_needs_classes(iris):
    X, y = iris
    clf = MLPClassifier((16,), batch_size=16, random_state=0)
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y)
    losses = [clf.partial_fit(X, y, classes=[0, 1, 2]).loss_ for _ in range(40)]
    assert clf.n_iter_ == 40 and losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X, y + 5)


def test_regressor_multi_output_and_early_stopping():
    X, y = make_regression(300, 5, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std()
    reg = MLPRegressor((32,), max_iter=500, early_stopping=True, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (300, 2) and reg.score(X, y) > 0.9
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.n_iter_ < 500  # stopped early


def test_pickle_keeps_predictions_and_training_continues(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    restored.partial_fit(X, y)
    assert restored.n_iter_ == 51


@pytest.mark.parametrize("bad, match", [
    ({"solver": "lbfgs"}, "no lbfgs"), ({"activation": "gelu"}, "activation 'gelu'"),
    ({"alpha": -1.0}, "alpha"), ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"batch_size": 0}, "batch_size")])
def test_bad_parameters_name_the_culprit(iris, bad, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**bad).fit(*iris)


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_devices_agree(iris, device):
    X, y = iris
    settings = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**settings, device=device).fit(X, y)
        reference = MLPClassifier(**settings, device="numpy").fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-8)
