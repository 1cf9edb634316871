// Fused elementwise and loss kernels of the cuda backend (deeplite/backends/cuda_backend.py).
// Loaded by cupy.RawModule through NVRTC with -I deeplite/kernels, and compiled by CI with nvcc:
// no host headers. Each template is stamped out per storage type by extern "C" wrappers named
// <kernel>_<f16|f32|f64>, stable names for Python and for profilers. The per-element formulas
// come from dl_math.h, the very code the C++ backend runs.
#include "dl_cuda.h"
#include "dl_math.h"

// float16 storage with float32 arithmetic; the conversions are PTX, so no CUDA header is needed.
struct half_t {
  unsigned short bits;
};

template <typename T> struct Compute { typedef T type; };
template <> struct Compute<half_t> { typedef float type; };
// What a long serial sum accumulates in: double for every float type, the type itself for ints.
template <typename T> struct Accumulate { typedef double type; };
template <> struct Accumulate<int> { typedef int type; };
template <> struct Accumulate<long long> { typedef long long type; };

__device__ __forceinline__ float Widen(float x) { return x; }
__device__ __forceinline__ double Widen(double x) { return x; }
__device__ __forceinline__ int Widen(int x) { return x; }
__device__ __forceinline__ long long Widen(long long x) { return x; }
__device__ __forceinline__ float Widen(half_t x) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits));
  return f;
}

template <typename T>
__device__ __forceinline__ T Narrow(typename Compute<T>::type x) { return x; }
template <>
__device__ __forceinline__ half_t Narrow<half_t>(float x) {
  half_t h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(x));
  return h;
}

__device__ __forceinline__ float QuietNan(float) { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ double QuietNan(double) { return __longlong_as_double(0x7ff8000000000000LL); }

// Four consecutive elements: one 8/16/32-byte memory transaction instead of four.
template <typename T> struct alignas(4 * sizeof(T)) Pack4 { T v[4]; };

// Elements base..base+3 of a; one vector load when `vec` (the host found every array aligned) and
// the group is whole, else element by element (slots past n repeat a[base] and are never stored).
template <typename T>
__device__ __forceinline__ Pack4<T> Load4(const T* a, long long base, long long n, bool vec) {
  if (vec && base + 4 <= n) return reinterpret_cast<const Pack4<T>*>(a)[base >> 2];
  Pack4<T> p;
#pragma unroll
  for (int j = 0; j < 4; ++j) p.v[j] = a[base + j < n ? base + j : base];
  return p;
}

template <typename T>
__device__ __forceinline__ void Store4(T* a, const Pack4<T>& p, long long base, long long n, bool vec) {
  if (vec && base + 4 <= n) {
    reinterpret_cast<Pack4<T>*>(a)[base >> 2] = p;
    return;
  }
#pragma unroll
  for (int j = 0; j < 4; ++j)
    if (base + j < n) a[base + j] = p.v[j];
}

// i % cols in 32-bit arithmetic where it fits: 64-bit division is slow on GPUs.
__device__ __forceinline__ long long ColumnOf(long long i, long long cols) {
  if (i < 4294967296LL && cols < 4294967296LL) return (unsigned)i % (unsigned)cols;
  return i % cols;
}

template <typename C> __device__ __forceinline__ C WarpSum(C v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename C> __device__ __forceinline__ C WarpMax(C v) {
  for (int o = 16; o > 0; o >>= 1) {
    C other = __shfl_xor_sync(0xffffffffu, v, o);
    v = other > v ? other : v;
  }
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, every thread calling); thread 0 gets it.
__device__ __forceinline__ double BlockSum(double v) {
  __shared__ double warp_sums[32];
  v = WarpSum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) v = WarpSum(lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0);
  return v;
}

// y = act(x + bias[column]); bias may be null; y may be x (in place on a GEMM's output).
template <typename T>
__device__ __forceinline__ void BiasAct(const T* x, const T* bias, T* y, long long n, long long cols,
                                        long long act, double slope, bool vec) {
  typedef typename Compute<T>::type C;
  const C s = C(slope);
  for (long long base = 4 * FirstThread(); base < n; base += 4 * ThreadCount()) {
    Pack4<T> v = Load4(x, base, n, vec);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      C t = Widen(v.v[j]);
      if (bias) t += Widen(bias[ColumnOf(base + j < n ? base + j : base, cols)]);
      v.v[j] = Narrow<T>(dlmath::ActForward(int(act), t, s));
    }
    Store4(y, v, base, n, vec);
  }
}

// gx = gy * act'(x), from the activation's output y.
template <typename T>
__device__ __forceinline__ void ActGrad(const T* y, const T* gy, T* gx, long long n, long long act,
                                        double slope, bool vec) {
  typedef typename Compute<T>::type C;
  const C s = C(slope);
  for (long long base = 4 * FirstThread(); base < n; base += 4 * ThreadCount()) {
    Pack4<T> yv = Load4(y, base, n, vec), gv = Load4(gy, base, n, vec);
#pragma unroll
    for (int j = 0; j < 4; ++j)
      gv.v[j] = Narrow<T>(dlmath::ActGradFromOutput(int(act), Widen(yv.v[j]), Widen(gv.v[j]), s));
    Store4(gx, gv, base, n, vec);
  }
}

// One pass of binary cross-entropy on logits: dz = (sigmoid(z) - y) * scale, and either the
// per-element loss (loss non-null) or this block's loss sum in double (partial non-null).
template <typename T>
__device__ __forceinline__ void SigmoidBce(const T* z, const T* y, T* dz, T* loss, double* partial,
                                           long long n, double scale, bool vec) {
  typedef typename Compute<T>::type C;
  const C s = C(scale);
  double acc = 0.0;  // double: a float32 running sum over 64M terms would lose digits
  for (long long base = 4 * FirstThread(); base < n; base += 4 * ThreadCount()) {
    Pack4<T> zv = Load4(z, base, n, vec), yv = Load4(y, base, n, vec), gv, lv;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const C zj = Widen(zv.v[j]), yj = Widen(yv.v[j]);
      const C term = dlmath::BceTerm(zj, yj);
      gv.v[j] = Narrow<T>(dlmath::BceGrad(zj, yj) * s);
      lv.v[j] = Narrow<T>(term);
      if (base + j < n) acc += double(term);
    }
    Store4(dz, gv, base, n, vec);
    if (loss) Store4(loss, lv, base, n, vec);
  }
  if (partial) {
    const double total = BlockSum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
  }
}

// Softmax cross-entropy, one warp per row of z (rows, cols): dz = (softmax(z) - onehot) * scale and
// the row's loss logsumexp(z) - z[label], stored as T in loss (reduction "none") or summed, in
// double, into this block's partial (the first stage of the reduction; sum_partials is the
// second). A label outside [0, cols) gives a NaN loss (checking on the host would cost a sync).
// exp is dl_math.h's, the C++ backend's; log of the row sum (>= 1) is CUDA's.
template <typename T>
__device__ __forceinline__ void SoftmaxCe(const T* z, const long long* labels, T* dz, T* loss,
                                          double* partial, long long rows, long long cols,
                                          double scale) {
  typedef typename Compute<T>::type C;
  const int lane = threadIdx.x & 31;
  const C s = C(scale);
  double acc = 0.0;  // lane 0's running sum of its warp's row losses
  // Every lane of a warp has the same row, so the warp leaves the loop together; the whole block
  // then meets in BlockSum.
  for (long long row = FirstThread() >> 5; row < rows; row += ThreadCount() >> 5) {
    const T* zr = z + row * cols;
    T* gr = dz + row * cols;
    // shift by the row's max so exp never overflows.
    C top = Widen(zr[0]);
    for (long long c = lane; c < cols; c += 32) top = Widen(zr[c]) > top ? Widen(zr[c]) : top;
    top = WarpMax(top);
    C total = C(0);
    for (long long c = lane; c < cols; c += 32) total += dlmath::Exp(Widen(zr[c]) - top);
    const C lse = top + log(WarpSum(total));
    const long long label = labels[row];
    for (long long c = lane; c < cols; c += 32)
      gr[c] = Narrow<T>((dlmath::Exp(Widen(zr[c]) - lse) - C(c == label)) * s);
    if (lane == 0) {
      const C row_value = label >= 0 && label < cols ? lse - Widen(zr[label]) : QuietNan(C(0));
      if (loss) loss[row] = Narrow<T>(row_value);
      else acc += double(row_value);
    }
  }
  if (partial) {
    const double total = BlockSum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
  }
}

// index_add without atomics: targets sorted (order maps them back to values); the first thread of
// each run of equal targets sums the run in a fixed order and writes out[target], so repeated
// indices add up the same way on every run. A run's start is where the target changes.
template <typename T>
__device__ __forceinline__ void SegmentSum(const T* values, const long long* order,
                                           const long long* targets, T* out, long long n) {
  typedef typename Accumulate<T>::type A;
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    const long long target = targets[i];
    if (i > 0 && targets[i - 1] == target) continue;
    A acc = A(0);
    for (long long j = i; j < n && targets[j] == target; ++j) acc += A(Widen(values[order[j]]));
    out[target] = Narrow<T>(typename Compute<T>::type(acc));
  }
}

// out = scale * sum(partial): the second, deterministic stage of a loss reduction (one block).
template <typename T>
__device__ __forceinline__ void SumPartials(const double* partial, long long count, double scale, T* out) {
  double acc = 0.0;
  for (long long i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  const double total = BlockSum(acc);
  if (threadIdx.x == 0) *out = Narrow<T>(typename Compute<T>::type(total * scale));
}

#define DL_FUSED_KERNELS(SUFFIX, T)                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                                  \
      bias_act_##SUFFIX(const T* x, const T* bias, T* y, long long n, long long cols, long long act, \
                        double slope, long long vec) {                                               \
    BiasAct<T>(x, bias, y, n, cols, act, slope, vec != 0);                                           \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                                  \
      act_grad_##SUFFIX(const T* y, const T* gy, T* gx, long long n, long long act, double slope,    \
                        long long vec) {                                                             \
    ActGrad<T>(y, gy, gx, n, act, slope, vec != 0);                                                  \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                                  \
      sigmoid_bce_##SUFFIX(const T* z, const T* y, T* dz, T* loss, double* partial, long long n,     \
                           double scale, long long vec) {                                            \
    SigmoidBce<T>(z, y, dz, loss, partial, n, scale, vec != 0);                                      \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                                  \
      softmax_ce_##SUFFIX(const T* z, const long long* labels, T* dz, T* loss, double* partial,      \
                          long long rows, long long cols, double scale) {                            \
    SoftmaxCe<T>(z, labels, dz, loss, partial, rows, cols, scale);                                   \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                     \
      segment_sum_##SUFFIX(const T* values, const long long* order, const long long* targets, T* out, \
                           long long n) {                                                            \
    SegmentSum<T>(values, order, targets, out, n);                                                   \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                                  \
      sum_partials_##SUFFIX(const double* partial, long long count, double scale, T* out) {          \
    SumPartials<T>(partial, count, scale, out);                                                      \
  }

// Integer scatter-adds too (CuPy 13's add.at refuses int64), summed exactly in their own type.
#define DL_SEGMENT_KERNEL(SUFFIX, T)                                                                  \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                     \
      segment_sum_##SUFFIX(const T* values, const long long* order, const long long* targets, T* out, \
                           long long n) {                                                            \
    SegmentSum<T>(values, order, targets, out, n);                                                   \
  }

DL_SEGMENT_KERNEL(i32, int)
DL_SEGMENT_KERNEL(i64, long long)
DL_FUSED_KERNELS(f16, half_t)
DL_FUSED_KERNELS(f32, float)
DL_FUSED_KERNELS(f64, double)
