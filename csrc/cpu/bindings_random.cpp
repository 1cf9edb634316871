// Bindings of the counter-based random kernels (random.cpp, dl_philox.h): the eager dropout mask,
// the raw Philox4x32-10 block (for the known-answer tests) and deeplite._C.Plan's dropout op.
#include "bindings_plan.h"
#include "dl_philox.h"

namespace deeplite::cpu::bind {

namespace {

// Two 32-bit words (low, high) as one 64-bit number; ValueError for a word outside [0, 2^32).
std::uint64_t Join(const std::vector<std::int64_t>& words, const char* what) {
  if (words.size() != 2) throw py::value_error(std::string(what) + ": expected 2 words");
  for (std::int64_t word : words) {
    if (word < 0 || word > std::int64_t(0xFFFFFFFFu)) {
      throw py::value_error(std::string(what) + ": each word must be in [0, 2**32)");
    }
  }
  return std::uint64_t(words[0]) | std::uint64_t(words[1]) << 32;
}

void CheckProbability(double p) {
  if (!(p >= 0.0 && p < 1.0)) throw py::value_error("dropout_mask: p must be in [0, 1)");
}

// Fills `out` (float32 or float64, C-contiguous, writeable) with the mask; GIL released.
void DropoutMaskInto(py::handle out, double p, const std::vector<std::int64_t>& key,
                     const std::vector<std::int64_t>& counter) {
  CheckProbability(p);
  const std::uint64_t seed = Join(key, "dropout_mask key"), block = Join(counter, "dropout_mask counter");
  ForFloat(out, [&](auto tag) {
    using T = decltype(tag);
    T* data = Buffer<T>(out, true);
    const Index n = py::reinterpret_borrow<py::array>(out).size();
    py::gil_scoped_release release;
    deeplite::cpu::DropoutMask<T>(data, n, p, seed, block);
  });
}

py::tuple Philox(const std::vector<std::uint32_t>& counter, const std::vector<std::uint32_t>& key) {
  if (counter.size() != 4 || key.size() != 2) {
    throw py::value_error("philox4x32: expected 4 counter words and 2 key words");
  }
  const dlphilox::Block out =
      dlphilox::Philox4x32(dlphilox::Block{{counter[0], counter[1], counter[2], counter[3]}},
                           key[0], key[1]);
  return py::make_tuple(out.w[0], out.w[1], out.w[2], out.w[3]);
}

// A block-held word pair as one 64-bit number (the words are integers below 2^32).
inline std::uint64_t Wide(const double* s, int low, int high) {
  return std::uint64_t(s[low]) | std::uint64_t(s[high]) << 32;
}

}  // namespace

void PyPlan::DropoutMask(py::handle out, double p, std::vector<int> key_slots,
                         std::vector<int> counter_slots) {
  CheckProbability(p);
  if (key_slots.size() != 2 || counter_slots.size() != 2) throw Unsupported();
  for (int slot : key_slots) CheckSlot(slot);
  for (int slot : counter_slots) CheckSlot(slot);
  const int k0 = key_slots[0], k1 = key_slots[1], c0 = counter_slots[0], c1 = counter_slots[1];
  ForFloat(out, [&](auto tag) {
    using T = decltype(tag);
    T* data = Buffer<T>(out, true);
    const Index n = py::reinterpret_borrow<py::array>(out).size();
    Keep({out});
    plan_.Add([=](const double* s) {
      deeplite::cpu::DropoutMask<T>(data, n, p, Wide(s, k0, k1), Wide(s, c0, c1));
    });
  });
}

void BindRandom(py::module_& m) {
  using namespace pybind11::literals;
  m.def("dropout_mask_into", &DropoutMaskInto, "out"_a, "p"_a, "key"_a, "counter"_a,
        "Fill out with a dropout mask of the Philox stream: 1 / (1 - p) where kept, else 0.");
  m.def("philox4x32", &Philox, "counter"_a, "key"_a,
        "One Philox4x32-10 block: the 4 output words of a 4-word counter under a 2-word key.");
}

}  // namespace deeplite::cpu::bind
