"""GPU benchmarks: deeplite's cuda backend against PyTorch eager on the same GPU, in one run.

First the two floors of this card (device-to-device copy bandwidth, a large cuBLAS SGEMM), then
the fused kernels at 64M float32 elements as a fraction of the copy bandwidth, then MLP training
steps against PyTorch eager with the same shapes, dtype, optimizer and TF32 setting. Every time is
the median over repeats of a batch of calls ended by a device sync. Prints one Markdown table; a
benchmark that fails prints its error in its own row and the others still run.

    python3 benchmarks/gpu_bench.py           # the full run (about a minute on an H100)
    python3 benchmarks/gpu_bench.py --quick   # small sizes: a smoke test of the script itself
"""
import argparse
import statistics
import sys
import time
import traceback

import deeplite
from deeplite import backends

ROWS = []  # (benchmark, deeplite ms, PyTorch ms, measure, target, verdict)


def median_ms(fn, repeat: int, inner: int) -> float:
    """Median milliseconds per call of ``fn`` over ``repeat`` batches of ``inner`` calls."""
    for _ in range(3):
        fn()
    deeplite.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        deeplite.cuda.synchronize()  # also waits for PyTorch: both use the legacy default stream
        times.append((time.perf_counter() - start) / inner)
    return 1e3 * statistics.median(times)


def row(name, ours=None, theirs=None, measure="", target="", ok=None) -> None:
    verdict = "" if ok is None else ("yes" if ok else "NO")
    ROWS.append((name, ours, theirs, measure, target, verdict))


def guarded(name):
    """Run a benchmark function; on failure record its error as a row instead of stopping."""
    def wrap(fn):
        def run(*args):
            try:
                return fn(*args)
            except Exception as error:  # one broken benchmark must not hide the others
                traceback.print_exc(file=sys.stderr)
                message = str(error).splitlines()[0] if str(error) else type(error).__name__
                row(name, measure=f"FAILED: {type(error).__name__}: {message[:90]}", ok=False)
                return None
        return run
    return wrap


@guarded("floors")
def floors(cupy, n: int, gemm: int) -> dict:
    """The card's copy bandwidth (GB/s, read + write) and SGEMM rates (TFLOP/s, TF32 off/on)."""
    src, dst = cupy.ones(n, cupy.float32), cupy.empty(n, cupy.float32)
    ms = median_ms(lambda: dst.data.copy_from_device(src.data, src.nbytes), 20, 10)
    copy_gbs = 2 * src.nbytes / ms / 1e6
    row(f"device-to-device copy, {src.nbytes >> 20} MiB", ms, None, f"{copy_gbs:.0f} GB/s",
        "floor")
    a, b = cupy.random.random((2, gemm, gemm), dtype=cupy.float32)
    out = cupy.empty((gemm, gemm), cupy.float32)
    rates = {}
    for tf32 in (False, True):
        deeplite.cuda.allow_tf32 = tf32
        ms = median_ms(lambda: cupy.matmul(a, b, out=out), 5, 3)
        rates[tf32] = 2 * gemm ** 3 / ms / 1e9
        row(f"cuBLAS SGEMM {gemm}^3, TF32 {'on' if tf32 else 'off'}", ms, None,
            f"{rates[tf32]:.1f} TFLOP/s", "floor")
    deeplite.cuda.allow_tf32 = False
    return {"copy_gbs": copy_gbs, "tflops": rates}


@guarded("fused kernels")
def kernels(cupy, torch, n: int, copy_gbs: float) -> None:
    """Each fused kernel against PyTorch's equivalent, as a fraction of the copy bandwidth."""
    b = backends.get("cuda")
    x = cupy.random.standard_normal(n, dtype=cupy.float32)
    y = (cupy.random.random(n) < 0.5).astype(cupy.float32)
    gy = cupy.random.standard_normal(n, dtype=cupy.float32)
    relu_out = b.relu(x)
    rows, classes = n // 64, 64
    labels = cupy.random.randint(0, classes, rows).astype(cupy.int64)
    # PyTorch reads the very same buffers (zero-copy through DLPack).
    tx, ty, tgy, trelu, tlabels = ((torch.from_dlpack(a) for a in (x, y, gy, relu_out, labels))
                                   if torch else [None] * 5)

    def torch_loss_grad(loss_fn, *args):
        """PyTorch's loss forward and backward to its logits, the work our one kernel does."""
        z = args[0].detach().requires_grad_()
        return lambda: torch.autograd.grad(loss_fn(z, *args[1:]), z)

    functional = torch.nn.functional if torch else None
    cases = [  # name, bytes moved, deeplite call, PyTorch call, target (fraction of copy bandwidth)
        ("relu forward", 8 * n, lambda: b.relu(x), lambda: torch.relu(tx), 0.8),
        ("relu backward (act_grad)", 12 * n, lambda: b.act_grad(relu_out, gy, "relu", 0.0),
         lambda: torch.ops.aten.threshold_backward(tgy, trelu, 0), 0.8),
        ("sigmoid forward", 8 * n, lambda: b.sigmoid(x), lambda: torch.sigmoid(tx), 0.8),
        ("sigmoid-BCE loss + grad, mean", 12 * n, lambda: b.sigmoid_bce(x, y, "mean"),
         torch and torch_loss_grad(functional.binary_cross_entropy_with_logits, tx, ty), 0.8),
        (f"softmax-CE loss + grad, {rows}x{classes}", 8 * n,
         lambda: b.softmax_ce(x.reshape(rows, classes), labels, "mean"),
         torch and torch_loss_grad(functional.cross_entropy, tx.reshape(rows, classes), tlabels),
         None),
    ]
    for name, moved, ours, theirs, target in cases:
        ours_ms = median_ms(ours, 10, 10)
        theirs_ms = median_ms(theirs, 10, 10) if torch else None
        fraction = moved / ours_ms / 1e6 / copy_gbs
        row(f"{name}, {n >> 20}M", ours_ms, theirs_ms, f"{fraction:.0%} of copy bandwidth",
            f">= {target:.0%}" if target else "", fraction >= target if target else None)


@guarded("optimizer kernels")
def optimizers(cupy, torch, n: int, copy_gbs: float) -> None:
    """Fused SGD-momentum and Adam updates of one parameter of n elements, against torch.optim."""
    b = backends.get("cuda")
    p, g, m, v = (cupy.random.random(n, dtype=cupy.float32) for _ in range(4))
    cases = [("SGD momentum step", 20 * n,
              lambda: b.sgd_step([p], [g], [m], False, 0.01, 0.9, 0.0, 0.0, False, False),
              lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)),
             ("Adam step", 28 * n,
              lambda: b.adam_step([p], [g], [m], [v], None, [10], 1e-3, 0.9, 0.999, 1e-8, 0.0,
                                  False, False, False),
              lambda params: torch.optim.Adam(params, lr=1e-3))]
    for name, moved, ours, make_optimizer in cases:
        ours_ms = median_ms(ours, 10, 10)
        theirs_ms = None
        if torch:
            param = torch.nn.Parameter(torch.rand(n, device="cuda"))
            param.grad = torch.rand(n, device="cuda")
            theirs_ms = median_ms(make_optimizer([param]).step, 10, 10)
        fraction = moved / ours_ms / 1e6 / copy_gbs
        row(f"{name}, {n >> 20}M params", ours_ms, theirs_ms, f"{fraction:.0%} of copy bandwidth")


def deeplite_step(sizes, batch: int):
    """A deeplite MLP training step (SGD momentum, cross-entropy) and its static inputs."""
    deeplite.manual_seed(0)
    model = deeplite.nn.MLP(sizes, device="cuda")
    optimizer = deeplite.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = deeplite.randn(batch, sizes[0], device="cuda")
    labels = deeplite.randint(0, sizes[-1], batch, device="cuda")

    def step(x, labels):
        optimizer.zero_grad()
        loss = deeplite.functional.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step, x, labels


def torch_step(torch, sizes, batch: int):
    """The same step in PyTorch eager (its default foreach SGD on CUDA)."""
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1])] + ([torch.nn.ReLU()]
                                                              if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, sizes[0], device="cuda")
    labels = torch.randint(0, sizes[-1], (batch,), device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()

    return step


def step_flops(sizes, batch: int) -> float:
    """GEMM FLOPs of one step: forward, weight gradients, and input gradients but the first's."""
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * batch * (3 * weights - sizes[0] * sizes[1])


@guarded("MLP training step")
def training_step(torch, sizes, batch: int, tf32: bool, tflops: dict, graph: bool) -> None:
    """deeplite (eager, and CUDA-graph replay when asked) against PyTorch eager, same TF32 mode."""
    deeplite.cuda.allow_tf32 = tf32
    if torch:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    step, x, labels = deeplite_step(sizes, batch)
    shape = "-".join(map(str, sizes))
    name = f"MLP {shape} step, batch {batch}, TF32 {'on' if tf32 else 'off'}"
    theirs = median_ms(torch_step(torch, sizes, batch), 10, 10) if torch else None
    ours = median_ms(lambda: step(x, labels), 10, 10)
    floor = step_flops(sizes, batch) / (tflops[tf32] * 1e9)
    measure = f"GEMM floor {floor:.3f} ms" + (f"; speedup {theirs / ours:.2f}x" if theirs else "")
    row(name, ours, theirs, measure, ">= 1.00x", theirs / ours >= 1.0 if theirs else None)
    if graph:
        replay = deeplite.cuda.CUDAGraph(step, x, labels).replay
        ours = median_ms(replay, 10, 20)
        row(f"{name}, CUDA graph", ours, theirs,
            f"speedup {theirs / ours:.2f}x" if theirs else "", ">= 1.50x",
            theirs / ours >= 1.5 if theirs else None)


def print_table(device: str) -> None:
    print(f"\n### deeplite GPU benchmarks on {device}\n")
    print("| benchmark | deeplite ms | PyTorch ms | measure | target | met |")
    print("|---|---:|---:|---|---|---|")
    for name, ours, theirs, measure, target, verdict in ROWS:
        cells = [f"{t:.3f}" if t is not None else "" for t in (ours, theirs)]
        print(f"| {name} | {cells[0]} | {cells[1]} | {measure} | {target} | {verdict} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    args = parser.parse_args()
    if not deeplite.cuda.is_available():
        print(f"deeplite GPU benchmarks: CUDA unavailable: {deeplite.cuda.why_unavailable()}")
        return 1
    cupy = backends.get("cuda").xp
    try:
        import torch

        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    n = 1 << (20 if args.quick else 26)  # 64M elements
    base = floors(cupy, n, 1024 if args.quick else 8192) or {"copy_gbs": float("nan"),
                                                             "tflops": {False: 1.0, True: 1.0}}
    kernels(cupy, torch, n, base["copy_gbs"])
    optimizers(cupy, torch, n >> 2, base["copy_gbs"])
    big = [784, 1024, 1024, 10] if args.quick else [784, 4096, 4096, 10]
    for tf32 in (False, True):
        training_step(torch, big, 256 if args.quick else 1024, tf32, base["tflops"], False)
    training_step(torch, [784, 1024, 1024, 10], 256, False, base["tflops"], True)
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    print_table(name.decode() if isinstance(name, bytes) else str(name))
    if torch is None:
        print("\nPyTorch with CUDA is not available here: its columns are empty.")
    return 0 if all(verdict != "NO" for *_, verdict in ROWS) else 2


if __name__ == "__main__":
    sys.exit(main())
