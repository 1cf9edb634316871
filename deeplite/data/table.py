"""The table every loader returns (features, target, their names) and the error for bad data."""
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from .dataset import TensorDataset


class DataError(ValueError):
    """Bad input data; the message names the file, the line (1-based, as in the file) and column."""


@dataclass
class TabularData:
    """Features ``x`` (n, p) float32 and target ``y`` (n,), with names for reports and predictions.

    ``classes`` holds the original label of each class index when ``y`` holds class indices
    (e.g. ["malignant", "benign"]); it is None for a numeric target that was not encoded.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list
    target_name: str = "target"
    classes: Optional[list] = None
    source: str = ""
    extras: dict = field(default_factory=dict)  # e.g. the true means of a synthetic dataset

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return self.x.shape[1]

    def subset(self, index) -> "TabularData":
        """The rows selected by ``index`` (an index array or a boolean mask)."""
        return replace(self, x=self.x[index], y=self.y[index])

    def to_dataset(self) -> TensorDataset:
        """A ``TensorDataset(x, y)`` over the same arrays (ready for a ``DataLoader``)."""
        return TensorDataset(self.x, self.y)
