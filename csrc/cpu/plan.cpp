// Running a captured step: the ops were bound to their buffers when the plan was built
// (bindings_plan.cpp), so a replay is a loop of direct kernel calls.
#include "plan.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

namespace deeplite::cpu {

void Plan::Run(const double* scalars) const {
  for (const Op& op : ops_) op(scalars);
}

namespace {

template <typename T, typename Op>
void CompareLoop(const T* full, const T* small, std::uint8_t* out, Index n, Index period,
                 bool small_first, Op op) {
  for (Index i = 0; i < n; ++i) {
    const T a = full[i], b = small[i % period];
    out[i] = small_first ? op(b, a) : op(a, b);
  }
}

}  // namespace

template <typename T>
void Compare(int op, const T* full, const T* small, std::uint8_t* out, Index n, Index period,
             bool small_first) {
  switch (op) {
    case 0: return CompareLoop(full, small, out, n, period, small_first, std::equal_to<T>());
    case 1: return CompareLoop(full, small, out, n, period, small_first, std::not_equal_to<T>());
    case 2: return CompareLoop(full, small, out, n, period, small_first, std::less<T>());
    case 3: return CompareLoop(full, small, out, n, period, small_first, std::less_equal<T>());
    case 4: return CompareLoop(full, small, out, n, period, small_first, std::greater<T>());
    default: return CompareLoop(full, small, out, n, period, small_first, std::greater_equal<T>());
  }
}

template <typename T>
void ArgmaxRows(const T* a, Index rows, Index cols, std::int64_t* out) {
  for (Index r = 0; r < rows; ++r) {
    const T* row = a + r * cols;
    Index best = 0;
    for (Index c = 0; c < cols; ++c) {
      if (row[c] != row[c]) {  // NaN: NumPy returns the first one
        best = c;
        break;
      }
      if (row[c] > row[best]) best = c;
    }
    out[r] = best;
  }
}

void CountTrue(const std::uint8_t* a, Index n, std::int64_t* out) {
  std::int64_t count = 0;
  for (Index i = 0; i < n; ++i) count += a[i] != 0;
  *out = count;
}

template void Compare<float>(int, const float*, const float*, std::uint8_t*, Index, Index, bool);
template void Compare<double>(int, const double*, const double*, std::uint8_t*, Index, Index, bool);
template void Compare<std::int64_t>(int, const std::int64_t*, const std::int64_t*, std::uint8_t*,
                                    Index, Index, bool);
template void Compare<std::uint8_t>(int, const std::uint8_t*, const std::uint8_t*, std::uint8_t*,
                                    Index, Index, bool);
template void ArgmaxRows<float>(const float*, Index, Index, std::int64_t*);
template void ArgmaxRows<double>(const double*, Index, Index, std::int64_t*);

void CheckLabelRange(const std::int64_t* labels, Index n, Index classes) {
  if (n == 0) return;
  const auto [low, high] = std::minmax_element(labels, labels + n);
  if (*low < 0 || *high >= classes) {
    const std::int64_t bad = *low < 0 ? *low : *high;
    throw std::invalid_argument("cross_entropy: label " + std::to_string(bad) +
                                " is out of range for " + std::to_string(classes) + " classes");
  }
}

void WrapLabels(const std::int64_t* labels, Index rows, Index cols, std::int64_t* wrapped) {
  for (Index r = 0; r < rows; ++r) {
    const std::int64_t label = labels[r];
    if (label < -cols || label >= cols) {
      // The eager kernel's message, word for word.
      throw std::out_of_range("softmax_ce: label " + std::to_string(label) +
                              " out of range for " + std::to_string(cols) + " classes");
    }
    wrapped[r] = label < 0 ? label + cols : label;
  }
}

}  // namespace deeplite::cpu
