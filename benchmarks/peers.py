"""The peers' training steps: a hand-written NumPy MLP (forward, backward, SGD), PyTorch's (eager
and ``torch.compile``d) and JAX's ``jax.jit`` of the whole step.

The NumPy step is what a careful person writes by hand with no framework: in-place updates, the
ReLU mask taken from the saved activations, the softmax and its gradient in one place. It is the
floor a Python framework on NumPy can approach, so deeplite's ratio to it is its framework overhead.
"""
import functools
from typing import Callable, Optional

import numpy as np

from .contenders import Contender


def numpy_softmax_ce(logits: np.ndarray, labels: np.ndarray):
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    rows = np.arange(logits.shape[0])
    shifted = logits - logits.max(axis=1, keepdims=True)  # shift by the max: exp never overflows
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    grad = exp / total
    grad[rows, labels] -= 1.0
    grad /= logits.shape[0]
    return loss, grad


def numpy_sigmoid_bce(logits: np.ndarray, target: np.ndarray):
    """Mean binary cross-entropy on logits and its gradient, stable for any logit."""
    # stable form: max(z, 0) - z*y + log1p(exp(-|z|)), and sigmoid from the same exp(-|z|).
    e = np.exp(-np.abs(logits))
    loss = np.mean(np.maximum(logits, 0) - logits * target + np.log1p(e))
    sigmoid = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return loss, (sigmoid - target) / logits.size


class NumpyMLP:
    """A hand-written NumPy ReLU MLP; calling it runs one training step with plain SGD."""

    def __init__(self, spec, data, weights):
        self.spec = spec
        self.x, self.target = data
        self.layers = [(w.copy(), b.copy()) for w, b in weights]
        self.loss_and_grad = numpy_softmax_ce if spec.loss == "ce" else numpy_sigmoid_bce

    def __call__(self) -> float:
        """Forward, loss, backward and the SGD update; the loss before the update."""
        last = len(self.layers) - 1
        activations = [self.x]
        for i, (w, b) in enumerate(self.layers):
            z = activations[-1] @ w
            z += b
            if i < last:
                np.maximum(z, 0, out=z)
            activations.append(z)
        loss, grad = self.loss_and_grad(activations[-1], self.target)
        for i in range(last, -1, -1):
            w, b = self.layers[i]
            grad_w = activations[i].T @ grad
            grad_b = grad.sum(axis=0)
            if i > 0:  # the input's gradient uses w before its update
                grad = grad @ w.T
                grad *= activations[i] > 0  # ReLU's mask from its saved output
            w -= self.spec.lr * grad_w
            b -= self.spec.lr * grad_b
        return loss


def torch_step(contender: Contender, spec, data, weights, amp: Optional[str] = None) -> Callable:
    """One PyTorch training step: nn.Sequential of Linear and ReLU, functional loss, optim.SGD;
    with ``amp`` ("bfloat16" or "float16") the forward pass and the loss under ``torch.autocast``,
    float16 with ``torch.amp.GradScaler``, as PyTorch's mixed-precision recipe has it."""
    import torch

    modules = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():  # the same start as the other contenders; torch stores w as (out, in)
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if i < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules).to(contender.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr)
    x, target = (contender.put(array) for array in data)
    functional = torch.nn.functional
    loss_fn = functional.cross_entropy if spec.loss == "ce" else \
        functional.binary_cross_entropy_with_logits

    if amp is None:
        def step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), target)
            loss.backward()
            optimizer.step()
            return loss

        return step
    region = functools.partial(torch.autocast, contender.device, dtype=getattr(torch, amp))
    scaler = torch.amp.GradScaler(contender.device, enabled=amp == "float16")

    def scaled_step():
        optimizer.zero_grad()
        with region():
            loss = loss_fn(model(x), target)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return loss

    return scaled_step


def torch_compiled_step(contender: Contender, spec, data, weights) -> Callable:
    """PyTorch's step compiled whole (forward, backward, SGD) by ``torch.compile``."""
    import torch

    return torch.compile(torch_step(contender, spec, data, weights))


def jax_step(spec, data, weights) -> Callable:
    """The step as a JAX user writes it: ``jax.jit`` of loss, gradient and SGD, buffers donated.

    The caller pins the process to the run's CPUs first (``os.sched_setaffinity``): XLA's CPU
    client sizes its thread pool from the cores it may use, and no XLA flag limits it.
    """
    import jax
    import jax.numpy as jnp

    last = len(weights) - 1

    def loss_of(params, x, target):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < last:
                h = jax.nn.relu(h)
        if spec.loss == "ce":
            log_p = jax.nn.log_softmax(h, axis=1)
            return -jnp.mean(jnp.take_along_axis(log_p, target[:, None], axis=1))
        # stable form: max(z, 0) - z*y + log1p(exp(-|z|))
        return jnp.mean(jnp.maximum(h, 0) - h * target + jnp.log1p(jnp.exp(-jnp.abs(h))))

    @functools.partial(jax.jit, donate_argnums=0)
    def update(params, x, target):
        loss, grads = jax.value_and_grad(loss_of)(params, x, target)
        params = jax.tree_util.tree_map(lambda p, g: p - spec.lr * g, params, grads)
        return params, loss

    state = [[(jnp.asarray(w), jnp.asarray(b)) for w, b in weights]]
    x, target = (jnp.asarray(array) for array in data)

    def step():
        state[0], loss = update(state[0], x, target)
        loss.block_until_ready()  # JAX dispatches asynchronously: wait, as the others do

    return step
