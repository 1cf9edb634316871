"""Backend conformance: every kernel of the contract, on every backend, against NumPy.

The cases come from the kernel table (kernel_samples.py), keyed by the contract's names: each
backend registered in ``deeplite.backends.MODULES`` runs every entry, the numpy reference
included, and a contract kernel without an entry fails here. The expected values are NumPy
expressions written in the table, so the numpy backend is never compared with itself.
"""
import copy
import os

import numpy as np
import pytest
from _device_views import on_device

from deeplite import backends
from deeplite.backends import contract, fallbacks, numpy_backend

from _compare import close
from kernel_samples import CASES

DTYPES = [np.float32, np.float64]
KERNELS = sorted(contract.REQUIRED) + sorted(contract.OPTIONAL)


def _move(backend, value):
    """Host arrays (also inside lists and tuples) as arrays of ``backend``, views kept as views of
    the same strides and offset on the device; the rest unchanged."""
    if isinstance(value, np.ndarray):
        return on_device(backend, value)
    if isinstance(value, (list, tuple)):
        return type(value)(_move(backend, item) for item in value)
    return value


def _host(backend, value):
    """``_move`` reversed: the backend's arrays back on the host."""
    if isinstance(value, (list, tuple)):
        return type(value)(_host(backend, item) for item in value)
    return None if value is None else backend.to_numpy(value)


@pytest.fixture
def backend(device):
    return backends.get(device)


def test_every_contract_kernel_has_a_conformance_case():
    assert set(CASES) == set(contract.REQUIRED) | set(contract.OPTIONAL)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_matches_numpy(backend, kernel, dtype, rng):
    case = CASES[kernel]
    for args in case.samples(rng, dtype):
        expected_args = copy.deepcopy(args)  # before the kernel runs: numpy writes in place
        moved = args if case.host_args else _move(backend, args)
        positional, keywords = case.split(moved)
        result = getattr(backend, kernel)(*positional, **keywords)
        positional, keywords = case.split(expected_args)
        expected = case.reference(*positional, **keywords)
        if case.mutates:
            assert result is None, f"{kernel} works in place and returns None"
            for index in case.mutates:
                close(_host(backend, moved[index]), expected_args[index])
        elif not case.values:  # uninitialised memory: only its shape and dtype are defined
            got = backend.to_numpy(result)
            assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
        else:
            close(_host(backend, result), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_give_finite_results(backend, dtype):
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=dtype)
    for kernel in ("sigmoid", "softplus"):
        assert np.all(np.isfinite(backend.to_numpy(getattr(backend, kernel)(backend.asarray(z)))))
    for reduction in contract.REDUCTIONS:
        loss, grad = backend.sigmoid_bce(backend.asarray(z), backend.asarray(np.ones_like(z)),
                                         reduction)
        assert np.all(np.isfinite(backend.to_numpy(loss))) and np.all(np.isfinite(
            backend.to_numpy(grad)))


def test_every_backend_implements_the_contract(backend):
    for kernel in KERNELS:
        assert callable(getattr(backend, kernel)), kernel
    assert backend.native <= set(contract.OPTIONAL)


def test_numpy_reference_has_no_native_fused_kernels():
    # The reference's fused kernels ARE the fallbacks, so the table checks the fallbacks too.
    assert backends.get("numpy").native == frozenset()


def test_fallbacks_call_only_the_optional_kernels_they_declare(rng):
    """Each fallback calls, besides REQUIRED kernels, exactly the OPTIONAL ones USES names."""
    backend = backends.Backend("numpy", numpy_backend)
    called, depth = [], [0]

    def recording(name, kernel):
        def call(*args):
            if depth[0] == 0:  # record direct calls only, not what the called kernel calls
                called.append(name)
            depth[0] += 1
            try:
                return kernel(*args)
            finally:
                depth[0] -= 1
        return call

    for name in contract.OPTIONAL:
        setattr(backend, name, recording(name, getattr(backend, name)))
    assert set(fallbacks.USES) == set(contract.OPTIONAL)
    for name in contract.OPTIONAL:
        called.clear()
        for args in CASES[name].samples(rng, np.float64):
            positional, keywords = CASES[name].split(copy.deepcopy(args))
            getattr(fallbacks, name)(backend, *positional, **keywords)
        assert set(called) == set(fallbacks.USES[name]), name


def test_fallbacks_never_call_each_other_in_a_cycle():
    done, visiting = set(), set()

    def visit(name):
        assert name not in visiting, f"fallbacks call each other in a cycle through {name}"
        if name not in done:
            visiting.add(name)
            for used in fallbacks.USES[name]:
                visit(used)
            visiting.discard(name)
            done.add(name)

    for name in fallbacks.USES:
        visit(name)


def test_missing_required_kernel_is_refused():
    class Incomplete:
        xp = np

    with pytest.raises(ImportError, match="lacks required kernels"):
        backends.Backend("broken", Incomplete)


@pytest.mark.skipif(os.environ.get("DEEPLITE_ALLOW_NO_CPU") == "1",
                    reason="DEEPLITE_ALLOW_NO_CPU=1: testing a build without a C++ compiler")
def test_cpu_backend_is_built():
    # Without this, a failed C++ build would only skip the cpu tests and CI would stay green.
    assert backends.is_available("cpu"), backends.why_unavailable("cpu")


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        backends.get("gpu")


def test_unknown_activation_is_a_clear_error(backend):
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        backend.apply_act(backend.asarray(np.ones(3)), "swish", 0.0)
