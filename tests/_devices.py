"""The devices tests run on: every backend registered in ``deeplite.backends.MODULES``.

A new backend is tested by registering it there; one that cannot load here is a skipped case
that says why, and the ``cuda`` one carries the ``cuda`` marker (``pytest -m cuda``).
"""
import pytest

from deeplite import backends


def device_params(names=None) -> list:
    """A ``pytest.param`` per backend in ``names`` (default: all registered); skipped if absent."""
    params = []
    for name in backends.MODULES if names is None else names:
        marks = [pytest.mark.cuda] if name == "cuda" else []
        if not backends.is_available(name):
            reason = f"{name} unavailable: {backends.why_unavailable(name)}"
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(name, marks=marks, id=name))
    return params
