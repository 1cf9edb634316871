"""The engine's protocol: hooks, callbacks, grad mode per thread, errors that name the real cause,
multi-output Functions, and every Function naming itself."""
import inspect
import threading

import numpy as np
import pytest

import deeplite as dl
import deeplite.functional as F
from deeplite import ops
from deeplite.autograd import Function


def _leaf(rng, *shape):
    return dl.tensor(rng.standard_normal(shape), dtype=dl.float64, requires_grad=True)


def test_tensor_hooks_see_and_may_replace_the_gradient(rng):
    x = _leaf(rng, 3)
    hidden = x * 2
    seen = []
    handle = hidden.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (hidden * 3).sum().backward()
    np.testing.assert_allclose(seen[0], np.full(3, 3.0))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 60.0))  # 3, times 10, times 2
    handle.remove()
    x.grad = None
    (x * 2 * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 6.0))
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        dl.ones(2).register_hook(print)


def test_post_accumulate_hooks_and_queued_callbacks_run_in_order(rng):
    w, b = _leaf(rng, 3), _leaf(rng, 3)
    events = []

    def ready(tensor):
        events.append(("ready", tensor is w, tensor.grad is not None))
        if len(events) == 1:
            dl.autograd.queue_callback(lambda: events.append(("end",)))

    for parameter in (w, b):
        parameter.register_post_accumulate_grad_hook(ready)
    ((w * b) ** 2).sum().backward()
    assert [event[0] for event in events] == ["ready", "ready", "end"]
    assert all(event[2] for event in events[:2])
    with pytest.raises(RuntimeError, match="only valid while a backward pass is running"):
        dl.autograd.queue_callback(print)
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_no_grad_decorator_shared_by_threads_restores_each_thread():
    barrier = threading.Barrier(2)
    after = {}

    @dl.no_grad()
    def inside():
        barrier.wait()  # both threads are inside at once
        return dl.is_grad_enabled()

    def run(name):
        inside()
        after[name] = dl.is_grad_enabled()

    threads = [threading.Thread(target=run, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert after == {"a": True, "b": True}


def test_errors_keep_their_own_message(rng):
    x = _leaf(rng, 3)
    with pytest.raises(Exception) as raised:
        F.softmax(x, axis=5)
    assert "broadcast" not in str(raised.value)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        ops.activate(x, "swish")
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) cannot be broadcast"):
        x + _leaf(rng, 4)
    with pytest.raises(ValueError, match=r"reshape: shape \(3,\)"):
        x.reshape(2, 2)


def test_every_function_names_itself():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(Function):
        if not inspect.isabstract(cls) and not cls.__name__.startswith("_"):
            assert "name" in vars(cls) or cls.name != Function.name, cls


def test_ops_activation_is_the_module():
    assert inspect.ismodule(ops.activation) and ops.activation.Act.name == "activation"


class _SplitSum(Function):
    """Test double: two outputs (x + y, x * y), to drive the multi-output protocol."""

    name = "split_sum"
    multiple_outputs = True

    def forward(self, b, x, y):
        return b.add(x, y), b.mul(x, y)

    def backward(self, grads):
        g_sum, g_prod = grads
        x, y = self.inputs
        gx = gy = None
        for g, dx, dy in ((g_sum, 1, 1), (g_prod, y, x)):
            if g is not None:
                gx = g * dx if gx is None else gx + g * dx
                gy = g * dy if gy is None else gy + g * dy
        return gx, gy


def test_multi_output_functions_run_backward_once_with_every_gradient(rng):
    x, y = _leaf(rng, 4), _leaf(rng, 4)
    total, product = _SplitSum.apply(x, y)
    ((total * 2) + product * product).sum().backward()
    xv, yv = x.detach().numpy(), y.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * xv * yv ** 2)
    np.testing.assert_allclose(y.grad.numpy(), 2 + 2 * yv * xv ** 2)
    x.grad = y.grad = None
    _, product = _SplitSum.apply(x, y)  # one output unused: it gets no gradient
    product.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), yv)
    assert dl.gradcheck(lambda a, b: _SplitSum.apply(a, b), (x, y))
