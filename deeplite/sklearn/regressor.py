"""``MLPRegressor``: scikit-learn's regressor API over a deeplite network."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import nn
from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor trained by deeplite (scikit-learn's API and names).

    Parameters are those of ``sklearn.neural_network.MLPRegressor`` (see ``MLPClassifier``)
    plus ``device``. The loss is scikit-learn's half squared error ``0.5 * mean((y - p) ** 2)``
    (plus the L2 term); the output layer is linear; ``y`` may have several columns.

    Attributes:
        n_features_in_, feature_names_in_ (DataFrame input), loss_, loss_curve_, best_loss_,
        validation_scores_, best_validation_score_, n_iter_, t_, n_layers_, n_outputs_,
        out_activation_ ("identity"), coefs_, intercepts_.

    Example:
        >>> import numpy as np
        >>> from deeplite.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
        >>> reg = MLPRegressor((32,), learning_rate_init=0.01, random_state=0)
        >>> reg = reg.fit(X, X.ravel() ** 2)
        >>> reg.score(X, X.ravel() ** 2) > 0.9
        True
    """

    def fit(self, X, y):
        """Fit the network to ``X`` (n_samples, n_features) and ``y``; returns self."""
        X, y = self._validate(X, y, reset=True)
        return self._fit(X, y, self._n_outputs(y), incremental=False)

    def partial_fit(self, X, y):
        """One epoch of training over ``X``, ``y`` (starting a network on the first call)."""
        first = not hasattr(self, "coefs_")
        X, y = self._validate(X, y, reset=first)
        return self._fit(X, y, self._n_outputs(y), incremental=True)

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs) as ``y`` was."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        out = self._forward(X)
        return out[:, 0] if self._y_1d else out

    def _validate(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32))
        self._y_1d = y.ndim == 1
        return X, y

    def _n_outputs(self, y) -> int:
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.out_activation_ = "identity"
        return self.n_outputs_

    def _targets(self, y):
        return y.reshape(len(y), -1).astype(self.coefs_[0].dtype)

    def _criterion(self, predictions, targets):
        return nn.functional.mse_loss(predictions, targets) * 0.5  # sklearn's squared_error

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
