"""Numerical stability: logits of +-1e4 give finite losses and gradients in every loss, on every
device, and the values match the exact limits."""
import numpy as np
import pytest

import deeplite as dl

F = dl.functional
EXTREME = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss_name", ["bce_with_logits", "logistic", "cross_entropy",
                                       "log_sigmoid", "log_softmax", "softplus", "bce_probs"])
def test_extreme_logits_stay_finite(loss_name, dtype, device):
    z = dl.tensor(EXTREME, dtype=dtype, device=device, requires_grad=True)
    targets = dl.tensor([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0], dtype=dtype, device=device)
    losses = {
        "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(z, targets),
        "logistic": lambda: F.logistic_loss(z, targets * 2 - 1),
        "cross_entropy": lambda: F.cross_entropy(z.reshape(1, -1), dl.tensor([1], device=device)),
        "log_sigmoid": lambda: F.log_sigmoid(z).sum(),
        "log_softmax": lambda: F.log_softmax(z).sum(),
        "softplus": lambda: F.softplus(z).sum(),
        "bce_probs": lambda: F.binary_cross_entropy(F.sigmoid(z), targets),
    }
    loss = losses[loss_name]()
    loss.backward()
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(z.grad.numpy()))


def test_confident_mistakes_cost_their_margin(device):
    z = dl.tensor([1e4, -1e4], dtype="float64", device=device, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, dl.tensor([0.0, 1.0], dtype="float64",
                                                            device=device), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1e4, 1e4])  # log(1 + e^1e4) = 1e4 exactly
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [1.0, -1.0])
    logits = dl.tensor([[1e4, -1e4, 0.0]], dtype="float64", device=device, requires_grad=True)
    ce = F.cross_entropy(logits, dl.tensor([1], device=device))
    ce.backward()
    assert ce.item() == pytest.approx(2e4)
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-12)
