"""GPU cases: deeplite's cuda backend beside PyTorch on the same GPU (host contenders sit out).

First the card's floors (device-to-device copy bandwidth, a large cuBLAS SGEMM with TF32 off and
on), then the fused kernels over 64M float32 elements and the fused optimizer steps in GB/s, then
MLP training steps (the suite's MLPSpec and its FLOP formula) eager, with TF32 off and on, and
replayed as a CUDA graph, and the large step under float16 and bfloat16 autocast (issue #18's
GPU figure, against torch.autocast with its GradScaler). Each deeplite record carries its
fraction of the matching floor (copy bandwidth or SGEMM rate, measured in the same run) and a
target where the design sets one. ``benchmarks/gpu_bench.py`` runs these cases alone and prints
the verdicts.
"""
import numpy as np

from ..mlp import MLPSpec, make_step

IN_QUICK = False

FULL_N, QUICK_N = 1 << 26, 1 << 20
FULL_GEMM, QUICK_GEMM = 8192, 1024
# (spec, TF32 modes): a GEMM-bound step, and a small one where framework overhead shows.
FULL_STEPS = [(MLPSpec((784, 4096, 4096, 10), 1024, "ce"), (False, True)),
              (MLPSpec((784, 1024, 1024, 10), 256, "ce"), (False,))]
AMP_STEP = MLPSpec((784, 4096, 4096, 10), 1024, "ce")  # issue #18's GPU figure
QUICK_STEPS = [(MLPSpec((784, 1024, 1024, 10), 256, "ce"), (False,))]
KERNEL_TARGET, EAGER_TARGET, GRAPH_TARGET = 0.8, 1.0, 1.5  # of copy bandwidth; speedups on torch


def _device(contender, host):
    """(deeplite's CuPy array or torch's tensor) for ``host`` on the contender's GPU, or None."""
    if not contender.on_gpu:
        return None
    value = contender.put(host)
    return value.data if contender.framework == "deeplite" else value


def _set_tf32(enabled: bool) -> None:
    """The same TF32 mode for both frameworks."""
    import deeplite
    deeplite.cuda.allow_tf32 = enabled
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = enabled
    except ImportError:
        pass


def floors(ctx, floor: dict):
    """Copy bandwidth (GB/s) and SGEMM rates (GFLOP/s, TF32 off/on) into ``floor``."""
    n = QUICK_N if ctx.quick else FULL_N
    host = ctx.rng.standard_normal(n, dtype=np.float32)

    def copy(contender):
        src, dst = _device(contender, host), _device(contender, host)
        if src is None:
            return None
        if contender.framework == "deeplite":
            return lambda: dst.data.copy_from_device(src.data, src.nbytes)
        return lambda: dst.copy_(src)

    group = ctx.measure("gpu_copy", f"({n},)", copy, bytes_moved=2 * 4 * n)
    floor["copy_gbps"] = _ours(group)["gbps"]
    yield group
    size = QUICK_GEMM if ctx.quick else FULL_GEMM
    a = ctx.rng.standard_normal((size, size), dtype=np.float32)
    for tf32 in (False, True):
        _set_tf32(tf32)

        def gemm(contender):
            left, right = _device(contender, a), _device(contender, a)
            if left is None:
                return None
            if contender.framework == "deeplite":
                from deeplite import backends
                return lambda: backends.get("cuda").matmul(left, right)
            return lambda: left @ right

        group = ctx.measure(f"gpu_sgemm_tf32_{'on' if tf32 else 'off'}", f"{size}^3", gemm,
                            flops=2.0 * size ** 3)
        floor[tf32] = _ours(group)["gflops"]
        yield group
    _set_tf32(False)


def _ours(group) -> dict:
    return next(record for record in group if record["framework"] == "deeplite")


def _against(group, floor_value: float, key: str, target=None):
    """Mark the deeplite record with its fraction of ``floor_value`` (and the target)."""
    record = _ours(group)
    record["limit"] = "gpu " + ("copy" if key == "gbps" else "sgemm")
    record["fraction_of_limit"] = record[key] / floor_value
    if target is not None:
        record["target"] = f">= {target:.0%} of the floor"
        record["met"] = record["fraction_of_limit"] >= target
    return group


def kernels(ctx, floor: dict):
    """Each fused kernel against PyTorch's equivalent, as a fraction of the copy bandwidth."""
    n = QUICK_N if ctx.quick else FULL_N
    x = ctx.rng.standard_normal(n, dtype=np.float32)
    y = (ctx.rng.random(n) < 0.5).astype(np.float32)
    gy = ctx.rng.standard_normal(n, dtype=np.float32)
    rows, classes = n // 64, 64
    labels = ctx.rng.integers(0, classes, rows)
    relu_out = np.maximum(x, 0)

    def case(ours, theirs):
        def make(contender):
            arrays = [_device(contender, a) for a in (x, y, gy, relu_out, labels)]
            if arrays[0] is None:
                return None
            if contender.framework == "deeplite":
                from deeplite import backends
                return lambda: ours(backends.get("cuda"), *arrays)
            import torch
            return lambda: theirs(torch, *arrays)
        return make

    def torch_loss_grad(torch, loss, z, *args):
        z = z.detach().requires_grad_()
        return torch.autograd.grad(loss(z, *args), z)

    cases = [
        ("gpu_relu_forward", 8 * n, lambda b, x, *_: b.relu(x), lambda t, x, *_: t.relu(x)),
        ("gpu_relu_backward", 12 * n, lambda b, x, y, gy, r, _: b.act_grad(r, gy, "relu", 0.0),
         lambda t, x, y, gy, r, _: t.ops.aten.threshold_backward(gy, r, 0)),
        ("gpu_sigmoid_forward", 8 * n, lambda b, x, *_: b.sigmoid(x),
         lambda t, x, *_: t.sigmoid(x)),
        ("gpu_sigmoid_bce_mean", 12 * n, lambda b, x, y, *_: b.sigmoid_bce(x, y, "mean"),
         lambda t, x, y, *_: torch_loss_grad(
             t, t.nn.functional.binary_cross_entropy_with_logits, x, y)),
        (f"gpu_softmax_ce_{classes}_classes", 8 * n,
         lambda b, x, y, gy, r, lab: b.softmax_ce(x.reshape(rows, classes), lab, "mean"),
         lambda t, x, y, gy, r, lab: torch_loss_grad(
             t, t.nn.functional.cross_entropy, x.reshape(rows, classes), lab)),
    ]
    for name, moved, ours, theirs in cases:
        target = None if "softmax" in name else KERNEL_TARGET
        group = ctx.measure(name, f"({n},)", case(ours, theirs), bytes_moved=moved)
        yield _against(group, floor["copy_gbps"], "gbps", target)


def optimizers(ctx, floor: dict):
    """Fused SGD-momentum and Adam steps on one parameter, against torch.optim on the GPU."""
    n = (QUICK_N if ctx.quick else FULL_N) >> 2
    host = ctx.rng.random(n, dtype=np.float32)
    for name, moved, kwargs in (("SGD", 20 * n, {"lr": 0.01, "momentum": 0.9}),
                                ("Adam", 28 * n, {"lr": 1e-3})):
        def make(contender, name=name, kwargs=kwargs):
            if not contender.on_gpu:
                return None
            param = contender.put(host, requires_grad=True)
            param.grad = contender.put(host)
            if contender.framework == "deeplite":
                import deeplite.optim as optim
            else:
                import torch.optim as optim
            return getattr(optim, name)([param], **kwargs).step

        group = ctx.measure(f"gpu_{name.lower()}_step", f"({n},)", make, bytes_moved=moved)
        yield _against(group, floor["copy_gbps"], "gbps")


def _step_maker(spec, rng, graphed: bool = False, amp=None):
    """make(contender): the training step of ``spec`` on a GPU contender; deeplite's replayed by
    ``deeplite.jit`` (one CUDA graph launch after its warm-up calls) when ``graphed``, the peer's
    always eager; under autocast to ``amp`` ("float16", "bfloat16") when given."""
    def make(contender):
        if not contender.on_gpu:
            return None
        return make_step(contender, spec, rng, jit=graphed, amp=amp)
    return make


def training(ctx, floor: dict):
    """MLP steps against PyTorch eager (same spec, data, weights, TF32), and as a graph replay."""
    for spec, modes in QUICK_STEPS if ctx.quick else FULL_STEPS:
        for tf32 in modes:
            _set_tf32(tf32)
            shape = f"{spec.label}, TF32 {'on' if tf32 else 'off'}"
            group = ctx.measure("gpu_train_step", shape, _step_maker(spec, ctx.rng),
                                flops=spec.flops, samples=spec.batch)
            _speedup(_against(group, floor[tf32], "gflops"), EAGER_TARGET)
            yield group
            if spec.batch <= 256:  # the overhead-bound step is where a graph pays
                replay = ctx.measure("gpu_train_step_graph", shape,
                                     _step_maker(spec, ctx.rng, graphed=True),
                                     flops=spec.flops, samples=spec.batch)
                _speedup(_against(replay, floor[tf32], "gflops"), GRAPH_TARGET)
                yield replay
    _set_tf32(False)


def mixed_precision(ctx, floor: dict):
    """The GEMM-bound step under float16 autocast (with loss scaling) and bfloat16 autocast,
    against ``torch.autocast("cuda", ...)`` with its GradScaler: tensor cores for both."""
    spec = QUICK_STEPS[0][0] if ctx.quick else AMP_STEP
    for amp in ("float16", "bfloat16"):
        group = ctx.measure("gpu_amp_train_step", f"{spec.label}, {amp}",
                            _step_maker(spec, ctx.rng, amp=amp), flops=spec.flops,
                            samples=spec.batch, dtype=amp)
        _speedup(group, EAGER_TARGET)
        yield group


def _speedup(group, target: float) -> None:
    """Mark the deeplite record with its speedup over torch[cuda] eager and the target."""
    record = _ours(group)
    peer = next((r for r in group if r["framework"] == "torch"), None)
    record["target"] = f">= {target:.2f}x torch eager"
    if peer is not None:
        record["speedup"] = peer["median_s"] / record["median_s"]
        record["met"] = record["speedup"] >= target


CASES = (floors, kernels, optimizers, training, mixed_precision)


def run(ctx):
    """Yield every GPU group; nothing without a deeplite[cuda] contender."""
    if not any(c.on_gpu and c.framework == "deeplite" for c in ctx.contenders):
        return
    floor: dict = {}
    for case in CASES:
        yield from case(ctx, floor)
