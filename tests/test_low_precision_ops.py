"""Every op of the op table, every fused kernel and every optimizer step on bfloat16 and float16,
against float64 NumPy: each is native or upcast, none raises a dtype error or returns a wrong
number silently.

Tolerances are in units of u, the 16-bit dtype's unit roundoff (2**-8 for bfloat16, 2**-11 for
float16): one rounding of an exactly computed result is within 1 u of it (relative). Fused kernels
and optimizer steps compute in float32 and round once, so they must be within ~1 u; an op table
entry may chain a few roundings (a reduction's inputs, then its result), so it gets 4 u relative
to its output's magnitude. float64 references see the same 16-bit input values.
"""
import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim
from deeplite.backends import get

from op_table import OPS

ml_dtypes = pytest.importorskip("ml_dtypes")
LOW = ["bfloat16", "float16"]
UNIT = {"bfloat16": 2.0 ** -8, "float16": 2.0 ** -11}
OP_TABLE_UNITS, FUSED_UNITS = 4.0, 1.1
# Where an update cancels (p - lr * step ~ 0), float32's own rounding of terms of magnitude <= 16
# (standard normal values and their squares) is what is left: forgiven, it is far below 1 u of
# the terms, which a 16-bit intermediate would lose.
FLOAT32_SLACK = 16 * 2.0 ** -24


def _takes_floats(op) -> bool:
    return any(arg.dtype.kind == "f" for args in op.samples(np.random.default_rng(0))
               for arg in args)


FLOAT_OPS = [op for op in OPS if _takes_floats(op)]
# References that read the input's dtype: here the 16-bit one, not float64's
LOW_REFERENCES = {"nan_to_num": lambda dtype: lambda x: np.nan_to_num(
    x, nan=7.0, posinf=8.0, neginf=float(ml_dtypes.finfo(dtype).min))}


def _units(got, expected, dtype_name: str, scale=None, slack: float = 0.0) -> float:
    """The largest error of ``got`` in units of u relative to |expected| (plus ``scale``);
    errors below the dtype's smallest normal number (subnormal underflow) and ``slack`` (an
    absolute error float32 arithmetic may make) are forgiven."""
    low = dl.dtypes.resolve(dtype_name)
    got = np.asarray(got).astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    tiny = float(ml_dtypes.finfo(low).smallest_normal)
    size = np.abs(expected) if scale is None else np.abs(expected) + scale
    error = np.maximum(np.abs(got - expected) - tiny - slack, 0.0)
    return float((error / (UNIT[dtype_name] * np.maximum(size, 1e-300))).max(initial=0.0))


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("op", FLOAT_OPS, ids=[op.name for op in FLOAT_OPS])
def test_op_table_forward_on_16_bit_floats(op, dtype, device, rng):
    low = dl.dtypes.resolve(dtype)
    reference = LOW_REFERENCES.get(op.name, lambda _: op.reference)(low)
    for args in op.samples(rng):
        rounded = [a.astype(low) if a.dtype.kind == "f" else a for a in args]
        out = op.op(*(dl.tensor(a, device=device) for a in rounded))
        expected = np.asarray(reference(*(a.astype(np.float64) if a.dtype == low else a
                                          for a in rounded)))
        if expected.dtype.kind == "f":
            assert out.dtype == low, f"{op.name} turned {dtype} into {out.dtype}"
        else:
            assert out.dtype == expected.dtype
        got = np.asarray(out.detach())
        if op.exact:
            np.testing.assert_array_equal(got.astype(expected.dtype), expected)
            continue
        units = _units(got, expected, dtype, scale=np.abs(expected).max(initial=0.0))
        assert units <= OP_TABLE_UNITS, f"{op.name}: off by {units:.1f} u"


# ---- fused kernels, straight on the backend ------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("dtype", LOW)
def test_fused_kernels_compute_in_float32_and_round_once(device, dtype, rng):
    b, low = get(device), dl.dtypes.resolve(dtype)
    z = (rng.standard_normal((64, 10)) * 3).astype(low)
    y = rng.uniform(0, 1, (64, 10)).astype(low)
    gy = rng.standard_normal((64, 10)).astype(low)
    w = rng.standard_normal((10, 6)).astype(low)
    bias = rng.standard_normal(6).astype(low)
    labels = rng.integers(0, 10, 64)
    z64, y64, gy64, w64, bias64 = (a.astype(np.float64) for a in (z, y, gy, w, bias))
    onehot = np.eye(10)[labels]
    s = b.sigmoid(z)
    s64 = s.astype(np.float64)
    pre = z64 @ w64 + bias64
    cases = {
        "sigmoid": (s, _sigmoid(z64)),
        "leaky_relu": (b.leaky_relu(z, 0.1), np.where(z64 > 0, z64, 0.1 * z64)),
        "softplus": (b.softplus(z), np.logaddexp(0, z64)),
        "softmax": (b.softmax(z, 1), _softmax(z64)),
        "log_softmax": (b.log_softmax(z, 1), np.log(_softmax(z64))),
        "act_grad": (b.act_grad(s, gy, "sigmoid", 0.0), gy64 * s64 * (1 - s64)),
        "linear_act": (b.linear_act(z, w, bias, "tanh", 0.0), np.tanh(pre)),
        "sigmoid_bce": (b.sigmoid_bce(z, y, "mean")[0], np.mean(np.logaddexp(0, z64) - z64 * y64)),
        "sigmoid_bce grad": (b.sigmoid_bce(z, y, "mean")[1], (_sigmoid(z64) - y64) / z.size),
        "softmax_ce": (b.softmax_ce(z, labels, "mean")[0],
                       -np.log(_softmax(z64))[np.arange(64), labels].mean()),
        "softmax_ce grad": (b.softmax_ce(z, labels, "sum")[1], _softmax(z64) - onehot),
    }
    for name, (got, expected) in cases.items():
        assert np.asarray(got).dtype == low, f"{name} returned {np.asarray(got).dtype}"
        units = _units(got, expected, dtype)
        assert units <= FUSED_UNITS, f"{name}: off by {units:.2f} u (more than one rounding)"


# ---- optimizer steps on 16-bit parameters -----------------------------------------------------
def _reference_step(kind, p, g, state, step):
    """PyTorch's update in float64 from the (16-bit) values before the step: (param, state)."""
    if kind == "SGD":  # momentum 0.9, nesterov, weight decay 0.1, lr 0.5
        g = g + 0.1 * p
        buf = g if step == 1 else 0.9 * state["momentum_buffer"] + g
        return p - 0.5 * (g + 0.9 * buf), {"momentum_buffer": buf}
    if kind in ("Adam", "AdamW"):  # lr 0.5, betas (0.9, 0.999), eps 1e-8, AdamW decay 0.01
        if kind == "AdamW":
            p = p * (1 - 0.5 * 0.01)
        m = 0.9 * state.get("exp_avg", 0.0) + 0.1 * g
        v = 0.999 * state.get("exp_avg_sq", 0.0) + 0.001 * g * g
        denom = np.sqrt(v) / np.sqrt(1 - 0.999 ** step) + 1e-8
        return p - 0.5 / (1 - 0.9 ** step) * m / denom, {"exp_avg": m, "exp_avg_sq": v}
    if kind == "RMSprop":  # lr 0.1, alpha 0.99, eps 1e-8
        sq = 0.99 * state.get("square_avg", 0.0) + 0.01 * g * g
        return p - 0.1 * g / (np.sqrt(sq) + 1e-8), {"square_avg": sq}
    total = state["sum"] + g * g  # Adagrad, lr 0.5 (its sum starts at 0)
    return p - 0.5 * g / (np.sqrt(total) + 1e-10), {"sum": total}


OPTIMIZERS = {"SGD": lambda ps: optim.SGD(ps, lr=0.5, momentum=0.9, nesterov=True,
                                          weight_decay=0.1),
              "Adam": lambda ps: optim.Adam(ps, lr=0.5),
              "AdamW": lambda ps: optim.AdamW(ps, lr=0.5),
              "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.1),
              "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.5)}


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_optimizer_steps_on_16_bit_parameters_round_once(device, dtype, kind, rng):
    low = dl.dtypes.resolve(dtype)
    param = nn.Parameter(dl.tensor(rng.standard_normal(2000).astype(low), device=device))
    optimizer = OPTIMIZERS[kind]([param])
    for step in (1, 2, 3):
        before = param.detach().numpy().astype(np.float64)
        state = {key: value.numpy().astype(np.float64)
                 for key, value in optimizer.state.get(param, {}).items() if key != "step"}
        if kind == "Adagrad" and step == 1:
            state = {"sum": np.zeros_like(before)}
        grad = rng.standard_normal(2000).astype(low)
        param.grad = dl.tensor(grad, device=device)
        optimizer.step()
        expected, expected_state = _reference_step(kind, before, grad.astype(np.float64),
                                                   state, step)
        assert param.dtype == low
        units = _units(param.detach().numpy(), expected, dtype, slack=FLOAT32_SLACK)
        assert units <= FUSED_UNITS, f"{kind} step {step}: param off by {units:.2f} u"
        for key, value in expected_state.items():
            stored = optimizer.state[param][key]
            assert stored.dtype == low, f"{kind}'s {key} is {stored.dtype}"
            units = _units(stored.numpy(), value, dtype, slack=FLOAT32_SLACK)
            assert units <= FUSED_UNITS, f"{kind} step {step}: {key} off by {units:.2f} u"


@pytest.mark.parametrize("dtype", LOW)
def test_nan_and_inf_handling_on_16_bit_floats_matches_torch(device, dtype):
    torch = pytest.importorskip("torch")
    values = [[1.0, float("nan"), 3.0, 0.5, float("inf")], [2.0, 1.0, -float("inf"), 3.0, 3.0]]
    x = dl.tensor(values, dtype=dtype, device=device)
    tx = torch.tensor(values, dtype=getattr(torch, dtype))
    for name in ("median", "nanmedian", "cummax", "cummin"):
        ours, theirs = getattr(dl, name)(x, dim=1), getattr(torch, name)(tx, dim=1)
        np.testing.assert_array_equal(ours.values.float().numpy(), theirs.values.float().numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy(), err_msg=name)
    for name in ("isposinf", "isneginf", "isnan", "nan_to_num"):
        ours, theirs = getattr(dl, name)(x), getattr(torch, name)(tx)
        np.testing.assert_array_equal(ours.numpy().astype(np.float64),
                                      theirs.numpy() if theirs.dtype == torch.bool
                                      else theirs.float().numpy(), err_msg=name)
