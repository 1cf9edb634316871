"""Every op in the op table: forward against NumPy float64 on each backend, gradcheck, second
order."""
import numpy as np
import pytest

import deeplite as dl

from op_table import OPS

OP_IDS = [op.name for op in OPS]


def _tensors(args, device, dtype, requires_grad):
    """Float arrays become tensors of ``dtype`` (with grad if asked); others keep their dtype."""
    tensors = []
    for arg in args:
        if arg.dtype.kind == "f":
            tensors.append(dl.tensor(arg, dtype=dtype, device=device, requires_grad=requires_grad))
        else:
            tensors.append(dl.tensor(arg, device=device))
    return tensors


def _host(value):
    return np.asarray(value.detach(), dtype=np.float64)


def _check_exact(op, args, device, dtype):
    """Integer and bool outputs: the same values and dtype as NumPy on the same inputs."""
    args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in args]
    result = op.op(*_tensors(args, device, dtype, False))
    expected = np.asarray(op.reference(*args))
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(result.detach()), expected)


@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_forward_float64_matches_numpy(op, device, rng):
    for args in op.samples(rng):
        if op.exact:
            _check_exact(op, args, device, dl.float64)
            continue
        result = op.op(*_tensors(args, device, dl.float64, False))
        expected = op.reference(*args)
        assert result.dtype == dl.float64
        assert result.shape == np.shape(expected)
        np.testing.assert_allclose(_host(result), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_forward_float32_matches_numpy(op, device, rng):
    for args in op.samples(rng):
        if op.exact:
            _check_exact(op, args, device, dl.float32)
            continue
        result = op.op(*_tensors(args, device, dl.float32, False))
        # float32 inputs: the reference sees the same rounded values; 1e-5 relative is a few ulps
        # after the handful of roundings these ops do (reductions over < 100 elements).
        rounded = [a.astype(np.float32).astype(np.float64) if a.dtype.kind == "f" else a
                   for a in args]
        assert result.dtype == dl.float32
        np.testing.assert_allclose(_host(result), op.reference(*rounded), rtol=1e-5, atol=1e-6)


GRAD_OPS = [op for op in OPS if op.grad]


@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
def test_gradcheck(op, device, rng):
    for args in op.samples(rng):
        inputs = _tensors(args, device, dl.float64, True)
        assert dl.gradcheck(op.op, inputs)


def _first_derivatives(op):
    """A function of the inputs giving d(sum(out * weights))/d(inputs), recorded for 2nd order."""
    def first(*inputs):
        out = op.op(*inputs)
        weights = dl.tensor(np.linspace(-1.0, 2.0, out.numel()).reshape(out.shape),
                            dtype=dl.float64, device=out.device)
        differentiable = [x for x in inputs if x.requires_grad]
        grads = dl.grad((out * weights).sum(), differentiable, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)
    return first


SECOND_ORDER = [op for op in OPS if op.second_order]


@pytest.mark.parametrize("op", SECOND_ORDER, ids=[op.name for op in SECOND_ORDER])
def test_second_order_gradcheck(op, device, rng):
    args = op.samples(rng)[0]
    inputs = _tensors(args, device, dl.float64, True)
    assert dl.gradcheck(_first_derivatives(op), inputs, atol=1e-4)
