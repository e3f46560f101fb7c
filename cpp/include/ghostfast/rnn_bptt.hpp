// Forward pass and backpropagation through time over a batch of trials: the time loop, generic over the cell
// (rnn_cell.hpp) and calling the readout (rnn_readout.hpp).
//
// Trials are processed in chunks (forward then backward through all steps per chunk), so a chunk's stored
// trajectories stay in cache and a run's memory does not grow with the batch. A batch of B trials is split into
// ceil(B / 16) chunks of C = ceil(B / n_chunks) trials rounded up to a multiple of 4 (the trial block of the
// products); the split depends on B alone. Consecutive chunks form at most 16 groups (also fixed by B); the
// groups run on n_threads threads, each group's chunks in order into the group's gradient, and the group
// gradients are summed in group order, so the numbers never depend on the thread count (and a run's memory
// holds at most 16 extra gradients).
//
// Random numbers (only when the model is stochastic): each pass takes one 64-bit key from the run's Rng; chunk
// c draws from BulkNormals(key, c) (rnn_noise.hpp): x0's normals for its trials in order (x0 = "random"), then
// for each step t the noise of its trials in order. Nothing is allocated inside the epoch loop.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/random.hpp"
#include "ghostfast/rnn_cell.hpp"
#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"
#include "ghostfast/rnn_noise.hpp"
#include "ghostfast/rnn_readout.hpp"

namespace ghostfast::rnn {

constexpr int kMaxChunkTrials = 16;
constexpr int kMaxChunkGroups = 16;

struct Chunking {
  int n_chunks = 1;
  int C = 1;         // trials per chunk (the last one may have fewer)
  int n_groups = 1;  // group g holds chunks [first(g), first(g + 1))
  int first(int g) const { return static_cast<int>((static_cast<long long>(g) * n_chunks) / n_groups); }
};
inline Chunking chunking(int B) {
  Chunking ch;
  ch.n_chunks = (B + kMaxChunkTrials - 1) / kMaxChunkTrials;
  const int per = (B + ch.n_chunks - 1) / ch.n_chunks;
  ch.C = std::min(B, (per + kTrialBlock - 1) / kTrialBlock * kTrialBlock);
  ch.n_chunks = (B + ch.C - 1) / ch.C;
  ch.n_groups = std::min(ch.n_chunks, kMaxChunkGroups);
  return ch;
}

inline bool stochastic(const ModelSpec& s) { return s.noise_std > 0.0 || s.x0_random; }

// The last update, x_S = F(x_{S-1}), is never observed when every output is read before its update (the task
// models): no output and no gradient depend on x_S. The passes then skip its products, tanh and noise (when
// the caller does not ask for the states; its noise is the chunk's last draw, so nothing else changes).
inline bool last_update_unobserved(const ModelSpec& s) { return s.read_before; }

// x0 = 0 for every trial (constant x0 of zeros, as in the deterministic Fig 7 runs): W x_0 = 0 and x_0 adds
// nothing to dL/dW, so the full-rank passes skip those products.
inline bool x0_is_zero(const ModelSpec& s) {
  return !s.x0_random && std::all_of(s.x0.begin(), s.x0.end(), [](double v) { return v == 0.0; });
}

// Everything a run's passes need, allocated once per run (resize() is a no-op for the same shapes).
template <class T>
struct Workspace {
  Chunking chunks;
  int threads = 1;
  std::vector<T> ys;                           // [S, B, n_out] outputs of all trials (the layout of TaskData's arrays)
  std::vector<T> wt, mt, nt;                   // per-pass transposes of the recurrent weights
  std::vector<std::vector<T>> part;            // per-group gradients (more than one group)
  std::vector<ChunkWorkspace<T>> chunk;        // one per thread
  std::vector<BulkNormals> normals;            // one per thread
  std::vector<T> gm_tmp;                       // dL/dm transpose at the end of a pass
  std::vector<T> norm_scratch;                 // weight norm
  std::vector<T> task_in, task_tg, task_mask;  // the task's arrays in T (float32 models only)

  // The task's arrays as the passes read them (TaskData's own for float64).
  const T* inputs(const TaskData& t) const {
    if constexpr (std::is_same_v<T, double>)
      return t.inputs.data();
    else
      return task_in.data();
  }
  const T* targets(const TaskData& t) const {
    if constexpr (std::is_same_v<T, double>)
      return t.targets.data();
    else
      return task_tg.data();
  }
  const T* mask(const TaskData& t) const {
    if constexpr (std::is_same_v<T, double>)
      return t.mask.data();
    else
      return task_mask.data();
  }

  void resize(const ModelSpec& s, const TaskData& t, const Layout& L, int n_threads) {
    const std::size_t N = s.N, K = s.full_rank ? 0 : s.K, S = t.S;
    chunks = chunking(t.B);
    threads = std::max(1, std::min(n_threads, chunks.n_groups));
    const std::size_t C = chunks.C;
    if constexpr (!std::is_same_v<T, double>) {
      task_in.assign(t.inputs.begin(), t.inputs.end());
      task_tg.assign(t.targets.begin(), t.targets.end());
      task_mask.assign(t.mask.begin(), t.mask.end());
    }
    ys.assign(std::size_t(t.B) * S * s.n_out, 0.0);
    wt.assign(s.full_rank ? N * N : 0, 0.0);
    mt.assign(K * N, 0.0);
    nt.assign(K * N, 0.0);
    gm_tmp.assign(K * N, 0.0);
    part.assign(chunks.n_groups > 1 ? chunks.n_groups : 0, std::vector<T>(L.total, 0.0));
    chunk.assign(threads, ChunkWorkspace<T>{});
    normals.assign(threads, BulkNormals{});
    for (ChunkWorkspace<T>& ws : chunk) {
      ws.xs.assign(C * (S + 1) * N, 0.0);
      ws.hs.assign(C * S * N, 0.0);
      ws.kaps.assign(C * (S + 1) * K, 0.0);
      ws.gks.assign(C * (S + 1) * K, 0.0);
      ws.pre.assign(C * N, 0.0);
      ws.gx.assign(C * N, 0.0);
      ws.noise.assign(C * N, 0.0);
      ws.dots.assign(std::max<std::size_t>(C, 4), 0.0);
      ws.gz.assign(s.n_out, 0.0);
      ws.gy.assign(s.n_out, 0.0);
      ws.gk_scratch.assign(std::max<std::size_t>(K, 1), 0.0);
      ws.sample_g.assign(C * (S + 1), nullptr);
      ws.sample_x.assign(C * (S + 1), nullptr);
      ws.row_ptr.assign(std::max(N, K), nullptr);
    }
  }
};

// Forward pass of the chunk of trials [tr0, tr0 + nc): states, tanh values, latents, outputs (into ys).
// states_out (optional, [S+1, B, N]) receives the chunk's states.
template <class T, class Cell>
GHOSTFAST_INLINE void forward_chunk(const PassContext<T>& c, ChunkWorkspace<T>& ws, BulkNormals& normals, T* ys,
                                    int tr0, int nc, T* states_out) {
  const ModelSpec& s = c.s;
  const TaskData& task = c.task;
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, C = c.C, nin = s.n_in, nout = s.n_out;
  const T a = static_cast<T>(s.alpha), keep = static_cast<T>(1.0 - s.alpha);
  const T* win = c.theta + c.L.offset[kWin];
  const bool noisy = s.noise_std > 0.0;
  auto xat = [&](int t) { return ws.xs.data() + std::size_t(t) * C * N; };  // trial rows of step t
  auto kat = [&](int t) { return ws.kaps.data() + std::size_t(t) * C * K; };
  if (s.x0_random) {  // x0 = tanh(x0_std z)
    normals.fill(s.x0_std, xat(0), nc * N);
    tanh_array(xat(0), xat(0), nc * N);
  } else {
    for (int tr = 0; tr < nc; ++tr) std::copy(s.x0.begin(), s.x0.end(), xat(0) + std::size_t(tr) * N);
  }
  Cell::latents(c, ws, 0, nc);
  const bool skip_last = last_update_unobserved(s) && states_out == nullptr;
  const bool zero_x0 = x0_is_zero(s);
  for (int t = 0; t < S; ++t) {
    T* y_t = ys + (std::size_t(t) * B + tr0) * nout;
    if (s.read_before)  // y_t from x_t
      readout_forward_rows(s, c.L, c.theta, xat(t), kat(t), nc, y_t, ws.dots.data());
    if (skip_last && t == S - 1) break;
    Cell::recurrent_input(c, ws, t, nc, zero_x0);
    if (nin > 0) {
      for (int tr = 0; tr < nc; ++tr) {
        T* pre = ws.pre.data() + std::size_t(tr) * N;
        const T* u = c.inputs + (std::size_t(t) * B + tr0 + tr) * nin;
        for (int q = 0; q < nin; ++q) {
          const T uq = u[q];
          if (uq == T(0)) continue;
          for (int i = 0; i < N; ++i) pre[i] += win[std::size_t(i) * nin + q] * uq;
        }
      }
    }
    if (noisy) {
      normals.fill(s.noise_std, ws.noise.data(), nc * N);
      for (int i = 0; i < nc * N; ++i) ws.pre[i] += ws.noise[i];
    }
    // h = tanh(pre) of all the chunk's trials in one call (consecutive rows of pre and hs): one long loop
    T* h = ws.hs.data() + std::size_t(t) * C * N;
    tanh_array(ws.pre.data(), h, nc * N);
    const T* xt = xat(t);
    T* xn = xat(t + 1);
    for (int i = 0; i < nc * N; ++i) xn[i] = keep * xt[i] + a * h[i];
    Cell::latents(c, ws, t + 1, nc);
    if (!s.read_before)  // y_t from x_{t+1}
      readout_forward_rows(s, c.L, c.theta, xat(t + 1), kat(t + 1), nc, y_t, ws.dots.data());
  }
  if (states_out)
    for (int t = 0; t <= S; ++t)
      for (int tr = 0; tr < nc; ++tr)
        std::copy(xat(t) + std::size_t(tr) * N, xat(t) + std::size_t(tr + 1) * N,
                  states_out + (std::size_t(t) * B + tr0 + tr) * N);
}

// Backward pass of the chunk (after its forward_chunk): adds the chunk's gradient to grad (zeroed by the caller
// before a group's first chunk, except the slot that Cell::finish_chunk writes when `first`). dL/dm is
// accumulated transposed (K x N, see LowRankCell).
template <class T, class Cell>
GHOSTFAST_INLINE void backward_chunk(const PassContext<T>& c, ChunkWorkspace<T>& ws, const T* ys, int tr0, int nc,
                                     T* grad, bool first) {
  const ModelSpec& s = c.s;
  const TaskData& task = c.task;
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, C = c.C, nin = s.n_in, nout = s.n_out;
  const T a = static_cast<T>(s.alpha), keep = static_cast<T>(1.0 - s.alpha);
  T* gb = grad + c.L.offset[kB];
  T* gwin = grad + c.L.offset[kWin];
  const T two_scale = static_cast<T>(2.0 * task.loss_scale);
  auto xat = [&](int t, int tr) { return ws.xs.data() + (std::size_t(t) * C + tr) * N; };
  auto kat = [&](int t, int tr) { return ws.kaps.data() + (std::size_t(t) * C + tr) * K; };
  auto gkat = [&](int t, int tr) { return K ? ws.gks.data() + (std::size_t(t) * C + tr) * K : ws.gk_scratch.data(); };
  T* gyp = ws.gy.data();
  // the readout of y_t (trial tr) read from state `at`: dL/dy, then its backward step
  auto readout_grad = [&](int t, int tr, int at) {
    const std::size_t off = (std::size_t(t) * B + tr0 + tr) * nout;
    const T* yt = ys + off;
    const T* tg = c.targets + off;
    const T* M = c.mask + off;
    for (int o = 0; o < nout; ++o) gyp[o] = two_scale * M[o] * (yt[o] - tg[o]);
    readout_backward(s, c.L, c.theta, xat(at, tr), kat(at, tr), yt, gyp, ws.gz.data(), gkat(at, tr),
                     ws.gx.data() + std::size_t(tr) * N, grad);
  };
  std::fill(ws.gx.begin(), ws.gx.begin() + std::size_t(nc) * N, T(0));  // dL/dx_S from later steps: none
  Cell::begin_backward(c, ws, nc);
  // Steps whose pre-activation gradient is known to be zero (the unobserved last update). Samples (t, trial)
  // of dL/dW run over t in [t_lo, t_hi): the skipped ones are exactly zero (gpre = 0 at the last step,
  // x_0 = 0 at the first).
  const int t_lo = (s.full_rank && x0_is_zero(s)) ? 1 : 0;
  const int t_hi = std::max(t_lo, last_update_unobserved(s) ? S - 1 : S);
  for (int t = S - 1; t >= 0; --t) {
    if (!s.read_before)
      for (int tr = 0; tr < nc; ++tr) readout_grad(t, tr, t + 1);
    Cell::backward_state(c, ws, t + 1, nc);  // dL/dx_{t+1} is complete now
    if (t < t_hi) {
      for (int tr = 0; tr < nc; ++tr) {                       // through x_{t+1} = keep x_t + a tanh(pre_t)
        T* h = ws.hs.data() + (std::size_t(t) * C + tr) * N;  // overwritten by gpre_t
        T* gx = ws.gx.data() + std::size_t(tr) * N;
        for (int i = 0; i < N; ++i) {
          const T gp = gx[i] * a * (T(1) - h[i] * h[i]);
          h[i] = gp;
          gx[i] *= keep;
          gb[i] += gp;
        }
        if (nin > 0) {
          const T* u = c.inputs + (std::size_t(t) * B + tr0 + tr) * nin;
          for (int q = 0; q < nin; ++q) {
            const T uq = u[q];
            if (uq == T(0)) continue;
            for (int i = 0; i < N; ++i) gwin[std::size_t(i) * nin + q] += h[i] * uq;
          }
        }
      }
      Cell::backward_step(c, ws, t, nc);
    } else {
      Cell::no_update(c, ws, t, nc);
    }
    if (s.read_before)
      for (int tr = 0; tr < nc; ++tr) readout_grad(t, tr, t);
  }
  Cell::finish_chunk(c, ws, nc, t_lo, t_hi, grad, first);
}

// Loss = loss_scale * sum mask (y - target)^2 of the outputs ys (summed in float64 for either precision).
template <class T>
inline double loss_of(const TaskData& task, const std::vector<T>& ys) {
  const std::size_t n = ys.size();
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(ys[i]) - task.targets[i];
    total += task.mask[i] * d * d;
  }
  return task.loss_scale * total;
}

// Fraction of correct outputs over entries with mask != 0 (all entries with the default mask).
template <class T>
inline double accuracy_of(const TaskData& task, const std::vector<T>& ys) {
  const std::size_t n = ys.size();
  std::size_t correct = 0, counted = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (task.mask[i] == 0.0) continue;
    ++counted;
    const double y = ys[i];
    const double target = task.targets[i];
    if (task.ternary) {
      const double cls = y > 0.33 ? 1.0 : (y < -0.33 ? -1.0 : 0.0);
      correct += (cls == target) ? 1 : 0;
    } else {
      correct += ((y > 0.5) == (target > 0.5)) ? 1 : 0;
    }
  }
  return counted ? static_cast<double>(correct) / static_cast<double>(counted) : 0.0;
}

// Forward (+ backward into grad, when not null) of one chunk; compiled for each ISA clone below, for each cell
// and precision.
template <class T, class Cell>
GHOSTFAST_INLINE void chunk_pass(const PassContext<T>& c, ChunkWorkspace<T>& ws, BulkNormals& normals, T* ys, int tr0,
                                 int nc, T* states_out, T* grad, bool first) {
  forward_chunk<T, Cell>(c, ws, normals, ys, tr0, nc, states_out);
  if (grad) backward_chunk<T, Cell>(c, ws, ys, tr0, nc, grad, first);
}
#define GHOSTFAST_CHUNK_PASS(NAME, T, CELL)                                                                            \
  GHOSTFAST_HOT inline void NAME(const PassContext<T>& c, ChunkWorkspace<T>& ws, BulkNormals& normals, T* ys, int tr0, \
                                 int nc, T* states_out, T* grad, bool first) {                                         \
    chunk_pass<T, CELL<T>>(c, ws, normals, ys, tr0, nc, states_out, grad, first);                                      \
  }
GHOSTFAST_CHUNK_PASS(chunk_pass_full, double, FullRankCell)
GHOSTFAST_CHUNK_PASS(chunk_pass_low, double, LowRankCell)
GHOSTFAST_CHUNK_PASS(chunk_pass_full, float, FullRankCell)
GHOSTFAST_CHUNK_PASS(chunk_pass_low, float, LowRankCell)
#undef GHOSTFAST_CHUNK_PASS

template <class T, class Cell>
void run_pass_cell(const ModelSpec& s, const Layout& L, const T* theta, const TaskData& task, Rng& rng, Workspace<T>& w,
                   T* grad, T* states_out) {
  constexpr bool full = std::is_same_v<Cell, FullRankCell<T>>;
  Cell::prepare(s, L, theta, w.wt, w.mt, w.nt);
  const PassContext<T> c{
      s,           L,           theta,       task,      w.inputs(task), w.targets(task), w.mask(task),
      w.wt.data(), w.mt.data(), w.nt.data(), w.chunks.C};
  const std::uint64_t pass_key = stochastic(s) ? rng.next_u64() : 0;
  const Chunking& ch = w.chunks;
  // A group's gradient starts at zero, except the slot finish_chunk writes whole for its first chunk (dL/dW).
  const std::size_t skip_lo = full ? L.offset[kW] : 0, skip_hi = full ? L.offset[kW] + L.size[kW] : 0;
  auto do_group = [&](std::int64_t gi, int worker) {
    const int group = static_cast<int>(gi);
    ChunkWorkspace<T>& ws = w.chunk[worker];
    BulkNormals& normals = w.normals[worker];
    T* g = grad ? (ch.n_groups == 1 ? grad : w.part[group].data()) : nullptr;
    if (g) {
      std::fill(g, g + skip_lo, T(0));
      std::fill(g + skip_hi, g + L.total, T(0));
    }
    for (int ci = ch.first(group); ci < ch.first(group + 1); ++ci) {
      const int tr0 = ci * ch.C, nc = std::min(ch.C, task.B - tr0);
      if (stochastic(s)) normals.seed(pass_key, static_cast<std::uint64_t>(ci));
      const bool first = ci == ch.first(group);
      if constexpr (full)
        chunk_pass_full(c, ws, normals, w.ys.data(), tr0, nc, states_out, g, first);
      else
        chunk_pass_low(c, ws, normals, w.ys.data(), tr0, nc, states_out, g, first);
    }
  };
  if (w.threads <= 1 || ch.n_groups == 1) {
    for (int gi = 0; gi < ch.n_groups; ++gi) do_group(gi, 0);
  } else {
    parallel_for_workers(ch.n_groups, w.threads, do_group);
  }
  if (!grad) return;
  if (ch.n_groups > 1) {  // sum of the group gradients in group order
    std::copy(w.part[0].begin(), w.part[0].end(), grad);
    for (int gi = 1; gi < ch.n_groups; ++gi) {
      const T* p = w.part[gi].data();
      for (std::size_t i = 0; i < L.total; ++i) grad[i] += p[i];
    }
  }
  if constexpr (!full) {  // dL/dm from its transposed accumulator
    const int N = s.N, K = s.K;
    T* gm = grad + L.offset[kM];
    std::copy(gm, gm + std::size_t(K) * N, w.gm_tmp.begin());
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < K; ++k) gm[std::size_t(i) * K + k] = w.gm_tmp[std::size_t(k) * N + i];
  }
}

// One full pass over the batch: outputs of all trials into w.ys and, if grad is not null, the gradient of the
// loss w.r.t. every parameter (all groups, frozen or not) into grad (size L.total). states_out (optional):
// [S+1, B, N] states of all trials. w must have been resized for (s, task). T is the model's precision.
template <class T>
inline void run_pass(const ModelSpec& s, const Layout& L, const T* theta, const TaskData& task, Rng& rng,
                     Workspace<T>& w, T* grad, T* states_out = nullptr) {
  if (s.full_rank)
    run_pass_cell<T, FullRankCell<T>>(s, L, theta, task, rng, w, grad, states_out);
  else
    run_pass_cell<T, LowRankCell<T>>(s, L, theta, task, rng, w, grad, states_out);
}

// ||W||_F of theta. after_pass: run_pass() has just run on this theta, so its transposes of m and n are reused
// (the training loop); otherwise they are made here.
template <class T>
inline double weight_norm(const ModelSpec& s, const Layout& L, const T* theta, Workspace<T>& w,
                          bool after_pass = false) {
  if (s.full_rank) return FullRankCell<T>::weight_norm(s, L, theta, w.norm_scratch);
  if (!after_pass) {
    w.mt.resize(std::size_t(s.K) * s.N);
    w.nt.resize(std::size_t(s.K) * s.N);
    LowRankCell<T>::prepare(s, L, theta, w.wt, w.mt, w.nt);
  }
  return LowRankCell<T>::weight_norm(s, L, theta, w.mt.data(), w.nt.data(), w.norm_scratch);
}

}  // namespace ghostfast::rnn
