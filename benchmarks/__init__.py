"""deeplite's benchmark suite: ``python -m benchmarks`` (or ``deeplite bench``).

It times deeplite's backends beside NumPy and PyTorch (when installed) in the same run, measures the
machine's limits (copy bandwidth, BLAS GEMM rate) and reports each figure as a fraction of them.
Importing this package is light: NumPy, deeplite, PyTorch and matplotlib load only where used.
"""
