// The thread pool shared by every kernel: OpenMP when the build has it, else one thread.
// OpenBLAS is kept single-threaded and called from inside these threads (see matmul.cpp), so the
// process never runs two spinning thread pools on the same cores.
#include <algorithm>
#include <thread>

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace deeplite::cpu {

namespace {
int num_threads = std::max(1u, std::thread::hardware_concurrency());
}  // namespace

void SetNumThreads(int n) { num_threads = std::max(1, n); }

int NumThreads() {
#ifdef _OPENMP
  return num_threads;
#else
  return 1;
#endif
}

void ParallelFor(Index n, Index grain, const std::function<void(Index, Index)>& body) {
  Index threads = std::min<Index>(NumThreads(), n / std::max<Index>(grain, 1));
  if (threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    // Equal contiguous ranges, rounded to 16 elements so SIMD loops start aligned.
    Index t = omp_get_thread_num();
    Index chunk = ((n + threads - 1) / threads + 15) / 16 * 16;
    Index lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
    if (lo < hi) body(lo, hi);
  }
#endif
}

}  // namespace deeplite::cpu
