// Fused losses: the loss and its gradient with respect to the logits in one pass over the logits.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "dl_math.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

constexpr Index kGrain = Index(1) << 15;
constexpr int kNone = 0, kMean = 1;

// The gradient's scale under a reduction: 1/N for the mean (N at least 1, as in fallbacks.py).
inline double GradScale(int reduction, Index n) {
  return reduction == kMean ? 1.0 / static_cast<double>(std::max<Index>(n, 1)) : 1.0;
}

// Elements [0, n) of z, y: dz = BceGrad * scale, and either the loss per element or its sum.
template <typename T>
DL_CLONES double BceChunk(const T* z, const T* y, Index n, T scale, T* loss, T* dz) {
  double total = 0;
  for (Index i = 0; i < n; ++i) {
    const T term = dlmath::BceTerm(z[i], y[i]);
    dz[i] = dlmath::BceGrad(z[i], y[i]) * scale;
    if (loss) {
      loss[i] = term;
    } else {
      total += term;
    }
  }
  return total;
}

// One row of softmax cross-entropy: returns the row's loss, writes (softmax - onehot) * scale.
template <typename T>
DL_CLONES double CeRow(const T* z, std::int64_t label, Index cols, T scale, T* dz) {
  T top = -std::numeric_limits<T>::infinity();
  for (Index j = 0; j < cols; ++j) top = std::max(top, z[j]);
  double total = 0;
  for (Index j = 0; j < cols; ++j) {
    dz[j] = std::exp(z[j] - top);  // shifted by the max: exp never overflows
    total += dz[j];
  }
  const T factor = static_cast<T>(scale / total);
  for (Index j = 0; j < cols; ++j) dz[j] *= factor;
  dz[label] -= scale;
  return std::log(total) - static_cast<double>(z[label] - top);
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
  double total = 0;
  std::mutex lock;
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    T* loss_part = reduction == kNone ? loss + lo : nullptr;
    const double part = BceChunk(z + lo, y + lo, hi - lo, scale, loss_part, dz + lo);
    std::lock_guard<std::mutex> guard(lock);
    total += part;
  });
  if (reduction != kNone) StoreTotal(total, reduction, n, loss);
}

template <typename T>
void SoftmaxCe(const T* z, const std::int64_t* labels, Index rows, Index cols, int reduction,
               T* loss, T* dz) {
  const T scale = static_cast<T>(GradScale(reduction, rows));
  double total = 0;
  std::mutex lock;
  ParallelFor(rows, std::max<Index>(1, kGrain / std::max<Index>(cols, 1)), [&](Index lo, Index hi) {
    double part = 0;
    for (Index r = lo; r < hi; ++r) {
      const double row_loss = CeRow(z + r * cols, labels[r], cols, scale, dz + r * cols);
      if (reduction == kNone) loss[r] = static_cast<T>(row_loss);
      part += row_loss;
    }
    std::lock_guard<std::mutex> guard(lock);
    total += part;
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
