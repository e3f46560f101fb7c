// The optimizers of the RNN training loop, one step each, over the trainable groups of the flat parameter
// vector (contiguous ranges, so the loops vectorise).
//   SGD:  theta -= lr g                                   (torch.optim.SGD without momentum)
//   Adam: PyTorch's torch.optim.Adam: bias-corrected moments, eps added to sqrt(v_hat), no amsgrad or decay.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"

namespace ghostfast::rnn {

// theta -= lr grad over n entries.
template <class T>
GHOSTFAST_INLINE void sgd_update(T* __restrict th, const T* __restrict g, std::size_t n, double lr) {
  const T lr_t = static_cast<T>(lr);
  for (std::size_t i = 0; i < n; ++i) th[i] -= lr_t * g[i];
}
GHOSTFAST_HOT inline void sgd_step(double* th, const double* g, std::size_t n, double lr) { sgd_update(th, g, n, lr); }
GHOSTFAST_HOT inline void sgd_step(float* th, const float* g, std::size_t n, double lr) { sgd_update(th, g, n, lr); }

struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// One Adam update of n entries with moments mom, vel after `step` steps (step >= 1, counting this one). The
// step's scalars (bias corrections, step size) are computed in float64 and rounded once to T, as PyTorch does
// with its Python-float hyperparameters; the per-entry arithmetic is in T.
template <class T>
GHOSTFAST_INLINE void adam_update(T* __restrict th, const T* __restrict g, T* __restrict mom, T* __restrict vel,
                                  std::size_t n, double lr, const AdamConfig& cfg, std::int64_t step) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  const T b1 = static_cast<T>(cfg.beta1), b2 = static_cast<T>(cfg.beta2);
  const T one_b1 = static_cast<T>(1.0 - cfg.beta1), one_b2 = static_cast<T>(1.0 - cfg.beta2);
  const T step_size = static_cast<T>(lr / bc1);
  const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  const T eps = static_cast<T>(cfg.eps);
  for (std::size_t i = 0; i < n; ++i) {
    const T gi = g[i];
    mom[i] = b1 * mom[i] + one_b1 * gi;
    vel[i] = b2 * vel[i] + one_b2 * gi * gi;
    const T denom = std::sqrt(vel[i]) / sqrt_bc2 + eps;
    th[i] -= step_size * (mom[i] / denom);
  }
}
// The Adam steps of each precision, compiled for each ISA clone like the passes.
GHOSTFAST_HOT inline void adam_step(double* th, const double* g, double* mom, double* vel, std::size_t n, double lr,
                                    const AdamConfig& cfg, std::int64_t step) {
  adam_update(th, g, mom, vel, n, lr, cfg, step);
}
GHOSTFAST_HOT inline void adam_step(float* th, const float* g, float* mom, float* vel, std::size_t n, double lr,
                                    const AdamConfig& cfg, std::int64_t step) {
  adam_update(th, g, mom, vel, n, lr, cfg, step);
}

// One optimizer step on every trainable group of the model (frozen groups keep their values and moments).
template <class T>
inline void optimizer_step(Optimizer opt, const ModelSpec& s, const Layout& L, T* theta, const T* grad, double lr,
                           const AdamConfig& adam, std::vector<T>& mom, std::vector<T>& vel, std::int64_t& adam_steps) {
  if (opt == Optimizer::Adam) ++adam_steps;
  for (int g = 0; g < kNumGroups; ++g) {
    if (!L.has(g) || !s.trainable[g]) continue;
    const std::size_t o = L.offset[g], n = L.size[g];
    if (opt == Optimizer::Adam)
      adam_step(theta + o, grad + o, mom.data() + o, vel.data() + o, n, lr, adam, adam_steps);
    else
      sgd_step(theta + o, grad + o, n, lr);
  }
}

}  // namespace ghostfast::rnn
