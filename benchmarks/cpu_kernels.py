"""Micro-benchmark of the cpu backend's kernels beside NumPy and (if importable) PyTorch.

    python -m benchmarks.cpu_kernels [--threads 1,2] [--rounds 15] [--quick] [--only sigmoid]

For each thread count, the contenders of a case run in alternating rounds (one call each per
round), so a slow spell of a shared machine hits all of them alike; the table gives the median
and the min-max over the rounds. Floors: GEMM in GFLOP/s (2*M*N*K / time), memory-bound kernels
in effective GB/s (bytes read and written once / time).
"""
import argparse
import statistics
import time

import numpy as np

from deeplite.backends import cpu_backend, get

try:
    import torch
    import torch.nn.functional as torch_functional
except ImportError:  # PyTorch is optional: its column is left out
    torch = None

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # without it NumPy keeps its default thread count (said in the header)
    ThreadpoolController = None


def numpy_blas_controller():
    """threadpoolctl's handle on NumPy's own OpenBLAS only (deeplite's stays single-threaded)."""
    if ThreadpoolController is None:
        return None
    return ThreadpoolController().select(filepath=[
        info["filepath"] for info in ThreadpoolController().info() if "numpy" in info["filepath"]])


def set_threads(count: int, numpy_blas) -> None:
    """Give every contender ``count`` threads."""
    cpu_backend.set_num_threads(count)
    if numpy_blas is not None:
        numpy_blas.limit(limits=count)
    if torch is not None:
        torch.set_num_threads(count)


def time_rounds(contenders: dict, rounds: int) -> dict:
    """Seconds per call of each contender, over alternating rounds after one warm-up call each."""
    for run in contenders.values():
        run()
    samples = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return samples


def gemm_case(m: int, k: int, n: int, layout: str, rng) -> tuple:
    """Operands of an (m x k) @ (k x n) product; 'AT' / 'BT' pass that operand as a transposed view."""
    a = rng.standard_normal((k, m) if layout == "AT" else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if layout == "BT" else (k, n), dtype=np.float32)
    a = a.T if layout == "AT" else a
    b = b.T if layout == "BT" else b
    flops = 2.0 * m * n * k
    cases = {"deeplite": lambda: cpu_backend.matmul(a, b), "numpy": lambda: np.matmul(a, b)}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        cases["torch"] = lambda: torch.matmul(ta, tb)
    return cases, lambda seconds: flops / seconds / 1e9, "GFLOP/s"


def linear_case(rng) -> tuple:
    """relu(x @ W + b) for the first layer of MLP (a): 256 x 784 -> 1024."""
    x = rng.standard_normal((256, 784), dtype=np.float32)
    w = rng.standard_normal((784, 1024), dtype=np.float32)
    bias = rng.standard_normal(1024, dtype=np.float32)
    cases = {"deeplite": lambda: cpu_backend.linear_act(x, w, bias, "relu", 0.0),
             "numpy": lambda: np.maximum(x @ w + bias, 0)}
    if torch is not None:
        tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias)
        cases["torch"] = lambda: torch.relu(torch.addmm(tb, tx, tw))
    flops = 2.0 * 256 * 784 * 1024
    return cases, lambda seconds: flops / seconds / 1e9, "GFLOP/s"


def numpy_sigmoid(x):
    """Hand-written stable NumPy sigmoid: exp(-|x|) never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def numpy_bce(z, y):
    """Hand-written NumPy BCE-with-logits (mean) forward and backward."""
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (numpy_sigmoid(z) - y) / np.float32(z.size)
    return loss, dz


def sigmoid_case(size: int, rng) -> tuple:
    """sigmoid forward over ``size`` float32 values (exp-bound: dl_math.h's vectorised exp)."""
    x = rng.standard_normal(size, dtype=np.float32) * 4
    cases = {"deeplite": lambda: cpu_backend.sigmoid(x), "numpy": lambda: numpy_sigmoid(x)}
    if torch is not None:
        tx = torch.from_numpy(x)
        cases["torch"] = lambda: torch.sigmoid(tx)
    moved = 2 * 4 * size  # read x, write y
    return cases, lambda seconds: moved / seconds / 1e9, "GB/s"


def act_grad_case(size: int, rng) -> tuple:
    """sigmoid's backward gy * y * (1 - y) from the output y, over ``size`` float32 values."""
    y = rng.random(size, dtype=np.float32)
    gy = rng.standard_normal(size, dtype=np.float32)
    cases = {"deeplite": lambda: cpu_backend.act_grad(y, gy, "sigmoid", 0.0),
             "numpy": lambda: gy * y * (1 - y)}
    if torch is not None:
        ty, tgy = torch.from_numpy(y), torch.from_numpy(gy)
        cases["torch"] = lambda: torch.ops.aten.sigmoid_backward(tgy, ty)
    moved = 3 * 4 * size  # read y and gy, write the gradient
    return cases, lambda seconds: moved / seconds / 1e9, "GB/s"


def bce_case(size: int, rng) -> tuple:
    """Fused sigmoid cross-entropy forward + backward over ``size`` float32 logits."""
    z = rng.standard_normal(size, dtype=np.float32) * 4
    y = (rng.random(size) > 0.5).astype(np.float32)
    cases = {"deeplite": lambda: cpu_backend.sigmoid_bce(z, y, "mean"),
             "numpy": lambda: numpy_bce(z, y)}
    if torch is not None:
        tz, ty = torch.from_numpy(z), torch.from_numpy(y)

        def torch_bce():
            logits = tz.detach().requires_grad_()
            torch_functional.binary_cross_entropy_with_logits(logits, ty).backward()
            return logits.grad

        cases["torch"] = torch_bce
    moved = 3 * 4 * size  # read z and y, write dz
    return cases, lambda seconds: moved / seconds / 1e9, "GB/s"


def adam_case(size: int, rng) -> tuple:
    """One Adam step over an MLP-like list of parameters holding ``size`` float32 values."""
    shapes = [(size // 1024 - 1, 1024), (1024,)]  # a weight and a bias, ~size values in all
    state = {name: [[np.abs(rng.standard_normal(s, dtype=np.float32)) for s in shapes]
                    for _ in range(4)] for name in ("deeplite", "numpy")}  # v >= 0 for sqrt
    reference = get("numpy")

    def step(backend, params, grads, m, v):
        backend.adam_step(params, grads, m, v, None, [3] * len(params), 1e-3, 0.9, 0.999, 1e-8,
                          0.0, False, False, False)

    cases = {"deeplite": lambda: step(cpu_backend, *state["deeplite"]),
             "numpy": lambda: step(reference, *state["numpy"])}
    if torch is not None:
        params = [torch.from_numpy(p).requires_grad_() for p in state["numpy"][0]]
        for p, g in zip(params, state["numpy"][1]):
            p.grad = torch.from_numpy(g)
        optimizer = torch.optim.Adam(params, lr=1e-3)
        cases["torch"] = optimizer.step
    count = sum(int(np.prod(s)) for s in shapes)
    moved = 4 * count * 7  # read p, g, m, v; write p, m, v
    return cases, lambda seconds: moved / seconds / 1e9, "GB/s"


def cases(quick: bool, rng) -> dict:
    """Every benchmark case by name; quick shrinks the memory-bound ones."""
    big = 1 << 20 if quick else 1 << 24
    return {
        "gemm 256x784 @ 784x1024 (fwd 1)": lambda: gemm_case(256, 784, 1024, "", rng),
        "gemm 256x1024 @ 1024x1024 (fwd 2)": lambda: gemm_case(256, 1024, 1024, "", rng),
        "gemm g @ W.T 256x1024x784 (bwd dx)": lambda: gemm_case(256, 1024, 784, "BT", rng),
        "gemm x.T @ g 784x256x1024 (bwd dW)": lambda: gemm_case(784, 256, 1024, "AT", rng),
        "linear_act relu 256x784->1024": lambda: linear_case(rng),
        f"sigmoid_bce fwd+bwd {big >> 20}M f32": lambda: bce_case(big, rng),
        f"sigmoid fwd {big >> 20}M f32": lambda: sigmoid_case(big, rng),
        f"act_grad sigmoid {big >> 20}M f32": lambda: act_grad_case(big, rng),
        f"adam_step {(big * 10 // 16) >> 20}M params": lambda: adam_case(big * 10 // 16, rng),
    }


def main() -> None:
    """Parse arguments, run every case at every thread count, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds per case")
    parser.add_argument("--quick", action="store_true", help="small memory-bound cases")
    parser.add_argument("--only", default="", help="run only the cases whose title contains this")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    numpy_blas = numpy_blas_controller()
    names = ["deeplite", "numpy"] + (["torch"] if torch is not None else [])
    print(f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'}; "
          f"numpy threads {'set by threadpoolctl' if numpy_blas else 'default'}; "
          f"median [min-max] of {args.rounds} alternating rounds")
    print(f"| case | threads | unit | {' | '.join(names)} | deeplite / best other |")
    print("|---|---|---|" + "---|" * len(names) + "---|")
    for threads in (int(t) for t in args.threads.split(",")):
        set_threads(threads, numpy_blas)
        for title, make in cases(args.quick, rng).items():
            if args.only not in title:
                continue
            contenders, rate, unit = make()
            samples = time_rounds(contenders, args.rounds)
            medians = {name: statistics.median(samples[name]) for name in names}
            cells = [f"{rate(medians[name]):.1f} [{rate(max(samples[name])):.1f}-"
                     f"{rate(min(samples[name])):.1f}]" for name in names]
            best_other = min(medians[name] for name in names if name != "deeplite")
            print(f"| {title} | {threads} | {unit} | {' | '.join(cells)} | "
                  f"{medians['deeplite'] / best_other:.2f}x time |")


if __name__ == "__main__":
    main()
