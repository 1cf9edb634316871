"""The training loop behind ``deeplite train``: ``fit``, ``evaluate``, divergence, diagnostics.

``fit`` reports through callbacks (``on_step``, ``on_epoch``) and never prints, so the CLI owns the
progress bar and the files, and a notebook can call the same loop quietly.
"""
import math
import time
from collections import defaultdict, deque

import numpy as np

from . import functional as F
from .autograd import no_grad
from .tensor import Tensor


class Classification:
    """Loss, predictions and accuracy of a K-class classifier (one logit when K == 2).

    Binary problems use a single output and ``binary_cross_entropy_with_logits``; K > 2 classes
    use K outputs and ``cross_entropy``. Both losses are fused kernels.
    """

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

    def probabilities(self, outputs: Tensor) -> np.ndarray:
        """(n, K) class probabilities on the host."""
        if self.binary:
            positive = F.sigmoid(outputs.reshape(-1)).numpy().astype(np.float64)
            return np.stack([1.0 - positive, positive], axis=1)
        return F.softmax(outputs, axis=1).numpy().astype(np.float64)


class DivergenceMonitor:
    """Watches per-step losses; ``update`` returns a plain message when training has diverged.

    Diverged means: the loss is NaN or infinite, or it grew ``factor``-fold within ``window``
    steps AND exceeds the very first loss. The second condition keeps batch noise on a nearly
    converged model (0.001 -> 0.02) from stopping a good run.
    """

    def __init__(self, learning_rate: float, window: int = 20, factor: float = 10.0):
        self.learning_rate, self.factor = learning_rate, factor
        self.recent = deque(maxlen=window + 1)  # window steps back, plus the current one
        self.first = None
        self.steps = 0

    @property
    def advice(self) -> str:
        """What to change when training diverged."""
        return f"learning rate {self.learning_rate:g} is likely too large"

    def update(self, loss: float):
        """Record one step's loss; a message if it diverged, else None."""
        self.steps += 1
        advice = self.advice
        if not math.isfinite(loss):
            return f"loss became {loss} at step {self.steps}: {advice}"
        if self.first is None:
            self.first = loss
        self.recent.append(loss)
        low = min(self.recent)
        if loss > self.factor * low and loss > self.first:
            steps_back = len(self.recent) - 1 - list(self.recent).index(low)
            steps = f"{steps_back} step" + ("s" if steps_back != 1 else "")
            return (f"loss grew {loss / max(low, 1e-30):.0f}x in {steps} "
                    f"({low:.3g} -> {loss:.3g}): {advice}")
        return None


def gradient_norms(model) -> dict:
    """L2 norm of each weight's gradient, by layer name ("layers.0" -> 0.31)."""
    norms = {}
    with no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("weight") and parameter.grad is not None:
                grad = parameter.grad
                norms[name.rsplit(".", 1)[0]] = float((grad * grad).sum().sqrt())
    return norms


def dead_relu_fractions(model, probe: Tensor) -> dict:
    """Per hidden ReLU layer of an MLP, the fraction of units that output 0 on every probe row.

    A dead unit gets no gradient and so never recovers: the lecture's dying-ReLU problem.
    Models without ``layers`` of ReLU Linear layers give an empty dict.
    """
    layers = getattr(model, "layers", None)
    if not layers or any(getattr(layer, "activation", None) != "relu" for layer in layers[:-1]):
        return {}
    fractions = {}
    was_training = model.training
    model.eval()
    with no_grad():
        hidden = probe
        for index, layer in enumerate(layers[:-1]):
            hidden = layer(hidden)
            dead = (hidden <= 0).numpy().all(axis=0)
            fractions[f"layers.{index}"] = float(dead.mean())
    model.train(was_training)
    return fractions


def evaluate(model, task: Classification, loader) -> tuple:
    """(mean loss, accuracy) of ``model`` over ``loader``, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    with no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            loss_sum += float(task.loss(outputs, targets)) * len(targets)
            correct += int(task.correct(outputs, targets))
            seen += len(targets)
    model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return loss_sum / seen, correct / seen


def make_train_step(model, optimizer, task: Classification, diagnose_into=None,
                    labels_checked: bool = False):
    """``step(x, y) -> (loss, correct)``: one optimizer update; no host sync unless diagnosing.

    With ``diagnose_into`` (a dict of lists), each step appends the weight gradient norms.
    """
    def step(inputs: Tensor, targets: Tensor):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = task.loss(outputs, targets, labels_checked)
        loss.backward()
        if diagnose_into is not None:
            for layer, norm in gradient_norms(model).items():
                diagnose_into[layer].append(norm)
        optimizer.step()
        return loss, task.correct(outputs.detach(), targets)
    return step


def fit(model, optimizer, task: Classification, train_loader, epochs: int, *, test_loader=None,
        diagnose: bool = False, probe: Tensor = None, step=None, on_step=None,
        on_epoch=None, first_epoch: int = 1) -> dict:
    """Train ``model`` up to epoch ``epochs``; stop early, with a message, if the loss diverges.

    Args:
        model, optimizer: a deeplite.nn Module and a deeplite.optim optimizer over its parameters.
        task: a ``Classification`` (loss, predictions, accuracy).
        train_loader: yields (inputs, targets) batches; test_loader: the same, evaluated per epoch.
        diagnose: record per-layer gradient norms (mean over the epoch's steps) and, on the
            ``probe`` inputs, the fraction of dead ReLUs each epoch.
        step: a replacement for the default step ``(x, y) -> (loss, correct)`` (e.g. a CUDA graph).
        on_step: called as ``on_step(loss, running_accuracy)`` after each step.
        on_epoch: called with each finished epoch's record (not for a diverged epoch), so the
            caller can checkpoint only good epochs.
        first_epoch: the number of the first epoch to run (above 1 when resuming a run).
    Returns:
        {"epochs": [per-epoch dicts], "stopped": None or the divergence message}.
    """
    if epochs < first_epoch:
        raise ValueError(f"fit: epochs ({epochs}) must be at least first_epoch ({first_epoch})")
    grad_log = defaultdict(list) if diagnose else None
    step = step or make_train_step(model, optimizer, task, grad_log)
    monitor = DivergenceMonitor(optimizer.param_groups[0]["lr"])
    history = {"epochs": [], "stopped": None}
    model.train()
    for epoch in range(first_epoch, epochs + 1):
        started = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        for inputs, targets in train_loader:
            loss, batch_correct = step(inputs, targets)
            value = float(loss)  # one host sync per step: the progress bar and the watch need it
            message = monitor.update(value)
            if message:
                history["stopped"] = f"epoch {epoch}: {message}"
                return history
            loss_sum += value * len(targets)
            correct += int(batch_correct)
            seen += len(targets)
            if on_step is not None:
                on_step(value, correct / seen)
        record = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen}
        if test_loader is not None:
            record["test_loss"], record["test_accuracy"] = evaluate(model, task, test_loader)
            if not math.isfinite(record["test_loss"]):
                # The epoch's last update can break the weights after its loss was checked.
                history["stopped"] = (f"epoch {epoch}: the test loss became "
                                      f"{record['test_loss']}: {monitor.advice}")
                return history
        if diagnose:
            record["grad_norms"] = {layer: float(np.mean(values))
                                    for layer, values in grad_log.items()}
            grad_log.clear()
            if probe is not None:
                record["dead_relu"] = dead_relu_fractions(model, probe)
        record["seconds"] = time.perf_counter() - started
        history["epochs"].append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
