// The canonical 1D ghost model dx/dt = r + x^2 (the paper's analytical model, Figs. 1, 2, 8A): sharp-limit closed
// forms, the explicit-Euler simulation with a finite-confidence sigmoid readout and its exact derivative in r, and
// plain gradient descent on r for many independent runs at once.
//
// Conventions (shared with python/ghostfast/canonical.py, which documents them for users):
//  * r* = pi^2 / (4 T^2) (escape time pi / (2 sqrt r) equals the delay T); no-learning zone r < r*/4.
//  * Sharp-limit gradient bands: -(pi/(4T)) r^-3/2 on [r*/4, r*] (both ends closed, as in the paper's
//    `gradient_loss`: the cusp r = r* takes the LEFT derivative, the zone edge r*/4 the band value),
//    +(pi/(4T)) r^-3/2 for r > r*, 0 for r < r*/4. normalized=false drops the 1/T factor (paper code).
//  * A run is "trapped" when it ends with r < r*/4: there the sharp gradient is exactly 0, so it never
//    leaves (r = r*/4 itself still has a non-zero, upward gradient and is not trapped).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ghostfast/parallel.hpp"

namespace ghostfast::canonical {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kClip = 1e6;  // the paper's simulator clips x at +-1e6 to prevent overflow

// ---------------------------------------------------------------- closed forms (sharp limit)

inline double optimal_r(double T) { return (kPi * kPi) / (4.0 * T * T); }

inline double escape_time(double r) {
  return r > 0.0 ? kPi / (2.0 * std::sqrt(r)) : std::numeric_limits<double>::infinity();
}

// Written exactly like the numpy version in canonical.py so both give the same bits.
inline double sharp_loss(double r, double T) {
  const double zone_edge = optimal_r(T) / 4.0;
  if (!(r > zone_edge)) return 1.0;
  return std::fabs(T - kPi / (2.0 * std::sqrt(r))) / T;
}

// The band structure with the T-dependent constants precomputed (identical arithmetic to sharp_grad).
struct SharpConstants {
  double r_star, zone_edge, scale;
  SharpConstants(double T, bool normalized)
      : r_star(optimal_r(T)), zone_edge(optimal_r(T) / 4.0), scale(normalized ? kPi / (4.0 * T) : kPi / 4.0) {}
  double grad(double r) const {
    if (r < zone_edge) return 0.0;
    const double magnitude = scale / (r * std::sqrt(r));
    return r > r_star ? magnitude : -magnitude;
  }
};

inline double sharp_grad(double r, double T, bool normalized) { return SharpConstants(T, normalized).grad(r); }

// ---------------------------------------------------------------- Euler simulation, finite confidence

struct SimConfig {
  double T = 100.0;
  double threshold = 10.0;
  double dt = 0.1;
  std::int64_t n_steps = 2000;  // round(2T / dt)

  static SimConfig make(double T, double threshold, double dt) {
    if (!(T > 0.0) || !std::isfinite(T)) throw std::invalid_argument("T must be a finite number > 0");
    if (!(dt > 0.0) || !std::isfinite(dt)) throw std::invalid_argument("dt must be a finite number > 0");
    if (!std::isfinite(threshold)) throw std::invalid_argument("threshold must be finite");
    const double steps = std::round(2.0 * T / dt);
    if (!(steps >= 1.0) || steps > 1e9)
      throw std::invalid_argument("dt must give between 1 and 1e9 Euler steps over the trial 2T, got 2T/dt = " +
                                  std::to_string(2.0 * T / dt));
    return SimConfig{T, threshold, dt, static_cast<std::int64_t>(steps)};
  }
};

// Loss L(r) = sum_k (y_{k+1} - y*_{k+1})^2 dt / T of the Euler trajectory and its exact derivative dL/dr,
// by forward sensitivity s_k = dx_k/dr (s_{k+1} = s_k (1 + 2 dt x_k) + dt). A clipped state does not
// depend on r, so its sensitivity is 0. The error with target 1 uses the complementary sigmoid, so
// 1 - y keeps full relative precision when y is close to 1.
inline void simulate_one(double r, double confidence, const SimConfig& cfg, double& loss_out, double& grad_out) {
  double x = 0.0, s = 0.0;
  double loss = 0.0, grad = 0.0;
  for (std::int64_t k = 0; k < cfg.n_steps; ++k) {
    const double x_next = x + cfg.dt * (x * x + r);
    const double s_next = s * (1.0 + 2.0 * cfg.dt * x) + cfg.dt;
    if (x_next > kClip) {
      x = kClip;
      s = 0.0;
    } else if (x_next < -kClip) {
      x = -kClip;
      s = 0.0;
    } else {
      x = x_next;
      s = s_next;
    }
    const double z = confidence * (x - cfg.threshold);
    // e = exp(-|z|) in (0, 1]: sigmoid(z) and sigmoid(-z) both without cancellation.
    const double e = std::exp(-std::fabs(z));
    const double big = 1.0 / (1.0 + e);  // sigmoid(|z|)
    const double small = e / (1.0 + e);  // sigmoid(-|z|)
    const double y = z >= 0.0 ? big : small;
    const double one_minus_y = z >= 0.0 ? small : big;
    const bool target_on = static_cast<double>(k + 1) * cfg.dt > cfg.T;
    const double err = target_on ? -one_minus_y : y;  // y - y*
    loss += err * err;
    grad += 2.0 * err * (confidence * y * one_minus_y) * s;
  }
  const double scale = cfg.dt / cfg.T;
  loss_out = loss * scale;
  grad_out = grad * scale;
}

inline void check_confidence(double a) {
  if (!(a > 0.0) || !std::isfinite(a)) throw std::invalid_argument("confidence must be finite and > 0");
}

// n independent (r[i], confidence[i]) pairs; results depend only on i's inputs (thread-count invariant).
inline void simulate_many(const double* r, const double* confidence, std::int64_t n, const SimConfig& cfg, double* loss,
                          double* grad, int n_threads) {
  for (std::int64_t i = 0; i < n; ++i) check_confidence(confidence[i]);
  parallel_for(n, n_threads, [&](std::int64_t i) { simulate_one(r[i], confidence[i], cfg, loss[i], grad[i]); });
}

// ---------------------------------------------------------------- gradient descent on r

struct TrainConfig {
  SimConfig sim;
  bool normalized = true;
  bool sharp = true;  // sharp-limit gradient; else simulated with confidence[i]
  std::int64_t epochs = 0;
  std::vector<std::int64_t> record_epochs;  // strictly increasing, each in [0, epochs]
};

struct TrainOutputs {
  double* r_hist;           // [n_runs, n_records]: r after `record_epochs[j]` updates
  double* loss_hist;        // [n_runs, n_records]: the loss of that r
  std::int64_t* arrival;    // [n_runs]: first epoch n with r_n <= r*, -1 if never (within epochs)
  std::uint8_t* trapped;    // [n_runs]: final r < r*/4
  std::uint8_t* diverged;   // [n_runs]: r became NaN/inf
  std::uint8_t* completed;  // [n_runs]: 0 if stopped early by a cancel request
  double* r_final;          // [n_runs]
};

inline void validate(const TrainConfig& cfg) {
  if (cfg.epochs < 0) throw std::invalid_argument("epochs must be >= 0");
  std::int64_t previous = -1;
  for (std::int64_t e : cfg.record_epochs) {
    if (e <= previous || e > cfg.epochs)
      throw std::invalid_argument("record_epochs must be strictly increasing and within [0, epochs]");
    previous = e;
  }
}

// One run (used for the simulated gradient; the sharp limit goes through train_block_sharp, which does the
// same per-run operations). Epoch n holds r_n (r_0 = r0); the update r_{n+1} = r_n - lr g(r_n) is the (n+1)-th epoch.
inline void train_one(double r0, double lr, double confidence, const TrainConfig& cfg, std::int64_t run,
                      const TrainOutputs& out, const Control* control) {
  const std::int64_t n_records = static_cast<std::int64_t>(cfg.record_epochs.size());
  double* r_rec = out.r_hist + run * n_records;
  double* loss_rec = out.loss_hist + run * n_records;
  const double T = cfg.sim.T;
  const double r_star = optimal_r(T);
  const double zone_edge = r_star / 4.0;
  // Code convention: the simulated loss is T-normalised like the sharp one, so its unnormalised gradient
  // is T times the derivative of the normalised loss.
  const double sim_scale = cfg.normalized ? 1.0 : T;

  double r = r0;
  std::int64_t arrival = -1;
  std::int64_t next_record = 0;
  bool diverged = false, completed = true;

  // The sharp loss is only evaluated at recorded epochs (the hot loop needs just the gradient).
  auto loss_and_grad = [&](double rv, double& L, double& g, bool want_loss) {
    if (cfg.sharp) {
      if (want_loss) L = sharp_loss(rv, T);
      g = sharp_grad(rv, T, cfg.normalized);
    } else {
      simulate_one(rv, confidence, cfg.sim, L, g);
      g *= sim_scale;
    }
  };

  std::int64_t epoch = 0;
  for (;; ++epoch) {
    if (!std::isfinite(r)) {
      diverged = true;
      break;
    }
    if (arrival < 0 && r <= r_star) arrival = epoch;
    double L = 0.0, g = 0.0;
    const bool need_record = next_record < n_records && cfg.record_epochs[next_record] == epoch;
    if (epoch == cfg.epochs) {
      if (need_record) {
        loss_and_grad(r, L, g, true);
        r_rec[next_record] = r;
        loss_rec[next_record] = L;
        ++next_record;
      }
      break;
    }
    // Sharp limit inside the zone: the gradient is exactly 0 forever, so the rest of the run is r itself.
    if (cfg.sharp && r < zone_edge) {
      const double L_zone = sharp_loss(r, T);
      for (; next_record < n_records; ++next_record) {
        r_rec[next_record] = r;
        loss_rec[next_record] = L_zone;
      }
      break;
    }
    loss_and_grad(r, L, g, need_record);
    if (need_record) {
      r_rec[next_record] = r;
      loss_rec[next_record] = L;
      ++next_record;
    }
    r = r - lr * g;
    // Checking the flag costs an atomic load; every 256 epochs keeps the sharp loop fast and still stops
    // within milliseconds.
    if (control != nullptr && (epoch & 255) == 255 && control->cancelled()) {
      completed = false;
      break;
    }
  }
  if (diverged || !completed) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (; next_record < n_records; ++next_record) {
      r_rec[next_record] = diverged ? r : nan;
      loss_rec[next_record] = nan;
    }
  }
  out.arrival[run] = arrival;
  out.trapped[run] = (!diverged && r < zone_edge) ? 1 : 0;
  out.diverged[run] = diverged ? 1 : 0;
  out.completed[run] = completed ? 1 : 0;
  out.r_final[run] = r;
}

// Sharp-limit runs first .. first + lanes - 1 advanced in lockstep, epoch by epoch. A single run is a chain
// of dependent sqrt/div (latency-bound); kLanes independent chains keep the pipelines full. Every lane does
// exactly the operations of train_one, in the same order, so results equal the one-run-at-a-time path.
constexpr int kLanes = 8;

inline void train_block_sharp(const double* r0, const double* lr, std::int64_t first, int lanes, const TrainConfig& cfg,
                              const TrainOutputs& out, const Control* control) {
  const std::int64_t n_records = static_cast<std::int64_t>(cfg.record_epochs.size());
  const double T = cfg.sim.T;
  const SharpConstants k(T, cfg.normalized);
  double r[kLanes], rate[kLanes];
  std::int64_t arrival[kLanes];
  bool done[kLanes], diverged[kLanes];
  for (int l = 0; l < lanes; ++l) {
    r[l] = r0[first + l];
    rate[l] = lr[first + l];
    arrival[l] = -1;
    done[l] = diverged[l] = false;
  }
  auto r_rec = [&](int l) { return out.r_hist + (first + l) * n_records; };
  auto loss_rec = [&](int l) { return out.loss_hist + (first + l) * n_records; };
  auto fill = [&](int l, std::int64_t from, double r_value, double loss_value) {
    for (std::int64_t j = from; j < n_records; ++j) {
      r_rec(l)[j] = r_value;
      loss_rec(l)[j] = loss_value;
    }
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  int n_active = lanes;
  bool completed = true;
  std::int64_t next_record = 0;
  for (std::int64_t epoch = 0;; ++epoch) {
    const bool need_record = next_record < n_records && cfg.record_epochs[next_record] == epoch;
    const bool last = epoch == cfg.epochs;
    for (int l = 0; l < lanes; ++l) {
      if (done[l]) continue;
      const double rl = r[l];
      if (!std::isfinite(rl)) {
        diverged[l] = done[l] = true;
        --n_active;
        fill(l, next_record, rl, nan);
        continue;
      }
      if (arrival[l] < 0 && rl <= k.r_star) arrival[l] = epoch;
      if (last || rl < k.zone_edge) {  // end of the run, or the zone: the gradient is 0 from here on
        done[l] = true;
        --n_active;
        if (last) {
          if (need_record) fill(l, next_record, rl, sharp_loss(rl, T));
        } else {
          fill(l, next_record, rl, sharp_loss(rl, T));
        }
        continue;
      }
      if (need_record) {
        r_rec(l)[next_record] = rl;
        loss_rec(l)[next_record] = sharp_loss(rl, T);
      }
      r[l] = rl - rate[l] * k.grad(rl);
    }
    if (need_record) ++next_record;
    if (n_active == 0) break;
    if (control != nullptr && (epoch & 255) == 255 && control->cancelled()) {
      completed = false;
      for (int l = 0; l < lanes; ++l)
        if (!done[l]) fill(l, next_record, nan, nan);
      break;
    }
  }
  for (int l = 0; l < lanes; ++l) {
    const std::int64_t i = first + l;
    out.arrival[i] = arrival[l];
    out.trapped[i] = (!diverged[l] && r[l] < k.zone_edge) ? 1 : 0;
    out.diverged[i] = diverged[l] ? 1 : 0;
    out.completed[i] = (completed || done[l]) ? 1 : 0;
    out.r_final[i] = r[l];
  }
}

// confidence may be nullptr when cfg.sharp; otherwise one value per run.
inline void train_many(const double* r0, const double* lr, const double* confidence, std::int64_t n_runs,
                       const TrainConfig& cfg, const TrainOutputs& out, int n_threads, Control* control) {
  validate(cfg);
  for (std::int64_t i = 0; i < n_runs; ++i) {
    if (!(lr[i] >= 0.0) || !std::isfinite(lr[i])) throw std::invalid_argument("lr must be finite and >= 0");
    if (!std::isfinite(r0[i])) throw std::invalid_argument("r0 must be finite");
    if (!cfg.sharp) {
      if (confidence == nullptr) throw std::invalid_argument("confidence is required for the simulated gradient");
      check_confidence(confidence[i]);
    }
  }
  if (cfg.sharp) {
    const std::int64_t n_blocks = (n_runs + kLanes - 1) / kLanes;
    parallel_for(n_blocks, n_threads, [&](std::int64_t b) {
      const std::int64_t first = b * kLanes;
      const int lanes = static_cast<int>(std::min<std::int64_t>(kLanes, n_runs - first));
      train_block_sharp(r0, lr, first, lanes, cfg, out, control);
      if (control != nullptr)
        for (int l = 0; l < lanes; ++l) control->finish_one();
    });
    return;
  }
  parallel_for(n_runs, n_threads, [&](std::int64_t i) {
    train_one(r0[i], lr[i], confidence[i], cfg, i, out, control);
    if (control != nullptr) control->finish_one();
  });
}

}  // namespace ghostfast::canonical
