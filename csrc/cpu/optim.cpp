// Fused optimizer updates: PyTorch's rules in one pass over each parameter, in place, threaded.
// The rules themselves are deeplite/kernels/dl_optim.h's, shared with the CUDA kernels; each
// mirrors the reference composition in deeplite/backends/fallbacks.py operation for operation,
// with every constant rounded to the parameter's dtype first; built without FMA contraction
// (setup.py), the results equal it bit for bit (tests/test_cpu_backend.py's run_optimizer).
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "dl_optim.h"
#include "kernels.h"

namespace deeplite::cpu {

namespace {

using dlmath::Decayed;

// One loop per case (no momentum / first step / later steps, each with or without Nesterov), so
// every loop body is branch-free and vectorises; __restrict: the state arrays never overlap.
template <typename T, bool kFirst, bool kNesterov>
DL_CLONES void SgdMomentumLoop(T* __restrict p, const T* __restrict g, T* __restrict buf, Index n,
                               T lr, T momentum, T keep, T wd, bool maximize) {
  for (Index i = 0; i < n; ++i) {
    const T grad = Decayed(p[i], g[i], wd, maximize);
    const T b = dlmath::SgdBuffer(grad, buf[i], momentum, keep, kFirst);
    buf[i] = b;
    p[i] = p[i] - dlmath::SgdDirection(grad, b, momentum, kNesterov) * lr;
  }
}

template <typename T>
DL_CLONES void SgdPlainLoop(T* __restrict p, const T* __restrict g, Index n, T lr, T wd,
                            bool maximize) {
  for (Index i = 0; i < n; ++i) p[i] = p[i] - Decayed(p[i], g[i], wd, maximize) * lr;
}

template <typename T>
void SgdChunk(T* p, const T* g, T* buf, Index n, SgdConfig c) {
  const T lr = T(c.lr), momentum = T(c.momentum), keep = T(1 - c.dampening), wd = T(c.weight_decay);
  if (!buf) return SgdPlainLoop(p, g, n, lr, wd, c.maximize);
  const auto loop = c.first ? (c.nesterov ? SgdMomentumLoop<T, true, true>
                                           : SgdMomentumLoop<T, true, false>)
                            : (c.nesterov ? SgdMomentumLoop<T, false, true>
                                          : SgdMomentumLoop<T, false, false>);
  loop(p, g, buf, n, lr, momentum, keep, wd, c.maximize);
}

// One loop per case (AMSGrad, the division, AdamW's decay, maximize), so the loop body has no
// per-element branch on them: the scalars by value and __restrict (the arrays never overlap)
// keep it vectorised. (With decoupled and maximize as arguments GCC 12 left the body with the
// division by FMA corrections unvectorised: 85 us instead of 16 for 38k floats.)
template <typename T, bool kAmsgrad, bool kShared, bool kDecoupled, bool kMaximize>
DL_CLONES void AdamLoop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                        T* __restrict vmax, Index n, const dlmath::AdamScalars<T> s) {
  using Divide = std::conditional_t<kShared, dlmath::SharedDivide, dlmath::PlainDivide>;
  for (Index i = 0; i < n; ++i) {
    dlmath::AdamElement(p[i], g[i], m[i], v[i], kAmsgrad ? vmax + i : nullptr, s, kDecoupled,
                        kMaximize, Divide());
  }
}

// Whether this CPU has FMA instructions: without them std::fma is a library call per element,
// slower than the division it would save (x86-64 before Haswell / Piledriver).
bool HardwareFma() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("fma");
  return has;
#else
  return true;  // aarch64 and the other targets deeplite builds on have it
#endif
}

// f(std::true_type{}) or f(std::false_type{}): a runtime flag as a compile-time one.
template <typename F>
void WithFlag(bool flag, F&& f) {
  if (flag) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

template <typename T, typename Divide>
DL_CLONES void DivideLoop(const T* __restrict x, T* __restrict out, Index n, T d, T inverse) {
  for (Index i = 0; i < n; ++i) out[i] = Divide()(x[i], d, inverse);
}

template <typename T>
void AdamChunk(T* p, const T* g, T* m, T* v, T* vmax, Index n, double step, AdamConfig c) {
  const T correction2 = T(std::sqrt(1 - std::pow(c.beta2, step)));
  const dlmath::AdamScalars<T> s = {
      T(c.beta1), T(c.beta2), T(1 - c.beta1), T(1 - c.beta2), T(1 - c.lr * c.weight_decay),
      c.decoupled ? T(0) : T(c.weight_decay), correction2,
      T(c.lr / (1 - std::pow(c.beta1, step))), T(c.eps), T(1) / correction2};
  WithFlag(vmax != nullptr, [&](auto amsgrad) {
    WithFlag(HardwareFma(), [&](auto shared) {
      WithFlag(c.decoupled, [&](auto decoupled) {
        WithFlag(c.maximize, [&](auto maximize) {
          AdamLoop<T, amsgrad, shared, decoupled, maximize>(p, g, m, v, vmax, n, s);
        });
      });
    });
  });
}

// One loop per case (centered or not, momentum or not): no per-element branch on the options.
template <typename T, bool kCentered, bool kMomentum>
DL_CLONES void RmspropLoop(T* __restrict p, const T* __restrict g, T* __restrict sq,
                           T* __restrict ga, T* __restrict buf, Index n, T alpha, T keep, T eps,
                           T lr, T wd, T momentum, bool maximize) {
  for (Index i = 0; i < n; ++i) {
    dlmath::RmspropElement(p[i], g[i], sq[i], kCentered ? ga + i : nullptr,
                           kMomentum ? buf + i : nullptr, alpha, keep, eps, lr, wd, momentum,
                           maximize);
  }
}

template <typename T>
void RmspropChunk(T* p, const T* g, T* sq, T* ga, T* buf, Index n, RmspropConfig c) {
  const T alpha = T(c.alpha), keep = T(1 - c.alpha), eps = T(c.eps), lr = T(c.lr);
  const T wd = T(c.weight_decay), momentum = T(c.momentum);
  const auto loop = ga ? (buf ? RmspropLoop<T, true, true> : RmspropLoop<T, true, false>)
                       : (buf ? RmspropLoop<T, false, true> : RmspropLoop<T, false, false>);
  loop(p, g, sq, ga, buf, n, alpha, keep, eps, lr, wd, momentum, c.maximize);
}

template <typename T>
DL_CLONES void AdagradChunk(T* __restrict p, const T* __restrict g, T* __restrict state_sum,
                            Index n, double step, AdagradConfig c) {
  const T clr = T(c.lr / (1 + (step - 1) * c.lr_decay)), eps = T(c.eps), wd = T(c.weight_decay);
  for (Index i = 0; i < n; ++i) {
    dlmath::AdagradElement(p[i], g[i], state_sum[i], clr, eps, wd, c.maximize);
  }
}

// float32 -> bfloat16 bits exactly as oneDNN's reorder (the cast autocast would otherwise run):
// VCVTNEPS2BF16, i.e. round to nearest even, denormal inputs to signed zero, NaN kept quiet.
// Called only where oneDNN found AMX (so AVX512_BF16 is there); the scalar form serves other builds.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void ToBfloat16(const float* src, std::uint16_t* dst, Index n) {
  Index i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<const __m256i&>(h));
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + i));
    _mm256_mask_storeu_epi16(dst + i, mask, reinterpret_cast<const __m256i&>(h));
  }
}
#else
void ToBfloat16(const float* src, std::uint16_t* dst, Index n) {
  for (Index i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, src + i, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      dst[i] = static_cast<std::uint16_t>((u >> 16) | 0x40u);
    } else if ((u & 0x7f800000u) == 0) {
      dst[i] = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    } else {
      dst[i] = static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
  }
}
#endif

// Runs update(lo, len) over [lo, hi) a block at a time and, with a shadow, writes each block's
// bfloat16 copy right after its update, while the block is still in L1 (no second pass over p).
template <typename T, typename Update>
void WithShadow(T* p, std::uint16_t* shadow, Index lo, Index hi, Update&& update) {
  if constexpr (std::is_same_v<T, float>) {
    if (shadow) {
      constexpr Index kBlock = 2048;
      for (Index start = lo; start < hi; start += kBlock) {
        const Index len = std::min(kBlock, hi - start);
        update(start, len);
        ToBfloat16(p + start, shadow + start, len);
      }
      return;
    }
  }
  update(lo, hi - lo);
}

// Offsets a pointer that may be null (an absent state buffer).
template <typename T>
inline T* At(T* base, Index offset) {
  return base ? base + offset : nullptr;
}

}  // namespace

template <typename T>
void SgdStep(T* p, const T* g, T* buf, Index n, const SgdConfig& c, std::uint16_t* shadow) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    WithShadow(p, shadow, lo, hi, [&](Index at, Index len) {
      SgdChunk(p + at, g + at, At(buf, at), len, c);
    });
  });
}

template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* vmax, Index n, double step, const AdamConfig& c,
              std::uint16_t* shadow) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    WithShadow(p, shadow, lo, hi, [&](Index at, Index len) {
      AdamChunk(p + at, g + at, m + at, v + at, At(vmax, at), len, step, c);
    });
  });
}

template <typename T>
void RmspropStep(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, Index n,
                 const RmspropConfig& c) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    RmspropChunk(p + lo, g + lo, square_avg + lo, At(grad_avg, lo), At(buf, lo), hi - lo, c);
  });
}

template <typename T>
void AdagradStep(T* p, const T* g, T* state_sum, Index n, double step, const AdagradConfig& c) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    AdagradChunk(p + lo, g + lo, state_sum + lo, hi - lo, step, c);
  });
}

template <typename T>
void DivideByShared(const T* x, T* out, Index n, T d) {
  (HardwareFma() ? DivideLoop<T, dlmath::SharedDivide> : DivideLoop<T, dlmath::PlainDivide>)(
      x, out, n, d, T(1) / d);
}

#define DL_INSTANTIATE(T)                                                                    \
  template void DivideByShared<T>(const T*, T*, Index, T);                                   \
  template void SgdStep<T>(T*, const T*, T*, Index, const SgdConfig&, std::uint16_t*);       \
  template void AdamStep<T>(T*, const T*, T*, T*, T*, Index, double, const AdamConfig&,      \
                            std::uint16_t*);                                                 \
  template void RmspropStep<T>(T*, const T*, T*, T*, T*, Index, const RmspropConfig&);       \
  template void AdagradStep<T>(T*, const T*, T*, Index, double, const AdagradConfig&);
DL_INSTANTIATE(float)
DL_INSTANTIATE(double)
#undef DL_INSTANTIATE

}  // namespace deeplite::cpu
