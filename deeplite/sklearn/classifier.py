"""``MLPClassifier``: scikit-learn's classifier API over a deeplite network."""
import numpy as np
from scipy.special import expit, softmax  # type: ignore[import-untyped]
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import nn
from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by deeplite (scikit-learn's API and names).

    Parameters are those of ``sklearn.neural_network.MLPClassifier`` (``hidden_layer_sizes``,
    ``activation`` in {"identity", "logistic", "tanh", "relu"}, ``solver`` in {"adam", "sgd"},
    ``alpha`` (L2), ``batch_size``, ``learning_rate_init``, ``max_iter``, ``shuffle``,
    ``random_state``, ``tol``, ``verbose``, ``warm_start``, ``momentum``,
    ``nesterovs_momentum``, ``early_stopping``, ``validation_fraction``, ``beta_1``, ``beta_2``,
    ``epsilon``, ``n_iter_no_change``) plus ``device`` ("cpu", "numpy", "cuda"; None: the
    default device). Binary problems use one logistic output, multiclass ones a softmax; the
    network computes in float32 for float32 input, else in float64.

    Attributes:
        classes_, n_features_in_, feature_names_in_ (DataFrame input), loss_, loss_curve_,
        best_loss_, validation_scores_, best_validation_score_, n_iter_, t_, n_layers_,
        n_outputs_, out_activation_, coefs_, intercepts_ (NumPy, shapes (in, out)).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from deeplite.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
        >>> clf.fit(X, y).score(X, y) > 0.9
        True
    """

    def fit(self, X, y):
        """Fit the network to ``X`` (n_samples, n_features) and labels ``y``; returns self."""
        X, y = self._validate(X, y, reset=True)
        self.classes_ = np.unique(y)
        return self._fit(X, y, self._n_outputs(), incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X``, ``y``; ``classes`` (all labels) is required on the first call."""
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("partial_fit: pass classes=<all labels> on the first call (as "
                             "sklearn's MLPClassifier does)")
        X, y = self._validate(X, y, reset=first)
        if first:
            self.classes_ = np.unique(column_or_1d(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"partial_fit: classes {np.unique(classes)} differ from the "
                             f"classes of the first call {self.classes_}")
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"partial_fit: labels {unseen} are not in classes {self.classes_}")
        return self._fit(X, y, self._n_outputs(), incremental=True)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        logits = self._forward(X)
        if self.n_outputs_ == 1:
            positive = expit(logits[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(logits, axis=1)

    def predict_log_proba(self, X):
        """Log of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample."""
        check_is_fitted(self, "coefs_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ---- helpers ------------------------------------------------------------------------------
    def _validate(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier: targets of type {type_of_target(y)} are not "
                             "supported; pass one label per sample")
        return X, y

    def _n_outputs(self) -> int:
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier: y has only one class ({self.classes_[0]!r}); "
                             "it needs samples of at least 2 classes")
        self.n_outputs_ = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.out_activation_ = "logistic" if self.n_outputs_ == 1 else "softmax"
        return self.n_outputs_

    def _targets(self, y):
        index = np.searchsorted(self.classes_, y)
        if self.n_outputs_ == 1:
            return index.astype(self.coefs_[0].dtype).reshape(-1, 1)
        return index.astype(np.int64)

    def _criterion(self, logits, targets):
        if self.n_outputs_ == 1:
            return nn.functional.binary_cross_entropy_with_logits(logits, targets)
        return nn.functional.cross_entropy(logits, targets)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags
