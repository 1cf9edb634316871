"""The epoch loop of the scikit-learn estimators, with scikit-learn's stopping rules.

As ``sklearn.neural_network``'s stochastic solvers: ``loss_curve_`` holds each epoch's mean
loss (L2 term included); training stops once the loss (or, with ``early_stopping``, the
validation score) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and
warns ``ConvergenceWarning`` when ``max_iter`` epochs end first. With early stopping the weights
of the best validation epoch are kept.
"""
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .. import tensor


def train_epochs(est, X, targets, y, rng, incremental: bool) -> None:
    """Train ``est``'s network on ``X``: up to ``max_iter`` epochs, or one (``partial_fit``)."""
    epochs = 1 if incremental else est.max_iter
    early_stopping = est.early_stopping and not incremental
    X_val = y_val = best = None
    if early_stopping:
        stratify = y if is_classifier(est) else None
        X, X_val, targets, _, _, y_val = train_test_split(
            X, targets, y, random_state=rng, test_size=est.validation_fraction,
            stratify=stratify)
    model, optimizer = est._model, est._optimizer
    model.train()
    n_samples, batch = X.shape[0], est._batch_size(X.shape[0])
    for _ in range(epochs):
        order = rng.permutation(n_samples) if est.shuffle else np.arange(n_samples)
        total = 0.0
        for start in range(0, n_samples, batch):
            index = order[start:start + batch]
            inputs = tensor(X[index], device=est.device)
            expected = tensor(targets[index], device=est.device)
            loss = est._criterion(model(inputs), expected) + est._penalty(len(index))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        est.n_iter_ += 1
        est.t_ += n_samples
        est.loss_ = total / n_samples
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if early_stopping:
            improved = _watch_validation(est, X_val, y_val)
            if improved:
                est._sync_weights()
                best = (est.coefs_, est.intercepts_)
        else:
            _watch_loss(est)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if early_stopping else "Training loss"
            if est.verbose:
                print(f"{what} did not improve more than tol={est.tol:f} for "
                      f"{est.n_iter_no_change} consecutive epochs. Stopping.")
            break
        if not incremental and est.n_iter_ == est.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=4)  # the user's fit call
    if best is not None:
        est._load_weights(*best)


def _watch_loss(est) -> None:
    """Count epochs whose loss is not ``tol`` below the best so far (sklearn's rule)."""
    last = est.loss_curve_[-1]
    est._no_improvement_count = (est._no_improvement_count + 1
                                 if last > est.best_loss_ - est.tol else 0)
    est.best_loss_ = min(est.best_loss_, last)


def _watch_validation(est, X_val, y_val) -> bool:
    """Record the validation score; whether it is the best so far."""
    est._model.eval()
    score = est._validation_score(X_val, y_val)
    est._model.train()
    est.validation_scores_.append(score)
    if est.verbose:
        print(f"Validation score: {score:f}")
    est._no_improvement_count = (est._no_improvement_count + 1
                                 if score < est.best_validation_score_ + est.tol else 0)
    if score > est.best_validation_score_:
        est.best_validation_score_ = score
        return True
    return False
