// Fused losses: the loss and its gradient with respect to the logits in one pass over the logits.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "dl_math.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

using dlmath::kMean;
using dlmath::kNone;

// The gradient's scale under a reduction: 1/N for the mean (N at least 1, as in fallbacks.py).
inline double GradScale(int reduction, Index n) {
  return reduction == kMean ? 1.0 / static_cast<double>(std::max<Index>(n, 1)) : 1.0;
}

// Elements [0, n) of z, y: dz = BceGrad * scale and loss = BceTerm, per element. dl_math.h's
// exp/log1p are branch-free arithmetic, so this loop vectorises (AVX2: 8 floats per step).
template <typename T>
DL_CLONES void BceElements(const T* z, const T* y, Index n, T scale, T* loss, T* dz) {
  for (Index i = 0; i < n; ++i) {
    // Both results before either store: a store through `loss` could alias z, and reloading z[i]
    // would stop GCC sharing exp(-|z|) and 1 / (1 + exp(-|z|)) between the term and the gradient.
    const T zi = z[i], yi = y[i];
    const T term = dlmath::BceTerm(zi, yi), grad = dlmath::BceGrad(zi, yi) * scale;
    loss[i] = term;
    dz[i] = grad;
  }
}

// Summed double accumulators, one per SIMD lane: a fixed order (deterministic), vectorisable
// without -ffast-math, and a double sum stays exact enough over 64M float terms.
constexpr Index kLanes = 8;
// Elements per tile: their losses go through a stack buffer that stays in L1.
constexpr Index kTile = 512;

// As BceElements, but returns the sum of the losses instead of storing them.
template <typename T>
DL_CLONES double BceSum(const T* z, const T* y, Index n, T scale, T* dz) {
  double lanes[kLanes] = {};
  T terms[kTile];
  for (Index lo = 0; lo < n; lo += kTile) {
    const Index len = std::min(kTile, n - lo), padded = (len + kLanes - 1) / kLanes * kLanes;
    BceElements(z + lo, y + lo, len, scale, terms, dz + lo);
    for (Index i = len; i < padded; ++i) terms[i] = T(0);
    for (Index i = 0; i < padded; i += kLanes) {
      for (Index j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(terms[i + j]);
    }
  }
  return std::accumulate(lanes, lanes + kLanes, 0.0);
}

// One row of softmax cross-entropy: returns the row's loss, writes (softmax - onehot) * scale.
template <typename T>
DL_CLONES double CeRow(const T* z, std::int64_t label, Index cols, T scale, T* dz) {
  T top = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : top)
  for (Index j = 0; j < cols; ++j) top = std::max(top, z[j]);
  for (Index j = 0; j < cols; ++j) dz[j] = dlmath::Exp(z[j] - top);  // shifted: never overflows
  double total = 0;
#pragma omp simd reduction(+ : total)
  for (Index j = 0; j < cols; ++j) total += static_cast<double>(dz[j]);
  const T factor = static_cast<T>(scale / total);
  for (Index j = 0; j < cols; ++j) dz[j] *= factor;
  dz[label] -= scale;
  return std::log(total) - static_cast<double>(z[label] - top);
}

// The sum of part(lo, hi) over fixed blocks of `block` items covering [0, count), computed on the
// thread pool and added in block order: the same result whatever the thread count (a mutex-guarded
// running total would add the threads' parts in arrival order).
template <typename Part>
double OrderedSum(Index count, Index block, const Part& part) {
  const Index blocks = (count + block - 1) / block;
  std::vector<double> partial(static_cast<std::size_t>(blocks));
  ParallelFor(blocks, 1, [&](Index first, Index last) {
    for (Index b = first; b < last; ++b) partial[b] = part(b * block, std::min(count, (b + 1) * block));
  });
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

// Finishes a reduced loss: the sum, or the sum over max(N, 1).
template <typename T>
void StoreTotal(double total, int reduction, Index n, T* loss) {
  loss[0] = static_cast<T>(total * (reduction == kMean ? GradScale(reduction, n) : 1.0));
}

}  // namespace

template <typename T>
void SigmoidBce(const T* z, const T* y, Index n, int reduction, T* loss, T* dz) {
  const T scale = static_cast<T>(GradScale(reduction, n));
  if (reduction == kNone) {
    ParallelFor(n, kGrain, [&](Index lo, Index hi) {
      BceElements(z + lo, y + lo, hi - lo, scale, loss + lo, dz + lo);
    });
    return;
  }
  const double total = OrderedSum(n, kGrain, [&](Index lo, Index hi) {
    return BceSum(z + lo, y + lo, hi - lo, scale, dz + lo);
  });
  StoreTotal(total, reduction, n, loss);
}

template <typename T>
void SoftmaxCe(const T* z, const std::int64_t* labels, Index rows, Index cols, int reduction,
               T* loss, T* dz) {
  const T scale = static_cast<T>(GradScale(reduction, rows));
  const Index rows_per_block = std::max<Index>(1, kGrain / std::max<Index>(cols, 1));
  const double total = OrderedSum(rows, rows_per_block, [&](Index lo, Index hi) {
    double part = 0;
    for (Index r = lo; r < hi; ++r) {
      const double row_loss = CeRow(z + r * cols, labels[r], cols, scale, dz + r * cols);
      if (reduction == kNone) loss[r] = static_cast<T>(row_loss);
      part += row_loss;
    }
    return part;
  });
  if (reduction != kNone) StoreTotal(total, reduction, rows, loss);
}

#define DL_INSTANTIATE(T)                                                                  \
  template void SigmoidBce<T>(const T*, const T*, Index, int, T*, T*);                     \
  template void SoftmaxCe<T>(const T*, const std::int64_t*, Index, Index, int, T*, T*);
DL_INSTANTIATE(float)
DL_INSTANTIATE(double)
#undef DL_INSTANTIATE

}  // namespace deeplite::cpu
