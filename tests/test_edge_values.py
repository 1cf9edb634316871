"""Infinite logits in BCE (issue 13, item 8, first half) and empty Linear layers (item 15)."""
import numpy as np
import pytest

import deeplite as dl
import deeplite.functional as F
from deeplite import nn

INF = float("inf")
# (logit, target) -> PyTorch 2.x's loss and gradient: (1 - y) z - log sigmoid(z)
CASES = [(INF, 0.0, INF, 1.0), (INF, 0.5, INF, 0.5), (-INF, 1.0, np.nan, -1.0),
         (INF, 1.0, np.nan, 0.0), (-INF, 0.0, np.nan, 0.0), (1e4, 0.0, 1e4, 1.0),
         (-1e4, 1.0, 1e4, -1.0), (1e4, 1.0, 0.0, 0.0)]


@pytest.mark.parametrize("dtype", [dl.float32, dl.float64])
@pytest.mark.parametrize("z, y, loss, grad", CASES)
def test_bce_with_logits_at_the_extremes_matches_pytorch(device, dtype, z, y, loss, grad):
    logits = dl.tensor([z], device=device, dtype=dtype, requires_grad=True)
    value = F.binary_cross_entropy_with_logits(logits, dl.tensor([y], device=device,
                                                                  dtype=dtype))
    value.backward()
    np.testing.assert_array_equal(value.item(), loss)  # inf is inf and NaN is NaN, exactly
    np.testing.assert_allclose(logits.grad.numpy(), [grad])


def test_bce_extremes_agree_with_torch(device):
    torch = pytest.importorskip("torch")
    z = np.array([INF, -INF, INF, -INF, 30.0, -30.0, 0.0])
    y = np.array([0.0, 1.0, 0.5, 0.0, 0.0, 1.0, 0.3])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y), reduction="none").numpy()
    ours = F.binary_cross_entropy_with_logits(dl.tensor(z, device=device),
                                              dl.tensor(y, device=device), reduction="none")
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12)


def test_bce_finite_values_match_float64_reference_and_gradcheck(device, rng):
    z = rng.standard_normal(64) * 8
    y = rng.random(64)
    reference = np.logaddexp(0.0, z) - z * y  # softplus(z) - z y in float64
    for dtype, tolerance in ((dl.float64, 1e-12), (dl.float32, 1e-5)):
        ours = F.binary_cross_entropy_with_logits(dl.tensor(z, device=device, dtype=dtype),
                                                  dl.tensor(y, device=device, dtype=dtype),
                                                  reduction="none")
        np.testing.assert_allclose(ours.numpy(), reference, rtol=tolerance, atol=tolerance)
    logits = dl.tensor(z[:8] / 8, device=device, dtype=dl.float64, requires_grad=True)
    target = dl.tensor(y[:8], device=device, dtype=dl.float64)
    assert dl.gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, target), (logits,))


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2)])
def test_linear_with_no_features_is_a_clear_error(sizes):
    with pytest.raises(ValueError, match=r"in_features and out_features must be at least 1, "
                                         rf"got Linear\({sizes[0]}, {sizes[1]}\)"):
        nn.Linear(*sizes)
