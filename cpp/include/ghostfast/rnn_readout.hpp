// The readouts of the RNN models (paper Secs. 3-4): outputs from a state x or its latents kappa, and their
// backward step. One place for each readout's forward and backward arithmetic.
//
//   latent         y = sigmoid(c (kappa_0 - threshold))          (rank one, paper Figs. 3, 6A, 8B)
//   linear         y_o = g(w_out[o] . x + b_out[o])             (full rank and the rank-K model of Fig. 6B)
//   latent_linear  y_o = g(w_out[o] . kappa + b_out[o])         (the rank-2 task models of Fig. 4)
//
// The backward step adds dL/dx (linear) or dL/dkappa (latent readouts) of one state to gx / gk and the
// readout's own parameter gradients to grad.
#pragma once

#include <cmath>
#include <cstddef>

#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"

namespace ghostfast::rnn {

template <class T>
inline T apply_output(Output g, T a) {
  switch (g) {
    case Output::Sigmoid:
      return T(1) / (T(1) + std::exp(-a));
    case Output::Tanh:
      return std::tanh(a);
    default:
      return a;
  }
}
// d g / d a written in terms of y = g(a).
template <class T>
inline T output_slope(Output g, T y) {
  switch (g) {
    case Output::Sigmoid:
      return y * (T(1) - y);
    case Output::Tanh:
      return T(1) - y * y;
    default:
      return T(1);
  }
}

// Output(s) of one state x (with its latents kap when low rank) into y[0 .. n_out).
template <class T>
inline void readout_forward(const ModelSpec& s, const Layout& L, const T* theta, const T* x, const T* kap, T* y) {
  const int N = s.N, K = s.K;
  switch (s.readout) {
    case Readout::Latent: {
      const T c = theta[L.offset[kC]];
      y[0] = apply_output(Output::Sigmoid, c * (kap[0] - T(s.threshold)));
      break;
    }
    case Readout::Linear: {
      const T* w = theta + L.offset[kWout];
      const T* bo = theta + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) y[o] = apply_output(s.output, bo[o] + dot(w + std::size_t(o) * N, x, N));
      break;
    }
    case Readout::LatentLinear: {
      const T* w = theta + L.offset[kWout];
      const T* bo = theta + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) {
        T a = bo[o];
        for (int k = 0; k < K; ++k) a += w[std::size_t(o) * K + k] * kap[k];
        y[o] = apply_output(s.output, a);
      }
      break;
    }
  }
}

// Outputs of nc consecutive trials at one step: states x (nc rows of N), latents kap (nc rows of K), outputs y
// (nc rows of y_stride). The linear readout's dots run four trials at a time (dot_rows: the same bits as
// readout_forward per trial); the other readouts go trial by trial.
template <class T>
GHOSTFAST_INLINE void readout_forward_rows(const ModelSpec& s, const Layout& L, const T* theta, const T* x,
                                           const T* kap, int nc, T* y, T* dots) {
  const int N = s.N, K = s.full_rank ? 0 : s.K, nout = s.n_out;
  if (s.readout != Readout::Linear) {
    for (int tr = 0; tr < nc; ++tr)
      readout_forward(s, L, theta, x + std::size_t(tr) * N, kap + std::size_t(tr) * K, y + std::size_t(tr) * nout);
    return;
  }
  const T* w = theta + L.offset[kWout];
  const T* bo = theta + L.offset[kBout];
  for (int o = 0; o < nout; ++o) {
    dot_rows(w + std::size_t(o) * N, x, N, nc, dots);
    for (int tr = 0; tr < nc; ++tr) y[std::size_t(tr) * nout + o] = apply_output(s.output, bo[o] + dots[tr]);
  }
}

// Backward step of the readout of one state: given dL/dy (gy) and y, adds dL/dx to gx (linear readout) or
// dL/dkappa to gk (latent readouts), and the readout parameters' gradients to grad. gz: n_out scratch.
template <class T>
inline void readout_backward(const ModelSpec& s, const Layout& L, const T* theta, const T* x, const T* kap, const T* y,
                             const T* gy, T* gz, T* gk, T* gx, T* grad) {
  const int N = s.N, K = s.K;
  switch (s.readout) {
    case Readout::Latent: {
      const T dz = gy[0] * output_slope(Output::Sigmoid, y[0]);
      if (dz == T(0)) return;
      grad[L.offset[kC]] += dz * (kap[0] - T(s.threshold));
      gk[0] += dz * theta[L.offset[kC]];  // dL/dkappa_0
      break;
    }
    case Readout::Linear: {
      const T* w = theta + L.offset[kWout];
      T* gw = grad + L.offset[kWout];
      T* gbo = grad + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) {
        const T dz = gy[o] * output_slope(s.output, y[o]);
        if (dz == T(0)) continue;
        gbo[o] += dz;
        axpy(dz, x, gw + std::size_t(o) * N, N);
        axpy(dz, w + std::size_t(o) * N, gx, N);
      }
      break;
    }
    case Readout::LatentLinear: {
      const T* w = theta + L.offset[kWout];
      T* gw = grad + L.offset[kWout];
      T* gbo = grad + L.offset[kBout];
      for (int o = 0; o < s.n_out; ++o) {
        gz[o] = gy[o] * output_slope(s.output, y[o]);
        if (gz[o] == T(0)) continue;
        gbo[o] += gz[o];
        for (int k = 0; k < K; ++k) {
          gw[std::size_t(o) * K + k] += gz[o] * kap[k];
          gk[k] += w[std::size_t(o) * K + k] * gz[o];
        }
      }
      break;
    }
  }
}

}  // namespace ghostfast::rnn
