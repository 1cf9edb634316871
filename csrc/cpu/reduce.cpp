// Reductions along one axis (sum, max) and the row-wise softmax.
// float32 sums accumulate in double: as accurate as NumPy's pairwise sum, and the loop is bound by
// memory, not by the conversion.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dl_math.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

// Reductions split at half the common grain (kernels.h), the value they were tuned at.
constexpr Index kReduceGrain = kGrain / 2;

template <typename T>
using Acc = double;  // accumulator type of a sum over T

// max that propagates NaN, as numpy.max does.
template <typename T>
inline T NanMax(T best, T x) {
  return (x > best || x != x) ? x : best;
}

// One (length x inner) slab: out[j] = sum_i x[i * inner + j], for j in [lo, hi).
template <typename T>
DL_CLONES void SumSlab(const T* x, T* out, Index length, Index inner, Index lo, Index hi) {
  if (inner == 1) {  // contiguous run: a SIMD reduction
    Acc<T> acc = 0;
#pragma omp simd reduction(+ : acc)
    for (Index i = 0; i < length; ++i) acc += x[i];
    out[0] = static_cast<T>(acc);
    return;
  }
  std::vector<Acc<T>> acc(hi - lo, 0);
  for (Index i = 0; i < length; ++i) {
    const T* row = x + i * inner + lo;
    for (Index j = 0; j < hi - lo; ++j) acc[j] += row[j];
  }
  for (Index j = lo; j < hi; ++j) out[j] = static_cast<T>(acc[j - lo]);
}

template <typename T>
DL_CLONES void MaxSlab(const T* x, T* out, Index length, Index inner, Index lo, Index hi) {
  for (Index j = lo; j < hi; ++j) out[j] = x[j];
  for (Index i = 1; i < length; ++i) {
    const T* row = x + i * inner;
    for (Index j = lo; j < hi; ++j) out[j] = NanMax(out[j], row[j]);
  }
}

// Runs slab(x_o, out_o, length, inner, lo, hi) over all outer slices, in parallel over whichever
// of outer or inner offers the threads more work.
template <typename T, typename Slab>
void ReduceAxis(Slab slab, const T* x, T* out, Index outer, Index length, Index inner) {
  const Index per_item = std::max<Index>(1, length);
  if (outer >= inner) {
    const Index outer_grain = std::max<Index>(1, kReduceGrain / (per_item * inner));
    ParallelFor(outer, outer_grain, [&](Index lo, Index hi) {
      for (Index o = lo; o < hi; ++o) slab(x + o * length * inner, out + o * inner, length, inner, 0, inner);
    });
  } else {
    for (Index o = 0; o < outer; ++o) {
      ParallelFor(inner, std::max<Index>(16, kReduceGrain / per_item), [&](Index lo, Index hi) {
        slab(x + o * length * inner, out + o * inner, length, inner, lo, hi);
      });
    }
  }
}

template <typename T>
DL_CLONES void SoftmaxRow(const T* x, T* y, Index cols, bool log) {
  // Shift by the row max so exp never overflows.
  T top = -std::numeric_limits<T>::infinity();
  for (Index j = 0; j < cols; ++j) top = NanMax(top, x[j]);
  Acc<T> total = 0;
  for (Index j = 0; j < cols; ++j) {
    y[j] = dlmath::Exp(x[j] - top);  // the shared vectorisable exp (argument <= 0)
    total += y[j];
  }
  if (log) {
    const T log_total = static_cast<T>(std::log(total));
    for (Index j = 0; j < cols; ++j) y[j] = (x[j] - top) - log_total;
  } else {
    const T scale = static_cast<T>(1 / total);
    for (Index j = 0; j < cols; ++j) y[j] *= scale;
  }
}

}  // namespace

template <typename T>
void SumAxis(const T* x, T* out, Index outer, Index length, Index inner) {
  ReduceAxis(SumSlab<T>, x, out, outer, length, inner);
}

template <typename T>
void MaxAxis(const T* x, T* out, Index outer, Index length, Index inner) {
  ReduceAxis(MaxSlab<T>, x, out, outer, length, inner);
}

template <typename T>
void SoftmaxRows(const T* x, T* y, Index rows, Index cols, bool log) {
  const Index row_grain = std::max<Index>(1, kReduceGrain / std::max<Index>(1, cols));
  ParallelFor(rows, row_grain, [&](Index lo, Index hi) {
    for (Index r = lo; r < hi; ++r) SoftmaxRow(x + r * cols, y + r * cols, cols, log);
  });
}

#define DL_INSTANTIATE(T)                                            \
  template void SumAxis<T>(const T*, T*, Index, Index, Index);       \
  template void MaxAxis<T>(const T*, T*, Index, Index, Index);       \
  template void SoftmaxRows<T>(const T*, T*, Index, Index, bool);
DL_INSTANTIATE(float)
DL_INSTANTIATE(double)
#undef DL_INSTANTIATE

}  // namespace deeplite::cpu
