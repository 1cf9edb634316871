"""Shared fixtures: device tests run on every backend; `cuda` tests skip without a GPU."""
import pathlib
import zlib

import numpy as np
import pytest

import deeplite

from _devices import device_params


@pytest.fixture(params=device_params())
def device(request) -> str:
    """Name of one available backend."""
    return request.param


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A fresh generator per test, seeded from the test's name so failures reproduce."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _cuda_skip_reason():
    """Why cuda tests cannot run here, or None when a GPU backend is available."""
    if deeplite.backends.is_available("cuda"):
        return None
    return f"cuda tests skipped: cuda unavailable: {deeplite.backends.why_unavailable('cuda')}"


def pytest_collection_modifyitems(config, items):
    """Skip every `cuda`-marked test cleanly when no GPU backend is available."""
    reason = _cuda_skip_reason()
    if reason is None:
        return
    for item in items:
        # The marker itself, not item.keywords: keywords also hold the checkout's folder names.
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report every cuda skip at one place with one reason, so `-ra` folds them into one line
    ("SKIPPED [58] tests/conftest.py: cuda tests skipped: cuda unavailable: ...")."""
    outcome = yield
    report = outcome.get_result()
    reason = _cuda_skip_reason()
    if report.skipped and reason is not None and "cuda" in item.keywords:
        report.longrepr = (str(pathlib.Path(__file__)), None, reason)


@pytest.fixture
def checkpoint_every_epoch(monkeypatch):
    """``deeplite train`` writes its checkpoint after every epoch, whatever its clock says: for
    tests that count the writes (a full disk at the third one, say)."""
    from deeplite.cli import checkpoint_cadence

    monkeypatch.setattr(checkpoint_cadence, "FACTOR", 0.0)


@pytest.fixture
def noisy_csv(tmp_path):
    """300 rows of 4 features in 3 overlapping classes, fixed (the divergence case of
    test_checkpoint_integrity needs a known epoch); a few steps per epoch, nothing perfect."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    x = rng.standard_normal((300, 4)) + 0.8 * labels[:, None]
    rows = [",".join(f"{v:.4f}" for v in row) + f",{y}" for row, y in zip(x, labels, strict=True)]
    path = tmp_path / "noisy.csv"
    path.write_text("a,b,c,d,y\n" + "\n".join(rows) + "\n")
    return path
