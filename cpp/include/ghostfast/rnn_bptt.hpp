// Forward pass and backpropagation through time for the models of rnn_model.hpp, over a batch of trials.
//
// Everything a pass needs is preallocated in a Workspace (no allocation inside the epoch loop). Reductions
// use a fixed summation order, so a run's numbers never depend on the thread that computes it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ghostfast/random.hpp"
#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"
#include "ghostfast/rnn_noise.hpp"

namespace ghostfast::rnn {

// Trials are processed in chunks of kChunkTrials (forward then backward through all steps per chunk), so the
// stored trajectories of one chunk stay in cache and a run's memory does not grow with the batch size.
constexpr int kChunkTrials = 16;

struct Workspace {
  int C = 0;                 // trials per chunk (min(B, kChunkTrials))
  std::vector<double> xs;    // [S+1, C, N] states x_0 .. x_S of the current chunk (time-major)
  std::vector<double> hs;    // [S, C, N] tanh(pre_t)
  std::vector<double> kaps;  // [S+1, C, K] latents n x_t (low rank only)
  std::vector<double> ys;    // [S, B, n_out] outputs of ALL trials (the layout of TaskData's arrays)
  std::vector<double> pre;   // [C, N] pre-activations of one step
  std::vector<double> gx;    // [C, N] dL/dx of one step
  std::vector<double> gpre, gkap, gy, gz;
  std::vector<double> dots;  // [C] readout dots of one step
  std::vector<double> wt;       // W^T (full rank)
  std::vector<double> mt, gmt;  // m^T and dL/dm^T (K x N, low rank)
  std::vector<double> noise;    // [N] noise of one trial-step
  std::vector<const double*> sample_g, sample_x;  // [C S] operands of dL/dW
  std::vector<double*> row_ptr;                    // [N] rows of dL/dW

  void resize(const ModelSpec& s, const TaskData& t) {
    const std::size_t N = s.N, K = s.full_rank ? 0 : s.K, B = t.B, S = t.S;
    C = std::min(t.B, kChunkTrials);
    const std::size_t Cs = static_cast<std::size_t>(C);
    xs.assign(Cs * (S + 1) * N, 0.0);
    hs.assign(Cs * S * N, 0.0);
    kaps.assign(Cs * (S + 1) * K, 0.0);
    ys.assign(B * S * s.n_out, 0.0);
    pre.assign(Cs * N, 0.0);
    gx.assign(Cs * N, 0.0);
    wt.assign(s.full_rank ? N * N : 0, 0.0);
    mt.assign(K * N, 0.0);
    gmt.assign(K * N, 0.0);
    noise.assign(N, 0.0);
    sample_g.assign(s.full_rank ? Cs * S : 0, nullptr);
    sample_x.assign(s.full_rank ? Cs * S : 0, nullptr);
    row_ptr.assign(s.full_rank ? N : 0, nullptr);
    gy.assign(s.n_out, 0.0);
    gpre.assign(N, 0.0);
    gkap.assign(std::max<std::size_t>(K, 1), 0.0);
    gz.assign(s.n_out, 0.0);
    dots.assign(Cs, 0.0);
  }
};

inline double apply_output(Output g, double a) {
  switch (g) {
    case Output::Sigmoid: return 1.0 / (1.0 + std::exp(-a));
    case Output::Tanh: return std::tanh(a);
    default: return a;
  }
}
// d g / d a written in terms of y = g(a).
inline double output_slope(Output g, double y) {
  switch (g) {
    case Output::Sigmoid: return y * (1.0 - y);
    case Output::Tanh: return 1.0 - y * y;
    default: return 1.0;
  }
}

// Output(s) of one state x (with its latents kap when low rank) into y[0 .. n_out).
inline void readout_forward(const ModelSpec& s, const Layout& L, const double* theta, const double* x,
                            const double* kap, double* y) {
  const int N = s.N, K = s.K;
  switch (s.readout) {
    case Readout::Latent: {
      const double c = theta[L.offset[kC]];
      y[0] = apply_output(Output::Sigmoid, c * (kap[0] - s.threshold));
      break;
    }
    case Readout::Linear: {
      const double* w = theta + L.offset[kWout];
      const double* bo = theta + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) y[o] = apply_output(s.output, bo[o] + dot(w + std::size_t(o) * N, x, N));
      break;
    }
    case Readout::LatentLinear: {
      const double* w = theta + L.offset[kWout];
      const double* bo = theta + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) {
        double a = bo[o];
        for (int k = 0; k < K; ++k) a += w[std::size_t(o) * K + k] * kap[k];
        y[o] = apply_output(s.output, a);
      }
      break;
    }
  }
}

// Outputs of nc consecutive trials at one step: states x (nc rows of N), latents kap (nc rows of K), outputs y
// (nc rows of n_out). The linear readout's dots run four trials at a time (dot_rows: the same bits as
// readout_forward per trial); the other readouts go trial by trial.
GHOSTFAST_INLINE void readout_forward_rows(const ModelSpec& s, const Layout& L, const double* theta, const double* x,
                                           const double* kap, int nc, double* y, double* dots) {
  const int N = s.N, K = s.K, nout = s.n_out;
  if (s.readout != Readout::Linear) {
    for (int tr = 0; tr < nc; ++tr)
      readout_forward(s, L, theta, x + std::size_t(tr) * N, kap + std::size_t(tr) * K, y + std::size_t(tr) * nout);
    return;
  }
  const double* w = theta + L.offset[kWout];
  const double* bo = theta + L.offset[kBout];
  for (int o = 0; o < nout; ++o) {
    dot_rows(w + std::size_t(o) * N, x, N, nc, dots);
    for (int tr = 0; tr < nc; ++tr) y[std::size_t(tr) * nout + o] = apply_output(s.output, bo[o] + dots[tr]);
  }
}

// Adds the readout's contribution to dL/dx (gx) and to the parameter gradients, given dL/dy (gy) and y.
inline void readout_backward(const ModelSpec& s, const Layout& L, const double* theta, const double* x,
                             const double* kap, const double* y, const double* gy, double* gz, double* gkap,
                             double* gx, double* grad) {
  const int N = s.N, K = s.K;
  switch (s.readout) {
    case Readout::Latent: {
      const double c = theta[L.offset[kC]];
      const double dz = gy[0] * output_slope(Output::Sigmoid, y[0]);
      if (dz == 0.0) return;
      grad[L.offset[kC]] += dz * (kap[0] - s.threshold);
      const double dk = dz * c;  // dL/dkappa_0, kappa_0 = n[0] . x
      const double* n0 = theta + L.offset[kN];
      axpy(dk, n0, gx, N);
      axpy(dk, x, grad + L.offset[kN], N);
      break;
    }
    case Readout::Linear: {
      const double* w = theta + L.offset[kWout];
      double* gw = grad + L.offset[kWout];
      double* gbo = grad + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) {
        const double dz = gy[o] * output_slope(s.output, y[o]);
        if (dz == 0.0) continue;
        gbo[o] += dz;
        axpy(dz, x, gw + std::size_t(o) * N, N);
        axpy(dz, w + std::size_t(o) * N, gx, N);
      }
      break;
    }
    case Readout::LatentLinear: {
      const double* w = theta + L.offset[kWout];
      double* gw = grad + L.offset[kWout];
      double* gbo = grad + L.offset[kBout];
      for (int k = 0; k < K; ++k) gkap[k] = 0.0;
      bool any = false;
      for (int o = 0; o < s.n_out; ++o) {
        gz[o] = gy[o] * output_slope(s.output, y[o]);
        if (gz[o] == 0.0) continue;
        any = true;
        gbo[o] += gz[o];
        for (int k = 0; k < K; ++k) {
          gw[std::size_t(o) * K + k] += gz[o] * kap[k];
          gkap[k] += w[std::size_t(o) * K + k] * gz[o];
        }
      }
      if (!any) return;
      const double* n = theta + L.offset[kN];
      double* gn = grad + L.offset[kN];
      for (int k = 0; k < K; ++k) {
        axpy(gkap[k], n + std::size_t(k) * N, gx, N);
        axpy(gkap[k], x, gn + std::size_t(k) * N, N);
      }
      break;
    }
  }
}

// Per-pass transposes of the recurrent weights (W^T for the full-rank products, m^T for low rank).
GHOSTFAST_HOT inline void prepare_pass(const ModelSpec& s, const Layout& L, const double* theta, Workspace& ws) {
  const int N = s.N, K = s.full_rank ? 0 : s.K;
  if (s.full_rank) {
    const double* W = theta + L.offset[kW];
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) ws.wt[std::size_t(j) * N + i] = W[std::size_t(i) * N + j];
  } else {
    const double* m = theta + L.offset[kM];
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < K; ++k) ws.mt[std::size_t(k) * N + i] = m[std::size_t(i) * K + k];
  }
}

// The last update, x_S = F(x_{S-1}), is never observed when every output is read before its update (the task
// models): no output and no gradient depend on x_S. The passes then skip its products and tanh (when the
// caller does not ask for the states). Its noise is still drawn, so the random stream stays the same.
inline bool last_update_unobserved(const ModelSpec& s) { return s.read_before; }

// x0 = 0 for every trial (constant x0 of zeros, as in the deterministic Fig 7 runs): W x_0 = 0 and x_0 adds
// nothing to dL/dW, so the passes skip those products.
inline bool x0_is_zero(const ModelSpec& s) {
  return !s.x0_random && std::all_of(s.x0.begin(), s.x0.end(), [](double v) { return v == 0.0; });
}

// Draws x0 and runs the recurrence for the trials of one chunk, storing states, tanh values, latents and
// outputs. Time-major within the chunk (step t for all its trials, then step t + 1; the workspace arrays are
// [step, trial, ...]), so the full-rank products W x of the chunk's trials share each row of W.
// Random numbers (only if the model is stochastic; standard normals from the run's Rng by the ziggurat of
// rnn_noise.hpp), chunk after chunk: x0's N normals for the chunk's trials in order (x0="random"), then for
// each step t, N noise normals for the chunk's trials in order (noise_std > 0).
// Forward pass of the chunk of trials [tr0, tr0 + nc) (nc <= ws.C); prepare_pass() must have run for theta.
// states_out (optional, [S+1, B, N]) receives the chunk's states.
GHOSTFAST_HOT inline void forward_chunk(const ModelSpec& s, const Layout& L, const double* theta,
                                        const TaskData& task, Rng& rng, Workspace& ws, int tr0, int nc,
                                        double* states_out) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, C = ws.C, nin = s.n_in, nout = s.n_out;
  const double a = s.alpha, keep = 1.0 - s.alpha;
  const double* m = theta + L.offset[kM];
  const double* nv = theta + L.offset[kN];
  const double* b = theta + L.offset[kB];
  const double* win = theta + L.offset[kWin];
  const bool noisy = s.noise_std > 0.0;
  // tr: index within the chunk; trial tr0 + tr of the task
  auto xat = [&](int t, int tr) { return ws.xs.data() + (std::size_t(t) * C + tr) * N; };
  auto kat = [&](int t, int tr) { return ws.kaps.data() + (std::size_t(t) * C + tr) * K; };
  for (int tr = 0; tr < nc; ++tr) {
    double* X = xat(0, tr);
    if (s.x0_random) {
      fill_normal(rng, s.x0_std, X, N);  // x0 = tanh(x0_std z)
      tanh_array(X, X, N);
    } else {
      std::copy(s.x0.begin(), s.x0.end(), X);
    }
    double* KA = kat(0, tr);
    for (int k = 0; k < K; ++k) KA[k] = dot(nv + std::size_t(k) * N, X, N);
  }
  const bool skip_last = last_update_unobserved(s) && states_out == nullptr;
  const bool zero_x0 = s.full_rank && x0_is_zero(s);
  for (int t = 0; t < S; ++t) {
    const bool update = !(skip_last && t == S - 1);  // x_{t+1} is needed
    if (s.full_rank && update) {  // pre_b = W x_{b,t} for every trial b (W^T rows stream once per 4 trials)
      if (t == 0 && zero_x0)
        std::fill(ws.pre.begin(), ws.pre.begin() + std::size_t(nc) * N, 0.0);
      else
        gemv_rows_multi(ws.wt.data(), N, xat(t, 0), ws.pre.data(), nc, false);
    }
    if (s.read_before)  // y_t from x_t, every trial of the chunk
      readout_forward_rows(s, L, theta, xat(t, 0), kat(t, 0), nc,
                           ws.ys.data() + (std::size_t(t) * B + tr0) * nout, ws.dots.data());
    for (int tr = 0; tr < nc; ++tr) {  // pre-activations (noise drawn trial after trial)
      const double* kt = kat(t, tr);
      double* pre = ws.pre.data() + std::size_t(tr) * N;
      if (!update) {
        if (noisy) fill_normal(rng, s.noise_std, ws.noise.data(), N);  // keeps the random stream
        continue;
      }
      if (s.full_rank) {
        for (int i = 0; i < N; ++i) pre[i] += b[i];
      } else {  // pre = b + sum_k m[:, k] kappa_k
        const double k0 = kt[0];
        for (int i = 0; i < N; ++i) pre[i] = b[i] + m[i * K] * k0;
        for (int k = 1; k < K; ++k) axpy(kt[k], ws.mt.data() + std::size_t(k) * N, pre, N);
      }
      if (nin > 0) {
        const double* u = task.inputs.data() + (std::size_t(t) * B + tr0 + tr) * nin;
        for (int q = 0; q < nin; ++q) {
          const double uq = u[q];
          if (uq == 0.0) continue;
          for (int i = 0; i < N; ++i) pre[i] += win[std::size_t(i) * nin + q] * uq;
        }
      }
      if (noisy) {
        double* xi = ws.noise.data();
        fill_normal(rng, s.noise_std, xi, N);
        for (int i = 0; i < N; ++i) pre[i] += xi[i];
      }
    }
    if (!update) continue;
    // h = tanh(pre) of all the chunk's trials in one call (consecutive rows of pre and hs): one long loop
    {
      double* h = ws.hs.data() + std::size_t(t) * C * N;
      tanh_array(ws.pre.data(), h, nc * N);
      const double* xt = xat(t, 0);
      double* xn = xat(t + 1, 0);
      for (int i = 0; i < nc * N; ++i) xn[i] = keep * xt[i] + a * h[i];
    }
    for (int tr = 0; tr < nc; ++tr) {
      const double* xn = xat(t + 1, tr);
      double* kn = kat(t + 1, tr);
      for (int k = 0; k < K; ++k) kn[k] = dot(nv + std::size_t(k) * N, xn, N);
    }
    if (!s.read_before)  // y_t from x_{t+1}
      readout_forward_rows(s, L, theta, xat(t + 1, 0), kat(t + 1, 0), nc,
                           ws.ys.data() + (std::size_t(t) * B + tr0) * nout, ws.dots.data());
  }
  if (states_out)
    for (int t = 0; t <= S; ++t)
      for (int tr = 0; tr < nc; ++tr)
        std::copy(xat(t, tr), xat(t, tr) + N, states_out + (std::size_t(t) * B + tr0 + tr) * N);
}

// Loss = loss_scale * sum mask (y - target)^2 of the outputs in ws (after run_pass()).
inline double loss_of(const TaskData& task, const Workspace& ws) {
  const std::size_t n = ws.ys.size();
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = ws.ys[i] - task.targets[i];
    total += task.mask[i] * d * d;
  }
  return task.loss_scale * total;
}

// Fraction of correct outputs over entries with mask != 0 (all entries with the default mask).
inline double accuracy_of(const TaskData& task, const Workspace& ws) {
  const std::size_t n = ws.ys.size();
  std::size_t correct = 0, counted = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (task.mask[i] == 0.0) continue;
    ++counted;
    const double y = ws.ys[i];
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

// Adds the chunk's contribution to the gradient of the loss (grad, and dL/dm^T in ws.gmt for low rank), using
// the forward quantities of forward_chunk(). Time-major like the forward pass. Full rank: the per-step
// gradients of the pre-activations overwrite ws.hs (each h_t is needed only at its own step), and
// dL/dW += sum_{b,t} gpre_{b,t} x_{b,t}^T is accumulated at the end, row block by row block.
GHOSTFAST_HOT inline void backward_chunk(const ModelSpec& s, const Layout& L, const double* theta,
                                         const TaskData& task, Workspace& ws, int tr0, int nc, double* grad) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, C = ws.C, nin = s.n_in, nout = s.n_out;
  const double a = s.alpha, keep = 1.0 - s.alpha;
  const double* nv = theta + L.offset[kN];
  const double* W = theta + L.offset[kW];
  double* gn = grad + L.offset[kN];
  double* gW = grad + L.offset[kW];
  double* gb = grad + L.offset[kB];
  double* gwin = grad + L.offset[kWin];
  double* gk = ws.gkap.data();
  double* g_out = ws.gy.data();
  double* gmt = ws.gmt.data();
  const double* mt = ws.mt.data();  // m^T, filled by prepare_pass()
  const double two_scale = 2.0 * task.loss_scale;
  auto xat = [&](int t, int tr) { return ws.xs.data() + (std::size_t(t) * C + tr) * N; };
  auto kat = [&](int t, int tr) { return ws.kaps.data() + (std::size_t(t) * C + tr) * K; };
  std::fill(ws.gx.begin(), ws.gx.end(), 0.0);  // dL/dx_{b,S} from later steps: none
  auto output_grad = [&](int t, int tr) {
    const std::size_t off = (std::size_t(t) * B + tr0 + tr) * nout;
    const double* yt = ws.ys.data() + off;
    const double* T = task.targets.data() + off;
    const double* M = task.mask.data() + off;
    for (int o = 0; o < nout; ++o) g_out[o] = two_scale * M[o] * (yt[o] - T[o]);
    return yt;
  };
  // Steps whose pre-activation gradient is known to be zero (the unobserved last update): only the readout
  // of x_t contributes there. Samples (t, trial) of dL/dW run over t in [t_lo, t_hi): the skipped ones are
  // exactly zero (gpre = 0 at the last step, x_0 = 0 at the first).
  const bool skip_last = last_update_unobserved(s);
  const int t_lo = (s.full_rank && x0_is_zero(s)) ? 1 : 0;
  const int t_hi = std::max(t_lo, skip_last ? S - 1 : S);  // (an empty range when S = 1)
  for (int t = S - 1; t >= 0; --t) {
    if (t >= t_hi) {  // gpre_t = 0: dL/dx_t is the readout's alone (read before the update)
      for (int tr = 0; tr < nc; ++tr) {
        const double* yt = output_grad(t, tr);
        readout_backward(s, L, theta, xat(t, tr), kat(t, tr), yt, g_out, ws.gz.data(), gk,
                         ws.gx.data() + std::size_t(tr) * N, grad);
      }
      continue;
    }
    for (int tr = 0; tr < nc; ++tr) {
      const double* xt = xat(t, tr);
      const double* kt = kat(t, tr);
      double* h = ws.hs.data() + (std::size_t(t) * C + tr) * N;
      double* gx = ws.gx.data() + std::size_t(tr) * N;
      double* gpre = s.full_rank ? h : ws.gpre.data();
      if (!s.read_before) {
        const double* yt = output_grad(t, tr);
        readout_backward(s, L, theta, xat(t + 1, tr), kat(t + 1, tr), yt, g_out, ws.gz.data(), gk, gx, grad);
      }
      // through x_{t+1} = keep x_t + a tanh(pre_t)
      for (int i = 0; i < N; ++i) {  // (gpre may be h itself: h[i] is read before gpre[i] is written)
        const double gp = gx[i] * a * (1.0 - h[i] * h[i]);
        gpre[i] = gp;
        gx[i] *= keep;
        gb[i] += gp;
      }
      if (nin > 0) {
        const double* u = task.inputs.data() + (std::size_t(t) * B + tr0 + tr) * nin;
        for (int q = 0; q < nin; ++q) {
          const double uq = u[q];
          if (uq == 0.0) continue;
          for (int i = 0; i < N; ++i) gwin[std::size_t(i) * nin + q] += gpre[i] * uq;
        }
      }
      if (s.full_rank) continue;  // W^T gpre for all trials below
      for (int k = 0; k < K; ++k) {  // pre = m kappa + ..., kappa = n x_t
        const double* mk = mt + std::size_t(k) * N;
        const double gkk = dot(mk, gpre, N);
        axpy(kt[k], gpre, gmt + std::size_t(k) * N, N);
        axpy(gkk, xt, gn + std::size_t(k) * N, N);
        axpy(gkk, nv + std::size_t(k) * N, gx, N);
      }
      if (s.read_before) {
        const double* yt = output_grad(t, tr);
        readout_backward(s, L, theta, xt, kt, yt, g_out, ws.gz.data(), gk, gx, grad);
      }
    }
    if (!s.full_rank) continue;
    // gx_b += W^T gpre_b for the chunk's trials (consecutive rows of hs and gx); dL/dx_0 is not needed
    if (t > 0) gemv_rows_multi(W, N, ws.hs.data() + std::size_t(t) * C * N, ws.gx.data(), nc, true);
    if (s.read_before) {
      for (int tr = 0; tr < nc; ++tr) {
        const double* yt = output_grad(t, tr);
        readout_backward(s, L, theta, xat(t, tr), nullptr, yt, g_out, ws.gz.data(), gk,
                         ws.gx.data() + std::size_t(tr) * N, grad);
      }
    }
  }
  if (s.full_rank) {  // dL/dW += sum over the chunk's steps (outer) and trials (inner) of gpre x^T
    const std::size_t first = std::size_t(t_lo) * C * N;
    if (nc == C) {     // the samples are consecutive rows of hs and xs
      outer_accumulate_rows(gW, N, ws.hs.data() + first, ws.xs.data() + first, (t_hi - t_lo) * C,
                            ws.row_ptr.data(), tr0 == 0);
    } else {
      std::size_t n_s = 0;
      for (int t = t_lo; t < t_hi; ++t)
        for (int tr = 0; tr < nc; ++tr, ++n_s) {
          ws.sample_g[n_s] = ws.hs.data() + (std::size_t(t) * C + tr) * N;
          ws.sample_x[n_s] = xat(t, tr);
        }
      outer_accumulate(gW, N, ws.sample_g.data(), ws.sample_x.data(), static_cast<int>(n_s), ws.row_ptr.data(),
                       tr0 == 0);
    }
  }
}

// One full pass over the batch, chunk by chunk: outputs of all trials into ws.ys and, if grad is not null,
// the gradient of the loss w.r.t. every parameter (all groups, frozen or not) into grad (size L.total).
// states_out (optional): [S+1, B, N] states of all trials.
inline void run_pass(const ModelSpec& s, const Layout& L, const double* theta, const TaskData& task, Rng& rng,
                     Workspace& ws, double* grad, double* states_out = nullptr) {
  prepare_pass(s, L, theta, ws);
  if (grad) {  // (dL/dW is not zeroed: the first chunk's outer product starts its sums from 0)
    if (s.full_rank) {
      std::fill(grad, grad + L.offset[kW], 0.0);
      std::fill(grad + L.offset[kW] + L.size[kW], grad + L.total, 0.0);
    } else {
      std::fill(grad, grad + L.total, 0.0);
    }
    std::fill(ws.gmt.begin(), ws.gmt.end(), 0.0);
  }
  for (int tr0 = 0; tr0 < task.B; tr0 += ws.C) {
    const int nc = std::min(ws.C, task.B - tr0);
    forward_chunk(s, L, theta, task, rng, ws, tr0, nc, states_out);
    if (grad) backward_chunk(s, L, theta, task, ws, tr0, nc, grad);
  }
  if (grad && !s.full_rank) {  // dL/dm from its transposed accumulator
    const int N = s.N, K = s.K;
    double* gm = grad + L.offset[kM];
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < K; ++k) gm[std::size_t(i) * K + k] = ws.gmt[std::size_t(k) * N + i];
  }
}

}  // namespace ghostfast::rnn
