"""``deeplite train --tensorboard [DIR]``: a training run's curves, histograms and hparams.

Per finished epoch (the step is the epoch number, so a resumed run continues the same curves):
each metric of the epoch record (``loss/train``, ``accuracy/test``, ... or the regression
metrics), the learning rate, every parameter's weight and gradient histogram, the per-layer
gradient norms (the lecture's vanishing-gradient diagnostic, over time) and, with ``--diagnose``,
the dead-ReLU fractions. At the end, the run's hparams with its final metrics.
"""
import math
import numbers
import time
from pathlib import Path

from ..utils.tensorboard_histogram import sums_of_squares
from . import CommandError

FOLDER = "tb"  # default log folder, inside the run folder
# Logging must not stall training: a queue that holds a whole epoch's events, so adding one never
# waits for the writer thread, which writes them to disk in the background at least every
# FLUSH_SECS (the most a killed run can lose of its TensorBoard log).
QUEUE_EVENTS = 10_000
FLUSH_SECS = 5
HISTOGRAM_BUDGET = 0.01  # histograms may take this share of the training time
# Run settings shown in TensorBoard's HParams tab (those present in the run's config).
HPARAMS = ("dataset", "optimizer", "lr", "batch_size", "momentum", "weight_decay", "activation",
           "epochs", "seed", "device")
SPLITS = ("train", "test", "val", "validation")


def open_logger(option, run_dir: Path, done: int, config: dict):
    """The run's ``TrainingLogger``, or None without ``--tensorboard``; CommandError if unusable.

    ``option`` is the option's value: None (absent), "" (given without a folder: ``tb/`` in the
    run folder) or a folder. ``done`` epochs are finished already (``--resume``): events a killed
    run wrote after them are purged, so each step appears once.
    """
    if option is None:
        return None
    try:
        from ..utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise CommandError(f"--tensorboard: {error}") from None
    log_dir = Path(option) if option else Path(run_dir) / FOLDER
    try:
        writer = SummaryWriter(log_dir, purge_step=done + 1 if done else None,
                               max_queue=QUEUE_EVENTS, flush_secs=FLUSH_SECS)
    except ValueError as error:  # checked before training starts
        raise CommandError(f"--tensorboard: {error}") from None
    return TrainingLogger(writer, config)


def metric_tag(key: str) -> str:
    """"train_loss" -> "loss/train" (TensorBoard then draws train and test on one page)."""
    split, _, metric = key.partition("_")
    return f"{metric}/{split}" if split in SPLITS and metric else key


class TrainingLogger:
    """Writes one training run to TensorBoard, one step per epoch.

    Scalars go out every epoch. Histograms too, unless their cost would exceed
    ``HISTOGRAM_BUDGET`` of the training time so far (epochs of a few milliseconds, as on the
    digits data): then they skip epochs until the budget allows them again. The first and the
    last epoch always have them.
    """

    def __init__(self, writer, config: dict):
        self.writer = writer
        self.config = config
        self.training_seconds = 0.0  # wall time of the epochs logged so far
        self.histogram_seconds = 0.0  # time spent on their histograms
        self.last_logged: float | None = None

    def log_epoch(self, record: dict, model, optimizer) -> None:
        """Everything about one finished epoch, at step ``record["epoch"]``."""
        now = time.perf_counter()
        self.training_seconds += record.get("seconds", 0.0) if self.last_logged is None \
            else now - self.last_logged
        step = record["epoch"]
        scalars = {metric_tag(key): value for key, value in record.items()
                   if key != "epoch" and isinstance(value, numbers.Real)}
        for index, group in enumerate(optimizer.param_groups):
            scalars["learning_rate" if index == 0 else f"learning_rate/group_{index}"] = \
                group["lr"]
        parameters = list(model.named_parameters())
        # --diagnose gives the epoch's mean norms; otherwise those of the epoch's last step.
        norms = record.get("grad_norms") or _weight_gradient_norms(parameters)
        scalars.update({f"grad_norm/{layer}": norm for layer, norm in norms.items()})
        scalars.update({f"dead_relu/{layer}": fraction
                        for layer, fraction in record.get("dead_relu", {}).items()})
        if self._histograms_due(step):
            histograms = {f"weights/{name}": parameter for name, parameter in parameters}
            histograms.update({f"gradients/{name}": parameter.grad
                               for name, parameter in parameters if parameter.grad is not None})
            self.writer.add_step(scalars, histograms, step)
            self.histogram_seconds += time.perf_counter() - now
        else:
            self.writer.add_step(scalars, None, step)
        self.last_logged = time.perf_counter()

    def _histograms_due(self, step: int) -> bool:
        """Whether this epoch gets histograms (always the first and the last)."""
        return (self.histogram_seconds <= HISTOGRAM_BUDGET * self.training_seconds
                or step == self.config.get("epochs"))

    def close(self, epochs: list) -> None:
        """Write the hparams with the last epoch's metrics (``hparam/test_accuracy``, ...)."""
        if epochs:
            final = epochs[-1]
            metrics = {f"hparam/{key}": value for key, value in final.items()
                       if key.partition("_")[0] in SPLITS and isinstance(value, numbers.Real)}
            hparams = {key: self.config[key] for key in HPARAMS if key in self.config}
            if "sizes" in self.config:
                hparams["hidden"] = ",".join(str(size) for size in self.config["sizes"][1:-1])
            self.writer.add_hparams(hparams, metrics, run_name="hparams",
                                    global_step=final["epoch"])
        self.writer.close()
        print(f"TensorBoard logs in {self.writer.log_dir}: tensorboard --logdir "
              f"{self.writer.log_dir}")


def _weight_gradient_norms(parameters: list) -> dict:
    """Layer name -> L2 norm of its weight's gradient, with one copy to the host for all."""
    weights = [(name.rsplit(".", 1)[0], parameter.grad) for name, parameter in parameters
               if name.endswith("weight") and parameter.grad is not None]
    squares = sums_of_squares([grad.data for _, grad in weights])
    return {layer: math.sqrt(square) for (layer, _), square in zip(weights, squares, strict=True)}
