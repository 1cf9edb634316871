// A captured training step (deeplite.jit): the step's kernels, bound to fixed buffers, run in order
// by one call. No Python and no allocation at replay; scalars that change between steps (learning
// rates, Adam's step counts) are read from a small block of doubles the caller refreshes.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels.h"

namespace deeplite::cpu {

class Plan {
 public:
  // One kernel call; `scalars` is the block of per-step scalars, read at run time.
  using Op = std::function<void(const double* scalars)>;

  void Add(Op op) { ops_.push_back(std::move(op)); }
  std::size_t Size() const { return ops_.size(); }
  // Runs every op in order (the caller releases the GIL).
  void Run(const double* scalars) const;

 private:
  std::vector<Op> ops_;
};

// Labels of softmax_ce checked as the eager kernel does: negative ones count from the end;
// one outside [-cols, cols) throws std::out_of_range naming it (IndexError in Python).
// Kernels only a plan uses (eager runs NumPy's), with NumPy's results: the accuracy count of a
// training step, predictions == targets summed.
// Comparison codes in the order of contract.REQUIRED: eq, ne, lt, le, gt, ge. out[i] = full[i] op
// small[i % period] (small op full when small_first), as 0/1 bytes.
template <typename T>
void Compare(int op, const T* full, const T* small, std::uint8_t* out, Index n, Index period,
             bool small_first);
// Index of each row's maximum (the first one; the first NaN if there is one), as np.argmax.
template <typename T>
void ArgmaxRows(const T* a, Index rows, Index cols, std::int64_t* out);
// Number of nonzero bytes, as np.sum of a bool array.
void CountTrue(const std::uint8_t* a, Index n, std::int64_t* out);

// cross_entropy's label check: every label in [0, classes), else std::invalid_argument (ValueError)
// with the eager message.
void CheckLabelRange(const std::int64_t* labels, Index n, Index classes);

void WrapLabels(const std::int64_t* labels, Index rows, Index cols, std::int64_t* wrapped);

}  // namespace deeplite::cpu
