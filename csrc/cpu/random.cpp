// Dropout masks from the counter-based Philox4x32-10 stream (deeplite/kernels/dl_philox.h, the
// same code the CUDA kernel runs): element i depends only on (seed, block + i / 4), so threads
// split the mask at block boundaries and any thread count gives the same bits.
#include <algorithm>

#include "dl_philox.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

// Blocks [lo, hi) of the mask, 4 elements each; the last block of the mask may be cut at n.
// Whole blocks are a loop with no data-dependent exits, so the compiler can run several blocks'
// rounds in SIMD lanes (AVX-512 and AVX2 have the 32 x 32 -> 64-bit multiply Philox needs).
template <typename T>
DL_CLONES void MaskBlocks(T* out, Index n, Index lo, Index hi, std::uint32_t threshold, T scale,
                          std::uint64_t seed, std::uint64_t first_block) {
  const Index whole = std::min(hi, n / 4);
#pragma omp simd
  for (Index j = lo; j < whole; ++j) {
    const dlphilox::Block words = dlphilox::StreamBlock(first_block + std::uint64_t(j), seed);
    for (int k = 0; k < 4; ++k) out[4 * j + k] = words.w[k] >= threshold ? scale : T(0);
  }
  for (Index j = std::max(lo, whole); j < hi; ++j) {  // the cut block
    const dlphilox::Block words = dlphilox::StreamBlock(first_block + std::uint64_t(j), seed);
    for (Index k = 0; 4 * j + k < n; ++k) out[4 * j + k] = words.w[k] >= threshold ? scale : T(0);
  }
}

}  // namespace

template <typename T>
void DropoutMask(T* out, Index n, double p, std::uint64_t seed, std::uint64_t first_block) {
  const std::uint32_t threshold = dlphilox::KeepThreshold(p);
  const T scale = T(1.0 / (1.0 - p));  // rounded once, as the reference's float64 -> T cast
  const Index blocks = (n + 3) / 4;
  // A block costs about 40 multiply-adds, far more than an elementwise op: a smaller grain.
  ParallelFor(blocks, kGrain / 16, [&](Index lo, Index hi) {
    MaskBlocks<T>(out, n, lo, hi, threshold, scale, seed, first_block);
  });
}

template void DropoutMask<float>(float*, Index, double, std::uint64_t, std::uint64_t);
template void DropoutMask<double>(double*, Index, double, std::uint64_t, std::uint64_t);

}  // namespace deeplite::cpu
