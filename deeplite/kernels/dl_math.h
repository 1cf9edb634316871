// Per-element math shared by the C++ (csrc/cpu) and CUDA (deeplite/kernels/*.cu) kernels.
// One definition of each formula: the CPU tests exercise the very code the GPU runs, and both
// backends agree on logits of +-1e4 by construction.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DL_HD __host__ __device__ __forceinline__
#else
#define DL_HD inline
#include <cmath>
#endif

namespace dlmath {

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
using std::exp;
using std::expm1;
using std::fabs;
using std::log1p;
using std::tanh;
#endif

// Activation codes: the index of each name in deeplite.backends.contract.ACTIVATIONS.
enum Act { kIdentity = 0, kRelu = 1, kLeakyRelu = 2, kSigmoid = 3, kTanh = 4, kSoftplus = 5 };

// exp(-|x|) never overflows; pick the algebraically equal form for each sign.
template <typename T>
DL_HD T Sigmoid(T x) {
  T e = exp(-fabs(x));
  return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// stable computation: max(x, 0) + log1p(exp(-|x|)) never overflows.
template <typename T>
DL_HD T Softplus(T x) {
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

// stable computation of the cross entropy on logits: max(z,0) - z*y + log1p(exp(-|z|)).
template <typename T>
DL_HD T BceTerm(T z, T y) {
  return Softplus(z) - z * y;
}

// d BceTerm / dz.
template <typename T>
DL_HD T BceGrad(T z, T y) {
  return Sigmoid(z) - y;
}

template <typename T>
DL_HD T ActForward(int act, T x, T slope) {
  switch (act) {
    case kRelu: return x > T(0) ? x : T(0);
    case kLeakyRelu: return x > T(0) ? x : x * slope;
    case kSigmoid: return Sigmoid(x);
    case kTanh: return tanh(x);
    case kSoftplus: return Softplus(x);
    default: return x;
  }
}

// gy * act'(x), written in terms of the output y = act(x).
template <typename T>
DL_HD T ActGradFromOutput(int act, T y, T gy, T slope) {
  switch (act) {
    case kRelu: return y > T(0) ? gy : T(0);
    case kLeakyRelu: return y > T(0) ? gy : gy * slope;
    case kSigmoid: return gy * y * (T(1) - y);
    case kTanh: return gy * (T(1) - y * y);
    // softplus'(x) = sigmoid(x) = 1 - exp(-y); -expm1 keeps precision when y is tiny.
    case kSoftplus: return -gy * expm1(-y);
    default: return gy;
  }
}

}  // namespace dlmath
