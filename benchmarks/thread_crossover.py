"""``python -m benchmarks.thread_crossover``: from what size a GEMM gains from a second thread.

The cpu backend's GEMMs (OpenBLAS, or oneDNN where installed) on 1 and on 2 of deeplite's threads,
at the shapes of MLP training, with the worker left idle for 0.5 ms before each call as it is
between a step's kernels (idle workers sleep: OMP_WAIT_POLICY=passive). Medians of 60 calls; the
ratio is 1 thread's time over 2 threads'. The threshold in csrc/cpu/matmul.cpp (kParallelMacs)
follows this table. Run it on an otherwise idle machine with at least 2 usable CPUs.
"""
import statistics
import sys
import time

import numpy as np

SHAPES = ((128, 256, 256), (359, 64, 512), (256, 256, 256), (1024, 64, 512), (512, 512, 512),
          (256, 784, 1024), (1024, 1024, 1024))  # (m, k, n) of an (m, k) @ (k, n)


def median_us(matmul, a, b, calls: int = 60) -> float:
    """The median microseconds of ``matmul(a, b)``, each call after 0.5 ms idle."""
    for _ in range(10):
        matmul(a, b)
    times = []
    for _ in range(calls):
        time.sleep(0.0005)
        started = time.perf_counter()
        matmul(a, b)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> int:
    """Print one row per shape: 1 thread, 2 threads, their ratio."""
    import deeplite.backends.cpu_backend as cpu

    rng = np.random.default_rng(0)
    print(f"GEMM: {cpu.SGEMM}")
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        times = {}
        for threads in (1, 2):
            cpu._C.set_num_threads(threads)
            times[threads] = median_us(cpu.matmul, a, b)
        print(f"{m}x{k} @ {k}x{n} ({m * k * n / 1e6:.1f}M multiply-adds): 1 thread "
              f"{times[1]:.0f} us, 2 threads {times[2]:.0f} us, ratio {times[1] / times[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
