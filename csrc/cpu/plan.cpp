// Running a captured step: the ops were bound to their buffers when the plan was built
// (bindings_plan.cpp), so a replay is a loop of direct kernel calls.
#include "plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace deeplite::cpu {

void Plan::Run(const double* scalars) const {
  for (const Op& op : ops_) op(scalars);
}

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
