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

namespace ghostfast::rnn {

struct Workspace {
  std::vector<double> xs;    // [B, S+1, N] states x_0 .. x_S
  std::vector<double> hs;    // [B, S, N] tanh(pre_t)
  std::vector<double> kaps;  // [B, S+1, K] latents n x_t (low rank only)
  std::vector<double> ys;    // [B, S, n_out] outputs
  std::vector<double> gx, gpre, gkap, gy, gz, tmp;

  void resize(const ModelSpec& s, const TaskData& t) {
    const std::size_t N = s.N, K = s.full_rank ? 0 : s.K, B = t.B, S = t.S;
    xs.assign(B * (S + 1) * N, 0.0);
    hs.assign(B * S * N, 0.0);
    kaps.assign(B * (S + 1) * K, 0.0);
    ys.assign(B * S * s.n_out, 0.0);
    gx.assign(N, 0.0);
    gy.assign(s.n_out, 0.0);
    gpre.assign(N, 0.0);
    gkap.assign(std::max<std::size_t>(K, 1), 0.0);
    gz.assign(s.n_out, 0.0);
    tmp.assign(N, 0.0);
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
// Random numbers (only if the model is stochastic), trial by trial: x0's N normals (x0="random"), then
// N noise normals per step (noise_std > 0).
inline void forward(const ModelSpec& s, const Layout& L, const double* theta, const TaskData& task, Rng& rng,
                    Workspace& ws) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, nin = s.n_in, nout = s.n_out;
  const double a = s.alpha, keep = 1.0 - s.alpha;
  const double* m = theta + L.offset[kM];
  const double* nv = theta + L.offset[kN];
  const double* W = theta + L.offset[kW];
  const double* b = theta + L.offset[kB];
  const double* win = theta + L.offset[kWin];
  const bool noisy = s.noise_std > 0.0;
  double* pre = ws.tmp.data();
  for (int tr = 0; tr < task.B; ++tr) {
    double* X = ws.xs.data() + std::size_t(tr) * (S + 1) * N;
    double* H = ws.hs.data() + std::size_t(tr) * S * N;
    double* KA = ws.kaps.data() + std::size_t(tr) * (S + 1) * K;
    double* Y = ws.ys.data() + std::size_t(tr) * S * nout;
    const double* U = task.inputs.data() + std::size_t(tr) * S * nin;
    if (s.x0_random) {
      for (int i = 0; i < N; ++i) X[i] = std::tanh(s.x0_std * rng.normal());
    } else {
      std::copy(s.x0.begin(), s.x0.end(), X);
    }
    for (int k = 0; k < K; ++k) KA[k] = dot(nv + std::size_t(k) * N, X, N);
    for (int t = 0; t < S; ++t) {
      const double* xt = X + std::size_t(t) * N;
      double* xn = X + std::size_t(t + 1) * N;
      double* h = H + std::size_t(t) * N;
      const double* kt = KA + std::size_t(t) * K;
      if (s.read_before) readout_forward(s, L, theta, xt, kt, Y + std::size_t(t) * nout);
      // pre = b + W x_t (or m kappa_t) + w_in u_t + noise
      if (s.full_rank) {
        for (int i = 0; i < N; ++i) pre[i] = b[i] + dot(W + std::size_t(i) * N, xt, N);
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
        const double* u = U + std::size_t(t) * nin;
        for (int q = 0; q < nin; ++q) {
          const double uq = u[q];
          if (uq == 0.0) continue;
          for (int i = 0; i < N; ++i) pre[i] += win[std::size_t(i) * nin + q] * uq;
        }
      }
      if (noisy) {
        for (int i = 0; i < N; ++i) pre[i] += s.noise_std * rng.normal();
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
// using the forward quantities stored in ws.
inline void backward(const ModelSpec& s, const Layout& L, const double* theta, const TaskData& task, Workspace& ws,
                     double* grad) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, S = task.S, nin = s.n_in, nout = s.n_out;
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
  double* gx = ws.gx.data();
  double* gpre = ws.gpre.data();
  double* gk = ws.gkap.data();
  const double two_scale = 2.0 * task.loss_scale;
  for (int tr = 0; tr < task.B; ++tr) {
    const double* X = ws.xs.data() + std::size_t(tr) * (S + 1) * N;
    const double* H = ws.hs.data() + std::size_t(tr) * S * N;
    const double* KA = ws.kaps.data() + std::size_t(tr) * (S + 1) * K;
    const double* Y = ws.ys.data() + std::size_t(tr) * S * nout;
    const double* T = task.targets.data() + std::size_t(tr) * S * nout;
    const double* M = task.mask.data() + std::size_t(tr) * S * nout;
    const double* U = task.inputs.data() + std::size_t(tr) * S * nin;
    std::fill(gx, gx + N, 0.0);  // dL/dx_S from later steps: none
    for (int t = S - 1; t >= 0; --t) {
      const double* xt = X + std::size_t(t) * N;
      const double* xn = X + std::size_t(t + 1) * N;
      const double* h = H + std::size_t(t) * N;
      const double* kt = KA + std::size_t(t) * K;
      const double* yt = Y + std::size_t(t) * nout;
      double* g_out = ws.gy.data();
      for (int o = 0; o < nout; ++o) {
        const std::size_t idx = std::size_t(t) * nout + o;
        g_out[o] = two_scale * M[idx] * (yt[o] - T[idx]);
      }
      if (!s.read_before)
        readout_backward(s, L, theta, xn, KA + std::size_t(t + 1) * K, yt, g_out, ws.gz.data(), gk, gx, grad);
      // through x_{t+1} = keep x_t + a tanh(pre_t)
      for (int i = 0; i < N; ++i) gpre[i] = gx[i] * a * (1.0 - h[i] * h[i]);
      for (int i = 0; i < N; ++i) gx[i] *= keep;
      for (int i = 0; i < N; ++i) gb[i] += gpre[i];
      if (nin > 0) {
        const double* u = U + std::size_t(t) * nin;
        for (int q = 0; q < nin; ++q) {
          const double uq = u[q];
          if (uq == 0.0) continue;
          for (int i = 0; i < N; ++i) gwin[std::size_t(i) * nin + q] += gpre[i] * uq;
        }
      }
      if (s.full_rank) {
        for (int i = 0; i < N; ++i) {
          const double gi = gpre[i];
          axpy(gi, W + std::size_t(i) * N, gx, N);
          axpy(gi, xt, gW + std::size_t(i) * N, N);
        }
      } else if (K == 1) {
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
      if (s.read_before) readout_backward(s, L, theta, xt, kt, yt, g_out, ws.gz.data(), gk, gx, grad);
    }
  }
}

}  // namespace ghostfast::rnn
