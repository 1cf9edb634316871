"""Dropout's counter-based stream: Philox4x32-10 against Random123's known answers, the native
kernels against the NumPy reference and a one-element-at-a-time Python reference, the stream's
seed and offset, and dropout's statistics, errors and gradient."""
import numpy as np
import pytest

import deeplite as dl
import deeplite.nn.functional as F
from deeplite import backends, creation
from deeplite.backends import philox

from kernel_references import np_dropout_mask, philox4x32_10

# Random123's tests/kat_vectors, the philox4x32 10-round lines: counter (4 words), key (2), output
# (4). Checked against the kat_vectors file and TensorFlow's Philox test before being copied here.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_philox_matches_random123_known_answers(counter, key, expected):
    assert philox4x32_10(counter, key) == expected  # the test's own scalar reference
    assert tuple(philox.philox4x32([counter], key)[0].tolist()) == expected
    if backends.is_available("cpu"):
        from deeplite import _C

        assert _C.philox4x32(list(counter), list(key)) == expected  # dl_philox.h itself


def test_vectorised_philox_equals_the_scalar_reference(rng):
    counters = rng.integers(0, 1 << 32, (64, 4), dtype=np.uint64).astype(np.uint32)
    key = tuple(int(word) for word in rng.integers(0, 1 << 32, 2))
    got = philox.philox4x32(counters, key)
    for row, out in zip(counters, got, strict=True):
        assert tuple(out.tolist()) == philox4x32_10(tuple(int(w) for w in row), key)


def _random_stream_args(rng):
    key = tuple(int(word) for word in rng.integers(0, 1 << 32, 2))
    counter = (int(rng.integers(0, 1 << 32)), int(rng.integers(0, 1 << 32)))
    return key, counter


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (3,), (4,), (5, 7), (2, 3, 17)])
def test_every_backend_draws_the_reference_mask_bit_for_bit(device, rng, dtype, shape):
    key, counter = _random_stream_args(rng)
    p = float(rng.uniform(0.05, 0.95))
    expected = np_dropout_mask(shape, dtype, p, key, counter)
    got = backends.get(device).to_numpy(
        backends.get(device).dropout_mask(shape, dtype, p, key, counter))
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_mask_equals_numpy_mask_on_large_arrays_and_any_thread_count(rng, dtype):
    if not backends.is_available("cpu"):
        pytest.skip("no cpu backend")
    cpu, reference = backends.get("cpu"), backends.get("numpy")
    # A counter near the low word's end, so the blocks carry into the high word mid-mask.
    key, counter = _random_stream_args(rng)
    counter = (0xFFFFFFFF - 1000, counter[1])
    shape = (301, 1001)  # odd: the last block is cut short
    expected = reference.dropout_mask(shape, dtype, 0.3, key, counter)
    threads = cpu.module.num_threads()
    try:
        for count in (1, 2):
            cpu.module.set_num_threads(count)
            np.testing.assert_array_equal(cpu.dropout_mask(shape, dtype, 0.3, key, counter),
                                          expected)
    finally:
        cpu.module.set_num_threads(threads)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8, 0.97])
def test_keep_fraction_is_binomial(device, p):
    dl.manual_seed(11)
    n = 200_000
    out = F.dropout(dl.ones(n, device=device), p).numpy()
    kept = int(np.count_nonzero(out))
    keep = 1.0 - p
    # Five standard deviations of Binomial(n, 1 - p): fails by chance about once in 3 million.
    assert abs(kept - n * keep) <= 5 * np.sqrt(n * p * keep)
    np.testing.assert_array_equal(np.unique(out), [0.0, np.float32(1.0 / keep)])


def test_p_zero_and_one_and_eval_mode(device, rng):
    x = dl.tensor(rng.standard_normal((4, 6)), device=device)
    offset = creation.get_rng_state()["stream"]["offset"]
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.7, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((4, 6)))
    assert creation.get_rng_state()["stream"]["offset"] == offset  # none of them drew


@pytest.mark.parametrize("p, error, match", [
    (-0.1, ValueError, "between 0 and 1, got -0.1"),
    (1.5, ValueError, "between 0 and 1, got 1.5"),
    (float("nan"), ValueError, "between 0 and 1"),
    ("0.5", TypeError, "must be a number, got str"),
    (True, TypeError, "must be a number, got bool"),
])
def test_bad_probability_raises_naming_it(device, p, error, match):
    with pytest.raises(error, match=match):
        F.dropout(dl.ones(3, device=device), p)


@pytest.mark.parametrize("p", [-0.5, 1.0, 2.0])
def test_kernel_refuses_probabilities_outside_zero_one(device, p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        backends.get(device).dropout_mask((3,), np.float32, p, (1, 2), (0, 0))


def test_manual_seed_reproduces_and_the_offset_advances_by_whole_blocks(device):
    dl.manual_seed(2024)
    first = [F.dropout(dl.ones(5, 3, device=device), 0.5).numpy() for _ in range(3)]
    # 15 draws each, rounded up to 16 (4 blocks of 4 words), as PyTorch rounds its offsets.
    assert creation.get_rng_state()["stream"] == {"seed": 2024, "offset": 48}
    dl.manual_seed(2024)
    again = [F.dropout(dl.ones(5, 3, device=device), 0.5).numpy() for _ in range(3)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len({mask.tobytes() for mask in first}) == 3  # each call draws fresh words
    # The second mask is the stream's words 16.. (block 4), drawn directly.
    np.testing.assert_array_equal(
        first[1], np_dropout_mask((5, 3), np.float32, 0.5, (2024, 0), (4, 0)))


def test_large_and_negative_seeds_fill_both_key_words(device):
    for seed in (2 ** 64 - 1, 2 ** 40 + 3):
        dl.manual_seed(seed)
        got = F.dropout(dl.ones(9, device=device), 0.5).numpy()
        key = (seed & 0xFFFFFFFF, seed >> 32)
        np.testing.assert_array_equal(got, np_dropout_mask((9,), np.float32, 0.5, key, (0, 0)))


def test_rng_state_round_trips_the_stream(device):
    dl.manual_seed(5)
    F.dropout(dl.ones(10, device=device), 0.5)
    state = creation.get_rng_state()
    expected = F.dropout(dl.ones(10, device=device), 0.5).numpy()
    dl.manual_seed(99)
    creation.set_rng_state(state)
    np.testing.assert_array_equal(F.dropout(dl.ones(10, device=device), 0.5).numpy(), expected)
    with pytest.raises(ValueError, match="multiple of 4"):
        creation.set_rng_state({"host": state["host"], "stream": {"seed": 1, "offset": 3}})
    with pytest.raises(ValueError, match="expected a dict"):
        creation.set_rng_state("state")
    host_before = creation.get_rng_state()
    with pytest.raises(ValueError, match="dropout stream state 5"):
        creation.set_rng_state({"host": {"bit_generator": "nonsense"}, "stream": 5})
    assert creation.get_rng_state() == host_before  # checked before anything changed


def test_gradient_is_the_upstream_gradient_times_the_mask(device, rng):
    dl.manual_seed(int(rng.integers(1 << 30)))
    state = creation.get_rng_state()
    x = dl.tensor(rng.standard_normal((6, 5)), device=device, requires_grad=True)
    y = F.dropout(x, 0.4)
    upstream = rng.standard_normal((6, 5))
    y.backward(dl.tensor(upstream, device=device))
    mask = y.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), upstream * mask, rtol=1e-12)

    def fixed_mask(inputs):
        creation.set_rng_state(state)  # every evaluation draws the same mask
        return F.dropout(inputs, 0.4)

    assert dl.gradcheck(fixed_mask, (dl.tensor(rng.standard_normal((4, 3)), device=device,
                                               requires_grad=True),))
