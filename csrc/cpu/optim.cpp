// Fused optimizer updates: PyTorch's rules in one pass over each parameter, in place.
// Each mirrors the reference composition in deeplite/backends/fallbacks.py operation for operation,
// with every constant rounded to the parameter's dtype first, so float32 results match it closely.
#include <cmath>

#include "kernels.h"

namespace deeplite::cpu {

namespace {

constexpr Index kGrain = Index(1) << 15;

// The gradient as PyTorch's optimizers first transform it: negated to maximize, plus L2 decay.
template <typename T>
inline T Decayed(T p, T g, T weight_decay, bool maximize) {
  if (maximize) g = -g;
  return weight_decay != T(0) ? g + p * weight_decay : g;
}

// One loop per case (no momentum / first step / later steps, each with or without Nesterov), so
// every loop body is branch-free and vectorises; __restrict: the state arrays never overlap.
template <typename T, bool kFirst, bool kNesterov>
DL_CLONES void SgdMomentumLoop(T* __restrict p, const T* __restrict g, T* __restrict buf, Index n,
                               T lr, T momentum, T keep, T wd, bool maximize) {
  for (Index i = 0; i < n; ++i) {
    const T grad = Decayed(p[i], g[i], wd, maximize);
    const T b = kFirst ? grad : buf[i] * momentum + grad * keep;
    buf[i] = b;
    p[i] = p[i] - (kNesterov ? grad + b * momentum : b) * lr;
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

template <typename T>
DL_CLONES void AdamChunk(T* p, const T* g, T* m, T* v, T* vmax, Index n, double step,
                         AdamConfig c) {
  const T beta1 = T(c.beta1), beta2 = T(c.beta2), eps = T(c.eps);
  const T keep1 = T(1 - c.beta1), keep2 = T(1 - c.beta2);
  const T shrink = T(1 - c.lr * c.weight_decay);  // AdamW's decoupled decay
  const T l2 = c.decoupled ? T(0) : T(c.weight_decay);
  const T correction2 = T(std::sqrt(1 - std::pow(c.beta2, step)));
  const T step_size = T(c.lr / (1 - std::pow(c.beta1, step)));
  for (Index i = 0; i < n; ++i) {
    const T grad = Decayed(p[i], g[i], l2, c.maximize);
    if (c.decoupled) p[i] = p[i] * shrink;
    m[i] = m[i] * beta1 + grad * keep1;
    v[i] = v[i] * beta2 + (grad * grad) * keep2;
    T second = v[i];
    if (vmax) second = vmax[i] = std::max(vmax[i], v[i]);
    const T denom = std::sqrt(second) / correction2 + eps;
    p[i] = p[i] - (m[i] / denom) * step_size;
  }
}

template <typename T>
DL_CLONES void RmspropChunk(T* p, const T* g, T* sq, T* ga, T* buf, Index n, RmspropConfig c) {
  const T alpha = T(c.alpha), keep = T(1 - c.alpha), eps = T(c.eps), lr = T(c.lr);
  const T wd = T(c.weight_decay), momentum = T(c.momentum);
  for (Index i = 0; i < n; ++i) {
    const T grad = Decayed(p[i], g[i], wd, c.maximize);
    sq[i] = sq[i] * alpha + (grad * grad) * keep;
    T avg;
    if (ga) {
      ga[i] = ga[i] * alpha + grad * keep;
      avg = std::sqrt(sq[i] - ga[i] * ga[i]) + eps;
    } else {
      avg = std::sqrt(sq[i]) + eps;
    }
    if (buf) {
      buf[i] = buf[i] * momentum + grad / avg;
      p[i] = p[i] - buf[i] * lr;
    } else {
      p[i] = p[i] - (grad / avg) * lr;
    }
  }
}

template <typename T>
DL_CLONES void AdagradChunk(T* p, const T* g, T* state_sum, Index n, double step,
                            AdagradConfig c) {
  const T clr = T(c.lr / (1 + (step - 1) * c.lr_decay)), eps = T(c.eps), wd = T(c.weight_decay);
  for (Index i = 0; i < n; ++i) {
    const T grad = Decayed(p[i], g[i], wd, c.maximize);
    state_sum[i] = state_sum[i] + grad * grad;
    p[i] = p[i] - (grad / (std::sqrt(state_sum[i]) + eps)) * clr;
  }
}

// Offsets a pointer that may be null (an absent state buffer).
template <typename T>
inline T* At(T* base, Index offset) {
  return base ? base + offset : nullptr;
}

}  // namespace

template <typename T>
void SgdStep(T* p, const T* g, T* buf, Index n, const SgdConfig& c) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    SgdChunk(p + lo, g + lo, At(buf, lo), hi - lo, c);
  });
}

template <typename T>
void AdamStep(T* p, const T* g, T* m, T* v, T* vmax, Index n, double step, const AdamConfig& c) {
  ParallelFor(n, kGrain, [&](Index lo, Index hi) {
    AdamChunk(p + lo, g + lo, m + lo, v + lo, At(vmax, lo), hi - lo, step, c);
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

#define DL_INSTANTIATE(T)                                                                    \
  template void SgdStep<T>(T*, const T*, T*, Index, const SgdConfig&);                       \
  template void AdamStep<T>(T*, const T*, T*, T*, T*, Index, double, const AdamConfig&);     \
  template void RmspropStep<T>(T*, const T*, T*, T*, T*, Index, const RmspropConfig&);       \
  template void AdagradStep<T>(T*, const T*, T*, Index, double, const AdagradConfig&);
DL_INSTANTIATE(float)
DL_INSTANTIATE(double)
#undef DL_INSTANTIATE

}  // namespace deeplite::cpu
