"""The training loop behind ``deeplite train``: ``fit``, ``evaluate``, divergence, diagnostics.

The tasks (what is learned: ``Classification``, ``Regression``) live in ``deeplite.tasks``.

``fit`` reports through callbacks (``on_step``, ``on_epoch``) and never prints, so the CLI owns the
progress bar and the files, and a notebook can call the same loop quietly.
"""
import math
import time
from collections import defaultdict, deque
from typing import Optional

import numpy as np

from .autograd import no_grad
from .tasks import Classification, Regression  # noqa: F401  (the tasks fit and evaluate take)
from .tensor import Tensor


class DivergenceMonitor:
    """Watches per-step losses; ``update`` returns a plain message when training has diverged.

    Diverged means: the loss is NaN or infinite, or it grew ``factor``-fold within ``window``
    steps AND exceeds the very first loss. The second condition keeps batch noise on a nearly
    converged model (0.001 -> 0.02) from stopping a good run.
    """

    def __init__(self, learning_rate: float, window: int = 20, factor: float = 10.0):
        self.learning_rate, self.factor = learning_rate, factor
        self.recent: deque = deque(maxlen=window + 1)  # window steps back, plus the current one
        self.first: Optional[float] = None
        self.steps = 0

    @property
    def advice(self) -> str:
        """What to change when training diverged."""
        return f"learning rate {self.learning_rate:g} is likely too large"

    def update(self, loss: float):
        """Record one step's loss; a message if it diverged, else None."""
        self.steps += 1
        if not math.isfinite(loss):
            return f"loss became {loss} at step {self.steps}: {self.advice}"
        if self.first is None:
            self.first = loss
        self.recent.append(loss)
        low = min(self.recent)
        if loss > self.factor * low and loss > self.first:
            steps_back = len(self.recent) - 1 - list(self.recent).index(low)
            steps = f"{steps_back} step" + ("s" if steps_back != 1 else "")
            return (f"loss grew {loss / max(low, 1e-30):.0f}x in {steps} "
                    f"({low:.3g} -> {loss:.3g}): {self.advice}")
        return None

    def state_dict(self) -> dict:
        """The watch's memory (first loss, recent window, step count), JSON-ready.

        It is part of a run's training state: a resumed run must judge its losses against the
        same reference as the uninterrupted run, not against its first batch after resuming.
        """
        return {"first": self.first, "recent": list(self.recent), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (checked: a damaged entry is a ValueError)."""
        try:
            first = None if state["first"] is None else float(state["first"])
            recent = [float(value) for value in state["recent"]]
            steps = int(state["steps"])
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"DivergenceMonitor.load_state_dict: expected first, recent and "
                             f"steps, got {state!r}") from None
        self.first, self.steps = first, steps
        self.recent.clear()
        self.recent.extend(recent)


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


def evaluate(model, task, loader) -> dict:
    """{"loss": mean loss, **task metrics} of ``model`` over ``loader``, without gradients.

    The task's metrics: ``accuracy`` for a Classification; ``rmse``, ``mae``, ``r2`` (in the
    target's units) for a Regression.
    """
    was_training = model.training
    model.eval()
    sums: defaultdict = defaultdict(float)
    loss_sum, seen = 0.0, 0
    with no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            loss_sum += float(task.loss(outputs, targets)) * len(targets)
            for key, value in task.batch_sums(outputs, targets).items():
                sums[key] += value
            seen += len(targets)
    model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return {"loss": loss_sum / seen, **task.metrics(sums, seen)}


def make_train_step(model, optimizer, task, diagnose_into=None, labels_checked: bool = False):
    """``step(x, y) -> (loss, score)``: one optimizer update; no host sync unless diagnosing.

    ``score`` is ``task.score`` of the batch (right predictions of a classifier; None for a
    regression, whose running RMSE comes from the loss).

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
        return loss, task.score(outputs.detach(), targets)
    return step


def fit(model, optimizer, task, train_loader, epochs: int, *, test_loader=None,
        diagnose: bool = False, probe: Optional[Tensor] = None, step=None, on_step=None,
        on_epoch=None, first_epoch: int = 1,
        monitor: Optional[DivergenceMonitor] = None) -> dict:
    """Train ``model`` up to epoch ``epochs``; stop early, with a message, if the loss diverges.

    Args:
        model, optimizer: a deeplite.nn Module and a deeplite.optim optimizer over its parameters.
        task: a ``Classification`` or ``Regression`` (loss, targets, metrics).
        train_loader: yields (inputs, targets) batches; test_loader: the same, evaluated per epoch.
        diagnose: record per-layer gradient norms (mean over the epoch's steps) and, on the
            ``probe`` inputs, the fraction of dead ReLUs each epoch.
        step: a replacement for the default step ``(x, y) -> (loss, score)`` (e.g. a CUDA graph).
        on_step: called as ``on_step(loss, running_score)`` after each step (the running
            accuracy of a classifier, the running RMSE of a regression).
        on_epoch: called with each finished epoch's record (not for a diverged epoch), so the
            caller can checkpoint only good epochs (with ``monitor.state_dict()``).
        first_epoch: the number of the first epoch to run (above 1 when resuming a run).
        monitor: the divergence watch; pass the resumed run's restored one so its reference
            loss is the uninterrupted run's. None starts a fresh watch.
    Returns:
        {"epochs": [per-epoch dicts], "stopped": None or the divergence message}. A record holds
        ``train_loss``, ``train_<score>`` and, with a test loader, ``test_loss`` and
        ``test_<metric>`` for each of the task's metrics.
    """
    if epochs < first_epoch:
        raise ValueError(f"fit: epochs ({epochs}) must be at least first_epoch ({first_epoch})")
    grad_log: Optional[defaultdict] = defaultdict(list) if diagnose else None
    step = step or make_train_step(model, optimizer, task, grad_log)
    monitor = monitor or DivergenceMonitor(optimizer.param_groups[0]["lr"])
    history: dict = {"epochs": [], "stopped": None}
    model.train()
    for epoch in range(first_epoch, epochs + 1):
        started = time.perf_counter()
        loss_sum, score_sum, seen = 0.0, 0, 0
        for inputs, targets in train_loader:
            loss, batch_score = step(inputs, targets)
            value = float(loss)  # one host sync per step: the progress bar and the watch need it
            message = monitor.update(value)
            if message:
                history["stopped"] = f"epoch {epoch}: {message}"
                return history
            loss_sum += value * len(targets)
            if batch_score is not None:
                score_sum += int(batch_score)
            seen += len(targets)
            if on_step is not None:
                on_step(value, task.running(loss_sum, score_sum, seen))
        record = {"epoch": epoch, "train_loss": loss_sum / seen,
                  f"train_{task.score_name}": task.running(loss_sum, score_sum, seen)}
        if test_loader is not None:
            scores = evaluate(model, task, test_loader)
            record.update({f"test_{key}": value for key, value in scores.items()})
            if not math.isfinite(record["test_loss"]):
                # The epoch's last update can break the weights after its loss was checked.
                history["stopped"] = (f"epoch {epoch}: the test loss became "
                                      f"{record['test_loss']}: {monitor.advice}")
                return history
        if grad_log is not None:  # diagnosing
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
