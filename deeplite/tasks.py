"""What ``deeplite train`` learns: classes (``Classification``) or numbers (``Regression``).

A task owns the loss, the form of the targets, and the metrics: accuracy for classes; RMSE, MAE
and R² (in the target's own units) for numbers. ``choose_task`` picks one from the target column.
"""
import math

import numpy as np

from . import functional as F
from .tensor import Tensor

# A numeric target with more distinct integer values than this is a quantity, not class labels:
# digits has 10 classes; scikit-learn's diabetes progression has 214 distinct integers.
MAX_INTEGER_CLASSES = 20


def choose_task(requested: str, y: np.ndarray, named_classes: bool) -> tuple:
    """(``"classification"`` or ``"regression"``, why) for ``--task requested`` and target ``y``.

    ``named_classes``: the loader already read the target as class labels (text in a CSV, a
    built-in dataset's classes). ``auto``: named classes mean classification; non-integer
    numbers, or more than ``MAX_INTEGER_CLASSES`` distinct integers, mean regression; other
    integers, classification.
    """
    if requested not in ("auto", "classification", "regression"):
        raise ValueError(f"--task {requested!r}: choose auto, classification or regression")
    if requested == "regression" and named_classes:
        raise ValueError("--task regression needs a numeric target, but the target holds class "
                         "labels (text)")
    if requested != "auto":
        return requested, f"--task {requested}"
    if named_classes:
        return "classification", "the target holds class labels"
    y = np.asarray(y, dtype=np.float64)
    if not np.all(y == np.round(y)):
        sample = float(y[np.argmax(y != np.round(y))])
        return "regression", f"the target holds non-integer numbers such as {sample:g}"
    distinct = len(np.unique(y))
    if distinct > MAX_INTEGER_CLASSES:
        return "regression", (f"the target holds {distinct} distinct integers (more than "
                              f"{MAX_INTEGER_CLASSES} reads as a quantity; --task "
                              f"classification overrides)")
    return "classification", f"the target holds {distinct} distinct integers"


class Classification:
    """Loss, predictions and accuracy of a K-class classifier (one logit when K == 2).

    Binary problems use a single output and ``binary_cross_entropy_with_logits``; K > 2 classes
    use K outputs and ``cross_entropy``. Both losses are fused kernels.
    """

    kind = "classification"
    score_name = "accuracy"  # the running figure of a training epoch

    def __init__(self, n_classes: int):
        if n_classes < 2:
            raise ValueError(f"Classification: need at least 2 classes, got {n_classes}; "
                             f"the target column holds a single value")
        self.n_classes = int(n_classes)
        self.binary = self.n_classes == 2
        self.n_outputs = 1 if self.binary else self.n_classes

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """Class indices in the dtype the loss wants: float32 0/1 for binary, int64 otherwise."""
        return np.asarray(labels, dtype=np.float32 if self.binary else np.int64)

    def loss(self, outputs: Tensor, targets: Tensor, labels_checked: bool = False) -> Tensor:
        """Mean loss of a batch; ``labels_checked`` skips the host-side label range check.

        That check reads the labels on the host, which a CUDA graph capture forbids; the CLI
        validates all labels once before capturing instead.
        """
        if self.binary:
            return F.binary_cross_entropy_with_logits(outputs.reshape(-1), targets)
        return F.cross_entropy(outputs, targets, check_labels=not labels_checked)

    def predict(self, outputs: Tensor) -> Tensor:
        """Predicted class index per row (int64 for K > 2, bool for binary)."""
        return outputs.reshape(-1) > 0 if self.binary else outputs.argmax(axis=1)

    def correct(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """Number of right predictions in the batch, as a 0-d tensor (no host sync)."""
        if self.binary:
            return (self.predict(outputs) == (targets > 0.5)).sum()
        return (self.predict(outputs) == targets).sum()

    def score(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The batch's contribution to the running training score (right predictions)."""
        return self.correct(outputs, targets)

    def running(self, loss_sum: float, score_sum: float, seen: int) -> float:
        """The running training accuracy of an epoch so far."""
        return score_sum / seen

    def probabilities(self, outputs: Tensor) -> np.ndarray:
        """(n, K) class probabilities on the host."""
        if self.binary:
            positive = F.sigmoid(outputs.reshape(-1)).numpy().astype(np.float64)
            return np.stack([1.0 - positive, positive], axis=1)
        return F.softmax(outputs, axis=1).numpy().astype(np.float64)

    def batch_sums(self, outputs: Tensor, targets: Tensor) -> dict:
        """Sums over a batch from which ``metrics`` computes the whole set's figures."""
        return {"correct": int(self.correct(outputs, targets))}

    def metrics(self, sums: dict, seen: int) -> dict:
        """{"accuracy": share of right predictions}."""
        return {"accuracy": sums["correct"] / seen}

    def describe(self, metrics: dict) -> str:
        """The metrics as one phrase for the screen."""
        return f"accuracy {metrics['accuracy']:.2%}"


class Regression:
    """A numeric target learned with the mean squared error on standardised values.

    The network predicts ``(y - mean) / scale`` (statistics of the training targets), which keeps
    the loss near 1 whatever the target's units; predictions and metrics are turned back into the
    target's units. Metrics: RMSE, MAE and R² (1 - SSE / total sum of squares about the mean).
    """

    kind = "regression"
    score_name = "rmse"
    n_outputs = 1

    def __init__(self, mean: float, scale: float):
        if not (math.isfinite(mean) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"Regression: the target scaling needs a finite mean and a positive "
                             f"scale, got {mean} and {scale}")
        self.mean, self.scale = float(mean), float(scale)

    @classmethod
    def fit(cls, y: np.ndarray) -> "Regression":
        """Standardise with the mean and standard deviation of the training targets ``y``."""
        y = np.asarray(y, dtype=np.float64)
        std = float(y.std())
        return cls(float(y.mean()), std if std > 1e-12 else 1.0)

    def targets(self, values: np.ndarray) -> np.ndarray:
        """Standardised float32 targets, as the loss compares them with the outputs."""
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)

    def loss(self, outputs: Tensor, targets: Tensor, labels_checked: bool = False) -> Tensor:
        """Mean squared error on the standardised scale (``labels_checked`` has no effect)."""
        return F.mse_loss(outputs.reshape(-1), targets)

    def values(self, outputs: Tensor) -> np.ndarray:
        """Predictions in the target's units, float64 on the host."""
        return outputs.reshape(-1).numpy().astype(np.float64) * self.scale + self.mean

    def score(self, outputs: Tensor, targets: Tensor):
        """Regression's running score comes from the loss itself (see ``running``)."""
        return None

    def running(self, loss_sum: float, score_sum: float, seen: int) -> float:
        """The running training RMSE in the target's units: sqrt(mean MSE) * scale."""
        return math.sqrt(max(loss_sum / seen, 0.0)) * self.scale

    def batch_sums(self, outputs: Tensor, targets: Tensor) -> dict:
        """Error sums in the target's units (squared, absolute) and the target's moments."""
        predicted = self.values(outputs)
        truth = targets.numpy().astype(np.float64) * self.scale + self.mean
        error = predicted - truth
        return {"sse": float(error @ error), "sae": float(np.abs(error).sum()),
                "sum_y": float(truth.sum()), "sum_y2": float(truth @ truth)}

    def metrics(self, sums: dict, seen: int) -> dict:
        """{"rmse", "mae", "r2"} of the whole set."""
        total = sums["sum_y2"] - sums["sum_y"] ** 2 / seen  # sum of squares about the mean
        r2 = 1.0 - sums["sse"] / total if total > 0 else float("nan")
        return {"rmse": math.sqrt(sums["sse"] / seen), "mae": sums["sae"] / seen, "r2": r2}

    def describe(self, metrics: dict) -> str:
        """The metrics as one phrase for the screen."""
        return f"RMSE {metrics['rmse']:.4g}, MAE {metrics['mae']:.4g}, R² {metrics['r2']:.4f}"
