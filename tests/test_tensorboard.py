"""deeplite.utils.tensorboard.SummaryWriter, read back with TensorBoard's own EventAccumulator."""
import importlib
import math
import os
import re
import socket
import sys
import warnings

import numpy as np
import pytest

import deeplite as dl

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from deeplite.utils.tensorboard import SummaryWriter  # noqa: E402

KEEP_ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}


def read(log_dir) -> EventAccumulator:
    """Every event under ``log_dir`` (one run folder), as TensorBoard loads it."""
    accumulator = EventAccumulator(str(log_dir), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def reference_histogram(values: np.ndarray):
    """tensorboardX's own histogram of ``values`` (its writer's default bins)."""
    import tensorboardX
    from tensorboardX.summary import make_histogram

    writer = tensorboardX.SummaryWriter(write_to_disk=False)
    return make_histogram(values.astype(float), writer.default_bins)


def test_importing_without_the_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "deeplite.utils.tensorboard")
    with pytest.raises(ImportError, match=r"pip install 'deeplite\[tensorboard\]'"):
        importlib.import_module("deeplite.utils.tensorboard")


def test_scalars_come_back_with_their_steps(tmp_path, rng, device):
    values = rng.standard_normal(6)
    with SummaryWriter(tmp_path) as writer:
        for step, value in enumerate(values):
            writer.add_scalar("loss/train", dl.tensor(value, device=device), step * 10)
            writer.add_scalar("plain", float(value), step)
            writer.add_scalar("numpy", np.float64(value), step)
    events = read(tmp_path)
    assert set(events.Tags()["scalars"]) == {"loss/train", "plain", "numpy"}
    for tag, steps in (("loss/train", [0, 10, 20, 30, 40, 50]), ("plain", list(range(6)))):
        got = events.Scalars(tag)
        assert [event.step for event in got] == steps
        # TensorBoard stores scalars as float32.
        np.testing.assert_allclose([event.value for event in got], values, rtol=1e-6)


def test_add_scalars_writes_one_run_per_key_as_pytorch(tmp_path, rng):
    values = rng.uniform(0, 1, (3, 2))
    with SummaryWriter(tmp_path) as writer:
        for step, (train, test) in enumerate(values):
            writer.add_scalars("run/loss", {"train": train, "test": dl.tensor(test)}, step)
    assert sorted(os.listdir(tmp_path))[-2:] == ["run_loss_test", "run_loss_train"]
    for column, key in enumerate(("train", "test")):
        got = read(tmp_path / f"run_loss_{key}").Scalars("run/loss")
        np.testing.assert_allclose([event.value for event in got], values[:, column], rtol=1e-6)


def test_histogram_buckets_match_tensorboardx_and_numpy(tmp_path, rng, device):
    values = rng.standard_normal(2000) * rng.uniform(0.01, 3)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("w", dl.tensor(values, dtype=dl.float64, device=device), 7)
        writer.add_histogram("auto", values, 8, bins="auto")
        writer.add_histogram("few", values, 9, max_bins=40)
    events = read(tmp_path)
    (event,) = events.Histograms("w")
    got, expected = event.histogram_value, reference_histogram(values)
    assert event.step == 7
    assert list(got.bucket) == list(expected.bucket)
    assert list(got.bucket_limit) == list(expected.bucket_limit)
    assert (got.num, got.min, got.max) == (2000, values.min(), values.max())
    assert got.sum == pytest.approx(values.sum()) and got.sum_squares == pytest.approx(
        (values ** 2).sum())
    # The buckets count what NumPy counts between the same edges.
    edges = [-np.inf, *got.bucket_limit]
    assert list(got.bucket) == np.histogram(values, bins=edges)[0].tolist()
    (auto,) = events.Histograms("auto")
    assert sum(auto.histogram_value.bucket) == 2000
    (few,) = events.Histograms("few")
    assert len(few.histogram_value.bucket) <= 42 and sum(few.histogram_value.bucket) == 2000


def test_text_image_and_figure(tmp_path, rng):
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot(rng.standard_normal(10))
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "**bold** text", 1)
        writer.add_image("image", dl.tensor(rng.uniform(0, 1, (3, 8, 12))), 1)
        writer.add_image("hwc", rng.integers(0, 255, (5, 6, 3)).astype(np.uint8), 2,
                         dataformats="HWC")
        writer.add_figure("figure", figure, 3)
    events = read(tmp_path)
    (image,) = events.Images("image")
    assert (image.width, image.height) == (12, 8)
    (hwc,) = events.Images("hwc")
    assert (hwc.width, hwc.height, hwc.step) == (6, 5, 2)
    assert events.Images("figure")[0].width > 100
    (text,) = events.Tensors("notes/text_summary")
    assert text.tensor_proto.string_val[0] == b"**bold** text"


def test_hparams_and_their_metrics(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"lr": 0.1, "optimizer": "adam", "nesterov": True, "batch": 32},
                           {"hparam/accuracy": 0.875}, {"optimizer": ["adam", "sgd"]},
                           run_name="trial", global_step=4)
    events = read(tmp_path / "trial")
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.1
    assert start.hparams["optimizer"].string_value == "adam"
    assert start.hparams["nesterov"].bool_value is True
    assert start.hparams["batch"].number_value == 32
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    infos = {info.name: info for info in experiment.hparam_infos}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy"]
    (metric,) = events.Scalars("hparam/accuracy")
    assert (metric.step, metric.value) == (4, 0.875)


def test_add_graph_writes_the_tape_with_module_scopes(tmp_path):
    dl.manual_seed(0)
    model = dl.nn.MLP([4, 8, 3])
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, dl.randn(5, 4))
    nodes = {node.name: node for node in read(tmp_path).Graph().node}
    assert set(nodes) == {"input/input_0_0", "layers.0/weight", "layers.0/bias",
                          "layers.0/linear_relu_3", "layers.1/weight", "layers.1/bias",
                          "layers.1/linear_6", "output/output_7"}
    assert list(nodes["layers.1/linear_6"].input) == ["layers.0/linear_relu_3",
                                                      "layers.1/weight", "layers.1/bias"]
    assert nodes["layers.0/weight"].op == "Parameter"
    assert nodes["layers.0/linear_relu_3"].op == "linear (relu)"
    shape = nodes["layers.0/linear_relu_3"].attr["_output_shapes"].list.shape[0]
    assert [dim.size for dim in shape.dim] == [5, 8]


def test_add_graph_errors_name_what_is_missing(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="pass input_to_model"):
            writer.add_graph(dl.nn.MLP([2, 2]))
        with pytest.raises(ValueError, match="nothing it read requires grad"):
            writer.add_graph(lambda x: x * 2, dl.randn(3))


def test_resume_with_purge_step_leaves_each_step_once(tmp_path):
    with SummaryWriter(tmp_path) as writer:  # a run killed after logging step 5
        for step in range(1, 6):
            writer.add_scalar("loss", 10.0 + step, step)
    with SummaryWriter(tmp_path, purge_step=4) as writer:  # resumed from its step-3 checkpoint
        for step in range(4, 8):
            writer.add_scalar("loss", 20.0 + step, step)
    got = read(tmp_path).Scalars("loss")
    assert [(event.step, event.value) for event in got] == [
        (1, 11.0), (2, 12.0), (3, 13.0), (4, 24.0), (5, 25.0), (6, 26.0), (7, 27.0)]


def test_non_finite_scalars_are_written_with_one_warning_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.warns(RuntimeWarning, match="'loss' is nan at step 1") as caught:
            writer.add_scalar("loss", math.nan, 1)
            writer.add_scalar("loss", math.inf, 2)
            writer.add_scalar("loss", 1.0, 3)
        assert len(caught) == 1
        with pytest.warns(RuntimeWarning, match="leaves them out"):
            writer.add_histogram("h", np.array([1.0, np.nan, 2.0]), 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            writer.add_histogram("h", np.array([np.inf]), 2)  # warned once already: quiet
    events = read(tmp_path)
    values = [event.value for event in events.Scalars("loss")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, 1.0]
    assert [event.histogram_value.num for event in events.Histograms("h")] == [2]


def test_bad_input_gives_one_line_errors(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot write the log folder"):
        SummaryWriter(blocked / "tb")
    with SummaryWriter(tmp_path / "ok") as writer:
        with pytest.raises(TypeError, match="tag must be a non-empty str"):
            writer.add_scalar(3, 1.0)
        with pytest.raises(ValueError, match=r"got 3 values \(shape \(3,\)\)"):
            writer.add_scalar("loss", dl.ones(3))
        with pytest.raises(TypeError, match="got a str"):
            writer.add_scalar("loss", "0.5")
        with pytest.raises(ValueError, match="empty tensor"):
            writer.add_histogram("h", np.zeros(0))
        with pytest.raises(TypeError, match="hparam 'layers' is a list"):
            writer.add_hparams({"layers": [1, 2]}, {})
        with pytest.raises(ValueError, match="same type"):
            writer.add_hparams({"lr": 0.1}, {}, {"lr": ["fast"]})


def test_default_log_dir_is_pytorchs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        folder = writer.get_logdir()
    pattern = r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname())
    assert re.fullmatch(pattern + r"_lr0\.1", folder)
    torch_tensorboard = pytest.importorskip("torch.utils.tensorboard")
    with torch_tensorboard.SummaryWriter(comment="_lr0.1") as theirs:
        assert re.fullmatch(pattern + r"_lr0\.1", theirs.log_dir)


def test_same_calls_as_torch_give_the_same_scalars_and_buckets(tmp_path, rng):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    weights = rng.standard_normal((64, 32)).astype(np.float32)
    losses = rng.uniform(0, 2, 5)
    for writer_class, folder, make in ((SummaryWriter, "ours", dl.tensor),
                                       (TorchWriter, "torch", torch.tensor)):
        with writer_class(str(tmp_path / folder)) as writer:
            for step, loss in enumerate(losses):
                writer.add_scalar("loss", make(loss), step)
                writer.add_histogram("weight", make(weights * (step + 1)), step)
            writer.add_scalars("split", {"a": 1.5, "b": 2.5}, 0)
    ours, theirs = read(tmp_path / "ours"), read(tmp_path / "torch")
    assert [(e.step, e.value) for e in ours.Scalars("loss")] == \
        [(e.step, e.value) for e in theirs.Scalars("loss")]
    for mine, torch_event in zip(ours.Histograms("weight"), theirs.Histograms("weight"),
                                 strict=True):
        a, b = mine.histogram_value, torch_event.histogram_value
        assert (mine.step, list(a.bucket), list(a.bucket_limit), a.num, a.min, a.max) == \
            (torch_event.step, list(b.bucket), list(b.bucket_limit), b.num, b.min, b.max)
        assert a.sum == pytest.approx(b.sum, rel=1e-6)
        assert a.sum_squares == pytest.approx(b.sum_squares, rel=1e-6)
    assert sorted(p for p in os.listdir(tmp_path / "ours") if p.startswith("split")) == \
        sorted(p for p in os.listdir(tmp_path / "torch") if p.startswith("split"))


def test_the_docs_example_runs(tmp_path, monkeypatch):
    import pathlib

    docs = pathlib.Path(__file__).resolve().parents[1] / "docs" / "tensorboard.md"
    if not docs.exists():
        pytest.skip("docs/ is not beside tests/ (an installed test tree)")
    (block,) = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.S)
    dl.manual_seed(0)
    model = dl.nn.Module()
    model.fc = dl.nn.Linear(3, 2)
    monkeypatch.chdir(tmp_path)
    namespace = {"model": model, "loss": dl.tensor(0.5)}
    exec(compile(block.replace("...", "pass"), str(docs), "exec"), namespace)
    events = read(tmp_path / "runs" / "exp1")
    assert len(events.Scalars("loss/train")) == 100
    assert len(events.Histograms("weights/fc")) == 100
