"""The benchmark suite's kernel family and its one FLOP formula: every contender computes the same
thing (so a ratio compares equal work), and the formula counts what a training step multiplies.
Correctness only: no timing is asserted."""
import sys
from pathlib import Path

import numpy as np
import pytest

from deeplite import backends

from _compare import close

# benchmarks/ is a top-level folder of the checkout, never installed: import it from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.cases import kernels  # noqa: E402
from benchmarks.contenders import Contender  # noqa: E402
from benchmarks.mlp import MLPSpec, gemm_flops  # noqa: E402

NUMPY = Contender("numpy", "numpy", "host")


def _host(contender, result):
    """A contender's result (an array or a tuple of them) as host arrays."""
    if isinstance(result, tuple):
        return tuple(_host(contender, item) for item in result)
    if contender.framework == "deeplite":
        return backends.get(contender.device).to_numpy(result)
    return np.asarray(result)


def test_kernel_cases_compute_what_the_numpy_peer_computes(device, rng):
    ours = Contender(f"deeplite[{device}]", "deeplite", device)
    x = rng.standard_normal((5, 7), dtype=np.float32)
    w = rng.standard_normal((7, 3), dtype=np.float32)
    z = rng.standard_normal(301, dtype=np.float32) * 4
    y = rng.random(301, dtype=np.float32)
    makers = [kernels._linear_maker(x, w, rng.standard_normal(3, dtype=np.float32)),
              kernels._sigmoid_maker(z), kernels._sigmoid_grad_maker(y, z),
              kernels._bce_maker(z, (y > 0.5).astype(np.float32))]
    for make in makers:
        close(_host(ours, make(ours)()), _host(NUMPY, make(NUMPY)()))


def test_adam_kernel_case_updates_as_the_numpy_peer_does(device):
    ours = Contender(f"deeplite[{device}]", "deeplite", device)
    make = kernels._adam_maker([(3, 4), (4,)], np.random.default_rng(7))
    ours_step, numpy_step = make(ours), make(NUMPY)  # from the same states
    ours_step()  # the first call is the benchmark's warm-up: both take two steps
    numpy_step()
    close(_host(ours, tuple(ours_step())), _host(NUMPY, tuple(numpy_step())))


def test_dropout_mask_case_draws_fresh_masks_of_the_same_law(device):
    ours = Contender(f"deeplite[{device}]", "deeplite", device)
    size, p = 20_000, 0.3
    for contender in (ours, NUMPY):
        draw = kernels._dropout_maker(size, p)(contender)
        first, second = _host(contender, draw()), _host(contender, draw())
        assert not np.array_equal(first, second)  # each call a fresh mask, as in training
        np.testing.assert_array_equal(np.unique(first), [0.0, np.float32(1 / (1 - p))])
        kept = np.count_nonzero(first)
        assert abs(kept - size * (1 - p)) <= 5 * np.sqrt(size * p * (1 - p))  # binomial, 5 sd


@pytest.mark.parametrize("sizes, batch", [((2, 3, 4), 5), ((784, 1024, 1024, 10), 256)])
def test_one_flop_formula_counts_forward_weight_and_input_gradients(sizes, batch):
    layers = list(zip(sizes, sizes[1:]))
    forward = sum(2 * batch * fan_in * fan_out for fan_in, fan_out in layers)
    input_grads = sum(2 * batch * fan_in * fan_out for fan_in, fan_out in layers[1:])
    assert gemm_flops(sizes, batch) == 2 * forward + input_grads  # weight gradients = forward
    assert MLPSpec(tuple(sizes), batch, "ce").flops == gemm_flops(sizes, batch)
