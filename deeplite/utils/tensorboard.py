"""``deeplite.utils.tensorboard.SummaryWriter``: TensorBoard logs with PyTorch's method names.

    from deeplite.utils.tensorboard import SummaryWriter

    with SummaryWriter("runs/exp1") as writer:
        for step in range(100):
            writer.add_scalar("loss/train", loss, step)
            writer.add_histogram("weights/layers.0.weight", model.layers[0].weight, step)

The event files are written by tensorboardX (``pip install 'deeplite[tensorboard]'``); deeplite
only turns its Tensors (on any device) into what tensorboardX takes. See docs/tensorboard.md.
"""
import itertools
import math
import numbers
import os
import socket
import warnings
from datetime import datetime

import numpy as np

try:
    import tensorboardX  # type: ignore[import-untyped]
    from tensorboardX.proto.summary_pb2 import Summary  # type: ignore[import-untyped]
    from tensorboardX.writer import FileWriter  # type: ignore[import-untyped]
except ImportError as error:  # the extra is optional: say which one to install
    raise ImportError("deeplite.utils.tensorboard needs tensorboardX, which is not installed; "
                      "install the extra: pip install 'deeplite[tensorboard]'") from error

from ..tensor import Tensor
from .tensorboard_histogram import array_module, histogram_proto

__all__ = ["SummaryWriter"]

_writers_opened = itertools.count()  # makes each event file name unique, as in PyTorch


def default_log_dir(comment: str = "") -> str:
    """``runs/<Mon>DD_HH-MM-SS_<host><comment>``, PyTorch's default log folder."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


def _writable_folder(log_dir: str) -> str:
    """Create ``log_dir`` and check it takes files; a one-line ValueError otherwise."""
    try:
        os.makedirs(log_dir, exist_ok=True)
        probe = os.path.join(log_dir, ".deeplite-write-check")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        raise ValueError(f"SummaryWriter: cannot write the log folder {log_dir!r} "
                         f"({error.strerror or error}); pass a log_dir you can write to") from None
    return log_dir


class SummaryWriter:
    """Writes TensorBoard event files, with ``torch.utils.tensorboard.SummaryWriter``'s API.

    Args:
        log_dir: the folder of this run's event files (created). Default:
            ``runs/<date>_<host><comment>``, as in PyTorch.
        comment: suffix of the default folder name (ignored when ``log_dir`` is given).
        purge_step: when a run resumes at this step, TensorBoard hides the events a killed
            earlier run wrote at this step and later, so no step appears twice.
        max_queue: events held in memory before a write.
        flush_secs: seconds between writes to disk.
        filename_suffix: suffix of the event file names.

    Values may be deeplite Tensors on any device, NumPy arrays or Python numbers. A non-finite
    scalar is written as it is (TensorBoard shows it) with one warning per tag.
    """

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, *, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = ""):
        self.log_dir = _writable_folder(str(log_dir) if log_dir else default_log_dir(comment))
        # tensorboardX names event files by the second and the host only: a run resumed within
        # the same second would overwrite the first file. PyTorch adds the pid and a counter.
        suffix = f".{os.getpid()}.{next(_writers_opened):06d}{filename_suffix}"  # sorts in order
        self._writer = tensorboardX.SummaryWriter(
            logdir=self.log_dir, purge_step=purge_step, max_queue=max_queue,
            flush_secs=flush_secs, filename_suffix=suffix)
        self._file_options = {"max_queue": max_queue, "flush_secs": flush_secs,
                              "filename_suffix": suffix}
        self._scalars_writers: dict = {}  # add_scalars: one event folder per key, as PyTorch
        self._edges: dict = {}  # the default bucket edges, once per array library (NumPy, CuPy)
        self._warned: set = set()

    def get_logdir(self) -> str:
        """The folder the event files go to."""
        return self.log_dir

    # ---- values -----------------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None) -> None:
        """Record one number under ``tag`` at ``global_step`` (a one-element Tensor works)."""
        self._emit(self._writer._get_file_writer(),
                   [self._scalar_value("add_scalar", tag, scalar_value, global_step)],
                   global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None,
                    walltime=None) -> None:
        """Record several numbers drawn on one chart, e.g. ``{"train": 0.3, "test": 0.4}``.

        As in PyTorch, each key goes to its own sub-folder ``<log_dir>/<main_tag>_<key>``
        (slashes in ``main_tag`` become underscores), which TensorBoard shows as one run per key.
        """
        _check_tag("add_scalars", main_tag)
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(f"add_scalars: tag_scalar_dict must be a dict of name -> number, "
                            f"got {type(tag_scalar_dict).__name__}")
        for key, value in tag_scalar_dict.items():
            number = self._scalar("add_scalars", f"{main_tag}/{key}", value, global_step)
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{key}")
            if folder not in self._scalars_writers:
                self._scalars_writers[folder] = FileWriter(logdir=folder, **self._file_options)
            self._emit(self._scalars_writers[folder],
                       [Summary.Value(tag=main_tag, simple_value=number)], global_step, walltime)

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow",
                      walltime=None, max_bins=None) -> None:
        """Record the distribution of ``values`` (a Tensor on any device, or an array).

        The buckets are counted on the tensor's own device and only the counts are copied.
        ``bins``: "tensorflow" (TensorBoard's exponential buckets, the default), a NumPy bin rule
        such as "auto", or a sequence of edges. Non-finite entries are left out, with one warning
        per tag; a tensor without any finite entry writes nothing.
        """
        value = self._histogram_value(tag, values, global_step, bins, max_bins)
        if value is not None:
            self._emit(self._writer._get_file_writer(), [value], global_step, walltime)

    def add_step(self, scalars: dict, histograms: dict | None = None, global_step=None,
                 walltime=None) -> None:
        """deeplite extension: many scalars and histograms of one step, written as one event.

        ``scalars`` maps tags to numbers, ``histograms`` tags to Tensors or arrays (default
        bins). The same records as one ``add_scalar``/``add_histogram`` call each, at a fraction
        of the cost: one event to queue instead of one per value (``deeplite train
        --tensorboard`` logs each epoch this way).
        """
        values = [self._scalar_value("add_step", tag, value, global_step)
                  for tag, value in scalars.items()]
        for tag, array in (histograms or {}).items():
            value = self._histogram_value(tag, array, global_step, "tensorflow", None)
            if value is not None:
                values.append(value)
        if values:
            self._emit(self._writer._get_file_writer(), values, global_step, walltime)

    def _histogram_value(self, tag: str, values, global_step, bins, max_bins):
        """The Summary value of one histogram (None when ``values`` has no finite entry)."""
        _check_tag("add_histogram", tag)
        array = _array(values, "add_histogram", tag)
        if array.size == 0:
            raise ValueError(f"add_histogram: {tag!r} got an empty tensor; a histogram needs at "
                             f"least one value")
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self._default_edges(array)
        proto = histogram_proto(array, bins, max_bins)
        if proto is None or proto.num < array.size:
            self._warn_once(tag, f"add_histogram: {tag!r} has non-finite values at step "
                                 f"{global_step}; the histogram leaves them out")
        return None if proto is None else Summary.Value(tag=tag, histo=proto)

    def _default_edges(self, array):
        """TensorBoard's exponential bucket edges, as an array of ``array``'s library."""
        xp = array_module(array)
        if xp.__name__ not in self._edges:
            self._edges[xp.__name__] = xp.asarray(self._writer.default_bins, dtype=xp.float64)
        return self._edges[xp.__name__]

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Record a (Markdown) text under ``tag``."""
        _check_tag("add_text", tag)
        self._writer.add_text(tag, str(text_string), global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None,
                  dataformats: str = "CHW") -> None:
        """Record an image: float values in [0, 1] or uint8, laid out as ``dataformats``."""
        _check_tag("add_image", tag)
        # np.asarray copies a GPU tensor to the host (Tensor.__array__); images are small.
        image = np.asarray(img_tensor) if isinstance(img_tensor, Tensor) \
            else _array(img_tensor, "add_image", tag)
        self._writer.add_image(tag, image, global_step, walltime, dataformats=dataformats)

    def add_figure(self, tag: str, figure, global_step=None, close: bool = True,
                   walltime=None) -> None:
        """Record a matplotlib figure (or a list of them) as an image; ``close`` closes it."""
        _check_tag("add_figure", tag)
        self._writer.add_figure(tag, figure, global_step, close, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None) -> None:
        """Record a run's hyperparameters and final metrics for TensorBoard's HParams tab.

        As in PyTorch, they go to a sub-folder ``run_name`` (default: the current time) along
        with the metrics as scalars. ``hparam_domain_discrete`` maps an hparam to the values it
        can take. Values must be bool, str, int or float (or one-element Tensors).
        """
        from .tensorboard_hparams import hparams_summaries

        summaries = hparams_summaries(hparam_dict, metric_dict, hparam_domain_discrete)
        metrics = {key: self._scalar("add_hparams", key, value, global_step)
                   for key, value in metric_dict.items()}
        folder = os.path.join(self.log_dir, run_name or str(datetime.now().timestamp()))
        with tensorboardX.SummaryWriter(logdir=_writable_folder(folder)) as writer:
            for summary in summaries:
                writer._get_file_writer().add_summary(summary)
            for key, value in metrics.items():
                self._emit(writer._get_file_writer(), [Summary.Value(tag=key, simple_value=value)],
                           global_step, None)

    def add_graph(self, model, input_to_model=None, verbose: bool = False) -> None:
        """Record ``model``'s graph on ``input_to_model`` for TensorBoard's Graphs tab.

        Drawn from deeplite's tape (``deeplite.viz``): one TensorBoard node per op and per
        tensor, grouped by module name scopes (``layers.0/linear``), with output shapes.
        """
        from .tensorboard_graph import graph_def

        definition = graph_def(model, input_to_model)
        if verbose:
            print(definition)
        self._writer._get_file_writer().add_onnx_graph(definition)  # writes a plain GraphDef

    # ---- lifetime ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write pending events to disk."""
        self._writer.flush()
        for writer in self._scalars_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files."""
        self._writer.close()
        for writer in self._scalars_writers.values():
            writer.close()

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- checks and writing ------------------------------------------------------------------
    @staticmethod
    def _emit(file_writer, values: list, step, walltime) -> None:
        """One event holding ``values`` (Summary values), as tensorboardX and PyTorch write them.

        Scalars are built here rather than by tensorboardX's add_scalar, so a non-finite value
        is reported once per tag by deeplite, not logged by tensorboardX on every call.
        """
        file_writer.add_summary(Summary(value=values), step, walltime)

    def _scalar_value(self, method: str, tag: str, value, step):
        """The Summary value of one scalar."""
        return Summary.Value(tag=tag, simple_value=self._scalar(method, tag, value, step))

    def _scalar(self, method: str, tag: str, value, step) -> float:
        """``value`` as a float; a warning the first time ``tag`` gets a non-finite one."""
        _check_tag(method, tag)
        array = _array(value, method, tag)
        if array.size != 1:
            raise ValueError(f"{method}: {tag!r} got {array.size} values (shape "
                             f"{tuple(array.shape)}); pass one number, e.g. t.mean()")
        number = float(array.reshape(()).item())
        if not math.isfinite(number):
            self._warn_once(tag, f"{method}: {tag!r} is {number} at step {step}; written as it "
                                 f"is (TensorBoard shows it), further ones stay quiet")
        return number

    def _warn_once(self, tag: str, message: str) -> None:
        if tag not in self._warned:
            self._warned.add(tag)
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _check_tag(method: str, tag) -> None:
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"{method}: tag must be a non-empty str, got {tag!r}")


def _array(value, method: str, tag: str):
    """The array behind a Tensor (still on its device), a NumPy array, or a number's array."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{method}: {tag!r} got values of dtype {array.dtype}; pass numbers")
        return array
    raise TypeError(f"{method}: {tag!r} got a {type(value).__name__}; pass a deeplite Tensor, a "
                    f"NumPy array or a number")
