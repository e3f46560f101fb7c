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

struct Workspace {
  std::vector<double> xs;    // [B, S+1, N] states x_0 .. x_S
  std::vector<double> hs;    // [B, S, N] tanh(pre_t)
  std::vector<double> kaps;  // [B, S+1, K] latents n x_t (low rank only)
  std::vector<double> ys;    // [B, S, n_out] outputs
  std::vector<double> pre;   // [B, N] pre-activations of one step
  std::vector<double> gx;    // [B, N] dL/dx of one step
  std::vector<double> gpre, gkap, gy, gz;
  std::vector<double> wt;     // W^T (full rank)
  std::vector<double> noise;  // [N] noise of one trial-step
  std::vector<const double*> in_ptr;  // [B] per-trial operands of the batched products
  std::vector<double*> out_ptr;
  std::vector<const double*> sample_g, sample_x;  // [B S] operands of dL/dW
  std::vector<double*> row_ptr;                    // [N] rows of dL/dW

  void resize(const ModelSpec& s, const TaskData& t) {
    const std::size_t N = s.N, K = s.full_rank ? 0 : s.K, B = t.B, S = t.S;
    xs.assign(B * (S + 1) * N, 0.0);
    hs.assign(B * S * N, 0.0);
    kaps.assign(B * (S + 1) * K, 0.0);
    ys.assign(B * S * s.n_out, 0.0);
    pre.assign(B * N, 0.0);
    gx.assign(B * N, 0.0);
    wt.assign(s.full_rank ? N * N : 0, 0.0);
    noise.assign(N, 0.0);
    in_ptr.assign(B, nullptr);
    out_ptr.assign(B, nullptr);
    sample_g.assign(s.full_rank ? B * S : 0, nullptr);
    sample_x.assign(s.full_rank ? B * S : 0, nullptr);
    row_ptr.assign(s.full_rank ? N : 0, nullptr);
    gy.assign(s.n_out, 0.0);
    gpre.assign(N, 0.0);
    gkap.assign(std::max<std::size_t>(K, 1), 0.0);
    gz.assign(s.n_out, 0.0);
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

// Draws x0 and runs the recurrence for every trial, storing states, tanh values, latents and outputs.
// Time-major over the batch (step t for all trials, then step t + 1), so the full-rank products W x of all
// trials share each row of W. Random numbers (only if the model is stochastic; standard normals from the
// run's Rng by the ziggurat of rnn_noise.hpp): x0's N normals for trials 0 .. B-1 (x0="random"), then for
// each step t, N noise normals for trials 0 .. B-1 (noise_std > 0).
GHOSTFAST_HOT inline void forward(const ModelSpec& s, const Layout& L, const double* theta, const TaskData& task, Rng& rng,
                    Workspace& ws) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, nin = s.n_in, nout = s.n_out;
  const double a = s.alpha, keep = 1.0 - s.alpha;
  const double* m = theta + L.offset[kM];
  const double* nv = theta + L.offset[kN];
  const double* W = theta + L.offset[kW];
  const double* b = theta + L.offset[kB];
  const double* win = theta + L.offset[kWin];
  const bool noisy = s.noise_std > 0.0;
  const std::size_t xstride = std::size_t(S + 1) * N, hstride = std::size_t(S) * N, kstride = std::size_t(S + 1) * K;
  const std::size_t ystride = std::size_t(S) * nout, ustride = std::size_t(S) * nin;
  if (s.full_rank)
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) ws.wt[std::size_t(j) * N + i] = W[std::size_t(i) * N + j];
  for (int tr = 0; tr < B; ++tr) {
    double* X = ws.xs.data() + tr * xstride;
    if (s.x0_random) {
      fill_normal(rng, s.x0_std, X, N);  // x0 = tanh(x0_std z)
      tanh_array(X, X, N);
    } else {
      std::copy(s.x0.begin(), s.x0.end(), X);
    }
    double* KA = ws.kaps.data() + tr * kstride;
    for (int k = 0; k < K; ++k) KA[k] = dot(nv + std::size_t(k) * N, X, N);
  }
  for (int t = 0; t < S; ++t) {
    if (s.full_rank) {  // pre_b = W x_{b,t} for every trial b (W^T rows stream once per 4 trials)
      for (int tr = 0; tr < B; ++tr) {
        ws.in_ptr[tr] = ws.xs.data() + tr * xstride + std::size_t(t) * N;
        ws.out_ptr[tr] = ws.pre.data() + std::size_t(tr) * N;
      }
      gemv_rows_multi(ws.wt.data(), N, ws.in_ptr.data(), ws.out_ptr.data(), B, false);
    }
    for (int tr = 0; tr < B; ++tr) {
      double* X = ws.xs.data() + tr * xstride;
      double* KA = ws.kaps.data() + tr * kstride;
      double* Y = ws.ys.data() + tr * ystride;
      const double* xt = X + std::size_t(t) * N;
      double* xn = X + std::size_t(t + 1) * N;
      double* h = ws.hs.data() + tr * hstride + std::size_t(t) * N;
      const double* kt = KA + std::size_t(t) * K;
      double* pre = ws.pre.data() + std::size_t(tr) * N;
      if (s.read_before) readout_forward(s, L, theta, xt, kt, Y + std::size_t(t) * nout);
      if (s.full_rank) {
        for (int i = 0; i < N; ++i) pre[i] += b[i];
      } else if (K == 1) {
        const double k0 = kt[0];
        for (int i = 0; i < N; ++i) pre[i] = b[i] + m[i] * k0;
      } else {
        for (int i = 0; i < N; ++i) {
          double acc = 0.0;
          for (int k = 0; k < K; ++k) acc += m[std::size_t(i) * K + k] * kt[k];
          pre[i] = b[i] + acc;
        }
      }
      if (nin > 0) {
        const double* u = task.inputs.data() + tr * ustride + std::size_t(t) * nin;
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
      tanh_array(pre, h, N);
      for (int i = 0; i < N; ++i) xn[i] = keep * xt[i] + a * h[i];
      double* kn = KA + std::size_t(t + 1) * K;
      for (int k = 0; k < K; ++k) kn[k] = dot(nv + std::size_t(k) * N, xn, N);
      if (!s.read_before) readout_forward(s, L, theta, xn, kn, Y + std::size_t(t) * nout);
    }
  }
}

// Loss = loss_scale * sum mask (y - target)^2 of the outputs in ws (after forward()).
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

// Gradient of the loss w.r.t. every parameter (all groups, frozen or not) into grad (size L.total),
// using the forward quantities stored in ws. Time-major like forward(). Full rank: the per-step gradients
// of the pre-activations overwrite ws.hs (each h_t is needed only at its own step), and dL/dW =
// sum_{b,t} gpre_{b,t} x_{b,t}^T is accumulated once at the end, row block by row block.
GHOSTFAST_HOT inline void backward(const ModelSpec& s, const Layout& L, const double* theta, const TaskData& task, Workspace& ws,
                     double* grad) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, B = task.B, nin = s.n_in, nout = s.n_out;
  const double a = s.alpha, keep = 1.0 - s.alpha;
  std::fill(grad, grad + L.total, 0.0);
  const double* m = theta + L.offset[kM];
  const double* nv = theta + L.offset[kN];
  const double* W = theta + L.offset[kW];
  double* gm = grad + L.offset[kM];
  double* gn = grad + L.offset[kN];
  double* gW = grad + L.offset[kW];
  double* gb = grad + L.offset[kB];
  double* gwin = grad + L.offset[kWin];
  double* gk = ws.gkap.data();
  double* g_out = ws.gy.data();
  const double two_scale = 2.0 * task.loss_scale;
  const std::size_t xstride = std::size_t(S + 1) * N, hstride = std::size_t(S) * N, kstride = std::size_t(S + 1) * K;
  const std::size_t ystride = std::size_t(S) * nout, ustride = std::size_t(S) * nin;
  std::fill(ws.gx.begin(), ws.gx.end(), 0.0);  // dL/dx_{b,S} from later steps: none
  auto output_grad = [&](int tr, int t) {
    const double* yt = ws.ys.data() + tr * ystride + std::size_t(t) * nout;
    const double* T = task.targets.data() + tr * ystride + std::size_t(t) * nout;
    const double* M = task.mask.data() + tr * ystride + std::size_t(t) * nout;
    for (int o = 0; o < nout; ++o) g_out[o] = two_scale * M[o] * (yt[o] - T[o]);
    return yt;
  };
  for (int t = S - 1; t >= 0; --t) {
    for (int tr = 0; tr < B; ++tr) {
      const double* X = ws.xs.data() + tr * xstride;
      const double* KA = ws.kaps.data() + tr * kstride;
      const double* xt = X + std::size_t(t) * N;
      const double* kt = KA + std::size_t(t) * K;
      double* h = ws.hs.data() + tr * hstride + std::size_t(t) * N;
      double* gx = ws.gx.data() + std::size_t(tr) * N;
      double* gpre = s.full_rank ? h : ws.gpre.data();
      if (!s.read_before) {
        const double* yt = output_grad(tr, t);
        readout_backward(s, L, theta, X + std::size_t(t + 1) * N, KA + std::size_t(t + 1) * K, yt, g_out,
                         ws.gz.data(), gk, gx, grad);
      }
      // through x_{t+1} = keep x_t + a tanh(pre_t)
      for (int i = 0; i < N; ++i) gpre[i] = gx[i] * a * (1.0 - h[i] * h[i]);
      for (int i = 0; i < N; ++i) gx[i] *= keep;
      for (int i = 0; i < N; ++i) gb[i] += gpre[i];
      if (nin > 0) {
        const double* u = task.inputs.data() + tr * ustride + std::size_t(t) * nin;
        for (int q = 0; q < nin; ++q) {
          const double uq = u[q];
          if (uq == 0.0) continue;
          for (int i = 0; i < N; ++i) gwin[std::size_t(i) * nin + q] += gpre[i] * uq;
        }
      }
      if (s.full_rank) continue;  // W^T gpre for all trials below
      if (K == 1) {
        const double gk0 = dot(m, gpre, N);
        axpy(kt[0], gpre, gm, N);
        axpy(gk0, xt, gn, N);
        axpy(gk0, nv, gx, N);
      } else {
        for (int k = 0; k < K; ++k) gk[k] = 0.0;
        for (int i = 0; i < N; ++i) {
          const double gi = gpre[i];
          for (int k = 0; k < K; ++k) {
            gk[k] += m[std::size_t(i) * K + k] * gi;
            gm[std::size_t(i) * K + k] += gi * kt[k];
          }
        }
        for (int k = 0; k < K; ++k) {
          axpy(gk[k], xt, gn + std::size_t(k) * N, N);
          axpy(gk[k], nv + std::size_t(k) * N, gx, N);
        }
      }
      if (s.read_before) {
        const double* yt = output_grad(tr, t);
        readout_backward(s, L, theta, xt, kt, yt, g_out, ws.gz.data(), gk, gx, grad);
      }
    }
    if (!s.full_rank) continue;
    for (int tr = 0; tr < B; ++tr) {  // gx_b += W^T gpre_b
      ws.in_ptr[tr] = ws.hs.data() + tr * hstride + std::size_t(t) * N;
      ws.out_ptr[tr] = ws.gx.data() + std::size_t(tr) * N;
    }
    gemv_rows_multi(W, N, ws.in_ptr.data(), ws.out_ptr.data(), B, true);
    if (s.read_before) {
      for (int tr = 0; tr < B; ++tr) {
        const double* X = ws.xs.data() + tr * xstride;
        const double* yt = output_grad(tr, t);
        readout_backward(s, L, theta, X + std::size_t(t) * N, nullptr, yt, g_out, ws.gz.data(), gk,
                         ws.gx.data() + std::size_t(tr) * N, grad);
      }
    }
  }
  if (s.full_rank) {  // dL/dW = sum over trials (outer) and steps (inner) of gpre x^T
    for (int tr = 0; tr < B; ++tr)
      for (int t = 0; t < S; ++t) {
        ws.sample_g[std::size_t(tr) * S + t] = ws.hs.data() + tr * hstride + std::size_t(t) * N;
        ws.sample_x[std::size_t(tr) * S + t] = ws.xs.data() + tr * xstride + std::size_t(t) * N;
      }
    outer_accumulate(gW, N, ws.sample_g.data(), ws.sample_x.data(), B * S, ws.row_ptr.data());
  }
}

}  // namespace ghostfast::rnn
