// GEMM through OpenBLAS (scipy-openblas32, single-threaded) and the fused linear epilogue.
// Threads split the output into column (or row) blocks; each thread runs one GEMM on its block
// and then the bias + activation on that block while it is still in cache.
#include <algorithm>
#include <type_traits>

#include <cblas.h>

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace deeplite::cpu {

namespace {

// A GEMM's grain: a thread is woken for at least kGrainsPerThread (4) blocks of this many
// multiply-adds, so 2 threads start from 2^25 in all. Waking a sleeping worker (OMP_WAIT_POLICY
// passive) on 2 shared vCPUs ate the second thread's gain below that: 1 thread's time over 2's
// (idle between calls, as between a step's kernels) was 0.91-0.98 at 8-17M multiply-adds,
// 0.98-1.23 at 34M, 1.58-1.93 from 134M, OpenBLAS and oneDNN alike
// (python -m benchmarks.gemm_crossovers). At 2^18 the test set's 359x64 @ 64x512 of the digits
// run took 2 threads, and 6-30% longer.
constexpr Index kParallelMacs = Index(1) << 22;

inline CBLAS_TRANSPOSE Op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

// The float GEMM set by SetSgemm (oneDNN's dnnl_sgemm), or null for OpenBLAS's, and the
// multiply-adds from which it runs.
ExternalSgemm external_sgemm = nullptr;
Index external_min_macs = kExternalSgemmMinMacs;

inline char Flag(bool trans) { return trans ? 'T' : 'N'; }

// Runs the external sgemm on this thread alone: it would otherwise start its own OpenMP team of
// omp_get_max_threads() (deeplite decides the threads, in ParallelFor). False if it refused.
bool ExternalGemm(const Matrix<float>& a, const Matrix<float>& b, float* c, Index m, Index n,
                  Index ldc) {
#ifdef _OPENMP
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  const int status = external_sgemm(Flag(a.trans), Flag(b.trans), m, n, a.cols, 1.0f, a.data,
                                    a.ld, b.data, b.ld, 0.0f, c, ldc);
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  return status == 0;
}

// Whether a float GEMM of this many multiply-adds runs the external sgemm. LinearAct decides it
// once for the whole product, so its thread blocks never mix two libraries' roundings.
template <typename T>
bool External(Index macs) {
  return std::is_same_v<T, float> && external_sgemm != nullptr && macs >= external_min_macs;
}

// Which GEMM serves a whole product: every thread block of it runs the same one, so the
// product rounds alike on any number of threads.
enum class Route { kBlas, kExternal, kSmall };

// oneDNN where installed (from kExternalSgemmMinMacs), else deeplite's own kernel where it
// serves, else OpenBLAS (and for double).
template <typename T>
Route RouteOf(const Matrix<T>& b, Index m, Index n, Index k) {
  if (!std::is_same_v<T, float>) return Route::kBlas;
  if (External<T>(m * n * k)) return Route::kExternal;
  return SmallGemmServes(m, n, k, b.trans) ? Route::kSmall : Route::kBlas;
}

inline void Gemm(const Matrix<float>& a, const Matrix<float>& b, float* c, Index m, Index n,
                 Index ldc, Route route) {
  if (route == Route::kExternal && ExternalGemm(a, b, c, m, n, ldc)) return;
  scipy_cblas_sgemm(CblasRowMajor, Op(a.trans), Op(b.trans), m, n, a.cols, 1.0f, a.data, a.ld,
                    b.data, b.ld, 0.0f, c, ldc);
}

inline void Gemm(const Matrix<double>& a, const Matrix<double>& b, double* c, Index m, Index n,
                 Index ldc, Route /*float only: always kBlas*/) {
  scipy_cblas_dgemm(CblasRowMajor, Op(a.trans), Op(b.trans), m, n, a.cols, 1.0, a.data, a.ld,
                    b.data, b.ld, 0.0, c, ldc);
}

// The rows [lo, hi) of a.
template <typename T>
Matrix<T> RowBlock(const Matrix<T>& a, Index lo, Index hi) {
  return {a.data + (a.trans ? lo : lo * a.ld), hi - lo, a.cols, a.ld, a.trans};
}

// The columns [lo, hi) of b.
template <typename T>
Matrix<T> ColBlock(const Matrix<T>& b, Index lo, Index hi) {
  return {b.data + (b.trans ? lo * b.ld : lo), b.rows, hi - lo, b.ld, b.trans};
}

template <typename T>
Matrix<T> Transposed(const Matrix<T>& a) {
  return {a.data, a.cols, a.rows, a.ld, !a.trans};
}

// One block of LinearAct's output (m x n, row stride ldc): the GEMM, then the bias and
// activation while the block is in cache (deeplite's own kernel applies identity and relu as
// it stores).
template <typename T>
void Block(const Matrix<T>& a, const Matrix<T>& b, T* out, Index m, Index n, Index ldc,
           const T* bias, int act, T slope, Route route) {
  if constexpr (std::is_same_v<T, float>) {
    if (route == Route::kSmall && SmallGemm(a, b, out, m, n, ldc, bias, act)) return;
  }
  if (route != Route::kSmall) Gemm(a, b, out, m, n, ldc, route);
  if (bias != nullptr || act != 0) BiasAct(out, m, n, ldc, bias, act, slope);
}

}  // namespace

void SetSgemm(ExternalSgemm sgemm, Index min_macs) {
  external_sgemm = sgemm;
  external_min_macs = min_macs;
}

bool HasExternalSgemm() { return external_sgemm != nullptr; }

template <typename T>
void LinearAct(const Matrix<T>& a, const Matrix<T>& b, const T* bias, int act, T slope, T* out) {
  const Index m = a.rows, n = b.cols, k = a.cols;
  const Route route = RouteOf(b, m, n, k);
  if (m * n * k < kParallelMacs || NumThreads() == 1) {
    Block(a, b, out, m, n, n, bias, act, slope, route);
    return;
  }
  // Split the larger output dimension: each thread then re-packs only the smaller operand.
  const Index grain = std::max<Index>(16, kParallelMacs / std::max<Index>(1, (n >= m ? m : n) * k));
  if (n >= m) {
    ParallelFor(n, grain, [&](Index lo, Index hi) {
      Block(a, ColBlock(b, lo, hi), out + lo, m, hi - lo, n, bias ? bias + lo : nullptr, act,
            slope, route);
    });
  } else {
    ParallelFor(m, grain, [&](Index lo, Index hi) {
      Block(RowBlock(a, lo, hi), b, out + lo * n, hi - lo, n, n, bias, act, slope, route);
    });
  }
}

template <typename T>
void LinearActGrad(const Matrix<T>& x, const Matrix<T>& w, const T* y, const T* gy, int act,
                   T slope, T* pre, T* gx, T* gw, T* gb) {
  const Index rows = x.rows, out = w.cols;
  if (act != 0) {
    ActGrad(y, gy, pre, rows * out, act, slope);
  } else {
    pre = const_cast<T*>(gy);  // identity: the upstream gradient itself, only ever read
  }
  const Matrix<T> g{pre, rows, out, out, false};
  if (gx) LinearAct(g, Transposed(w), static_cast<const T*>(nullptr), 0, T(0), gx);
  if (gw) LinearAct(Transposed(x), g, static_cast<const T*>(nullptr), 0, T(0), gw);
  if (gb) SumAxis(pre, gb, 1, rows, out);
}

template void LinearAct<float>(const Matrix<float>&, const Matrix<float>&, const float*, int,
                               float, float*);
template void LinearAct<double>(const Matrix<double>&, const Matrix<double>&, const double*, int,
                                double, double*);
template void LinearActGrad<float>(const Matrix<float>&, const Matrix<float>&, const float*,
                                   const float*, int, float, float*, float*, float*, float*);
template void LinearActGrad<double>(const Matrix<double>&, const Matrix<double>&, const double*,
                                    const double*, int, double, double*, double*, double*, double*);

}  // namespace deeplite::cpu
