// Elementwise kernels: activations, their gradients, the linear epilogue and broadcasting binary ops.
// Each loop is a template on its activation or op code, so the switch folds away and the loop
// vectorises; the per-element formulas come from dl_math.h, shared with the CUDA kernels.
#include <algorithm>

#include "dl_math.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

// Elements per thread below which a second thread does not pay for its wake-up.

template <int A, typename T>
DL_CLONES void ActChunk(const T* x, T* y, Index n, T slope) {
  for (Index i = 0; i < n; ++i) y[i] = dlmath::ActForward<T>(A, x[i], slope);
}

template <int A, typename T>
DL_CLONES void ActGradChunk(const T* y, const T* gy, T* out, Index n, T slope) {
  for (Index i = 0; i < n; ++i) out[i] = dlmath::ActGradFromOutput<T>(A, y[i], gy[i], slope);
}

template <int A, typename T>
DL_CLONES void BiasActChunk(T* c, Index rows, Index cols, Index ld, const T* bias, T slope) {
  for (Index r = 0; r < rows; ++r) {
    T* row = c + r * ld;
    if (bias) {
      for (Index j = 0; j < cols; ++j) row[j] = dlmath::ActForward<T>(A, row[j] + bias[j], slope);
    } else {
      for (Index j = 0; j < cols; ++j) row[j] = dlmath::ActForward<T>(A, row[j], slope);
    }
  }
}

// The function for a runtime activation code, one instantiation per code.
template <template <int, typename> class Kernel, typename T>
auto ForAct(int act) {
  switch (act) {
    case dlmath::kRelu: return Kernel<dlmath::kRelu, T>::Run;
    case dlmath::kLeakyRelu: return Kernel<dlmath::kLeakyRelu, T>::Run;
    case dlmath::kSigmoid: return Kernel<dlmath::kSigmoid, T>::Run;
    case dlmath::kTanh: return Kernel<dlmath::kTanh, T>::Run;
    case dlmath::kSoftplus: return Kernel<dlmath::kSoftplus, T>::Run;
    default: return Kernel<dlmath::kIdentity, T>::Run;
  }
}

// Adapters so ForAct can name each family's chunk function by activation code.
template <int A, typename T>
struct ActKernel { static constexpr auto Run = &ActChunk<A, T>; };
template <int A, typename T>
struct ActGradKernel { static constexpr auto Run = &ActGradChunk<A, T>; };
template <int A, typename T>
struct BiasActKernel { static constexpr auto Run = &BiasActChunk<A, T>; };

template <int Op, typename T>
inline T Apply(T a, T b) {
  if constexpr (Op == kAdd) return a + b;
  if constexpr (Op == kSub) return a - b;
  if constexpr (Op == kMul) return a * b;
  return a / b;
}

// out[i] = full[i] op small[j] (or small[j] op full[i]) for i in [lo, hi), j = i mod period.
template <int Op, bool SmallFirst, typename T>
DL_CLONES void BinaryChunk(const T* full, const T* small, T* out, Index lo, Index hi, Index period) {
  if (period == 1) {
    const T s = small[0];
    for (Index i = lo; i < hi; ++i) out[i] = SmallFirst ? Apply<Op>(s, full[i]) : Apply<Op>(full[i], s);
    return;
  }
  for (Index i = lo, j = lo % period; i < hi; j = 0) {
    const Index len = std::min(period - j, hi - i);
    const T* f = full + i;
    const T* s = small + j;
    T* o = out + i;
    for (Index t = 0; t < len; ++t) o[t] = SmallFirst ? Apply<Op>(s[t], f[t]) : Apply<Op>(f[t], s[t]);
    i += len;
  }
}

template <int Op, typename T>
void BinaryLoop(const T* full, const T* small, T* out, Index n, Index period, bool small_first) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    if (small_first) {
      BinaryChunk<Op, true>(full, small, out, lo, hi, period);
    } else {
      BinaryChunk<Op, false>(full, small, out, lo, hi, period);
    }
  });
}

}  // namespace

template <typename T>
void ActForward(const T* x, T* y, Index n, int act, T slope) {
  auto chunk = ForAct<ActKernel, T>(act);
  ParallelFor(n, kGrain, [&](Index lo, Index hi) { chunk(x + lo, y + lo, hi - lo, slope); });
}

template <typename T>
void ActGrad(const T* y, const T* gy, T* out, Index n, int act, T slope) {
  auto chunk = ForAct<ActGradKernel, T>(act);
  ParallelFor(n, kGrain,
              [&](Index lo, Index hi) { chunk(y + lo, gy + lo, out + lo, hi - lo, slope); });
}

template <typename T>
void BiasAct(T* c, Index rows, Index cols, Index ld, const T* bias, int act, T slope) {
  ForAct<BiasActKernel, T>(act)(c, rows, cols, ld, bias, slope);
}

template <typename T>
void Binary(int op, const T* full, const T* small, T* out, Index n, Index period, bool small_first) {
  switch (op) {
    case kAdd: return BinaryLoop<kAdd>(full, small, out, n, period, small_first);
    case kSub: return BinaryLoop<kSub>(full, small, out, n, period, small_first);
    case kMul: return BinaryLoop<kMul>(full, small, out, n, period, small_first);
    default: return BinaryLoop<kDiv>(full, small, out, n, period, small_first);
  }
}

#define DL_INSTANTIATE(T)                                                              \
  template void ActForward<T>(const T*, T*, Index, int, T);                            \
  template void ActGrad<T>(const T*, const T*, T*, Index, int, T);                     \
  template void BiasAct<T>(T*, Index, Index, Index, const T*, int, T);                 \
  template void Binary<T>(int, const T*, const T*, T*, Index, Index, bool);
DL_INSTANTIATE(float)
DL_INSTANTIATE(double)
#undef DL_INSTANTIATE

}  // namespace deeplite::cpu
