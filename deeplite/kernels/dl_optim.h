// PyTorch's optimizer update rules, per element, shared by the C++ kernels (csrc/cpu/optim.cpp)
// and the CUDA kernels (deeplite/kernels/optim.cu): one definition of each rule, in the order of
// float operations of the reference compositions in deeplite/backends/fallbacks.py, so every
// backend agrees to rounding. Every constant arrives already rounded to the parameter's type T.
#pragma once

#include "dl_math.h"

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
#include <cmath>
#include <limits>
#endif

namespace dlmath {

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
using std::fma;
using std::sqrt;
#endif

// The gradient as PyTorch's optimizers first transform it: negated to maximize, plus L2 decay.
template <typename T>
DL_HD T Decayed(T p, T g, T weight_decay, bool maximize) {
  if (maximize) g = -g;
  return weight_decay != T(0) ? g + p * weight_decay : g;
}

// SGD's momentum buffer after this step: the (decayed) gradient on the first step, as PyTorch
// documents, else momentum * buf + (1 - dampening) * grad (keep = 1 - dampening).
template <typename T>
DL_HD T SgdBuffer(T grad, T buf, T momentum, T keep, bool first) {
  return first ? grad : buf * momentum + grad * keep;
}

// The direction SGD steps along: Nesterov looks ahead by one more momentum step.
template <typename T>
DL_HD T SgdDirection(T grad, T buf, T momentum, bool nesterov) {
  return nesterov ? grad + buf * momentum : buf;
}

// Adam's per-step scalars: keep = 1 - beta, shrink = 1 - lr * weight_decay (AdamW's decoupled
// decay), l2 = the coupled decay (0 for AdamW), correction2 = sqrt(1 - beta2^t),
// step_size = lr / (1 - beta1^t) and inverse2 = 1 / correction2 (rounded to T).
template <typename T>
struct AdamScalars {
  T beta1, beta2, keep1, keep2, shrink, l2, correction2, step_size, eps, inverse2;
};

// How AdamElement divides the square root by correction2: with the division as written.
struct PlainDivide {
  template <typename T>
  DL_HD T operator()(T x, T d, T /*inverse*/) const { return x / d; }
};

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
// x / d rounded as the division rounds it, for x >= 0 (or NaN) and a d > 0 shared by every
// element, from inverse = 1 / d rounded: the product, then two of Markstein's corrections, each
// an exact remainder (one FMA) and an FMA. No division per element: on a CPU the square root and
// Adam's other division already keep the divider busy (Adam on the digits model's 38k floats:
// 26 -> 18 us on one AVX-512 core; without a hardware FMA, std::fma is a library call and this
// loses). tests/test_cpu_backend.py checks it against x / d for every float32 mantissa in two
// binades over 10 divisors, and random float64; an infinite or overflowing quotient is +inf, as
// x / d is.
struct SharedDivide {
  template <typename T>
  T operator()(T x, T d, T inverse) const {
    T q = x * inverse;
    q = fma(fma(-q, d, x), inverse, q);
    q = fma(fma(-q, d, x), inverse, q);
    // inf * d - inf is NaN where x / d is +inf (a NaN x stays NaN)
    return (q != q && x == x) ? std::numeric_limits<T>::infinity() : q;
  }
};
#endif

// One element of Adam / AdamW in place; vmax is null unless amsgrad.
template <typename T, typename Divide = PlainDivide>
DL_HD void AdamElement(T& p, T g, T& m, T& v, T* vmax, const AdamScalars<T>& s, bool decoupled,
                       bool maximize, const Divide& divide = Divide()) {
  const T grad = Decayed(p, g, s.l2, maximize);
  if (decoupled) p = p * s.shrink;
  m = m * s.beta1 + grad * s.keep1;
  v = v * s.beta2 + (grad * grad) * s.keep2;
  T second = v;
  if (vmax) {
    second = *vmax > v ? *vmax : v;
    *vmax = second;
  }
  const T denom = divide(sqrt(second), s.correction2, s.inverse2) + s.eps;
  p = p - (m / denom) * s.step_size;
}

// One element of RMSprop in place; grad_avg is null unless centered, buf null unless momentum.
template <typename T>
DL_HD void RmspropElement(T& p, T g, T& square_avg, T* grad_avg, T* buf, T alpha, T keep, T eps,
                          T lr, T weight_decay, T momentum, bool maximize) {
  const T grad = Decayed(p, g, weight_decay, maximize);
  square_avg = square_avg * alpha + (grad * grad) * keep;
  T avg;
  if (grad_avg) {
    *grad_avg = *grad_avg * alpha + grad * keep;
    avg = sqrt(square_avg - *grad_avg * *grad_avg) + eps;
  } else {
    avg = sqrt(square_avg) + eps;
  }
  if (buf) {
    *buf = *buf * momentum + grad / avg;
    p = p - *buf * lr;
  } else {
    p = p - (grad / avg) * lr;
  }
}

// One element of Adagrad in place; clr = lr / (1 + (step - 1) * lr_decay).
template <typename T>
DL_HD void AdagradElement(T& p, T g, T& state_sum, T clr, T eps, T weight_decay, bool maximize) {
  const T grad = Decayed(p, g, weight_decay, maximize);
  state_sum = state_sum + grad * grad;
  p = p - (grad / (sqrt(state_sum) + eps)) * clr;
}

}  // namespace dlmath
