"""deeplite.sklearn: scikit-learn estimators trained by deeplite (needs ``deeplite[sklearn]``).

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's own MLP parameter names, plus
``device``, and work in ``Pipeline``, ``GridSearchCV``, ``clone`` and ``check_estimator``.
"""
from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
