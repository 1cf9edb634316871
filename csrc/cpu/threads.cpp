// The thread pool shared by every kernel: OpenMP when the build has it, else one thread.
// DEEPLITE_NUM_THREADS, else OMP_NUM_THREADS, sets the count (deeplite/backends/cpu_backend.py).
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

// A thread is woken only for at least this many grains of work. Idle workers sleep (the cpu
// backend sets OMP_WAIT_POLICY=PASSIVE: spinning ones starve other processes and collapse the
// pool on a busy machine), and waking one costs tens of microseconds. Measured on 2 shared cores
// (1 vs 2 threads): sigmoid and add gain from 2^18 elements, not at 2^16-2^17; GEMMs below
// 2^25 multiply-adds never did (matmul.cpp). 4 moves each kernel's own grain to those crossovers.
constexpr Index kGrainsPerThread = 4;

void ParallelFor(Index n, Index grain, const std::function<void(Index, Index)>& body) {
  const Index per_thread = std::max<Index>(grain, 1) * kGrainsPerThread;
  Index threads = std::min<Index>(NumThreads(), n / per_thread);
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
