"""Training steps shared by the jit tests (eager and jitted runs call the same function)."""
import deeplite.nn.functional as F


def bce_step(model, optimizer):
    """One full step: zero_grad, forward, binary cross-entropy, backward, update; returns loss."""

    def step(x, y):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step
