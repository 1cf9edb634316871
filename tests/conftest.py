"""Shared fixtures: every device-dependent test runs on each backend; `cuda` tests skip without a GPU."""
import zlib

import numpy as np
import pytest

import deeplite

ALL_DEVICES = ("numpy", "cpu", "cuda")


def _device_params():
    params = []
    for name in ALL_DEVICES:
        marks = [pytest.mark.cuda] if name == "cuda" else []
        if not deeplite.backends.is_available(name):
            reason = deeplite.backends.why_unavailable(name)
            marks.append(pytest.mark.skip(reason=f"{name} unavailable: {reason}"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(params=_device_params())
def device(request) -> str:
    """Name of one available backend."""
    return request.param


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A fresh generator per test, seeded from the test's name so failures reproduce."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def pytest_collection_modifyitems(config, items):
    """Skip every `cuda`-marked test cleanly when no GPU backend is available."""
    if deeplite.backends.is_available("cuda"):
        return
    reason = f"cuda unavailable: {deeplite.backends.why_unavailable('cuda')}"
    for item in items:
        # The marker itself, not item.keywords: keywords also hold the checkout's folder names.
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
