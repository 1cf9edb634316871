"""``python -m benchmarks.gemm_crossovers``: the thresholds of the cpu backend's float GEMMs.

1. Which library: oneDNN's ``dnnl_sgemm`` (where installed) against OpenBLAS's, on one pinned
   CPU and thread, for the three GEMMs of each layer of MLP training (forward x @ W, input
   gradient g @ W^T, weight gradient x^T @ g) from 2^10 to 2^28 multiply-adds; oneDNN forced at
   every size. ``_C.SGEMM_MIN_MACS`` (csrc/cpu/kernels.h) follows this table.
2. How many threads: each GEMM on 1 and on 2 of deeplite's threads, the worker left idle for
   0.5 ms before each call as it is between a step's kernels (idle workers sleep:
   OMP_WAIT_POLICY=passive). ``kParallelMacs`` (csrc/cpu/matmul.cpp) follows this table; it needs
   2 usable CPUs.
3. deeplite's own AVX-512 kernel (csrc/cpu/small_gemm.cpp) against OpenBLAS (and oneDNN, where
   installed) on the GEMMs of the same layers with 8 columns or more, forced at every size.
   ``_C.SMALL_GEMM_MIN_MACS``, ``_C.SMALL_GEMM_TRANSPOSED_MIN_MACS`` (the input gradient's B is
   transposed) and ``_C.SMALL_GEMM_MAX_MACS`` follow this table.

Best of 7 rounds (tables 1 and 3) or medians of 60 calls (table 2); run it on an otherwise idle
machine.
"""
import os
import statistics
import sys
import time

import numpy as np

# (batch, inputs, outputs) of a layer: MLP training's shapes, 2^10 to 2^27.6 multiply-adds
LAYERS = ((32, 2, 16), (32, 16, 16), (16, 64, 64), (32, 512, 10), (32, 128, 128), (32, 64, 512),
          (64, 128, 128), (128, 64, 256), (128, 256, 256), (359, 64, 512), (359, 512, 10),
          (256, 256, 256), (512, 512, 512), (256, 784, 1024))
# (m, k, n) of an (m, k) @ (k, n), for the thread table
THREAD_SHAPES = ((128, 256, 256), (359, 64, 512), (256, 256, 256), (1024, 64, 512),
                 (512, 512, 512), (256, 784, 1024), (1024, 1024, 1024))


def layer_gemms(rng, batch: int, inputs: int, outputs: int) -> dict:
    """{"forward" | "input grad" | "weight grad": (a, b)} of one layer, laid out as deeplite's
    Linear has them (the weight is inputs x outputs; the transposes are views)."""
    def normal(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    x, weight, grad = normal(batch, inputs), normal(inputs, outputs), normal(batch, outputs)
    return {"forward": (x, weight), "input grad": (grad, weight.T), "weight grad": (x.T, grad)}


def best_us(call, rounds: int = 7, calls: int = 300) -> float:
    """The fastest round's microseconds per ``call()`` (rounds of ``calls`` calls)."""
    for _ in range(30):
        call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - started) / calls)
    return min(times) * 1e6


def idle_median_us(call, calls: int = 60) -> float:
    """The median microseconds of ``call()``, each after 0.5 ms idle."""
    for _ in range(10):
        call()
    times = []
    for _ in range(calls):
        time.sleep(0.0005)
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def calls_for(macs: int) -> int:
    """Calls per round: 300, fewer for big GEMMs (about 2^25 multiply-adds a round)."""
    return max(5, min(300, (1 << 25) // macs))


ALL = 1 << 62  # a small-GEMM range wider than any product: deeplite's kernel at every size
OPENBLAS, ONEDNN = ("OpenBLAS", "openblas", 0), ("oneDNN", "onednn", 0)
DEEPLITE = ("deeplite", "openblas", ALL)  # its own kernel, forced; OpenBLAS where it cannot


def timed_table(cpu, rng, runs: list, subject: str, keep=None) -> None:
    """Each GEMM of each layer (those ``keep(name, a, b)`` accepts) under each run (label, the
    library for ``cpu_sgemm.select``, the most multiply-adds of deeplite's own kernel: 0 none),
    on one pinned CPU and thread; the ``subject`` run's time over each other run's."""
    from deeplite.backends import cpu_sgemm

    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(affinity)})
    cpu._C.set_num_threads(1)
    try:
        for batch, inputs, outputs in LAYERS:
            for name, (a, b) in layer_gemms(rng, batch, inputs, outputs).items():
                if keep is not None and not keep(name, a, b):
                    continue
                times = {}
                macs = a.shape[0] * a.shape[1] * b.shape[1]
                for label, library, most in runs:
                    cpu_sgemm.select(cpu._C, library, min_macs=0)
                    cpu._C.set_small_gemm(0, most)
                    times[label] = best_us(lambda a=a, b=b: cpu.matmul(a, b),
                                           calls=calls_for(macs))
                figures = ", ".join(f"{label} {value:7.2f} us" for label, value in times.items())
                ratios = ", ".join(f"{subject} / {label} {times[subject] / value:.2f}"
                                   for label, value in times.items() if label != subject)
                print(f"  {batch}-{inputs}-{outputs} {name:11s} {macs:>9d} multiply-adds "
                      f"(2^{np.log2(macs):4.1f}): {figures}; {ratios}")
    finally:
        cpu._C.set_small_gemm()
        cpu_sgemm.select(cpu._C)
        os.sched_setaffinity(0, affinity)


def own_kernel_serves(cpu):
    """``keep`` of table 3: the GEMMs deeplite's kernel can take (8 columns or more), whatever
    their size."""
    def keep(name, a, b) -> bool:
        cpu._C.set_small_gemm(0, ALL)
        return cpu._C.small_gemm_serves(a.shape[0], b.shape[1], a.shape[1],
                                        b_trans=name == "input grad")
    return keep


def thread_table(cpu, rng) -> None:
    """Table 2, on 2 threads' worth of CPUs."""
    threads = cpu._C.num_threads()
    try:
        for m, k, n in THREAD_SHAPES:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            times = {}
            for count in (1, 2):
                cpu._C.set_num_threads(count)
                times[count] = idle_median_us(lambda a=a, b=b: cpu.matmul(a, b))
            print(f"  {m}x{k} @ {k}x{n} ({m * k * n / 1e6:.1f}M multiply-adds): 1 thread "
                  f"{times[1]:.0f} us, 2 threads {times[2]:.0f} us, 1 / 2: "
                  f"{times[1] / times[2]:.2f}")
    finally:
        cpu._C.set_num_threads(threads)


def main() -> int:
    """Print the three tables (the first only where oneDNN is installed, the third only on
    AVX-512 CPUs)."""
    import deeplite.backends.cpu_backend as cpu
    from deeplite.backends import cpu_sgemm

    rng = np.random.default_rng(0)
    if cpu_sgemm._dnnl_sgemm_address():
        print(f"which library (one thread; default: oneDNN from {cpu._C.SGEMM_MIN_MACS} "
              f"multiply-adds):")
        timed_table(cpu, rng, [OPENBLAS, ONEDNN], "oneDNN")
    else:
        print("which library: skipped, libdnnl is not installed (pip install 'deeplite[bf16]')")
    if cpu._C.small_gemm_available():
        print(f"deeplite's own kernel (one thread; default: from {cpu._C.SMALL_GEMM_MIN_MACS} to "
              f"{cpu._C.SMALL_GEMM_MAX_MACS} multiply-adds, where oneDNN is not installed):")
        runs = [OPENBLAS, DEEPLITE] + ([ONEDNN] if cpu_sgemm._dnnl_sgemm_address() else [])
        timed_table(cpu, rng, runs, "deeplite", own_kernel_serves(cpu))
    else:
        print("deeplite's own kernel: skipped, this CPU has no AVX-512")
    print(f"how many threads ({cpu.SGEMM} GEMMs):")
    if len(os.sched_getaffinity(0)) < 2:
        print("  skipped: fewer than 2 usable CPUs")
    else:
        thread_table(cpu, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
