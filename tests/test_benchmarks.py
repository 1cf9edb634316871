"""The benchmark suite: a quick run writes parseable results, ratios pair the right peers, the
hand-written NumPy peers compute what deeplite computes. Correctness only: no timing is asserted."""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import deeplite
import deeplite.functional as F

# benchmarks/ is a top-level folder of the checkout, never installed: import it from there
# (deeplite is already imported, so the checkout cannot shadow an installed deeplite).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import report, timing  # noqa: E402
from benchmarks.mlp import MLPSpec, host_data, host_weights  # noqa: E402
from benchmarks.peers import NumpyMLP, numpy_sigmoid_bce, numpy_softmax_ce  # noqa: E402


def test_quick_run_writes_parseable_results(device, tmp_path):
    status = bench_main.main(["--quick", "--only", "overhead,gemm", "--backends", device,
                              "--peers", "numpy", "--repeats", "1", "--out", str(tmp_path)])
    assert status == 0
    results = report.validate(tmp_path / "results.json")
    backends = {record["backend"] for record in results["records"]}
    assert backends == {f"deeplite[{device}]", "numpy"}
    assert {record["case"] for record in results["records"]} == {
        "add_overhead_grad_off", "add_overhead_grad_on", "gemm"}
    for record in results["records"]:
        assert record["threads"] == 1 and record["versions"]["numpy"] == np.__version__
        if record["framework"] == "deeplite":
            assert record["ratio_numpy"] > 0
        if record["case"] == "gemm":  # GFLOP/s derived from the shape and the median time
            rows, inner = map(int, record["shape"].split(" @ ")[0].split("x"))
            cols = int(record["shape"].split("x")[-1])
            assert record["gflops"] == pytest.approx(2 * rows * inner * cols
                                                     / record["median_s"] / 1e9)
    assert results["runs"][0]["limits"]["gemm_gflops"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| case | shape | backend |" in table and f"deeplite[{device}]" in table
    summary = (tmp_path / "summary.md").read_text()
    assert f"| deeplite[{device}] / numpy |" in summary


def test_unknown_family_is_refused_before_running(tmp_path):
    assert bench_main.main(["--only", "no_such_case", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "results.json").exists()


def _record(backend, framework, device, median, case="gemm"):
    return {"case": case, "shape": "s", "backend": backend, "framework": framework,
            "device": device, "dtype": "float32", "threads": 1, "median_s": median,
            "min_s": median, "max_s": median}


def test_ratios_pair_each_contender_with_its_own_peers(rng):
    ours, gpu, numpy_time, torch_time, torch_gpu = rng.uniform(0.5, 2.0, 5)
    records = [_record("deeplite[cpu]", "deeplite", "cpu", ours),
               _record("deeplite[cuda]", "deeplite", "cuda", gpu),
               _record("numpy", "numpy", "host", numpy_time),
               _record("torch", "torch", "cpu", torch_time),
               _record("torch[cuda]", "torch", "cuda", torch_gpu),
               _record("deeplite[cpu]", "deeplite", "cpu", 1.0, case="other")]
    report.add_ratios(records)
    assert records[0]["ratio_numpy"] == pytest.approx(ours / numpy_time)
    assert records[0]["ratio_torch"] == pytest.approx(ours / torch_time)
    assert records[1]["ratio_torch"] == pytest.approx(gpu / torch_gpu)
    assert "ratio_numpy" not in records[2] and "ratio_torch" not in records[5]


def test_validate_rejects_broken_results(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"records": []}))
    with pytest.raises(ValueError, match="no records"):
        report.validate(path)
    bad = _record("numpy", "numpy", "host", 1.0)
    bad["min_s"] = 2.0
    path.write_text(json.dumps({"records": [bad]}))
    with pytest.raises(ValueError, match="out of order"):
        report.validate(path)


def test_compare_interleaves_contenders_and_excludes_warmup():
    calls = []
    stats = timing.compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                           repeats=3, warmup=2, target_s=0.0)
    # 2 warm-up calls each (the second also calibrates), then one call per round, rotated.
    assert calls == ["a", "b", "a", "b", "a", "b", "b", "a", "a", "b"]
    for result in stats.values():
        assert result.repeats == 3 and result.inner == 1
        assert result.min_s <= result.median_s <= result.max_s


def test_numpy_loss_peers_match_deeplite(rng):
    logits = rng.standard_normal((16, 5)) * 4
    labels = rng.integers(0, 5, 16)
    z = deeplite.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, deeplite.tensor(labels))
    loss.backward()
    peer_loss, peer_grad = numpy_softmax_ce(logits, labels)
    np.testing.assert_allclose(peer_loss, loss.item(), rtol=1e-10)
    np.testing.assert_allclose(peer_grad, z.grad.numpy(), rtol=1e-10, atol=1e-14)

    targets = (rng.random((16, 1)) < 0.5).astype(np.float64)
    z = deeplite.tensor(logits[:, :1], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, deeplite.tensor(targets))
    loss.backward()
    peer_loss, peer_grad = numpy_sigmoid_bce(logits[:, :1], targets)
    np.testing.assert_allclose(peer_loss, loss.item(), rtol=1e-10)
    np.testing.assert_allclose(peer_grad, z.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("loss", ["ce", "bce"])
def test_numpy_mlp_step_matches_deeplite_sgd(loss, rng):
    spec = MLPSpec((6, 8, 7, 3 if loss == "ce" else 1), 5, loss, lr=0.1)
    data, weights = host_data(spec, rng), host_weights(spec, rng)
    peer = NumpyMLP(spec, data, weights)
    peer()
    params = [(deeplite.tensor(w, requires_grad=True), deeplite.tensor(b, requires_grad=True))
              for w, b in weights]
    h = deeplite.tensor(data[0])
    for i, (w, b) in enumerate(params):
        h = F.linear(h, w, b, activation="relu" if i < len(params) - 1 else "identity")
    loss_fn = F.cross_entropy if loss == "ce" else F.binary_cross_entropy_with_logits
    loss_fn(h, deeplite.tensor(data[1])).backward()
    for (w, b), (w0, b0), (peer_w, peer_b) in zip(params, weights, peer.layers):
        # float32 throughout: a few ulps of difference in the summation order is expected
        np.testing.assert_allclose(peer_w, w0 - 0.1 * w.grad.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(peer_b, b0 - 0.1 * b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_deeplite_bench_forwards_every_argument_to_the_suite(tmp_path):
    from deeplite.cli import main
    status = main(["bench", "--quick", "--only", "overhead", "--backends", "numpy", "--peers",
                   "numpy", "--repeats", "1", "--out", str(tmp_path)])
    assert status == 0
    results = report.validate(tmp_path / "results.json")
    assert {record["backend"] for record in results["records"]} == {"deeplite[numpy]", "numpy"}


def test_deeplite_bench_outside_a_checkout_says_how_to_run_it(tmp_path, monkeypatch, capsys):
    from deeplite.cli import bench_command, main
    monkeypatch.setattr(bench_command, "checkout_folders", lambda: [tmp_path])
    assert main(["bench", "--quick"]) == 1
    assert "python -m benchmarks" in capsys.readouterr().err


@pytest.mark.parametrize("amp", ["bfloat16", "float16"])
@pytest.mark.parametrize("jit", [False, True])
def test_autocast_steps_train_as_torchs(amp, jit, rng):
    """The mixed-precision steps the amp and GPU cases time compute what PyTorch's do: the same
    losses from the same start, to the dtype's rounding, replayed by the jit as eager."""
    pytest.importorskip("torch")
    pytest.importorskip("ml_dtypes")
    from benchmarks.contenders import Contender
    from benchmarks.ours import deeplite_step
    from benchmarks.peers import torch_step

    spec = MLPSpec((12, 16, 16, 4), 8, "ce", lr=0.1)
    data, weights = host_data(spec, rng), host_weights(spec, rng)
    ours_on_cpu = Contender("deeplite[cpu]", "deeplite", "cpu")
    theirs = torch_step(Contender("torch", "torch", "cpu"), spec, data, weights, amp=amp)
    # The jitted step made its eager and traced calls as it was built: compare from step 3.
    steps = slice(2, 6) if jit else slice(0, 4)
    their_losses = [theirs().item() for _ in range(6)][steps]
    ours = deeplite_step(ours_on_cpu, spec, data, weights, amp=amp, jit=jit)
    with warnings.catch_warnings():  # float16: the cpu backend computes it in float32, and says so
        warnings.simplefilter("ignore", RuntimeWarning)
        our_losses = [ours().item() for _ in range(4)]
    if amp == "bfloat16":
        wide = deeplite_step(ours_on_cpu, spec, data, weights)
        wide_losses = [wide().item() for _ in range(6)][steps]
        assert our_losses != wide_losses, "autocast did not apply"
    tolerance = 3e-2 if amp == "bfloat16" else 3e-3
    np.testing.assert_allclose(our_losses, their_losses, rtol=tolerance)
    assert our_losses[-1] < our_losses[0] and their_losses[-1] < their_losses[0]
