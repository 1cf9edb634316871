"""deeplite.jit: a replayed training step equals the eager step bit for bit, on every backend."""
import numpy as np
import pytest
from _steps import bce_step

import deeplite as dl
import deeplite.nn.functional as F
from deeplite import optim

STEPS = 20

OPTIMIZERS = {
    "sgd-momentum-wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
    "sgd-plain": lambda p: optim.SGD(p, lr=0.1),
    "adam-wd": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-2),
    "adamw-amsgrad": lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
    "rmsprop-centered": lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.05, lr_decay=1e-3, weight_decay=1e-3),
}
SCHEDULERS = {
    "step": lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "cosine": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=7),
}


def _batches(rng, classes: int, batch: int = 24, features: int = 5):
    """Fresh inputs and targets for every step (float 0/1 targets for the binary task)."""
    out = []
    for _ in range(STEPS):
        x = rng.standard_normal((batch, features)).astype(np.float32)
        if classes == 2:
            y = (rng.random((batch, 1)) < 0.5).astype(np.float32)
        else:
            y = rng.integers(0, classes, batch)
        out.append((x, y))
    return out


def _train(device, batches, classes, make_optimizer, make_scheduler, jit, dropout=0.25):
    """Losses, final parameters and optimizer state of STEPS steps (scheduler stepped each)."""
    dl.manual_seed(3)
    outputs = 1 if classes == 2 else classes
    model = dl.nn.MLP([5, 16, 12, outputs], activation="tanh", dropout=dropout, device=device)
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)

    def step(x, y):
        optimizer.zero_grad()
        logits = model(x)
        if classes == 2:
            loss = F.binary_cross_entropy_with_logits(logits, y)
        else:
            loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step) if jit else step
    losses = []
    for x, y in batches:
        loss = run(dl.tensor(x, device=device), dl.tensor(y, device=device))
        losses.append(loss.detach().numpy().copy())
        scheduler.step()
    params = [p.detach().numpy().copy() for p in model.parameters()]
    state = [{key: (value.numpy().copy() if isinstance(value, dl.Tensor) else value)
              for key, value in optimizer.state.get(p, {}).items()} for p in model.parameters()]
    return losses, params, state, run


def _assert_identical(eager, replayed):
    for a, b in zip(eager[0], replayed[0], strict=True):
        np.testing.assert_array_equal(a, b)  # bit for bit: the same kernels on the same data
    for a, b in zip(eager[1], replayed[1], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(eager[2], replayed[2], strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_replayed_steps_equal_eager_steps(device, rng, optimizer, scheduler):
    batches = _batches(rng, classes=2)
    eager = _train(device, batches, 2, OPTIMIZERS[optimizer], SCHEDULERS[scheduler], jit=False)
    replayed = _train(device, batches, 2, OPTIMIZERS[optimizer], SCHEDULERS[scheduler], jit=True)
    _assert_identical(eager, replayed)
    (plan,) = replayed[3].plans()
    assert plan.replays == STEPS - 2  # call 1 warms up, call 2 traces, the rest replay
    if device == "cpu":  # the whole step is one native plan: no kernel left to Python
        assert plan.compiled.python_kernels == 0 and len(plan.native_plans) == 1


def test_cross_entropy_step_equals_eager(device, rng):
    batches = _batches(rng, classes=4)
    make_opt, make_sched = OPTIMIZERS["adam-wd"], SCHEDULERS["step"]
    eager = _train(device, batches, 4, make_opt, make_sched, jit=False)
    replayed = _train(device, batches, 4, make_opt, make_sched, jit=True)
    _assert_identical(eager, replayed)


def test_training_actually_moves_the_parameters(device, rng):
    """Guard for the equality tests: the replayed steps change the weights at every step."""
    batches = _batches(rng, classes=2)
    losses, params, _, run = _train(device, batches, 2, OPTIMIZERS["sgd-plain"],
                                    SCHEDULERS["step"], jit=True)
    assert len({float(loss) for loss in losses}) == STEPS
    dl.manual_seed(3)
    initial = dl.nn.MLP([5, 16, 12, 1], activation="tanh", dropout=0.25, device=device)
    assert all(not np.array_equal(p.detach().numpy(), q)
               for p, q in zip(initial.parameters(), params, strict=True))


def test_dropout_draws_fresh_masks_on_every_replay(device):
    dl.manual_seed(0)
    x = dl.ones(4, 64, device=device)

    @dl.jit
    def masked(x):
        return F.dropout(x, 0.5, training=True)

    masks = [masked(x).numpy() for _ in range(5)]
    assert len({mask.tobytes() for mask in masks}) == 5
    dl.manual_seed(0)
    eager = [F.dropout(x, 0.5, training=True).numpy() for _ in range(5)]
    for a, b in zip(eager, masks, strict=True):
        np.testing.assert_array_equal(a, b)


def test_dropout_replays_read_the_stream_from_the_scalar_block(device, rng):
    """Each dropout's seed and offset are per-replay scalars: the replay takes the stream words
    eager would, follows a manual_seed between calls, and on cpu runs the mask kernel natively."""
    batches = _batches(rng, classes=2)
    make_opt, make_sched = OPTIMIZERS["adam-wd"], SCHEDULERS["cosine"]

    def reseeded(jit):
        dl.manual_seed(3)
        model = dl.nn.MLP([5, 16, 12, 1], activation="tanh", dropout=0.5, device=device)
        optimizer, losses = make_opt(model.parameters()), []
        scheduler = make_sched(optimizer)
        step = bce_step(model, optimizer)
        run = dl.jit(step) if jit else step
        for index, (x, y) in enumerate(batches):
            if index == 7:
                dl.manual_seed(1234)  # a new seed mid-run: a replay must draw from it too
            loss = run(dl.tensor(x, device=device), dl.tensor(y, device=device))
            losses.append(loss.detach().numpy().copy())
            scheduler.step()
        return losses, [p.detach().numpy() for p in model.parameters()], run

    eager, replayed = reseeded(jit=False), reseeded(jit=True)
    for a, b in zip(eager[0] + eager[1], replayed[0] + replayed[1], strict=True):
        np.testing.assert_array_equal(a, b)
    (plan,) = replayed[2].plans()
    assert len(plan.streams) == 2 and not plan.randoms  # two dropouts, nothing drawn on the host
    assert creation_offset() == (STEPS - 7) * 24 * (16 + 12)  # the words of 13 steps' masks
    if device == "cpu":
        assert plan.compiled.python_kernels == 0 and len(plan.native_plans) == 1


def creation_offset() -> int:
    """The dropout stream's offset now (32-bit words drawn since the last manual_seed)."""
    return dl.creation.get_rng_state()["stream"]["offset"]


def test_random_draws_inside_the_step_are_redrawn(device):
    dl.manual_seed(1)
    noisy = dl.jit(lambda x: x + dl.randn(3, device=device))
    x = dl.zeros(3, device=device)
    draws = [noisy(x).numpy() for _ in range(4)]
    dl.manual_seed(1)
    expected = [dl.randn(3).numpy() for _ in range(4)]
    for a, b in zip(draws, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def _squared_output_step(device, features: int, outputs: int, lr: float):
    """A Linear model and its eager SGD step on the summed squared outputs."""
    dl.manual_seed(0)
    model = dl.nn.Linear(features, outputs, device=device)
    optimizer = optim.SGD(model.parameters(), lr=lr)

    def step(x):
        optimizer.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss

    return model, step


def test_a_new_signature_warms_up_and_traces_its_own_plan(device, rng):
    _, step = _squared_output_step(device, 3, 1, lr=0.1)
    run = dl.jit(step)
    for batch in (8, 8, 8, 5, 5, 5, 8):
        x = dl.tensor(rng.standard_normal((batch, 3)).astype(np.float32), device=device)
        run(x)
    assert sorted(plan.replays for plan in run.plans()) == [1, 2]
    run.reset()
    assert run.plans() == []


def test_outputs_are_fresh_tensors_each_call(device, rng):
    dl.manual_seed(0)
    weight = dl.tensor(rng.standard_normal((3, 2)).astype(np.float32), device=device)
    double = dl.jit(lambda x: (x @ weight, {"sum": (x @ weight).sum()}))
    xs = [dl.tensor(rng.standard_normal((4, 3)).astype(np.float32), device=device)
          for _ in range(4)]
    results = [double(x) for x in xs]
    for x, (product, extra) in zip(xs, results, strict=True):
        np.testing.assert_array_equal(product.numpy(), (x @ weight).numpy())
        np.testing.assert_array_equal(extra["sum"].numpy(), (x @ weight).sum().numpy())


def test_replay_never_writes_into_the_callers_tensors(device, rng):
    scale = dl.jit(lambda x: x * 2.0)
    first = dl.tensor(rng.standard_normal(5).astype(np.float32), device=device)
    kept = first.numpy().copy()
    for _ in range(3):
        scale(dl.tensor(rng.standard_normal(5).astype(np.float32), device=device))
    scale(first)
    np.testing.assert_array_equal(first.numpy(), kept)


def test_gradients_after_a_replay_are_the_steps_gradients(device, rng):
    model, step = _squared_output_step(device, 4, 2, lr=0.0)  # the weights stay, grads vary
    run = dl.jit(step)
    for _ in range(4):
        x = dl.tensor(rng.standard_normal((6, 4)).astype(np.float32), device=device)
        run(x)
        replayed = [p.grad.numpy().copy() for p in model.parameters()]
        step(x)
        eager = [p.grad.numpy() for p in model.parameters()]
        for a, b in zip(replayed, eager, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_jitted_method_gets_its_instance(device, rng):
    class Scaler:
        def __init__(self, factor):
            self.factor = factor

        @dl.jit
        def apply(self, x):
            return x * self.factor

    twice, thrice = Scaler(2.0), Scaler(3.0)
    x = dl.tensor(rng.standard_normal(4).astype(np.float32), device=device)
    for _ in range(3):
        np.testing.assert_array_equal(twice.apply(x).numpy(), (x * 2.0).numpy())
        np.testing.assert_array_equal(thrice.apply(x).numpy(), (x * 3.0).numpy())
    assert len(Scaler.apply.plans()) == 2  # one per instance
