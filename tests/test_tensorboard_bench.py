"""The ``tensorboard`` benchmark family runs ``deeplite train`` with and without logging and
records valid per-epoch figures (correctness only: no timing is asserted)."""
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed
from benchmarks import report  # noqa: E402
from benchmarks.cases import tensorboard as tensorboard_case  # noqa: E402
from benchmarks.contenders import select  # noqa: E402
from benchmarks.context import Context  # noqa: E402


def test_tensorboard_family_records_an_epoch_with_and_without_logging(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_case, "EPOCHS", 3)
    monkeypatch.setattr(tensorboard_case, "ROUNDS", 1)
    monkeypatch.setattr(tensorboard_case, "EXTRA_ARGS", ["--hidden", "16"])
    contenders, _ = select(["numpy"], ["numpy"])  # the numpy peer: tensorboardX itself
    histogram, scalar, records = tensorboard_case.run(Context(contenders, 1, False, {}, 1))
    for group, case in ((histogram, "tensorboard_add_histogram"),
                        (scalar, "tensorboard_add_scalar")):
        assert [(r["case"], r["backend"]) for r in group] == [(case, "deeplite[numpy]"),
                                                              (case, "numpy")]
    assert [record["backend"] for record in records] == ["deeplite[numpy]",
                                                         "deeplite[numpy] +tensorboard"]
    assert all(record["repeats"] == 2 for record in records)  # 3 epochs less the warm-up
    assert records[1]["slowdown"] == records[1]["slowdown_per_pair"][0]  # one pair here
    assert records[1]["slowdown"] > -1
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"records": histogram + scalar + records}))
    report.validate(results)  # the fields the report needs, in order
