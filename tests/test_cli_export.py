"""``deeplite export RUN --onnx``: onnxruntime on raw features gives what ``deeplite predict``
gives (standardisation folded in), for binary and multiclass runs, probabilities or logits."""
import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from deeplite.cli import main  # noqa: E402
from deeplite.cli.run_files import load_checkpoint  # noqa: E402

TINY = ["--epochs", "3", "--hidden", "16,8", "--batch-size", "16", "--lr", "0.01", "--quiet",
        "--device", "numpy"]


def _csv(tmp_path, rng, n_classes: int):
    """150 rows, 3 features on very different scales, text labels."""
    labels = rng.integers(0, n_classes, 150)
    x = (rng.standard_normal((150, 3)) + 2.0 * labels[:, None]) * [1.0, 100.0, 0.01] + [0, 50, 3]
    names = ["red", "green", "blue"][:n_classes]
    path = tmp_path / f"data{n_classes}.csv"
    rows = [f"{float(a)!r},{float(b)!r},{names[y]},{float(c)!r}"
            for (a, b, c), y in zip(x, labels, strict=True)]
    path.write_text("f1,f2,colour,f3\n" + "\n".join(rows) + "\n")
    return path, x.astype(np.float32)  # the CSV holds x exactly (repr round-trips floats)


def _trained_run(tmp_path, rng, n_classes):
    path, x = _csv(tmp_path, rng, n_classes)
    out = tmp_path / f"run{n_classes}"
    assert main(["train", "--dataset", str(path), "--target", "colour", "--out", str(out),
                 *TINY]) == 0
    return path, x, out


def _onnx_output(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_exported_probabilities_equal_predict(tmp_path, rng, capsys, n_classes):
    csv, x, run = _trained_run(tmp_path, rng, n_classes)
    target = tmp_path / "model.onnx"
    assert main(["export", str(run), "--onnx", str(target)]) == 0
    assert "wrote" in capsys.readouterr().out
    model = onnx.load(str(target))
    onnx.checker.check_model(model)
    assert {p.key for p in model.metadata_props} >= {"deeplite_classes", "deeplite_feature_names"}
    assert main(["predict", str(run), str(csv), "--device", "numpy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[1:]
    expected = np.array([[float(v) for v in line.split(",")[1:]] for line in lines])
    np.testing.assert_allclose(_onnx_output(target, x), expected, atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_exported_logits_equal_the_model(tmp_path, rng, n_classes):
    _, x, run = _trained_run(tmp_path, rng, n_classes)
    target = tmp_path / "logits.onnx"
    assert main(["export", str(run), "--onnx", str(target), "--output", "logits"]) == 0
    model, _, scaler, _ = load_checkpoint(run, "numpy")
    import deeplite

    with deeplite.no_grad():
        expected = model(deeplite.tensor(scaler.transform(x), device="numpy")).numpy()
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].name == "logits"
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-4,
                               rtol=1e-5)


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deeplite export: error:") and "no such checkpoint" in err
    assert err.count("\n") == 1
