"""What deeplite's scikit-learn MLP estimators share: parameters, the network, the training loop.

Parameter names, defaults and meanings are scikit-learn's ``MLPClassifier``/``MLPRegressor``
ones (``alpha`` is the L2 penalty ``0.5 * alpha * ||W||² / batch_size``; the loss is sklearn's,
so ``loss_curve_`` compares). The network is a ``deeplite.nn.MLP`` on ``device``; the fitted
weights are also kept as NumPy arrays in ``coefs_`` / ``intercepts_`` (shape (in, out), as in
scikit-learn and deeplite), which is what pickling and ``clone`` rely on.
"""
from typing import Optional

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import nn, no_grad, optim, tensor
from ._training import train_epochs

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("adam", "sgd")


class BaseMLP(BaseEstimator):
    """Shared base of ``MLPClassifier`` and ``MLPRegressor`` (not used directly)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, device=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.device = device

    # ---- what subclasses say ------------------------------------------------------------------
    def _criterion(self, logits, targets):
        """The training loss of a batch (scikit-learn's: log loss or half squared error)."""
        raise NotImplementedError

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """``y`` as the network's training targets."""
        raise NotImplementedError

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        """The score early stopping watches (accuracy or R², as ``score``)."""
        return self.score(X, y)

    # ---- the network --------------------------------------------------------------------------
    def _check_params(self) -> None:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not supported; use one of "
                             f"{', '.join(ACTIVATIONS)}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver {self.solver!r} is not supported; use 'adam' or 'sgd' "
                             "(deeplite has no lbfgs)")
        checks = {"alpha": self.alpha >= 0, "learning_rate_init": self.learning_rate_init > 0,
                  "max_iter": self.max_iter >= 1, "tol": self.tol >= 0,
                  "n_iter_no_change": self.n_iter_no_change >= 1,
                  "validation_fraction": 0 < self.validation_fraction < 1,
                  "momentum": 0 <= self.momentum <= 1, "beta_1": 0 <= self.beta_1 < 1,
                  "beta_2": 0 <= self.beta_2 < 1, "epsilon": self.epsilon > 0}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)!r} is out of range; see "
                                 "sklearn.neural_network.MLPClassifier for the valid values")
        if self.batch_size != "auto" and (int(self.batch_size) != self.batch_size
                                          or self.batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive int, got "
                             f"{self.batch_size!r}")

    def _layer_sizes(self, n_features: int, n_outputs: int) -> list:
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if np.isscalar(hidden) else list(hidden)
        return [n_features, *[int(s) for s in hidden], n_outputs]

    def _initialize(self, sizes: list, dtype, rng: np.random.RandomState) -> None:
        """A new network with scikit-learn's Glorot-uniform initialisation, and its optimizer."""
        act = ACTIVATIONS[self.activation]
        model = nn.MLP(sizes, activation=act, device=self.device, dtype=dtype)
        factor = 2.0 if self.activation == "logistic" else 6.0  # sklearn's _init_coef
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        self._model = model
        self._load_weights(coefs, intercepts)
        self._optimizer = self._make_optimizer()
        self.n_layers_ = len(sizes)
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_: list = []
        # As scikit-learn: early stopping tracks validation scores instead of the best loss.
        self.best_loss_: Optional[float] = None if self.early_stopping else np.inf
        self.validation_scores_: Optional[list] = [] if self.early_stopping else None
        self.best_validation_score_: Optional[float] = -np.inf if self.early_stopping else None

    def _make_optimizer(self):
        params = self._model.parameters()
        if self.solver == "adam":
            return optim.Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                              eps=self.epsilon)
        return optim.SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                         nesterov=self.nesterovs_momentum and self.momentum > 0)

    def _load_weights(self, coefs: list, intercepts: list) -> None:
        with no_grad():
            for layer, coef, intercept in zip(self._model.layers, coefs, intercepts, strict=True):
                layer.weight.copy_(tensor(coef, device=layer.weight.device))
                _bias(layer).copy_(tensor(intercept, device=layer.weight.device))
        self._sync_weights()

    def _sync_weights(self) -> None:
        """Mirror the network's weights in ``coefs_`` / ``intercepts_`` (NumPy copies)."""
        self.coefs_ = [layer.weight.detach().numpy().copy() for layer in self._model.layers]
        self.intercepts_ = [_bias(layer).detach().numpy().copy() for layer in self._model.layers]

    def _network(self):
        """The fitted network, rebuilt from ``coefs_`` after unpickling."""
        check_is_fitted(self, "coefs_")
        if getattr(self, "_model", None) is None:
            sizes = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
            self._model = nn.MLP(sizes, activation=ACTIVATIONS[self.activation],
                                 device=self.device, dtype=self.coefs_[0].dtype)
            self._load_weights(self.coefs_, self.intercepts_)
            self._optimizer = self._make_optimizer()  # moment estimates are not pickled
        return self._model

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The network's raw outputs (logits) for ``X``, as a NumPy array."""
        model = self._network()
        model.eval()
        with no_grad():
            out = model(tensor(X, dtype=self.coefs_[0].dtype, device=self.device))
        return out.numpy()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_model", None)  # rebuilt from coefs_ / intercepts_ on first use
        state.pop("_optimizer", None)
        return state

    # ---- fitting ------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, n_outputs: int, incremental: bool):
        """Train on validated ``X`` and ``y``: ``max_iter`` epochs (fit) or one (partial_fit)."""
        self._check_params()
        rng = check_random_state(self.random_state)
        fresh = not hasattr(self, "coefs_") or (not incremental and not self.warm_start)
        if fresh:
            self._initialize(self._layer_sizes(X.shape[1], n_outputs), X.dtype, rng)
        else:
            self._network()
        if not incremental:
            self._no_improvement_count = 0
        train_epochs(self, X, self._targets(y), y, rng, incremental)
        self._sync_weights()
        return self

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        return int(np.clip(self.batch_size, 1, n_samples))

    def _penalty(self, n_batch: int):
        """scikit-learn's L2 term: ``0.5 * alpha * sum(W ** 2) / n_batch`` (biases excluded)."""
        return nn.l2_penalty(self._model) * (self.alpha / n_batch)


def _bias(layer):
    """The bias of one of the estimator's layers (nn.MLP's Linear layers always have one)."""
    if layer.bias is None:
        raise ValueError(f"{layer!r} has no bias; the estimators' networks always have one")
    return layer.bias
