// Dropout masks of the cuda backend (deeplite/backends/cuda_random.py): the counter-based stream
// of dl_philox.h, the very code the C++ kernel (csrc/cpu/random.cpp) runs, so a mask is the same
// on every backend. Thread j makes block j of the mask (4 elements) in a grid-stride loop.
// Loaded by cupy.RawModule (NVRTC) and compiled by CI with nvcc: no host headers.
#include "dl_cuda.h"
#include "dl_philox.h"

// The key (seed words) and first block (counter words) arrive as (value, slot) pairs read
// through ScalarOf: every word is an integer below 2^32, exact in a double.
template <typename T>
__device__ __forceinline__ void DropoutMask(T* out, long long n, double p, const double* scalars,
                                            double key0, long long key0_slot, double key1,
                                            long long key1_slot, double counter0,
                                            long long counter0_slot, double counter1,
                                            long long counter1_slot) {
  typedef dlphilox::Wide Wide;
  const Wide seed = Wide(ScalarOf(scalars, key0_slot, key0)) |
                    Wide(ScalarOf(scalars, key1_slot, key1)) << 32;
  const Wide first = Wide(ScalarOf(scalars, counter0_slot, counter0)) |
                     Wide(ScalarOf(scalars, counter1_slot, counter1)) << 32;
  const dlphilox::Word threshold = dlphilox::KeepThreshold(p);
  const T scale = T(1.0 / (1.0 - p));  // rounded once from double, as the reference
  const long long blocks = (n + 3) / 4;
  for (long long j = FirstThread(); j < blocks; j += ThreadCount()) {
    const dlphilox::Block words = dlphilox::StreamBlock(first + Wide(j), seed);
    const long long base = 4 * j;
    for (int k = 0; k < 4 && base + k < n; ++k) {
      out[base + k] = words.w[k] >= threshold ? scale : T(0);
    }
  }
}

#define DL_RANDOM_KERNELS(SUFFIX, T)                                                              \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                  \
      dropout_mask_##SUFFIX(T* out, long long n, double p, const double* scalars, double key0,    \
                            long long key0_slot, double key1, long long key1_slot,                \
                            double counter0, long long counter0_slot, double counter1,            \
                            long long counter1_slot) {                                            \
    DropoutMask<T>(out, n, p, scalars, key0, key0_slot, key1, key1_slot, counter0, counter0_slot, \
                   counter1, counter1_slot);                                                      \
  }

DL_RANDOM_KERNELS(f32, float)
DL_RANDOM_KERNELS(f64, double)
