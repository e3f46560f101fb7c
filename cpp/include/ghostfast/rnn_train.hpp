// Full-batch training of one RNN (all epochs in C++) and of many independent runs in parallel.
//
// Epoch e: [snapshot] -> [readout L1 cap] -> forward + BPTT on the current parameters -> record (loss of
// THAT pass, gradient norms, accuracy, weight norm, fixed-point count) -> stop if non-finite -> optimizer
// step on the trainable groups. Everything a run needs to continue exactly (parameters, Adam moments and
// step, Rng state, epoch counter) is in TrainStateData.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/random.hpp"
#include "ghostfast/rnn_bptt.hpp"
#include "ghostfast/rnn_model.hpp"
#include "ghostfast/rnn_optim.hpp"

namespace ghostfast::rnn {

struct TrainStateData {
  std::vector<double> params;          // flat, Layout order
  std::vector<double> adam_m, adam_v;  // flat (empty for SGD)
  std::int64_t adam_step = 0;
  Rng::State rng{};
  std::int64_t epoch = 0;  // epochs done so far (the next epoch's absolute index)
};

struct RunSpec {
  ModelSpec model;
  std::shared_ptr<const TaskData> task;
  std::vector<double> params;  // initial, flat (ignored when has_state)
  Optimizer optimizer = Optimizer::Sgd;
  double lr = 0.0;
  std::int64_t epochs = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::uint64_t key0 = 0, key1 = 0, stream = 0;
  std::int64_t record_every = 1;
  std::vector<std::int64_t> snapshot_epochs;  // absolute epoch indices
  bool has_state = false;
  TrainStateData state;
  std::vector<double> fixed_point_grid;  // rank one only; empty = off
};

struct RunResult {
  std::vector<std::int64_t> epochs;  // recorded absolute epoch indices
  std::vector<double> loss, grad_norm, weight_norm, accuracy, fixed_point_count;
  std::vector<double> group_norms;  // [kNumGroups, n_recorded] (NaN rows for absent groups)
  std::vector<std::pair<std::int64_t, std::vector<double>>> snapshots;
  TrainStateData state;
  bool diverged = false;
  std::int64_t diverged_epoch = -1;
  bool cancelled = false;  // stopped by a cancel: histories cover the epochs done, state continues exactly
};

inline void check_run(const RunSpec& r) {
  auto fail = [](const std::string& msg) { throw std::invalid_argument(msg); };
  check_model(r.model);
  if (!r.task) fail("task is missing");
  check_task(*r.task, r.model);
  const Layout L = make_layout(r.model);
  const auto& p = r.has_state ? r.state.params : r.params;
  if (p.size() != L.total) fail("params: wrong number of parameters for the model");
  for (double v : p)
    if (!std::isfinite(v)) fail("params must be finite (contains NaN or inf)");
  if (!(r.lr >= 0.0) || !std::isfinite(r.lr)) fail("lr must be finite and >= 0");
  if (r.epochs < 0) fail("epochs must be >= 0");
  if (r.record_every < 1) fail("record_every must be >= 1");
  if (r.optimizer == Optimizer::Adam) {
    if (!(r.beta1 >= 0.0 && r.beta1 < 1.0) || !(r.beta2 >= 0.0 && r.beta2 < 1.0)) fail("betas must be in [0, 1)");
    if (!(r.eps > 0.0) || !std::isfinite(r.eps)) fail("eps must be finite and > 0");
    if (r.has_state && r.state.adam_step > 0 && (r.state.adam_m.size() != L.total || r.state.adam_v.size() != L.total))
      fail("state: Adam moments have the wrong size");
  }
  if (!r.fixed_point_grid.empty() && (r.model.full_rank || r.model.K != 1))
    fail("fixed_point_grid needs a rank-one model");
}

// Squared norm of each group's gradient (0 for absent groups), summed in T.
template <class T>
GHOSTFAST_INLINE void group_sq_norms_t(const Layout& L, const T* grad, double* sq) {
  for (int g = 0; g < kNumGroups; ++g) {
    const T* gg = grad + L.offset[g];
    sq[g] = L.has(g) ? static_cast<double>(dot(gg, gg, static_cast<std::ptrdiff_t>(L.size[g]))) : 0.0;
  }
}
// The per-epoch gradient norms are compiled for each ISA clone like the passes (N^2 entries at full rank).
GHOSTFAST_HOT inline void group_sq_norms(const Layout& L, const double* grad, double* sq) {
  group_sq_norms_t(L, grad, sq);
}
GHOSTFAST_HOT inline void group_sq_norms(const Layout& L, const float* grad, double* sq) {
  group_sq_norms_t(L, grad, sq);
}

// Sign changes of f(kappa) = -kappa + n . tanh(m kappa + b) along the grid (rank one), in the model's precision.
template <class T>
inline double count_fixed_points(const ModelSpec& s, const Layout& L, const T* theta, const std::vector<double>& grid,
                                 std::vector<T>& buf) {
  const int N = s.N;
  const T* m = theta + L.offset[kM];
  const T* n = theta + L.offset[kN];
  const T* b = theta + L.offset[kB];
  buf.resize(2 * static_cast<std::size_t>(N));
  T* pre = buf.data();
  T* h = buf.data() + N;
  int count = 0;
  bool prev_pos = false;
  for (std::size_t j = 0; j < grid.size(); ++j) {
    const T k = static_cast<T>(grid[j]);
    for (int i = 0; i < N; ++i) pre[i] = m[i] * k + b[i];
    tanh_array(pre, h, N);
    const bool pos = (-k + dot(n, h, N)) > T(0);
    if (j > 0 && pos != prev_pos) ++count;
    prev_pos = pos;
  }
  return count;
}

template <class T>
inline void apply_l1_cap(const ModelSpec& s, const Layout& L, T* theta) {
  if (!(s.readout_l1_cap > 0.0)) return;
  T* w = theta + L.offset[kWout];
  T* bo = theta + L.offset[kBout];
  T l1 = 0;
  for (std::size_t i = 0; i < L.size[kWout]; ++i) l1 += std::fabs(w[i]);
  if (!(l1 > T(0))) return;  // an all-zero readout cannot be rescaled
  const T scale = l1 / static_cast<T>(s.readout_l1_cap);
  for (std::size_t i = 0; i < L.size[kWout]; ++i) w[i] /= scale;
  for (std::size_t i = 0; i < L.size[kBout]; ++i) bo[i] /= scale;
}

template <class T>
inline double evaluate_t(const ModelSpec& s, const double* theta, const TaskData& task, Rng& rng, double* grad,
                         double* states_out, std::vector<double>* ys_out, int n_threads) {
  const Layout L = make_layout(s);
  Workspace<T> ws;
  ws.resize(s, task, L, n_threads);
  if constexpr (std::is_same_v<T, double>) {
    run_pass(s, L, theta, task, rng, ws, grad, states_out);
  } else {
    const std::vector<T> th(theta, theta + L.total);
    std::vector<T> g(grad ? L.total : 0);
    std::vector<T> states(states_out ? std::size_t(task.S + 1) * task.B * s.N : 0);
    run_pass(s, L, th.data(), task, rng, ws, grad ? g.data() : nullptr, states_out ? states.data() : nullptr);
    if (grad) std::copy(g.begin(), g.end(), grad);
    if (states_out) std::copy(states.begin(), states.end(), states_out);
  }
  if (ys_out) ys_out->assign(ws.ys.begin(), ws.ys.end());
  return loss_of(task, ws.ys);
}

// One forward (+ backward) pass in the model's precision (loss_and_grad and forward()): theta, grad,
// states_out ([S+1, B, N]) and ys_out ([S, B, n_out]) are float64 (a float32 model's values are exact in
// them); grad, states_out and ys_out may be null.
inline double evaluate(const ModelSpec& s, const double* theta, const TaskData& task, Rng& rng, double* grad,
                       double* states_out = nullptr, std::vector<double>* ys_out = nullptr, int n_threads = 1) {
  if (s.dtype == Dtype::Float32) return evaluate_t<float>(s, theta, task, rng, grad, states_out, ys_out, n_threads);
  return evaluate_t<double>(s, theta, task, rng, grad, states_out, ys_out, n_threads);
}

inline std::int64_t count_recorded(std::int64_t first, std::int64_t count, std::int64_t every) {
  if (count <= 0) return 0;
  // multiples of `every` in [first, first + count)
  const std::int64_t last = first + count - 1;
  const std::int64_t up_to_last = last / every + 1;
  const std::int64_t before_first = first > 0 ? (first - 1) / every + 1 : 0;
  return up_to_last - before_first;
}

// A run cancelled before epoch st.epoch: keep the `rec` records made so far and the state to continue.
inline void keep_partial(RunResult& out, TrainStateData& st, const Rng& rng, std::int64_t rec, std::int64_t n_rec) {
  const auto n = static_cast<std::size_t>(rec);
  out.epochs.resize(n);
  out.loss.resize(n);
  out.grad_norm.resize(n);
  out.weight_norm.resize(n);
  out.accuracy.resize(n);
  if (!out.fixed_point_count.empty()) out.fixed_point_count.resize(n);
  for (std::size_t g = 1; g < static_cast<std::size_t>(kNumGroups); ++g)  // [kNumGroups, n_rec] -> [.., rec]
    std::copy_n(out.group_norms.begin() + static_cast<std::ptrdiff_t>(g * static_cast<std::size_t>(n_rec)), n,
                out.group_norms.begin() + static_cast<std::ptrdiff_t>(g * n));
  out.group_norms.resize(static_cast<std::size_t>(kNumGroups) * n);
  st.rng = rng.state();
  out.state = std::move(st);
  out.cancelled = true;
}

// One run in precision T (train_run below): parameters, moments and every pass in T; the state and histories
// stay float64 (a float32 value is exact in them, so resume continues bit for bit).
template <class T>
inline bool train_run_t(const RunSpec& r, RunResult& out, Control* control, int n_threads) {
  const ModelSpec& s = r.model;
  const TaskData& task = *r.task;
  const Layout L = make_layout(s);
  const std::size_t P = L.total;
  const bool adam = r.optimizer == Optimizer::Adam;

  TrainStateData st;
  if (r.has_state) {
    st = r.state;
  } else {
    st.params = r.params;
    st.rng = Rng(r.key0, r.key1, r.stream).state();
  }
  if (adam && st.adam_m.size() != P) {
    st.adam_m.assign(P, 0.0);
    st.adam_v.assign(P, 0.0);
    st.adam_step = 0;
  }
  Rng rng(st.rng);
  std::vector<T> theta(st.params.begin(), st.params.end());
  std::vector<T> mom(st.adam_m.begin(), st.adam_m.end()), vel(st.adam_v.begin(), st.adam_v.end());
  // The run's parameters and moments back into the (float64) state.
  auto sync_state = [&]() {
    st.params.assign(theta.begin(), theta.end());
    st.adam_m.assign(mom.begin(), mom.end());
    st.adam_v.assign(vel.begin(), vel.end());
  };
  std::vector<T> grad(P, T(0));
  Workspace<T> ws;
  ws.resize(s, task, L, n_threads);
  const AdamConfig adam_cfg{r.beta1, r.beta2, r.eps};
  std::vector<T> fp_buf;

  const std::int64_t first = st.epoch;
  const std::int64_t n_rec = count_recorded(first, r.epochs, r.record_every);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out = RunResult{};
  out.epochs.resize(n_rec);
  out.loss.assign(n_rec, nan);
  out.grad_norm.assign(n_rec, nan);
  out.weight_norm.assign(n_rec, nan);
  out.accuracy.assign(n_rec, nan);
  if (!r.fixed_point_grid.empty()) out.fixed_point_count.assign(n_rec, nan);
  out.group_norms.assign(static_cast<std::size_t>(kNumGroups) * n_rec, nan);
  {
    std::int64_t e = first + ((r.record_every - first % r.record_every) % r.record_every);
    for (std::int64_t i = 0; i < n_rec; ++i, e += r.record_every) out.epochs[i] = e;
  }
  std::vector<std::int64_t> snaps = r.snapshot_epochs;
  std::sort(snaps.begin(), snaps.end());
  snaps.erase(std::unique(snaps.begin(), snaps.end()), snaps.end());
  std::size_t next_snap = std::lower_bound(snaps.begin(), snaps.end(), first) - snaps.begin();

  std::int64_t rec = 0;
  for (std::int64_t e = 0; e < r.epochs; ++e) {
    if (control && control->cancelled()) {
      sync_state();
      keep_partial(out, st, rng, rec, n_rec);
      return false;
    }
    if (control) control->add_epochs(1);
    const std::int64_t abs_epoch = first + e;
    while (next_snap < snaps.size() && snaps[next_snap] < abs_epoch) ++next_snap;
    if (next_snap < snaps.size() && snaps[next_snap] == abs_epoch) {
      out.snapshots.emplace_back(abs_epoch, std::vector<double>(theta.begin(), theta.end()));
      ++next_snap;
    }
    apply_l1_cap(s, L, theta.data());
    run_pass(s, L, theta.data(), task, rng, ws, grad.data());
    const double loss = loss_of(task, ws.ys);
    double sq_train = 0.0, sq_all = 0.0;
    std::array<double, kNumGroups> sq_group{};
    group_sq_norms(L, grad.data(), sq_group.data());
    for (int g = 0; g < kNumGroups; ++g) {
      if (!L.has(g)) continue;
      sq_all += sq_group[g];
      if (s.trainable[g]) sq_train += sq_group[g];
    }
    const bool finite = std::isfinite(loss) && std::isfinite(sq_all);
    if (abs_epoch % r.record_every == 0) {
      out.loss[rec] = loss;
      out.grad_norm[rec] = std::sqrt(sq_train);
      for (int g = 0; g < kNumGroups; ++g)
        if (L.has(g)) out.group_norms[std::size_t(g) * n_rec + rec] = std::sqrt(sq_group[g]);
      out.weight_norm[rec] = weight_norm(s, L, theta.data(), ws, /*after_pass=*/true);  // theta as the pass saw it
      out.accuracy[rec] = accuracy_of(task, ws.ys);
      if (!r.fixed_point_grid.empty())
        out.fixed_point_count[rec] = count_fixed_points(s, L, theta.data(), r.fixed_point_grid, fp_buf);
      ++rec;
    }
    if (!finite) {
      out.diverged = true;
      out.diverged_epoch = abs_epoch;
      st.epoch = abs_epoch;
      break;
    }
    optimizer_step(r.optimizer, s, L, theta.data(), grad.data(), r.lr, adam_cfg, mom, vel, st.adam_step);
    st.epoch = abs_epoch + 1;
  }
  if (r.epochs == 0) st.epoch = first;
  // A snapshot at the epoch right after the last one is the final parameters.
  if (!out.diverged) {
    while (next_snap < snaps.size() && snaps[next_snap] < st.epoch) ++next_snap;
    if (next_snap < snaps.size() && snaps[next_snap] == st.epoch)
      out.snapshots.emplace_back(st.epoch, std::vector<double>(theta.begin(), theta.end()));
  }
  sync_state();
  st.rng = rng.state();
  out.state = std::move(st);
  return true;
}

// The per-run training routine. Returns false when cancelled through `control` before finishing; `out` then
// holds the partial result (keep_partial). Adds each epoch done to control->epochs (progress of single runs).
// n_threads: threads for the run's trial chunks (the numbers do not depend on it).
inline bool train_run(const RunSpec& r, RunResult& out, Control* control = nullptr, int n_threads = 1) {
  check_run(r);
  if (r.model.dtype == Dtype::Float32) return train_run_t<float>(r, out, control, n_threads);
  return train_run_t<double>(r, out, control, n_threads);
}

}  // namespace ghostfast::rnn
