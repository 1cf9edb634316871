// Fused optimizer updates of the cuda backend: one pass over a parameter, its gradient and its
// state, in place, following PyTorch's update rules step by step (the same order of float
// operations as deeplite/backends/fallbacks.py, so results agree to rounding).
// Loaded by cupy.RawModule (NVRTC) and compiled by CI with nvcc: no host headers.

__device__ __forceinline__ long long FirstThread() { return blockIdx.x * (long long)blockDim.x + threadIdx.x; }
__device__ __forceinline__ long long ThreadCount() { return (long long)gridDim.x * blockDim.x; }

// The gradient as PyTorch's optimizers first transform it: negated to maximize, plus L2 decay.
template <typename T>
__device__ __forceinline__ T Decayed(T g, T p, double weight_decay, bool maximize) {
  if (maximize) g = -g;
  if (weight_decay != 0.0) g = g + p * T(weight_decay);
  return g;
}

// SGD with optional momentum (buf null when momentum == 0); `first`: the buffer starts as the
// (decayed) gradient, as PyTorch documents.
template <typename T>
__device__ __forceinline__ void Sgd(T* p, const T* g, T* buf, long long n, double lr, double momentum,
                                    double dampening, double weight_decay, bool nesterov,
                                    bool maximize, bool first) {
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    const T pi = p[i];
    T gi = Decayed(g[i], pi, weight_decay, maximize);
    if (buf) {
      const T b = first ? gi : buf[i] * T(momentum) + gi * T(1.0 - dampening);
      buf[i] = b;
      gi = nesterov ? gi + b * T(momentum) : b;
    }
    p[i] = pi - gi * T(lr);
  }
}

// Adam (decoupled false) or AdamW (decoupled true); vmax null unless amsgrad. The host passes the
// per-step scalars: decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^t) and
// bias2_sqrt = sqrt(1 - beta2^t).
template <typename T>
__device__ __forceinline__ void Adam(T* p, const T* g, T* m, T* v, T* vmax, long long n, double beta1,
                                     double beta2, double eps, double weight_decay, double decay,
                                     double step_size, double bias2_sqrt, bool decoupled,
                                     bool maximize) {
  for (long long i = FirstThread(); i < n; i += ThreadCount()) {
    T pi = p[i], gi;
    if (decoupled) {
      gi = Decayed(g[i], pi, 0.0, maximize);
      pi = pi * T(decay);
    } else {
      gi = Decayed(g[i], pi, weight_decay, maximize);
    }
    const T mi = m[i] * T(beta1) + gi * T(1.0 - beta1);
    T vi = v[i] * T(beta2) + gi * gi * T(1.0 - beta2);
    m[i] = mi;
    v[i] = vi;
    if (vmax) {
      vi = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vi;
    }
    const T denom = sqrt(vi) / T(bias2_sqrt) + T(eps);
    p[i] = pi - mi / denom * T(step_size);
  }
}

#define DL_OPTIM_KERNELS(SUFFIX, T)                                                                    \
  extern "C" __global__ void __launch_bounds__(256)                                                    \
      sgd_step_##SUFFIX(T* p, const T* g, T* buf, long long n, double lr, double momentum,             \
                        double dampening, double weight_decay, long long nesterov, long long maximize, \
                        long long first) {                                                             \
    Sgd<T>(p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov != 0, maximize != 0,          \
           first != 0);                                                                                \
  }                                                                                                    \
  extern "C" __global__ void __launch_bounds__(256)                                                    \
      adam_step_##SUFFIX(T* p, const T* g, T* m, T* v, T* vmax, long long n, double beta1,             \
                         double beta2, double eps, double weight_decay, double decay,                  \
                         double step_size, double bias2_sqrt, long long decoupled,                     \
                         long long maximize) {                                                         \
    Adam<T>(p, g, m, v, vmax, n, beta1, beta2, eps, weight_decay, decay, step_size, bias2_sqrt,        \
            decoupled != 0, maximize != 0);                                                            \
  }

DL_OPTIM_KERNELS(f32, float)
DL_OPTIM_KERNELS(f64, double)
