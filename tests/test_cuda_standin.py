"""The cuda backend's Python, run on a NumPy stand-in for CuPy whose kernels are NumPy emulations.

No GPU runs here, so this is what checks, before one does: that cuda_backend.py and
cuda_launch.py import and satisfy the kernel contract, that every launch passes the argument
list its kernel's C signature declares (count, order, Python int/float scalars, contiguous
arrays, the block size), and that the host-side arithmetic around the kernels (Adam's bias
corrections, reduction scales, the batch folding of linear_act, the scatter-add's sorted runs)
gives the reference's results. The emulations follow deeplite/kernels/*.cu line by line.
"""
import importlib
import sys
import types

import numpy as np
import pytest

from deeplite import backends
from deeplite.backends import philox
from deeplite.backends.contract import ACTIVATIONS, REQUIRED
from deeplite.backends.cuda_probe import block_threads

NUMPY = backends.get("numpy")


class DeviceArray(np.ndarray):
    """A host array posing as a CuPy array."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.__array_interface__["data"][0])

    def set(self, host):
        self[...] = host


def _device(value):
    return value.view(DeviceArray) if isinstance(value, np.ndarray) else value


def _host(value):
    return value.view(np.ndarray) if isinstance(value, np.ndarray) else value


def _act(name, x, slope):
    if name == "identity":
        return x
    if name == "leaky_relu":
        return NUMPY.leaky_relu(x, slope)
    return np.tanh(x) if name == "tanh" else getattr(NUMPY, name)(x)


def _bias_act(x, bias, y, n, cols, act, slope, vec):
    assert x.size == n and cols == x.shape[-1]
    y[...] = _act(ACTIVATIONS[act], x + (0 if bias is None else bias), slope)


def _act_grad(y, gy, gx, n, act, slope, vec):
    assert y.size == n == gx.size
    gx[...] = NUMPY.act_grad(_host(y), _host(gy), ACTIVATIONS[act], slope)


def _sigmoid_bce(z, y, dz, loss, partial, n, scale, vec):
    z64, y64 = z.astype(np.float64), y.astype(np.float64)
    term = np.maximum(z64, 0) - z64 * y64 + np.log1p(np.exp(-np.abs(z64)))
    dz[...] = (1 / (1 + np.exp(-z64)) - y64) * scale
    if loss is not None:
        loss[...] = term
    else:
        partial[...] = 0
        partial[0] = term.sum()


def _softmax_ce(z, labels, dz, loss, partial, rows, cols, scale):
    assert z.shape == (rows, cols) and labels.dtype == np.int64
    logp = NUMPY.log_softmax(_host(z).astype(np.float64), 1)
    onehot = np.eye(cols)[labels]
    dz[...] = (np.exp(logp) - onehot) * scale
    row = -logp[np.arange(rows), labels]
    if loss is not None:
        loss[...] = row
    else:
        partial[...] = 0
        partial[0] = row.sum()


def _sum_partials(partial, count, scale, out):
    out[...] = scale * partial[:count].sum()


def _segment_sum(values, order, targets, out, n):
    starts = [i for i in range(n) if i == 0 or targets[i - 1] != targets[i]]  # the kernel's test
    flat = out.reshape(-1)
    flat[targets[starts]] = np.add.reduceat(values[order], starts)


def _scalar(scalars, value, slot):
    """dl_cuda.h's ScalarOf: the launch's scalar block at slot, or the value without one."""
    return value if scalars is None else float(scalars[slot])


def _sgd_step(p, g, buf, n, scalars, lr, lr_slot, momentum, dampening, wd, nesterov, maximize,
              first):
    NUMPY.sgd_step([p], [g], None if buf is None else [buf], bool(first),
                   _scalar(scalars, lr, lr_slot), momentum, dampening, wd, bool(nesterov),
                   bool(maximize))


def _adam_step(p, g, m, v, vmax, n, beta1, beta2, eps, wd, scalars, lr, lr_slot, step, step_slot,
               decoupled, maximize):
    """dl_optim.h's AdamElement with optim.cu's per-step factors, in float64."""
    lr, step = _scalar(scalars, lr, lr_slot), _scalar(scalars, step, step_slot)
    decay, step_size = 1.0 - lr * wd, lr / (1.0 - beta1 ** step)
    bias2_sqrt = np.sqrt(1.0 - beta2 ** step)
    grad = -g if maximize else g
    if not decoupled and wd:
        grad = grad + p * wd
    if decoupled:
        p *= decay
    m[...] = m * beta1 + grad * (1 - beta1)
    v[...] = v * beta2 + grad * grad * (1 - beta2)
    second = v
    if vmax is not None:
        vmax[...] = np.maximum(vmax, v)
        second = vmax
    p -= m / (np.sqrt(second) / bias2_sqrt + eps) * step_size


def _rmsprop_step(p, g, sq, ga, buf, n, scalars, lr, lr_slot, alpha, eps, wd, momentum, maximize):
    NUMPY.rmsprop_step([p], [g], [sq], None if ga is None else [ga],
                       None if buf is None else [buf], _scalar(scalars, lr, lr_slot), alpha, eps,
                       wd, momentum, ga is not None, bool(maximize))


def _adagrad_step(p, g, state_sum, n, scalars, lr, lr_slot, step, step_slot, lr_decay, eps, wd,
                  maximize):
    """dl_optim.h's AdagradElement with optim.cu's clr, in float64."""
    step = _scalar(scalars, step, step_slot)
    clr = _scalar(scalars, lr, lr_slot) / (1 + (step - 1) * lr_decay)
    grad = (-g if maximize else g) + (p * wd if wd else 0)
    state_sum += grad * grad
    p -= grad / (np.sqrt(state_sum) + eps) * clr


def _dropout_mask(out, n, p, scalars, *pairs):
    """random.cu's mask: the key and counter words through ScalarOf, the stream as philox.py."""
    words = [int(_scalar(scalars, value, slot)) for value, slot in zip(pairs[::2], pairs[1::2],
                                                                         strict=True)]
    assert out.size == n and all(0 <= word < 1 << 32 for word in words)
    out[...] = philox.dropout_mask(out.shape, out.dtype, p, words[:2], words[2:])


# name prefix -> (emulation, argument count of the C signature)
EMULATIONS = {"bias_act": (_bias_act, 8), "act_grad": (_act_grad, 7),
              "sigmoid_bce": (_sigmoid_bce, 8), "softmax_ce": (_softmax_ce, 8),
              "sum_partials": (_sum_partials, 4), "segment_sum": (_segment_sum, 5),
              "sgd_step": (_sgd_step, 13), "adam_step": (_adam_step, 17),
              "rmsprop_step": (_rmsprop_step, 14), "adagrad_step": (_adagrad_step, 13),
              "dropout_mask": (_dropout_mask, 12)}
LAUNCHED = []


def _function(name):
    prefix = name.rsplit("_", 1)[0]
    emulate, arity = EMULATIONS[prefix]

    def launch(grid, block, args):
        assert len(args) == arity, f"{name}: {len(args)} arguments, the kernel takes {arity}"
        assert grid[0] >= 1 and block == (block_threads(),)
        for arg in args:
            assert arg is None or type(arg) in (int, float) or (
                isinstance(arg, DeviceArray) and arg.flags.c_contiguous), (name, type(arg))
        LAUNCHED.append(name)
        emulate(*args)
    return launch


def _stand_in():
    """A module posing as CuPy: NumPy functions returning DeviceArrays, and a fake driver."""
    cupy = types.ModuleType("cupy")
    for name in ("asarray", "empty", "zeros", "full", "copy", "concatenate", "stack", "arange",
                 "empty_like", "ascontiguousarray", "broadcast_to", "argsort", "reshape",
                 "transpose", "matmul", "sum", "max", "min", "argmax", "clip", "where", "abs",
                 "sqrt", "sign", "tanh"):
        function = getattr(np, name)
        setattr(cupy, name, lambda *a, _f=function, **k: _device(_f(*map(_host, a), **k)))
    for name in ("add", "subtract", "multiply", "true_divide", "power", "maximum", "minimum",
                 "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                 "negative", "exp", "log", "log1p", "expm1", "copyto", "float16", "float32",
                 "float64", "int32", "int64", "uint8"):
        setattr(cupy, name, getattr(np, name))
    cupy.__version__, cupy.ndarray = "14.0.1", DeviceArray
    cupy.asnumpy = lambda a: np.array(_host(a))
    runtime = types.SimpleNamespace(
        runtimeGetVersion=lambda: 13000, driverGetVersion=lambda: 13000,
        getDeviceCount=lambda: 1, deviceGetAttribute=lambda attribute, device: 132,
        cudaDevAttrMultiProcessorCount=16, CUDARuntimeError=RuntimeError,
        memGetInfo=lambda: (1 << 30, 1 << 31))
    probe = lambda grid, block, args: args[0].__iadd__(1)  # noqa: E731  the probe kernel
    cupy.RawKernel = lambda code, name: probe
    cupy.RawModule = lambda code, options: types.SimpleNamespace(get_function=_function)
    cupy.cuda = types.SimpleNamespace(
        runtime=runtime, Device=lambda: types.SimpleNamespace(id=0),
        memory=types.SimpleNamespace(OutOfMemoryError=type("OutOfMemoryError", (Exception,), {})))
    compute_types = []
    cupy._core = types.SimpleNamespace(
        set_compute_type=lambda dtype, kind: compute_types.append(kind),
        _routines_linalg=types.SimpleNamespace(COMPUTE_TYPE_TF32="tf32",
                                               COMPUTE_TYPE_DEFAULT="default"))
    cupy.compute_types = compute_types
    return cupy


STAND_IN_MODULES = ("deeplite.backends.cuda_backend", "deeplite.backends.cuda_launch",
                    "deeplite.backends.cuda_optim", "deeplite.backends.cuda_random")


@pytest.fixture
def cuda(monkeypatch):
    """The cuda backend loaded on the stand-in CuPy (a Backend, as the registry builds it)."""
    monkeypatch.setitem(sys.modules, "cupy", _stand_in())
    for name in STAND_IN_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("deeplite.backends.cuda_backend")
    yield backends.Backend("cuda", module)
    for name in STAND_IN_MODULES:
        sys.modules.pop(name, None)
    from deeplite.backends import cuda_probe
    cuda_probe.TF32._apply = None  # unbind the stand-in's switch


def _on(cuda, kernel, *args):
    result = getattr(cuda, kernel)(*map(_device, args))
    return tuple(map(_host, result)) if isinstance(result, tuple) else _host(result)


def test_backend_loads_on_the_stand_in_and_binds_tf32(cuda):
    import cupy

    from deeplite.backends import cuda_probe

    assert set(REQUIRED) <= set(dir(cuda)) and {"linear_act", "softmax_ce"} <= cuda.native
    cuda_probe.TF32.set(True)
    cuda_probe.TF32.set(False)
    assert cupy.compute_types[-2:] == ["tf32", "default"]


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "softplus"])
def test_activation_launches_match_the_reference(cuda, act, rng):
    x = rng.normal(size=(7, 9)).astype(np.float32)
    slope = (0.1,) if act == "leaky_relu" else ()
    np.testing.assert_allclose(_on(cuda, act, x, *slope), getattr(NUMPY, act)(x, *slope),
                               rtol=1e-6)
    y = getattr(NUMPY, act)(x, *slope)
    gy = rng.normal(size=x.shape).astype(np.float32)
    np.testing.assert_allclose(_on(cuda, "act_grad", y, gy, act, 0.1),
                               NUMPY.act_grad(y, gy, act, 0.1), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 8), (3, 4, 8)])
def test_linear_act_folds_batches_into_one_gemm(cuda, shape, rng):
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(8, 5)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    got = _on(cuda, "linear_act", x, w, b, "softplus", 0.0)
    assert got.shape == shape[:-1] + (5,)
    np.testing.assert_allclose(got, NUMPY.linear_act(x, w, b, "softplus", 0.0), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_loss_launches_scale_and_reduce_like_the_reference(cuda, reduction, rng):
    z = rng.normal(size=(12, 5))
    y = (rng.random(z.shape) < 0.5).astype(np.float64)
    labels = rng.integers(0, 5, 12)
    for kernel, args in (("sigmoid_bce", (z, y, reduction)),
                         ("softmax_ce", (z, labels, reduction))):
        for got, want in zip(_on(cuda, kernel, *args), getattr(NUMPY, kernel)(*args), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=kernel)


def test_optimizer_launches_follow_the_reference(cuda, rng):
    def state(count):
        return [[rng.normal(size=(4, 3)) for _ in range(2)] for _ in range(count)]

    for first, nesterov in ((True, False), (False, True)):
        host = state(3)
        device = [[_device(a.copy()) for a in group] for group in host]
        args = (first, 0.1, 0.9, 0.0, 1e-3, nesterov, False)
        NUMPY.sgd_step(*host, *args)
        cuda.sgd_step(*device, *args)
        for want, got in zip(sum(host, []), sum(device, []), strict=True):
            np.testing.assert_allclose(_host(got), want, rtol=1e-12)
    for centered, momentum in ((False, 0.0), (True, 0.9)):
        host = state(5)
        host[2] = [np.abs(a) + 1 for a in host[2]]  # square averages: sq - ga^2 stays positive
        host[3] = [0.1 * a for a in host[3]]
        device = [[_device(a.copy()) for a in group] for group in host]
        args = (1e-2, 0.99, 1e-8, 0.01, momentum, centered, True)
        NUMPY.rmsprop_step(*host[:3], host[3], host[4], *args)
        cuda.rmsprop_step(*device[:3], device[3], device[4], *args)
        for want, got in zip(sum(host, []), sum(device, []), strict=True):
            np.testing.assert_allclose(_host(got), want, rtol=1e-12)
    host = state(3)
    host[2] = [np.abs(a) for a in host[2]]
    device = [[_device(a.copy()) for a in group] for group in host]
    NUMPY.adagrad_step(*host, [1, 4], 1e-2, 0.1, 0.01, 1e-10, False)
    cuda.adagrad_step(*device, [1, 4], 1e-2, 0.1, 0.01, 1e-10, False)
    for want, got in zip(sum(host, []), sum(device, []), strict=True):
        np.testing.assert_allclose(_host(got), want, rtol=1e-12)
    for decoupled, amsgrad in ((False, False), (True, True)):
        host = state(5)
        host[3] = [np.abs(a) for a in host[3]]
        host[4] = [np.abs(a) + 0.5 for a in host[4]]
        device = [[_device(a.copy()) for a in group] for group in host]
        args = ([3, 7], 1e-2, 0.9, 0.999, 1e-8, 0.01, decoupled, amsgrad, False)
        NUMPY.adam_step(*host, *args)
        cuda.adam_step(*device, *args)
        for want, got in zip(sum(host, []), sum(device, []), strict=True):
            np.testing.assert_allclose(_host(got), want, rtol=1e-10)


def test_index_add_runs_the_sorted_segment_kernel(cuda, rng):
    LAUNCHED.clear()
    rows = rng.integers(-5, 5, 60)
    values = rng.normal(size=(60, 3))
    expected = np.zeros((5, 3))
    np.add.at(expected, rows, values)
    got = _on(cuda, "index_add", (5, 3), (rows,), values)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert LAUNCHED == ["segment_sum_f64"]
    counts = _on(cuda, "index_add", (5,), (rows,), np.ones(60, np.int64))
    np.testing.assert_array_equal(counts, np.bincount(rows % 5, minlength=5))


def test_every_emulated_kernel_was_launched_natively(cuda, rng):
    LAUNCHED.clear()
    x = rng.normal(size=(6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    cuda.relu(_device(x))
    cuda.act_grad(_device(x), _device(x), "sigmoid", 0.0)
    cuda.sigmoid_bce(_device(x), _device(x), "mean")
    cuda.softmax_ce(_device(x), _device(labels), "none")
    cuda.sgd_step([_device(x.copy())], [_device(x)], None, False, 0.1, 0.0, 0.0, 0.0, False,
                  False)
    square = _device(np.abs(x) + 1)
    cuda.rmsprop_step([_device(x.copy())], [_device(x)], [square], None, None, 0.01, 0.99, 1e-8,
                      0.0, 0.0, False, False)
    cuda.adagrad_step([_device(x.copy())], [_device(x)], [square], [1], 0.01, 0.0, 0.0, 1e-10,
                      False)
    assert LAUNCHED == ["bias_act_f32", "act_grad_f32", "sigmoid_bce_f32", "sum_partials_f32",
                        "softmax_ce_f32", "sgd_step_f32", "rmsprop_step_f32", "adagrad_step_f32"]


def test_dropout_mask_launch_passes_the_key_and_counter_words_in_order(cuda, rng):
    from kernel_references import np_dropout_mask

    LAUNCHED.clear()
    key, counter = (int(rng.integers(1 << 32)), 7), (0xFFFFFFFD, 2)
    for dtype, shape in ((np.float32, (5, 3)), (np.float64, (9,))):
        got = _host(cuda.dropout_mask(shape, dtype, 0.4, key, counter))
        np.testing.assert_array_equal(got, np_dropout_mask(shape, dtype, 0.4, key, counter))
    assert LAUNCHED == ["dropout_mask_f32", "dropout_mask_f64"]


def test_device_scalars_reach_the_kernels_through_the_scalar_block(cuda, rng):
    """What a CUDA graph captures: lr, step counts and stream words read from a device block at
    launch, giving what the same numbers passed directly give."""
    from deeplite.backends.device_scalars import DeviceScalar

    block = _device(np.array([0.0, 3e-2, 4.0, 9.0, 0.0, 0.0, 5.0, 1.0]))
    slot = [DeviceScalar(block, index) for index in range(8)]
    params = [rng.normal(size=(4, 3)) for _ in range(5)]
    params[3], params[4] = np.abs(params[3]), np.abs(params[4]) + 0.5
    by_number = [_device(a.copy()) for a in params]
    by_slot = [_device(a.copy()) for a in params]
    rest = (0.9, 0.999, 1e-8, 0.01, True, True, False)  # betas, eps, decay, AdamW, amsgrad
    cuda.adam_step([by_number[0]], [by_number[1]], [by_number[2]], [by_number[3]], [by_number[4]],
                   [9], 3e-2, *rest)
    cuda.adam_step([by_slot[0]], [by_slot[1]], [by_slot[2]], [by_slot[3]], [by_slot[4]],
                   [slot[3]], slot[1], *rest)
    for a, b in zip(by_number, by_slot, strict=True):
        np.testing.assert_array_equal(_host(a), _host(b))
    mask = cuda.dropout_mask((7,), np.float32, 0.5, [slot[6], slot[7]], [slot[4], slot[5]])
    np.testing.assert_array_equal(_host(mask),
                                  _host(cuda.dropout_mask((7,), np.float32, 0.5, (5, 1), (0, 0))))
    with pytest.raises(TypeError):
        float(slot[1])  # no host value: a reference composition cannot run under capture
