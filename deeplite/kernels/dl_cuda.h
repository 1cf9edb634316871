// Launch geometry shared by the CUDA kernels (deeplite/kernels/*.cu) and their Python launcher.
// DL_BLOCK_THREADS is the one block size: every kernel's __launch_bounds__ and the block that
// cuda_backend.py launches, which reads the number from this line.
#pragma once

#define DL_BLOCK_THREADS 256

// Grid-stride loops: thread i handles items i, i + ThreadCount(), ... in 64-bit arithmetic.
__device__ __forceinline__ long long FirstThread() {
  return blockIdx.x * (long long)blockDim.x + threadIdx.x;
}
__device__ __forceinline__ long long ThreadCount() { return (long long)gridDim.x * blockDim.x; }

// A per-replay scalar (a learning rate, a step count, a dropout stream word): `value` when the
// launch passes no scalar block, else scalars[slot]. deeplite.jit's CUDA graphs pass their
// device block, which each replay refreshes with one host-to-device copy before the launch, so
// one captured graph serves every replay; eager launches pass a null block and the value.
__device__ __forceinline__ double ScalarOf(const double* scalars, long long slot, double value) {
  return scalars ? scalars[slot] : value;
}
