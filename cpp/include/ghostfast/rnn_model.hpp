// Leaky-tanh RNN models of the paper (rank one, rank K, full rank; paper Figs 3-8): configuration, flat
// parameter layout, tasks.
//
// Column-vector convention: x_{t+1} = (1 - alpha) x_t + alpha tanh(W x_t + w_in u_t + b + xi_t), with
// W = m n (m: N x K, n: K x N) for low rank or a full N x N matrix. Latents kappa = n x (K-vector).
// All parameter groups live in ONE flat vector (fixed group order below), so optimizers, norms, snapshots
// and resume state are plain loops over contiguous memory.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ghostfast::rnn {

enum Group : int { kM = 0, kN, kW, kB, kWin, kWout, kBout, kC, kNumGroups };
inline const char* group_name(int g) {
  static const char* names[kNumGroups] = {"m", "n", "W", "b", "w_in", "w_out", "b_out", "c"};
  return names[g];
}

enum class Readout : int { Latent = 0, Linear = 1, LatentLinear = 2 };
enum class Output : int { Sigmoid = 0, Tanh = 1, Identity = 2 };
enum class Optimizer : int { Sgd = 0, Adam = 1 };
// The scalar type of a model's parameters and of every operation of its passes and optimizer steps.
enum class Dtype : int { Float64 = 0, Float32 = 1 };

// same_lane_shape (rnn_lanes.hpp) compares every field: a new field must be added there too.
struct ModelSpec {
  int N = 0;
  int K = 1;  // rank (ignored when full_rank)
  bool full_rank = false;
  double alpha = 0.5;
  Readout readout = Readout::Latent;
  Output output = Output::Sigmoid;  // the latent readout is always a sigmoid
  double threshold = 1.0;           // latent readout only
  bool read_before = false;         // y_t from x_t (before the update) instead of x_{t+1}
  int n_in = 0;
  int n_out = 1;
  double noise_std = 0.0;
  bool x0_random = false;  // x0 = tanh(x0_std z), z ~ N(0, I) per trial and epoch
  double x0_std = 0.0;
  std::vector<double> x0;                    // (N,) when !x0_random
  std::array<bool, kNumGroups> trainable{};  // per group; absent groups are ignored
  double readout_l1_cap = 0.0;               // > 0: rescale (w_out, b_out) to ||w_out||_1 = cap before each forward
  Dtype dtype = Dtype::Float64;
};

// Where each group lives in the flat parameter vector (offset, size); size 0 = group absent.
struct Layout {
  std::array<std::size_t, kNumGroups> offset{};
  std::array<std::size_t, kNumGroups> size{};
  std::size_t total = 0;
  bool has(int g) const { return size[g] > 0; }
};

inline void check_model(const ModelSpec& s) {
  auto fail = [](const std::string& msg) { throw std::invalid_argument(msg); };
  if (s.N < 1) fail("model.N must be >= 1, got " + std::to_string(s.N));
  if (!s.full_rank && (s.K < 1 || s.K > s.N))
    fail("model.rank must be in [1, N=" + std::to_string(s.N) + "], got " + std::to_string(s.K));
  if (!(s.alpha > 0.0 && s.alpha <= 1.0)) fail("model.alpha must be in (0, 1]");
  if (s.n_in < 0) fail("model.n_in must be >= 0");
  if (s.n_out < 1) fail("model.n_out must be >= 1");
  if (s.readout != Readout::Linear && s.full_rank) fail("model.readout latent readouts need a low-rank model");
  if (s.readout == Readout::Latent && s.n_out != 1) fail("model.n_out must be 1 for readout='latent'");
  if (!(s.noise_std >= 0.0) || !std::isfinite(s.noise_std)) fail("model.noise_std must be finite and >= 0");
  if (!(s.x0_std >= 0.0) || !std::isfinite(s.x0_std)) fail("model.x0_std must be finite and >= 0");
  if (!s.x0_random && static_cast<int>(s.x0.size()) != s.N) fail("model.x0 must have N entries");
  if (!std::isfinite(s.threshold)) fail("model.threshold must be finite");
  if (!(s.readout_l1_cap >= 0.0) || !std::isfinite(s.readout_l1_cap))
    fail("model.readout_l1_cap must be finite and > 0");
  if (s.readout_l1_cap > 0.0 && s.readout == Readout::Latent) fail("model.readout_l1_cap needs a readout with w_out");
}

inline Layout make_layout(const ModelSpec& s) {
  Layout L;
  const std::size_t N = s.N, K = s.K;
  if (s.full_rank) {
    L.size[kW] = N * N;
  } else {
    L.size[kM] = N * K;
    L.size[kN] = K * N;
  }
  L.size[kB] = N;
  L.size[kWin] = N * static_cast<std::size_t>(s.n_in);
  switch (s.readout) {
    case Readout::Latent:
      L.size[kC] = 1;
      break;
    case Readout::Linear:
      L.size[kWout] = static_cast<std::size_t>(s.n_out) * N;
      L.size[kBout] = s.n_out;
      break;
    case Readout::LatentLinear:
      L.size[kWout] = static_cast<std::size_t>(s.n_out) * K;
      L.size[kBout] = s.n_out;
      break;
  }
  std::size_t off = 0;
  for (int g = 0; g < kNumGroups; ++g) {
    L.offset[g] = off;
    off += L.size[g];
  }
  L.total = off;
  return L;
}

// A batch of trials, stored TIME-MAJOR (the engine's layout): inputs [S, B, n_in], targets and mask
// [S, B, n_out], row-major. The bindings transpose from the Python layout [B, S, ...].
struct TaskData {
  int B = 0, S = 0, n_in = 0, n_out = 0;
  std::vector<double> inputs, targets, mask;
  double loss_scale = 1.0;
  bool ternary = false;  // accuracy rule: ternary (thresholds +-0.33) or binary (> 0.5)
};

inline void check_task(const TaskData& t, const ModelSpec& s) {
  auto fail = [](const std::string& msg) { throw std::invalid_argument(msg); };
  if (t.B < 1 || t.S < 1) fail("task must have at least one trial and one step");
  if (t.n_in != s.n_in)
    fail("task.inputs has " + std::to_string(t.n_in) + " input channels but model.n_in = " + std::to_string(s.n_in));
  if (t.n_out != s.n_out)
    fail("task.targets has " + std::to_string(t.n_out) + " outputs but model.n_out = " + std::to_string(s.n_out));
  const std::size_t io = static_cast<std::size_t>(t.B) * t.S;
  if (t.inputs.size() != io * t.n_in || t.targets.size() != io * t.n_out || t.mask.size() != io * t.n_out)
    fail("task arrays have inconsistent sizes");
  if (!(t.loss_scale > 0.0) || !std::isfinite(t.loss_scale)) fail("task.loss_scale must be finite and > 0");
}

}  // namespace ghostfast::rnn
