// Per-element math shared by the C++ (csrc/cpu) and CUDA (deeplite/kernels/*.cu) kernels.
// One definition of each formula: the CPU tests exercise the very code the GPU runs, and both
// backends agree on logits of +-1e4 by construction.
//
// exp, expm1 and log1p (on [0, 1]) are written here in plain arithmetic, integer bit tricks and
// selects, not called from libm: a libm call per element keeps GCC's auto-vectoriser off a loop
// (no libmvec without -ffast-math), which held the CPU's fused BCE to 0.3 GB/s where a plain loop
// streams 10 GB/s. Accuracy: 1-2 ulp in float32 and float64 (tests/test_fast_math.py checks the
// kernels against NumPy). No branches: every special case is a select (setup.py builds with
// -fno-trapping-math so GCC keeps them selects), and the loops vectorise.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DL_HD __host__ __device__ __forceinline__
#else
#define DL_HD inline
#include <cmath>
#include <cstring>
#endif

namespace dlmath {

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
using std::fabs;
#endif

// Activation codes: the index of each name in deeplite.backends.contract.ACTIVATIONS.
enum Act { kIdentity = 0, kRelu = 1, kLeakyRelu = 2, kSigmoid = 3, kTanh = 4, kSoftplus = 5 };
// Reduction codes: the index of each name in deeplite.backends.contract.REDUCTIONS.
enum Reduction { kNone = 0, kMean = 1, kSum = 2 };

// ---- bit casts: CUDA intrinsics on the device, memcpy (compiled to a register move) on the host.
// NVRTC has neither <cstring> nor __builtin_bit_cast, hence two spellings of the same thing.
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
__device__ __forceinline__ int BitsOf(float x) { return __float_as_int(x); }
__device__ __forceinline__ long long BitsOf(double x) { return __double_as_longlong(x); }
__device__ __forceinline__ float FromBits(int bits) { return __int_as_float(bits); }
__device__ __forceinline__ double FromBits(long long bits) { return __longlong_as_double(bits); }
#else
inline int BitsOf(float x) {
  int bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}
inline long long BitsOf(double x) {
  long long bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}
inline float FromBits(int bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
inline double FromBits(long long bits) {
  double x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
#endif

// The IEEE layout and the constants of each floating type.
template <typename T> struct Fp;
template <> struct Fp<float> {
  typedef int Int;
  typedef unsigned UInt;
  static constexpr int kMantissa = 23, kBias = 127;
  static constexpr UInt kMantissaMask = 0x007fffffu, kOneBits = 0x3f800000u;
  static constexpr UInt kSqrtHalfBits = 0x3f3504f3u;  // sqrt(1/2), where log's mantissa range starts
  // exp rounds to 0 below kExpLow (under half the smallest denormal) and to inf above kExpHigh.
  static constexpr float kExpLow = -104.0f, kExpHigh = 88.8f;
  static constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: x + kRound rounds x to an integer
  static constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 = Hi + Lo, Hi with trailing zero bits so k * Hi is exact: for exp's |k| <= 150 (Cephes)
  // and for log's k in {0, 1} (musl's pair).
  static constexpr float kExpLn2Hi = 0.693359375f, kExpLn2Lo = -2.12194440e-4f;
  static constexpr float kLogLn2Hi = 6.9313812256e-01f, kLogLn2Lo = 9.0580006145e-06f;
};
template <> struct Fp<double> {
  typedef long long Int;
  typedef unsigned long long UInt;
  static constexpr int kMantissa = 52, kBias = 1023;
  static constexpr UInt kMantissaMask = 0x000fffffffffffffull, kOneBits = 0x3ff0000000000000ull;
  static constexpr UInt kSqrtHalfBits = 0x3fe6a09e667f3bcdull;
  static constexpr double kExpLow = -745.2, kExpHigh = 709.8;
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLog2e = 1.4426950408889634074;
  // fdlibm's split (32 significant bits in Hi) serves exp's and log's |k| <= 1075 alike.
  static constexpr double kExpLn2Hi = 6.93147180369123816490e-01, kExpLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kLogLn2Hi = kExpLn2Hi, kLogLn2Lo = kExpLn2Lo;
};

// 2^j for j in [1 - bias, bias], built in the exponent field (no ldexp, no int-to-float convert).
template <typename T>
DL_HD T Pow2(typename Fp<T>::Int j) {
  typedef typename Fp<T>::UInt UInt;
  return FromBits(typename Fp<T>::Int(UInt(j + Fp<T>::kBias) << Fp<T>::kMantissa));
}

// A small integer k as T: the kRound trick, as AVX2 has no int64 -> double convert (a plain one
// would keep a double loop scalar); float has a vector int32 convert.
template <typename T>
DL_HD T SmallIntToFloat(typename Fp<T>::Int k) {
  return FromBits(BitsOf(Fp<T>::kRound) + k) - Fp<T>::kRound;
}
template <>
DL_HD float SmallIntToFloat<float>(int k) {
  return float(k);
}

// expm1(r) for |r| <= ln2/2: r + r^2 * P(r). float: Cephes expf's minimax coefficients;
// double: Taylor to r^13 (the first term left out is below 2^-56 relative).
DL_HD float Expm1Reduced(float r) {
  const float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                    4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  return r + r * r * p;
}
DL_HD double Expm1Reduced(double r) {
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  return r + r * r * p;
}

// x = k ln2 + r with |r| <= ln2/2, x first clamped to [kExpLow, kExpHigh] (NaN passes through).
template <typename T>
struct Reduced {
  T r;
  typename Fp<T>::Int k;
};
template <typename T>
DL_HD Reduced<T> ReduceLn2(T x) {
  typedef Fp<T> F;
  const T low = F::kExpLow, high = F::kExpHigh;  // values, not references (CUDA: no odr-use)
  x = x < low ? low : x;
  x = x > high ? high : x;
  // Adding kRound leaves round(x / ln2) in the low mantissa bits: k without a float-to-int convert.
  const T shifted = x * F::kLog2e + F::kRound;
  const T k = shifted - F::kRound;
  Reduced<T> out;
  out.k = BitsOf(shifted) - BitsOf(F::kRound);
  out.r = (x - k * F::kExpLn2Hi) - k * F::kExpLn2Lo;
  return out;
}

// exp(x), correctly rounded to 0 / denormals / inf at the ends of the range.
template <typename T>
DL_HD T Exp(T x) {
  const Reduced<T> red = ReduceLn2(x);
  const typename Fp<T>::Int half = red.k >> 1;
  // 2^k in two normal factors: results down to the smallest denormal are rounded only once.
  return (T(1) + Expm1Reduced(red.r)) * Pow2<T>(red.k - half) * Pow2<T>(half);
}

// exp(x) - 1, accurate near 0 where exp(x) - 1 would cancel.
template <typename T>
DL_HD T Expm1(T x) {
  const Reduced<T> red = ReduceLn2(x);
  const typename Fp<T>::Int half = red.k >> 1;
  const T upper = Pow2<T>(red.k - half);
  // 2^k (1 + q) - 1 = 2^half (upper q + (upper - 2^-half)): no factor overflows, and for small k
  // the constant in the bracket is exact (k = 0 gives q itself, full precision near 0).
  return (upper * Expm1Reduced(red.r) + (upper - Pow2<T>(-half))) * Pow2<T>(half);
}

// R(z) with log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f): fdlibm's (musl's) minimax.
DL_HD float LogReduced(float z) {
  const float w = z * z;
  return w * (0.40000972152f + w * 0.24279078841f) + z * (0.66666662693f + w * 0.28498786688f);
}
DL_HD double LogReduced(double z) {
  const double w = z * z;
  const double odd = w * (3.999999999940941908e-01 +
                          w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double even = z * (6.666666666666735130e-01 +
                           w * (2.857142874366239149e-01 +
                                w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  return odd + even;
}

// log1p(x) for x in [0, 1] (or NaN), the range of exp(-|z|): the only log1p the kernels need, so
// there are no special values to select and, as |x| <= 1, u's rounding error x - (u - 1) is exact
// (Fast2Sum). log1p(x) = log(u) + error / u to first order.
template <typename T>
DL_HD T Log1pOfUnit(T x) {
  typedef Fp<T> F;
  typedef typename F::UInt UInt;
  typedef typename F::Int Int;
  const T u = T(1) + x;
  // 1 / u is the expression Sigmoid uses, so a fused BCE loop divides once for both.
  const T c = (x - (u - T(1))) * (T(1) / u);
  // u = 2^k m with m in [sqrt(1/2), sqrt(2)); f = m - 1 is small and log(u) = k ln2 + log1p(f).
  const UInt bits = UInt(BitsOf(u)) + (F::kOneBits - F::kSqrtHalfBits);
  const Int k = Int(bits >> F::kMantissa) - F::kBias;
  const T f = FromBits(Int((bits & F::kMantissaMask) + F::kSqrtHalfBits)) - T(1);
  const T s = f / (T(2) + f);
  const T half_f2 = T(0.5) * f * f;
  const T kf = SmallIntToFloat<T>(k);
  const T r = s * (half_f2 + LogReduced(s * s));
  return ((r + (kf * F::kLogLn2Lo + c)) - half_f2 + f) + kf * F::kLogLn2Hi;
}

// exp(-|x|) never overflows; sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) below.
template <typename T>
DL_HD T Sigmoid(T x) {
  const T e = Exp(-fabs(x));
  const T inv = T(1) / (T(1) + e);
  const T tail = e * inv;
  return x >= T(0) ? inv : tail;
}

// stable computation: max(x, 0) + log1p(exp(-|x|)) never overflows.
template <typename T>
DL_HD T Softplus(T x) {
  return (x > T(0) ? x : T(0)) + Log1pOfUnit(Exp(-fabs(x)));
}

// tanh|x| = -m / (2 + m) with m = expm1(-2|x|) in (-1, 0]: no overflow, precise for small |x|.
template <typename T>
DL_HD T Tanh(T x) {
  const T m = Expm1(T(-2) * fabs(x));
  const T t = fabs(m) / (T(2) + m);
  return x < T(0) ? -t : t;
}

// stable computation of the cross entropy on logits: max(z,0) - z*y + log1p(exp(-|z|)).
template <typename T>
DL_HD T BceTerm(T z, T y) {
  // softplus(z) - z y, except at z = +-inf, where that is inf - inf: there PyTorch's form
  // (1 - y) z - log sigmoid(z), whose last term is max(-z, 0) at infinity. So the loss of
  // z = +inf, y < 1 is +inf (it truly is infinite), and NaN exactly where PyTorch's is NaN.
  // |z| * 0.5 == |z| > 0 holds for infinities only (a select: the loop still vectorises).
  const T size = fabs(z);
  const T at_infinity = (T(1) - y) * z + (z < T(0) ? -z : T(0));
  return size > T(0) && size * T(0.5) == size ? at_infinity : Softplus(z) - z * y;
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
    case kTanh: return Tanh(x);
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
    case kSoftplus: return -gy * Expm1(-y);
    default: return gy;
  }
}

}  // namespace dlmath
