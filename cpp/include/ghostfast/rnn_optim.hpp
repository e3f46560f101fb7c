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
GHOSTFAST_HOT inline void sgd_step(double* __restrict th, const double* __restrict g, std::size_t n, double lr) {
  for (std::size_t i = 0; i < n; ++i) th[i] -= lr * g[i];
}

struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// One Adam update of n entries with moments mom, vel after `step` steps (step >= 1, counting this one).
GHOSTFAST_HOT inline void adam_step(double* __restrict th, const double* __restrict g, double* __restrict mom,
                                    double* __restrict vel, std::size_t n, double lr, const AdamConfig& cfg,
                                    std::int64_t step) {
  const double b1 = cfg.beta1, b2 = cfg.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const double step_size = lr / bc1;
  const double sqrt_bc2 = std::sqrt(bc2);
  for (std::size_t i = 0; i < n; ++i) {
    const double gi = g[i];
    mom[i] = b1 * mom[i] + (1.0 - b1) * gi;
    vel[i] = b2 * vel[i] + (1.0 - b2) * gi * gi;
    const double denom = std::sqrt(vel[i]) / sqrt_bc2 + cfg.eps;
    th[i] -= step_size * (mom[i] / denom);
  }
}

// One optimizer step on every trainable group of the model (frozen groups keep their values and moments).
inline void optimizer_step(Optimizer opt, const ModelSpec& s, const Layout& L, double* theta, const double* grad,
                           double lr, const AdamConfig& adam, std::vector<double>& mom, std::vector<double>& vel,
                           std::int64_t& adam_steps) {
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
