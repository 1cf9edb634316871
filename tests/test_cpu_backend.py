"""The cpu backend's native kernels (deeplite._C) against the NumPy reference and fallbacks.

Covers what the generic conformance suite (test_kernels.py) does not: the native/fallback split
(transposed and strided views, broadcasts, dtypes the C++ code leaves to NumPy), sizes above the
native threshold of the REQUIRED overrides, every optimizer option, thread control, and the
message shown when the extension is missing. Correctness only; timings live in benchmarks/.
"""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import deeplite
from deeplite import backends
from deeplite.backends import contract

from _compare import close

if not backends.is_available("cpu"):
    pytest.skip(f"cpu backend unavailable: {backends.why_unavailable('cpu')}",
                allow_module_level=True)

from deeplite.backends import cpu_backend  # noqa: E402  (only importable when cpu is available)

CPU = backends.get("cpu")
REFERENCE = backends.get("numpy")
DTYPES = [np.float32, np.float64]
SIZES = (1, 7, 1023)
BIG = cpu_backend.NATIVE_MIN_SIZE  # REQUIRED overrides go native from this many elements
NATIVE = {"sigmoid", "relu", "leaky_relu", "softplus", "act_grad", "softmax", "log_softmax",
          "linear_act", "linear_act_grad", "linear_act_grad_mixed", "sigmoid_bce", "softmax_ce",
          "sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "dropout_mask"}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def both(kernel, *args):
    """Run ``kernel`` on cpu and on the reference, and compare."""
    close(getattr(CPU, kernel)(*args), getattr(REFERENCE, kernel)(*args))


def views(rng, shape, dtype):
    """A contiguous array of ``shape``, its transposed view, and a strided slice of that shape."""
    base = rng.standard_normal(shape).astype(dtype)
    flipped = np.ascontiguousarray(base.T).T
    strided = rng.standard_normal((shape[0] * 2, shape[1] + 3)).astype(dtype)[::2, 1:-2]
    return base, flipped, strided


def test_native_kernels_are_exactly_these():
    assert CPU.native == NATIVE
    assert NATIVE <= set(contract.OPTIONAL)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_and_their_gradients(dtype, rng):
    for n in SIZES + (0, 3 * BIG):
        x = (rng.standard_normal(n) * 5).astype(dtype)
        x[:1] = 1e4 if n else x[:1]
        for kernel in ("sigmoid", "relu", "softplus"):
            both(kernel, x)
            both(kernel, x[::2])  # strided view
        both("leaky_relu", x, 0.1)
        gy = rng.standard_normal(n).astype(dtype)
        for act in contract.ACTIVATIONS:
            y = REFERENCE.linear_act(x[:, None], np.ones((1, 1), dtype), None, act, 0.1)[:, 0]
            both("act_grad", y, gy, act, 0.1)
    assert np.all(np.isfinite(CPU.softplus(np.array([-1e4, 1e4], dtype))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_reads_transposed_and_strided_views(dtype, rng):
    for m, k, n in [(1, 1, 1), (7, 5, 3), (1023, 7, 33), (64, 300, 128)]:
        for a in views(rng, (m, k), dtype):
            for b in views(rng, (k, n), dtype):
                both("matmul", a, b)


def test_matmul_leaves_other_cases_to_numpy(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    both("matmul", a.astype(np.float32), b)  # mixed dtypes promote as NumPy does
    both("matmul", np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2))  # integers
    both("matmul", rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)))  # batched
    both("matmul", rng.standard_normal(4), rng.standard_normal((4, 5)))  # vector
    both("matmul", np.zeros((0, 4)), np.zeros((4, 5)))  # empty
    with pytest.raises(ValueError):
        CPU.matmul(a, a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", contract.ACTIVATIONS)
def test_linear_act_and_its_gradient(dtype, act, rng):
    for rows, inputs, outputs in [(1, 1, 1), (7, 3, 5), (1023, 7, 9), (300, 64, 1024)]:
        x, x_t, _ = views(rng, (rows, inputs), dtype)
        # Scaled as initialised layers are, so pre-activations (and float32 sum errors) are O(1).
        w = (rng.standard_normal((inputs, outputs)) / np.sqrt(inputs)).astype(dtype)
        bias = rng.standard_normal(outputs).astype(dtype)
        for operand in (x, x_t):
            both("linear_act", operand, w, bias, act, 0.1)
            both("linear_act", operand, w, None, act, 0.1)
        y = REFERENCE.linear_act(x, w, bias, act, 0.1)
        gy = rng.standard_normal(y.shape).astype(dtype)
        for need in [(True, True, True), (True, False, False), (False, True, True)]:
            both("linear_act_grad", x, w, y, gy, act, 0.1, *need)
        both("linear_act_grad", x_t, np.ascontiguousarray(w.T).T, y, gy, act, 0.1, True, True, True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_binary_ops_broadcast_like_numpy(dtype, rng):
    full = rng.standard_normal((BIG // 64, 64)).astype(dtype)
    for other in (rng.standard_normal((BIG // 64, 64)), rng.standard_normal(64),
                  rng.standard_normal((1, 64)), rng.standard_normal((1, 1)), np.array(2.5)):
        other = other.astype(dtype)
        for kernel in ("add", "sub", "mul", "div"):
            both(kernel, full, other)
            both(kernel, other, full)
    both("add", full.T, full.T)  # non-contiguous: NumPy's loop
    both("mul", full, full.astype(np.float64))  # promotion
    both("sub", full[:, :1], full[:1, :])  # both broadcast: NumPy
    with pytest.raises(ValueError):
        CPU.add(full, full[:, :3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_reductions_along_an_axis(dtype, rng):
    x = rng.standard_normal((BIG // 128, 16, 8)).astype(dtype)
    for kernel in ("sum", "max"):
        for axis in (0, 1, 2, -1, (1,), None, (0, 2)):
            for keepdims in (False, True):
                close(getattr(CPU, kernel)(x, axis=axis, keepdims=keepdims),
                      getattr(REFERENCE, kernel)(x, axis=axis, keepdims=keepdims))
        close(getattr(CPU, kernel)(x.T, axis=0), getattr(REFERENCE, kernel)(x.T, axis=0))
    with_nan = x.copy()
    with_nan[5, 3, 2] = np.nan
    assert np.isnan(CPU.max(with_nan, axis=0)[3, 2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows(dtype, rng):
    for rows, cols in [(1, 1), (7, 3), (1023, 10), (0, 4)]:
        x = (rng.standard_normal((rows, cols)) * 10).astype(dtype)
        for kernel in ("softmax", "log_softmax"):
            both(kernel, x, 1)
            both(kernel, x, -1)
            if rows:
                both(kernel, x, 0)  # another axis: the reference composition
            both(kernel, x.T.copy().T, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", contract.REDUCTIONS)
def test_fused_losses(dtype, reduction, rng):
    for n in SIZES + (0, 2 * BIG):
        z = (rng.standard_normal((n, 5)) * 4).astype(dtype)
        if n:
            z[0, 0], z[-1, -1] = 1e4, -1e4
        y = rng.uniform(0, 1, (n, 5)).astype(dtype)
        both("sigmoid_bce", z, y, reduction)
        both("sigmoid_bce", z.T, y.T, reduction)  # non-contiguous
        labels = rng.integers(0, 5, n)
        both("softmax_ce", z, labels, reduction)
        both("softmax_ce", z, labels.astype(np.int32), reduction)
        for result in CPU.sigmoid_bce(z, y, reduction) + CPU.softmax_ce(z, labels, reduction):
            assert np.all(np.isfinite(result))


def test_softmax_ce_labels_index_like_numpy(rng):
    z = rng.standard_normal((4, 3))
    both("softmax_ce", z, np.array([0, -1, 2, -3]), "mean")
    with pytest.raises(IndexError):
        CPU.softmax_ce(z, np.array([0, 1, 3, 0]), "sum")


def test_unsupported_dtypes_fall_back_to_the_reference(rng):
    x = rng.standard_normal((5, 4)).astype(np.float16)
    both("sigmoid", x)
    both("act_grad", x, x, "tanh", 0.0)
    both("linear_act", x, x.T, None, "relu", 0.0)
    both("sigmoid_bce", x, x, "mean")
    with pytest.raises(ValueError):
        CPU.linear_act(x.astype(np.float32), x.astype(np.float32), None, "swish", 0.0)


def run_optimizer(kernel, dtype, rng, states, **options):
    """Run ``kernel`` for four steps on cpu and on the fallback from equal copies: equal bit for
    bit (the C++ rounds each operation as the reference composition does: -ffp-contract=off).

    ``states`` names the state-buffer lists; an option may be a function of the step number.
    """
    shapes = [(7,), (33, 5), (1023,), (2 * BIG,)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    # Positive buffers; running means of g small enough that RMSprop's variance stays positive.
    buffers = {key: [(rng.uniform(0.1, 1, s) * (0.1 if key == "grad_avgs" else 1)).astype(dtype)
                     for s in shapes] for key in states}
    runs = [(backend, [p.copy() for p in params],
             {key: [b.copy() for b in value] for key, value in buffers.items()})
            for backend in (CPU, REFERENCE)]
    for step in range(1, 5):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        hyper = {key: value(step) if callable(value) else value for key, value in options.items()}
        for backend, run_params, run_buffers in runs:
            getattr(backend, kernel)(run_params, grads, **run_buffers, **hyper)
    (_, got_params, got_buffers), (_, want_params, want_buffers) = runs
    for got, want in zip(got_params, want_params, strict=True):
        np.testing.assert_array_equal(got, want)
    for key in states:
        for got, want in zip(got_buffers[key], want_buffers[key], strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, nesterov, weight_decay, maximize", [
    (0.0, False, 0.0, False), (0.9, False, 0.01, False), (0.9, True, 0.0, True)])
def test_sgd_step(dtype, momentum, nesterov, weight_decay, maximize, rng):
    states = ["bufs"] if momentum else []
    run_optimizer("sgd_step", dtype, rng, states=states, first=lambda step: step == 1, lr=0.1,
                  momentum=momentum, dampening=0.1, weight_decay=weight_decay, nesterov=nesterov,
                  maximize=maximize, **({} if momentum else {"bufs": None}))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decoupled, amsgrad, maximize", [
    (False, False, False), (True, False, False), (False, True, True), (True, True, False)])
def test_adam_step(dtype, decoupled, amsgrad, maximize, rng):
    states = ["exp_avgs", "exp_avg_sqs"] + (["max_exp_avg_sqs"] if amsgrad else [])
    run_optimizer("adam_step", dtype, rng, states=states, steps=lambda step: [step] * 4, lr=1e-2,
                  beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, decoupled=decoupled,
                  amsgrad=amsgrad, maximize=maximize,
                  **({} if amsgrad else {"max_exp_avg_sqs": None}))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.9)])
def test_rmsprop_and_adagrad_steps(dtype, centered, momentum, rng):
    states = ["square_avgs"] + (["grad_avgs"] if centered else []) + (["bufs"] if momentum else [])
    absent = {key: None for key in ("grad_avgs", "bufs") if key not in states}
    run_optimizer("rmsprop_step", dtype, rng, states=states, lr=1e-2, alpha=0.99, eps=1e-8,
                  weight_decay=0.01, momentum=momentum, centered=centered, maximize=False,
                  **absent)
    run_optimizer("adagrad_step", dtype, rng, states=["state_sums"],
                  steps=lambda step: [step] * 4, lr=1e-2, lr_decay=0.01, weight_decay=0.01,
                  eps=1e-10, maximize=centered)


def test_optimizer_with_an_unsupported_tensor_falls_back_for_all(rng):
    params = [rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float16)]
    grads = [rng.standard_normal(5).astype(p.dtype) for p in params]
    expected = [p.copy() for p in params]
    CPU.sgd_step(params, grads, None, True, 0.1, 0.0, 0.0, 0.0, False, False)
    REFERENCE.sgd_step(expected, grads, None, True, 0.1, 0.0, 0.0, 0.0, False, False)
    close(params[0], expected[0])
    # float16 is updated in float32 and rounded once (deeplite.backends.low_precision)
    np.testing.assert_allclose(params[1].astype(np.float32), expected[1].astype(np.float32),
                               rtol=2e-3, atol=2e-3)


def threads_in_fresh_process(value):
    """What a fresh interpreter reports for DEEPLITE_NUM_THREADS=value (or its error)."""
    env = dict(os.environ, DEEPLITE_NUM_THREADS=value)
    code = ("from deeplite import backends\n"
            "try:\n    print(backends.get('cpu').module.num_threads())\n"
            "except RuntimeError as error:\n    print(error)")
    # Run beside the deeplite this test imported (installed or editable), never the source tree
    # in the current directory, whose deeplite/ has no compiled _C after a plain `pip install .`.
    home = pathlib.Path(deeplite.__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True, cwd=home).stdout.strip()


def test_thread_count_comes_from_the_environment():
    assert threads_in_fresh_process("1") == "1"
    assert threads_in_fresh_process("3") == "3"
    assert "DEEPLITE_NUM_THREADS" in threads_in_fresh_process("many")


def _bias_corrections(rng) -> list:
    """Divisors adam_step divides by, sqrt(1 - beta2^t), and random ones in (0, 1]."""
    divisors = [1.0, float(np.nextafter(np.float32(1), np.float32(0)))]
    divisors += [np.sqrt(1 - beta2 ** t) for beta2 in (0.9, 0.999) for t in (1, 7, 5000)]
    return divisors + list(rng.uniform(1e-3, 1, 2))


def test_adams_division_by_its_bias_correction_rounds_as_the_division(rng):
    """adam_step divides sqrt(v) by sqrt(1 - beta2^t) through a product and FMA corrections
    (dl_optim.h's SharedDivide): every float32 mantissa in two binades, and random float64,
    give x / d bit for bit; inf, NaN and overflow as the division gives them."""
    mantissas = (np.arange(1 << 23, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)
    wide = np.abs(rng.standard_normal(1 << 18)) * np.exp2(rng.integers(-300, 300, 1 << 18))
    for d in _bias_corrections(rng):
        d32 = np.float32(d)
        for scale in (np.float32(1), np.float32(2.0 ** 40)):
            x = mantissas * scale
            got = cpu_backend._C.divide_by_shared(x, float(d32))
            np.testing.assert_array_equal(got.view(np.uint32), (x / d32).view(np.uint32))
        np.testing.assert_array_equal(cpu_backend._C.divide_by_shared(wide, d).view(np.uint64),
                                      (wide / d).view(np.uint64))
    for dtype in (np.float32, np.float64):
        edges = np.array([0, np.inf, np.nan, np.finfo(dtype).max, np.finfo(dtype).tiny], dtype)
        for d in (1e-30 if dtype == np.float32 else 1e-300, 0.5, 1.0):
            d = dtype(d)
            with np.errstate(over="ignore"):
                want = edges / d
            np.testing.assert_array_equal(cpu_backend._C.divide_by_shared(edges, float(d)), want)


def test_thread_count_changes_nothing_but_speed(rng):
    x = rng.standard_normal((BIG, 8)).astype(np.float32)
    w = rng.standard_normal((8, 300)).astype(np.float32)
    before = cpu_backend.num_threads()
    try:
        results = []
        for threads in (1, 2):
            cpu_backend.set_num_threads(threads)
            assert cpu_backend.num_threads() in (threads, 1)  # 1 in a build without OpenMP
            results.append((CPU.linear_act(x, w, None, "tanh", 0.0), CPU.sigmoid_bce(x, x, "sum")))
        close(results[0], results[1])
    finally:
        cpu_backend.set_num_threads(before)


def test_unavailable_message_names_the_build_error(tmp_path, monkeypatch):
    note = tmp_path / "_C_build_error.txt"
    note.write_text("csrc/cpu/loss.cpp:3: error: 'foo' was not declared\n")
    monkeypatch.setattr(cpu_backend, "BUILD_ERROR_FILE", note)
    message = str(cpu_backend._unavailable(ImportError("No module named 'deeplite._C'")))
    assert "failed to build" in message and "loss.cpp:3" in message and "pip install" in message
    monkeypatch.setattr(cpu_backend, "BUILD_ERROR_FILE", tmp_path / "absent.txt")
    assert "No module named" in str(cpu_backend._unavailable(ImportError("No module named 'x'")))
