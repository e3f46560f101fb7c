// The recurrent cells: the leaky-tanh update x_{t+1} = (1 - alpha) x_t + alpha tanh(W x_t + w_in u_t + b + xi_t)
// with its recurrent weights either full rank (W, paper Sec. 3.3-3.4) or low rank (W = m n, rank K: the paper's
// rank-one, rank-K and rank-2 models). A cell holds its part of the forward step (the recurrent input of the
// pre-activation, the latents kappa = n x), of the backward step (W^T through the pre-activation gradients, or
// m^T and n^T through the latents), the weight gradients of a chunk of trials, and ||W||_F.
//
// Every product is one of the blocked kernels of rnn_kernels.hpp with a fixed summation order, so results are
// the same bits on every code path and thread count. The low-rank products that reduce over the N units
// (kappa = n x, m^T gpre) use 8-lane dots while K is small (a chain over N would wait on the FMA latency) and
// the register-blocked FMA products from kLowRankBlocked on; the choice depends on K alone.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"

namespace ghostfast::rnn {

constexpr int kLowRankBlocked = 16;

// Per-thread scratch of one chunk of trials (time-major: [step, trial, ...]).
template <class T>
struct ChunkWorkspace {
  std::vector<T> xs;     // [S+1, C, N] states x_0 .. x_S
  std::vector<T> hs;     // [S, C, N] tanh(pre_t); overwritten by dL/dpre_t in the backward pass
  std::vector<T> kaps;   // [S+1, C, K] latents n x_t (low rank)
  std::vector<T> gks;    // [S+1, C, K] dL/dkappa_t (low rank)
  std::vector<T> pre;    // [C, N] pre-activations of one step
  std::vector<T> gx;     // [C, N] dL/dx of one step
  std::vector<T> noise;  // [C, N]
  std::vector<T> dots, gz, gy, gk_scratch;
  std::vector<const T*> sample_g, sample_x;  // operands of the outer products
  std::vector<T*> row_ptr;
};

// What a pass over one parameter vector shares between its chunks (read only while they run).
template <class T>
struct PassContext {
  const ModelSpec& s;
  const Layout& L;
  const T* theta;
  const TaskData& task;
  const T* inputs;  // the task's arrays in T (TaskData's own for float64)
  const T* targets;
  const T* mask;
  const T* wt;  // W^T (full rank)
  const T* mt;  // m^T, K x N (low rank)
  const T* nt;  // n^T, N x K (low rank)
  int C;        // trials per chunk (the workspace stride)
};

// The latents of trial tr at step t (low rank).
template <class T>
inline T* kap_row(ChunkWorkspace<T>& ws, const PassContext<T>& c, int t, int tr) {
  return ws.kaps.data() + (std::size_t(t) * c.C + tr) * c.s.K;
}

template <class T>
struct FullRankCell {
  static void prepare(const ModelSpec& s, const Layout& L, const T* theta, std::vector<T>& wt, std::vector<T>&,
                      std::vector<T>&) {
    const int N = s.N;
    const T* W = theta + L.offset[kW];
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) wt[std::size_t(j) * N + i] = W[std::size_t(i) * N + j];
  }
  static void latents(const PassContext<T>&, ChunkWorkspace<T>&, int, int) {}
  // pre_b = W x_{b,t} + b for the chunk's trials (W^T rows stream once per 4 trials).
  GHOSTFAST_INLINE static void recurrent_input(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc,
                                               bool zero_x0) {
    const int N = c.s.N;
    const T* b = c.theta + c.L.offset[kB];
    const T* xt = ws.xs.data() + std::size_t(t) * c.C * N;
    if (t == 0 && zero_x0)
      std::fill(ws.pre.begin(), ws.pre.begin() + std::size_t(nc) * N, T(0));
    else
      gemv_rows_multi(c.wt, N, xt, ws.pre.data(), nc, false);
    for (int tr = 0; tr < nc; ++tr) {
      T* pre = ws.pre.data() + std::size_t(tr) * N;
      for (int i = 0; i < N; ++i) pre[i] += b[i];
    }
  }
  static void begin_backward(const PassContext<T>&, ChunkWorkspace<T>&, int) {}
  static void backward_state(const PassContext<T>&, ChunkWorkspace<T>&, int, int) {}
  // gx_b += W^T gpre_b (dL/dx_0 is not needed).
  GHOSTFAST_INLINE static void backward_step(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc) {
    const int N = c.s.N;
    if (t > 0)
      gemv_rows_multi(c.theta + c.L.offset[kW], N, ws.hs.data() + std::size_t(t) * c.C * N, ws.gx.data(), nc, true);
  }
  static void no_update(const PassContext<T>&, ChunkWorkspace<T>&, int, int) {}
  // dL/dW (+)= sum over the chunk's steps t in [t_lo, t_hi) (outer) and trials (inner) of gpre x^T: written
  // for the first chunk of a group (the group's sums start from it), added for the others.
  GHOSTFAST_INLINE static void finish_chunk(const PassContext<T>& c, ChunkWorkspace<T>& ws, int nc, int t_lo, int t_hi,
                                            T* grad, bool first) {
    const int N = c.s.N, C = c.C;
    T* gW = grad + c.L.offset[kW];
    if (t_hi <= t_lo) {
      if (first) std::fill(gW, gW + std::size_t(N) * N, T(0));
      return;
    }
    const std::size_t first_row = std::size_t(t_lo) * C * N;
    if (nc == C) {  // the samples are consecutive rows of hs and xs
      outer_accumulate_rows(gW, N, N, ws.hs.data() + first_row, N, ws.xs.data() + first_row, (t_hi - t_lo) * C,
                            ws.row_ptr.data(), first);
      return;
    }
    int n_s = 0;
    for (int t = t_lo; t < t_hi; ++t)
      for (int tr = 0; tr < nc; ++tr, ++n_s) {
        ws.sample_g[n_s] = ws.hs.data() + (std::size_t(t) * C + tr) * N;
        ws.sample_x[n_s] = ws.xs.data() + (std::size_t(t) * C + tr) * N;
      }
    outer_accumulate(gW, N, N, ws.sample_g.data(), ws.sample_x.data(), n_s, ws.row_ptr.data(), first);
  }
  static T weight_norm(const ModelSpec& s, const Layout& L, const T* theta, std::vector<T>&) {
    const T* W = theta + L.offset[kW];
    return std::sqrt(dot(W, W, static_cast<std::ptrdiff_t>(s.N) * s.N));
  }
};

template <class T>
struct LowRankCell {
  static void prepare(const ModelSpec& s, const Layout& L, const T* theta, std::vector<T>&, std::vector<T>& mt,
                      std::vector<T>& nt) {
    const int N = s.N, K = s.K;
    const T* m = theta + L.offset[kM];
    const T* n = theta + L.offset[kN];
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < K; ++k) {
        mt[std::size_t(k) * N + i] = m[std::size_t(i) * K + k];
        nt[std::size_t(i) * K + k] = n[std::size_t(k) * N + i];
      }
  }
  // out_b[k] = sum_i x_b[i] A_ik for the nc rows x_b (stride N), A given by rows over k (Ak, K x N) and over i
  // (Ai, N x K): kappa = n x (Ak = n, Ai = n^T) and dL/dkappa = m^T gpre (Ak = m^T, Ai = m).
  GHOSTFAST_INLINE static void reduce_units(int N, int K, const T* Ak, const T* Ai, const T* x, int nc, T* out,
                                            T* dots) {
    if (K >= kLowRankBlocked) {
      gemv_rows(Ai, N, K, x, N, out, K, nc, false);
    } else if (K >= 4 || nc < 4) {  // dot(x_b, A_k) == dot(A_k, x_b) bit for bit: rows over k share x_b
      for (int tr = 0; tr < nc; ++tr) dot_rows(x + std::size_t(tr) * N, Ak, N, K, out + std::size_t(tr) * K);
    } else {  // rows over trials share A_k
      for (int k = 0; k < K; ++k) {
        dot_rows(Ak + std::size_t(k) * N, x, N, nc, dots);
        for (int tr = 0; tr < nc; ++tr) out[std::size_t(tr) * K + k] = dots[tr];
      }
    }
  }
  // kappa_t = n x_t for the chunk's trials.
  GHOSTFAST_INLINE static void latents(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc) {
    const int N = c.s.N, K = c.s.K;
    reduce_units(N, K, c.theta + c.L.offset[kN], c.nt, ws.xs.data() + std::size_t(t) * c.C * N, nc,
                 kap_row<T>(ws, c, t, 0), ws.dots.data());
  }
  // pre_b = b + m kappa_{b,t} (a chain over k per unit, four trials per pass over m).
  GHOSTFAST_INLINE static void recurrent_input(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc, bool) {
    const int N = c.s.N, K = c.s.K;
    const T* b = c.theta + c.L.offset[kB];
    for (int tr = 0; tr < nc; ++tr) std::copy(b, b + N, ws.pre.data() + std::size_t(tr) * N);
    gemv_rows(c.mt, K, N, kap_row<T>(ws, c, t, 0), K, ws.pre.data(), N, nc, true);
  }
  // dL/dkappa_S starts at zero (read-after readouts add to it).
  static void begin_backward(const PassContext<T>& c, ChunkWorkspace<T>& ws, int nc) {
    T* g = ws.gks.data() + std::size_t(c.task.S) * c.C * c.s.K;
    std::fill(g, g + std::size_t(nc) * c.s.K, T(0));
  }
  // dL/dkappa_t is complete: gx_b (dL/dx_{b,t}) += n^T dL/dkappa_{b,t}.
  GHOSTFAST_INLINE static void backward_state(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc) {
    const int N = c.s.N, K = c.s.K;
    if (t == c.task.S && c.s.read_before) return;  // nothing reads kappa_S
    gemv_rows(c.theta + c.L.offset[kN], K, N, ws.gks.data() + std::size_t(t) * c.C * K, K, ws.gx.data(), N, nc, true);
  }
  // dL/dkappa_t = m^T gpre_t (the readout of kappa_t may add to it afterwards).
  GHOSTFAST_INLINE static void backward_step(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc) {
    const int N = c.s.N, K = c.s.K;
    reduce_units(N, K, c.mt, c.theta + c.L.offset[kM], ws.hs.data() + std::size_t(t) * c.C * N, nc,
                 ws.gks.data() + std::size_t(t) * c.C * K, ws.dots.data());
  }
  static void no_update(const PassContext<T>& c, ChunkWorkspace<T>& ws, int t, int nc) {
    T* g = ws.gks.data() + std::size_t(t) * c.C * c.s.K;
    std::fill(g, g + std::size_t(nc) * c.s.K, T(0));
  }
  // dL/dm^T += sum_{t < t_hi, b} kappa_{b,t} gpre_{b,t}^T (kept transposed, K x N, in m's slot until the pass
  // ends) and dL/dn += sum_{t, b} dL/dkappa_{b,t} x_{b,t}^T over every state that is read.
  GHOSTFAST_INLINE static void finish_chunk(const PassContext<T>& c, ChunkWorkspace<T>& ws, int nc, int, int t_hi,
                                            T* grad, bool) {
    const int N = c.s.N, K = c.s.K, C = c.C;
    const int t_states = c.s.read_before ? c.task.S : c.task.S + 1;  // states whose dL/dkappa can be non-zero
    T* gmt = grad + c.L.offset[kM];
    T* gn = grad + c.L.offset[kN];
    if (nc == C) {
      outer_accumulate_rows(gmt, K, N, ws.kaps.data(), K, ws.hs.data(), t_hi * C, ws.row_ptr.data(), false);
      outer_accumulate_rows(gn, K, N, ws.gks.data(), K, ws.xs.data(), t_states * C, ws.row_ptr.data(), false);
      return;
    }
    int n_s = 0;
    for (int t = 0; t < t_hi; ++t)
      for (int tr = 0; tr < nc; ++tr, ++n_s) {
        ws.sample_g[n_s] = ws.kaps.data() + (std::size_t(t) * C + tr) * K;
        ws.sample_x[n_s] = ws.hs.data() + (std::size_t(t) * C + tr) * N;
      }
    outer_accumulate(gmt, K, N, ws.sample_g.data(), ws.sample_x.data(), n_s, ws.row_ptr.data(), false);
    n_s = 0;
    for (int t = 0; t < t_states; ++t)
      for (int tr = 0; tr < nc; ++tr, ++n_s) {
        ws.sample_g[n_s] = ws.gks.data() + (std::size_t(t) * C + tr) * K;
        ws.sample_x[n_s] = ws.xs.data() + (std::size_t(t) * C + tr) * N;
      }
    outer_accumulate(gn, K, N, ws.sample_g.data(), ws.sample_x.data(), n_s, ws.row_ptr.data(), false);
  }
  // ||m n||_F^2 = sum_kl (m^T m)_kl (n n^T)_kl through the two K x K Gram matrices: N K^2 work instead of the
  // N^2 K of forming m n. Small K: dots over the units; from kLowRankBlocked on: blocked products over the
  // upper triangle (row blocks of 4, columns from the block's first row).
  // mt (K x N) and nt (N x K): the transposes of m and n that prepare() makes.
  static T weight_norm(const ModelSpec& s, const Layout& L, const T* theta, const T* mt, const T* nt,
                       std::vector<T>& scratch) {
    const int N = s.N, K = s.K;
    const T* m = theta + L.offset[kM];
    const T* n = theta + L.offset[kN];
    scratch.resize(2 * std::size_t(K) * K);
    T* G1 = scratch.data();
    T* G2 = G1 + std::size_t(K) * K;
    if (K < kLowRankBlocked) {
      T total = 0;
      for (int k = 0; k < K; ++k)
        for (int l = k; l < K; ++l) {
          const T mm = dot(mt + std::size_t(k) * N, mt + std::size_t(l) * N, N);
          const T nn = dot(n + std::size_t(k) * N, n + std::size_t(l) * N, N);
          total += (l == k ? T(1) : T(2)) * (mm * nn);
        }
      return std::sqrt(std::max(total, T(0)));
    }
    for (T* G : {G1, G2}) {
      const T* A = G == G1 ? m : nt;
      T* outs[kTrialBlock];
      for (int r0 = 0; r0 < K; r0 += kTrialBlock) {
        const int width = K - r0;
        auto row = [A, K, r0](int i) { return A + std::size_t(i) * K + r0; };
        if (r0 + kTrialBlock <= K) {
          for (int r = 0; r < kTrialBlock; ++r) outs[r] = G + std::size_t(r0 + r) * K + r0;
          accumulate_rows<kTrialBlock>(
              outs, width, N, [A, K, r0](int r, int i) { return A[std::size_t(i) * K + r0 + r]; }, row, true);
        } else {
          for (int r = 0; r0 + r < K; ++r) {
            outs[0] = G + std::size_t(r0 + r) * K + r0;
            accumulate_rows<1>(
                outs, width, N, [A, K, r0, r](int, int i) { return A[std::size_t(i) * K + r0 + r]; }, row, true);
          }
        }
      }
    }
    T total = 0;
    for (int k = 0; k < K; ++k) {
      total += G1[std::size_t(k) * K + k] * G2[std::size_t(k) * K + k];
      T off = 0;
      for (int l = k + 1; l < K; ++l) off += G1[std::size_t(k) * K + l] * G2[std::size_t(k) * K + l];
      total += T(2) * off;
    }
    return std::sqrt(std::max(total, T(0)));
  }
};

}  // namespace ghostfast::rnn
