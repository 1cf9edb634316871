// The C++ kernels of the cpu backend: plain C++17 on raw pointers and sizes, no Python.
// bindings.cpp is the only file that knows about pybind11; it releases the GIL around each call.
// Every kernel is instantiated for float and double (explicitly, at the end of its .cpp file).
#pragma once

#include <cstdint>
#include <functional>

// Runtime dispatch: GCC/Clang compile one clone per ISA and pick one at load time (ifunc), so the
// shipped binary runs on any x86-64 and still uses AVX-512 or AVX2+FMA where the CPU has them.
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
#define DL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DL_CLONES
#endif

namespace deeplite::cpu {

using Index = std::int64_t;

// ParallelFor's grain for every kernel: below this many items a kernel stays on one thread.
constexpr Index kGrain = Index(1) << 15;

// ---- threads.cpp: one thread pool (OpenMP) for every kernel ----
void SetNumThreads(int n);
int NumThreads();
// Calls body(lo, hi) on disjoint ranges covering [0, n); uses up to NumThreads() threads, but
// none beyond the first unless every thread gets at least `grain` items.
void ParallelFor(Index n, Index grain, const std::function<void(Index, Index)>& body);

// A 2-D operand as BLAS sees it: logical (rows x cols); element (i, j) lives at
// data[i * ld + j], or at data[j * ld + i] when `trans` (a transposed view of a row-major array).
template <typename T>
struct Matrix {
  const T* data;
  Index rows, cols, ld;
  bool trans;
};

// ---- matmul.cpp ----
// A row-major float GEMM with oneDNN's dnnl_sgemm signature (transa, transb, m, n, k, alpha, a,
// lda, b, ldb, beta, c, ldc; 0 on success). Set, every float GEMM runs it on one thread (faster
// than OpenBLAS at the small shapes of MLP training); null (the default) restores OpenBLAS.
using ExternalSgemm = int (*)(char, char, std::int64_t, std::int64_t, std::int64_t, float,
                              const float*, std::int64_t, const float*, std::int64_t, float, float*,
                              std::int64_t);
// From this many multiply-adds a float GEMM runs the external sgemm by default. On one AVX-512 core
// oneDNN's took 0.57-0.90x OpenBLAS's time from 2^20 to 2^24 (the three GEMMs of MLP layers), but
// at 2^19 0.65-1.15x and below that up to 1.8x: its fixed cost per call (python -m
// benchmarks.gemm_crossovers, table 1). Its first GEMM in a process compiles its kernels (21 ms),
// which the digits run of `deeplite train` pays anyway (its test set's GEMM is 11.8M
// multiply-adds).
constexpr Index kExternalSgemmMinMacs = Index(1) << 20;
void SetSgemm(ExternalSgemm sgemm, Index min_macs);
bool HasExternalSgemm();
// ---- small_gemm.cpp ----
// The float GEMMs deeplite's own AVX-512 kernel serves where oneDNN does not (OpenBLAS would): at
// least kSmallGemmMinColumns columns, from kSmallGemmMinMacs (kSmallGemmTransposedMinMacs when B is
// transposed) to kSmallGemmMaxMacs multiply-adds by default. On one AVX-512 core it took 0.58-0.97x
// OpenBLAS's time there for the GEMMs of MLP layers (forward 0.74-0.84x, a 10-class output layer's
// 0.58x; weight gradient 0.77-0.97x; input gradient, B transposed, 0.64-0.88x), 0.74-1.21x oneDNN's
// (two runs). Below 2^20 it took 0.93-1.49x for the forward and weight gradient but 0.58-0.79x for
// the input gradient from 2^13; above 2^24 the weight gradient 1.17-1.31x: no blocking over k.
// Fewer than 8 columns leave most of a vector's 16 lanes idle: 1 column took 5-7x (python -m
// benchmarks.gemm_crossovers, table 3).
constexpr Index kSmallGemmMinColumns = 8;
constexpr Index kSmallGemmMinMacs = Index(1) << 20;
constexpr Index kSmallGemmTransposedMinMacs = Index(1) << 13;
constexpr Index kSmallGemmMaxMacs = Index(1) << 24;
// Its packed panel of B holds k rows of 32 floats, so k stops at 4096 (512 KB, within L2).
constexpr Index kSmallGemmMaxDepth = 4096;
bool SmallGemmServes(Index m, Index n, Index k, bool b_trans);
bool SmallGemmAvailable();  // this CPU has AVX-512 (and this build the kernel)
// From min_macs (or kSmallGemmTransposedMinMacs, if smaller, when B is transposed) to max_macs
// multiply-adds from now on (max_macs 0: none; for benchmarks).
void SetSmallGemm(Index min_macs, Index max_macs);
// c (m x n, row stride ldc) = a @ b, for a product SmallGemmServes, with LinearAct's bias and
// activation applied as it stores where act is identity or relu (true then; false: c = a @ b,
// and the caller's BiasAct applies them).
bool SmallGemm(const Matrix<float>& a, const Matrix<float>& b, float* c, Index m, Index n,
               Index ldc, const float* bias, int act);

// out (a.rows x b.cols, row-major) = act(a @ b + bias); bias may be null. With act = identity and
// no bias this is the plain GEMM. The bias and activation run on each thread's block of the
// output right after that block's GEMM, while it is still in cache.
template <typename T>
void LinearAct(const Matrix<T>& a, const Matrix<T>& b, const T* bias, int act, T slope, T* out);

// Gradients of y = act(x @ w + b) from y and gy (both rows x w.cols, row-major): pre = gy * act'
// goes to `pre` (rows x w.cols scratch, unused for identity), then gx = pre @ w.T (rows x w.rows),
// gw = x.T @ pre (w.rows x w.cols) and gb = pre's column sums; a null output is not computed.
template <typename T>
void LinearActGrad(const Matrix<T>& x, const Matrix<T>& w, const T* y, const T* gy, int act,
                   T slope, T* pre, T* gx, T* gw, T* gb);

// ---- elementwise.cpp ----
// y = act(x) over n elements (activation codes as in dl_math.h).
template <typename T>
void ActForward(const T* x, T* y, Index n, int act, T slope);
// out = gy * act'(x), computed from the output y.
template <typename T>
void ActGrad(const T* y, const T* gy, T* out, Index n, int act, T slope);
// In place over a (rows x cols) block with row stride ld: c = act(c + bias[col]); bias may be null.
template <typename T>
void BiasAct(T* c, Index rows, Index cols, Index ld, const T* bias, int act, T slope);
// Binary op codes, in the order of cpu_backend's BINARY_OPS.
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
// out = full op small (or small op full when small_first), where `small` holds `period`
// elements repeated along `full` (a trailing-shape broadcast); period == n is the same-shape case.
template <typename T>
void Binary(int op, const T* full, const T* small, T* out, Index n, Index period, bool small_first);

// ---- reduce.cpp ----
// Reduce x viewed as (outer, length, inner) over its middle axis into out (outer, inner).
template <typename T>
void SumAxis(const T* x, T* out, Index outer, Index length, Index inner);
template <typename T>
void MaxAxis(const T* x, T* out, Index outer, Index length, Index inner);
// Row-wise softmax (or log-softmax) of a (rows x cols) row-major matrix.
template <typename T>
void SoftmaxRows(const T* x, T* y, Index rows, Index cols, bool log);

// ---- loss.cpp ---- (reduction codes: 0 none, 1 mean, 2 sum, as contract.REDUCTIONS)
// Fused binary cross-entropy on logits: loss (n elements for none, else 1) and dz in one pass.
template <typename T>
void SigmoidBce(const T* z, const T* y, Index n, int reduction, T* loss, T* dz);
// Fused softmax cross-entropy of (rows x cols) logits with labels in [0, cols): one pass per row.
template <typename T>
void SoftmaxCe(const T* z, const std::int64_t* labels, Index rows, Index cols, int reduction,
               T* loss, T* dz);

// ---- optim.cpp: PyTorch's update rules on one parameter tensor of n elements, in place ----
struct SgdConfig {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first;
};
struct AdamConfig {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled, amsgrad, maximize;
};
struct RmspropConfig {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};
struct AdagradConfig {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
};
// buf is null when momentum == 0. shadow, if not null (float32 only, AMX CPUs only), receives
// the updated p rounded to bfloat16 in the same pass, as oneDNN's reorder would round it.
template <typename T>
void SgdStep(T* p, const T* g, T* buf, Index n, const SgdConfig& c,
             std::uint16_t* shadow = nullptr);
// out = x / d for each x >= 0 (or NaN), rounded as the division rounds it, the way AdamStep
// divides by its bias correction (dl_optim.h's SharedDivide where the CPU has FMA); for tests.
template <typename T>
void DivideByShared(const T* x, T* out, Index n, T d);
// vmax is null unless amsgrad; step is this parameter's step count after this step.
template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* vmax, Index n, double step, const AdamConfig& c,
              std::uint16_t* shadow = nullptr);
// grad_avg is null unless centered; buf is null unless momentum > 0.
template <typename T>
void RmspropStep(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, Index n,
                 const RmspropConfig& c);
template <typename T>
void AdagradStep(T* p, const T* g, T* state_sum, Index n, double step, const AdagradConfig& c);

// ---- random.cpp ----
// out[i] = 1 / (1 - p) where the dropout stream keeps element i, else 0 (p in [0, 1)): the words
// of Philox blocks first_block, first_block + 1, ... under `seed` (deeplite/kernels/dl_philox.h).
template <typename T>
void DropoutMask(T* out, Index n, double p, std::uint64_t seed, std::uint64_t first_block);

}  // namespace deeplite::cpu
