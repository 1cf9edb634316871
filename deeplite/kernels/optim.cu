// Fused optimizer updates of the cuda backend: one pass over a parameter, its gradient and its
// state, in place. The update rules are dl_optim.h's, the very code the C++ backend runs; each
// kernel rounds its double arguments to T once, as the C++ kernels do. The learning rate and the
// step count are per-replay scalars (value, slot) read through ScalarOf (dl_cuda.h), and the
// per-step factors derived from them are computed here, in double, so an eager launch and a
// CUDA graph replay reading the scalar block compute them identically.
// Loaded by cupy.RawModule (NVRTC) and compiled by CI with nvcc: no host headers.
#include "dl_cuda.h"
#include "dl_optim.h"

// SGD with optional momentum (buf null when momentum == 0); `first`: the buffer starts as the
// (decayed) gradient, as PyTorch documents.
template <typename T>
__device__ __forceinline__ void Sgd(T* p, const T* g, T* buf, long long n, double lr, double momentum,
                                    double dampening, double weight_decay, bool nesterov,
                                    bool maximize, bool first) {
  const T rate = T(lr), mom = T(momentum), keep = T(1.0 - dampening), wd = T(weight_decay);
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    const T pi = p[i];
    const T grad = dlmath::Decayed(pi, g[i], wd, maximize);
    T direction = grad;
    if (buf) {
      const T b = dlmath::SgdBuffer(grad, buf[i], mom, keep, first);
      buf[i] = b;
      direction = dlmath::SgdDirection(grad, b, mom, nesterov);
    }
    p[i] = pi - direction * rate;
  }
}

// Adam (decoupled false) or AdamW (decoupled true); vmax null unless amsgrad. Per step:
// decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t).
template <typename T>
__device__ __forceinline__ void Adam(T* p, const T* g, T* m, T* v, T* vmax, long long n, double beta1,
                                     double beta2, double eps, double weight_decay, double decay,
                                     double step_size, double bias2_sqrt, bool decoupled,
                                     bool maximize) {
  const dlmath::AdamScalars<T> s = {T(beta1), T(beta2), T(1.0 - beta1), T(1.0 - beta2), T(decay),
                                    decoupled ? T(0) : T(weight_decay), T(bias2_sqrt),
                                    T(step_size), T(eps), T(1) / T(bias2_sqrt)};
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    dlmath::AdamElement(p[i], g[i], m[i], v[i], vmax ? vmax + i : nullptr, s, decoupled, maximize);
  }
}

// RMSprop; grad_avg null unless centered, buf null unless momentum > 0.
template <typename T>
__device__ __forceinline__ void Rmsprop(T* p, const T* g, T* sq, T* ga, T* buf, long long n,
                                        double lr, double alpha, double eps, double weight_decay,
                                        double momentum, bool maximize) {
  const T a = T(alpha), keep = T(1.0 - alpha), e = T(eps), rate = T(lr), wd = T(weight_decay);
  const T mom = T(momentum);
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    dlmath::RmspropElement(p[i], g[i], sq[i], ga ? ga + i : nullptr, buf ? buf + i : nullptr, a,
                           keep, e, rate, wd, mom, maximize);
  }
}

// Adagrad at this step's clr = lr / (1 + (step - 1) * lr_decay).
template <typename T>
__device__ __forceinline__ void Adagrad(T* p, const T* g, T* state_sum, long long n, double clr,
                                        double eps, double weight_decay, bool maximize) {
  const T rate = T(clr), e = T(eps), wd = T(weight_decay);
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    dlmath::AdagradElement(p[i], g[i], state_sum[i], rate, e, wd, maximize);
  }
}

// Scalars as the kernels' (value, slot) pairs: ScalarOf of the launch's block.
#define DL_SCALAR(name) ScalarOf(scalars, name##_slot, name)

#define DL_OPTIM_KERNELS(SUFFIX, T)                                                                    \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                       \
      sgd_step_##SUFFIX(T* p, const T* g, T* buf, long long n, const double* scalars, double lr,       \
                        long long lr_slot, double momentum, double dampening, double weight_decay,     \
                        long long nesterov, long long maximize, long long first) {                     \
    Sgd<T>(p, g, buf, n, DL_SCALAR(lr), momentum, dampening, weight_decay, nesterov != 0,              \
           maximize != 0, first != 0);                                                                 \
  }                                                                                                    \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                       \
      adam_step_##SUFFIX(T* p, const T* g, T* m, T* v, T* vmax, long long n, double beta1,             \
                         double beta2, double eps, double weight_decay, const double* scalars,         \
                         double lr, long long lr_slot, double step, long long step_slot,               \
                         long long decoupled, long long maximize) {                                    \
    const double rate = DL_SCALAR(lr), t = DL_SCALAR(step);                                            \
    Adam<T>(p, g, m, v, vmax, n, beta1, beta2, eps, weight_decay, 1.0 - rate * weight_decay,           \
            rate / (1.0 - pow(beta1, t)), sqrt(1.0 - pow(beta2, t)), decoupled != 0, maximize != 0);   \
  }                                                                                                    \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                       \
      rmsprop_step_##SUFFIX(T* p, const T* g, T* sq, T* ga, T* buf, long long n,                       \
                            const double* scalars, double lr, long long lr_slot, double alpha,         \
                            double eps, double weight_decay, double momentum, long long maximize) {    \
    Rmsprop<T>(p, g, sq, ga, buf, n, DL_SCALAR(lr), alpha, eps, weight_decay, momentum,                \
               maximize != 0);                                                                         \
  }                                                                                                    \
  extern "C" __global__ void __launch_bounds__(DL_BLOCK_THREADS)                                       \
      adagrad_step_##SUFFIX(T* p, const T* g, T* state_sum, long long n, const double* scalars,         \
                            double lr, long long lr_slot, double step, long long step_slot,            \
                            double lr_decay, double eps, double weight_decay, long long maximize) {    \
    const double clr = DL_SCALAR(lr) / (1.0 + (DL_SCALAR(step) - 1.0) * lr_decay);                     \
    Adagrad<T>(p, g, state_sum, n, clr, eps, weight_decay, maximize != 0);                             \
  }

DL_OPTIM_KERNELS(f32, float)
DL_OPTIM_KERNELS(f64, double)
