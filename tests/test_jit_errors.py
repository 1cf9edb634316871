"""deeplite.jit's rules: what a replay cannot reproduce is a clear error, never a wrong replay."""
import numpy as np
import pytest

import deeplite as dl
from deeplite import optim
from deeplite.jit import TraceError


def _model_and_optimizer(device, **options):
    dl.manual_seed(0)
    model = dl.nn.Linear(3, 1, device=device)
    return model, optim.SGD(model.parameters(), lr=0.1, **options)


def _step(model, optimizer, extra=None):
    def step(x):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        if extra is not None:
            extra(loss)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _x(device, rows=4):
    return dl.tensor(np.arange(rows * 3, dtype=np.float32).reshape(rows, 3) / 10, device=device)


@pytest.mark.parametrize("host_read", [
    lambda loss: loss.item(),
    lambda loss: float(loss),
    lambda loss: loss.detach().numpy(),
    lambda loss: repr(loss),  # what print() calls
    lambda loss: bool(loss > 1),  # Python control flow on a tensor's value
])
def test_host_reads_inside_the_traced_function_raise(device, host_read):
    model, optimizer = _model_and_optimizer(device)
    run = dl.jit(_step(model, optimizer, host_read))
    run(_x(device))  # the warm-up call is eager: reading is fine there
    with pytest.raises(TraceError, match="reads a tensor's value on the host"):
        run(_x(device))


def test_creating_a_parameter_inside_the_traced_function_raises(device):
    model, optimizer = _model_and_optimizer(device)
    run = dl.jit(_step(model, optimizer, lambda loss: dl.nn.Linear(2, 2, device=device)))
    run(_x(device))
    with pytest.raises(TraceError, match="a Parameter created inside the traced function"):
        run(_x(device))


def test_creating_a_requires_grad_tensor_inside_the_traced_function_raises(device):
    run = dl.jit(lambda x: x + dl.zeros(3, device=device, requires_grad=True))
    run(_x(device))
    with pytest.raises(TraceError, match="requires_grad=True created inside"):
        run(_x(device))


def test_optimizer_state_created_at_trace_time_raises(device):
    """A parameter whose first gradient arrives on the traced call would get new state."""
    dl.manual_seed(0)
    first, second = dl.nn.Linear(3, 1, device=device), dl.nn.Linear(3, 1, device=device)
    optimizer = optim.SGD([*first.parameters(), *second.parameters()], lr=0.1, momentum=0.9)
    calls = []

    def step(x):
        optimizer.zero_grad()
        loss = (first(x) ** 2).mean()
        if calls:  # from the second call on, the other layer trains too
            loss = loss + (second(x) ** 2).mean()
        calls.append(1)
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step)
    run(_x(device))
    with pytest.raises(TraceError, match="SGD created new state inside the traced step"):
        run(_x(device))


@pytest.mark.parametrize("change", [
    lambda group: group.update(momentum=0.5),
    lambda group: group.update(weight_decay=0.1),
    lambda group: group.update(nesterov=True, momentum=0.9),
])
def test_changing_a_hyperparameter_after_the_trace_raises(device, change):
    model, optimizer = _model_and_optimizer(device, momentum=0.9)
    run = dl.jit(_step(model, optimizer))
    for _ in range(3):
        run(_x(device))
    before = [p.detach().numpy().copy() for p in model.parameters()]
    change(optimizer.param_groups[0])
    with pytest.raises(TraceError, match="changed since the step was traced; only lr may change"):
        run(_x(device))
    # Nothing ran: the error comes before the first kernel.
    for p, kept in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), kept)
    run.reset()  # the fix the message names: trace again, with the new value
    for _ in range(3):
        run(_x(device))


def test_changing_the_learning_rate_is_allowed_and_used(device):
    model, optimizer = _model_and_optimizer(device)
    run = dl.jit(_step(model, optimizer))
    for _ in range(3):
        run(_x(device))
    optimizer.param_groups[0]["lr"] = 0.0
    before = [p.detach().numpy().copy() for p in model.parameters()]
    run(_x(device))
    for p, kept in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), kept)


def test_replacing_a_parameters_data_after_the_trace_raises(device):
    model, optimizer = _model_and_optimizer(device)
    run = dl.jit(_step(model, optimizer))
    for _ in range(3):
        run(_x(device))
    model.weight.data = model.weight.data.copy()
    with pytest.raises(TraceError, match="parameter's data was replaced"):
        run(_x(device))


def test_a_second_device_inside_the_traced_function_raises():
    if not dl.backends.is_available("cpu"):
        pytest.skip("needs the cpu backend beside numpy")
    run = dl.jit(lambda x: (x.to("numpy") * 2).to("cpu"))  # the product runs on numpy
    x = dl.ones(3, device="cpu")
    run(x)
    with pytest.raises(TraceError, match="on another device than 'cpu'"):
        run(x)


def test_nested_jit_raises(device):
    inner = dl.jit(lambda x: x * 2)
    outer = dl.jit(lambda x: inner(x) + 1)
    x = _x(device)
    inner(x)
    inner(x)  # traced: its next call would replay
    outer(x)
    with pytest.raises(TraceError, match="while another one was being traced"):
        outer(x)


def test_arguments_are_checked(device):
    run = dl.jit(lambda x, scale=1.0: x * scale)
    x = _x(device)
    with pytest.raises(TypeError, match="hashable"):
        run(x, [1.0])
    with pytest.raises(TypeError, match="positional"):
        run(x, scale=x)
        run(x, scale=x)
    needs_grad = dl.ones(3, device=device, requires_grad=True)
    run(needs_grad)
    with pytest.raises(TraceError, match="requires grad"):
        run(needs_grad)
    with pytest.raises(TypeError, match="expected a function"):
        dl.jit(3)


def test_trace_errors_are_type_errors():
    assert issubclass(TraceError, TypeError)


@pytest.mark.parametrize("bad", [9, -1])
def test_out_of_range_labels_raise_on_replay(device, bad):
    """cross_entropy's host-side label check is rerun by every replay, before any update."""
    dl.manual_seed(0)
    model = dl.nn.Linear(3, 4, device=device)
    optimizer = optim.Adam(model.parameters(), lr=0.1)

    def step(x, y):
        optimizer.zero_grad()
        loss = dl.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step)
    labels = dl.tensor(np.array([0, 1, 2, 3]), device=device)
    for _ in range(3):
        run(_x(device), labels)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=f"label {bad} is out of range for 4 classes"):
        run(_x(device), dl.tensor(np.array([0, 1, bad, 3]), device=device))
    for p, kept in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), kept)
        assert optimizer.state[p]["step"] == 3


def test_a_failed_refresh_leaves_every_step_count_as_it_was(device):
    dl.manual_seed(0)
    first, second = dl.nn.Linear(3, 1, device=device), dl.nn.Linear(3, 1, device=device)
    optimizer = optim.Adam([{"params": first.parameters()},
                            {"params": second.parameters(), "lr": 0.01}], lr=0.1)

    def step(x):
        optimizer.zero_grad()
        loss = ((first(x) + second(x)) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step)
    for _ in range(3):
        run(_x(device))
    optimizer.param_groups[1]["betas"] = (0.5, 0.9)
    with pytest.raises(TraceError, match="betas changed"):
        run(_x(device))
    assert {optimizer.state[p]["step"] for p in optimizer.state} == {3}


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_a_graph_kept_across_a_replayed_update_raises_at_backward(device):
    """A replay rewrites the parameters in place as Optimizer.step does, so it ticks their
    versions too: a graph that saved the old weights raises instead of using the new ones."""
    model, optimizer = _model_and_optimizer(device)
    jitted = dl.jit(_step(model, optimizer))
    for _ in range(3):  # eager, trace, first replay
        jitted(_x(device))
    kept = (model(_x(device)) ** 2).sum()  # Linear saved the weight
    kept.backward(retain_graph=True)
    jitted(_x(device))  # a replay: the weight changes under the kept graph
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        kept.backward()
