// Small dense kernels of the RNN engine.
//
// Determinism: reductions use kLanes explicit partial sums (lane l takes elements i = l mod kLanes) combined
// in a fixed tree, and the build uses -ffp-contract=off, so every result is the same whatever the ISA the
// compiler vectorises for (SSE2, AVX2, AVX-512 clones) and whatever the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(GHOSTFAST_NO_CLONES)
// Runtime dispatch of the forward/backward passes to an AVX2 / AVX-512 clone when the CPU has it (results are
// identical, see above).
#define GHOSTFAST_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#define GHOSTFAST_WIDE_BLOCKS_BY_CPU 1
#else
#define GHOSTFAST_HOT
#endif
#if defined(__GNUC__)
// The kernels below are inlined into the GHOSTFAST_HOT passes (forward, backward), so they are compiled for
// each clone's ISA and small loops pay no call overhead.
#define GHOSTFAST_INLINE __attribute__((always_inline)) inline
#else
#define GHOSTFAST_INLINE inline
#endif

namespace ghostfast::rnn {

constexpr int kLanes = 8;
constexpr int kTrialBlock = 4;  // trials sharing one pass over W in the full-rank products

inline double reduce_lanes(const double* acc) {
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

GHOSTFAST_INLINE double dot(const double* __restrict a, const double* __restrict b, int n) {
  double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += a[i] * b[i];
  return reduce_lanes(acc);
}

// y += alpha x
GHOSTFAST_INLINE void axpy(double alpha, const double* __restrict x, double* __restrict y, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// The register-blocked core of the dense products: for r < R outputs and i in [i0, i0 + C),
//   out[r][i] += sum_{s < n_s} coef(r, s) * row(s)[i],  s ascending for every element,
// with R x C accumulators held in registers while the rows stream through. Every element is summed in the
// same order whatever R and C, so blocking never changes a result.
template <int R, int C, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_block(double* const* out, int i0, int n_s, const Coef& coef, const Row& row) {
  double acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int l = 0; l < C; ++l) acc[r][l] = out[r][i0 + l];
  for (int s = 0; s < n_s; ++s) {
    const double* __restrict rw = row(s) + i0;
    double c[R];
    for (int r = 0; r < R; ++r) c[r] = coef(r, s);
    for (int l = 0; l < C; ++l) {
      const double v = rw[l];
      for (int r = 0; r < R; ++r) acc[r][l] += c[r] * v;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int l = 0; l < C; ++l) out[r][i0 + l] = acc[r][l];
}

#if defined(__GNUC__)
// accumulate_block written with 8-double vectors (GCC vector extensions: one zmm register under AVX-512),
// so the R x 8 NV accumulators provably stay in registers (the auto-vectorised version spilled some of them
// once inlined into the passes). Same operations in the same order per element: acc = acc + c * v.
typedef double Vec8 __attribute__((vector_size(64), aligned(8)));
typedef double Vec4 __attribute__((vector_size(32), aligned(8)));
// R x (8 NV + T) block, T = 0 or 4: a 4-wide tail rides along with a full block (its own 4 accumulators
// alone would wait on the add latency every sample).
template <int R, int NV, int T, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_block_vec(double* const* out, int i0, int n_s, const Coef& coef, const Row& row) {
  Vec8 acc[R][NV];
  Vec4 acc_tail[R];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) std::memcpy(&acc[r][v], out[r] + i0 + 8 * v, sizeof(Vec8));
    if (T) std::memcpy(&acc_tail[r], out[r] + i0 + 8 * NV, sizeof(Vec4));
  }
#pragma GCC unroll 1
  for (int s = 0; s < n_s; ++s) {
    const double* rw = row(s) + i0;
    Vec8 x[NV];
    Vec4 x_tail;
    for (int v = 0; v < NV; ++v) std::memcpy(&x[v], rw + 8 * v, sizeof(Vec8));
    if (T) std::memcpy(&x_tail, rw + 8 * NV, sizeof(Vec4));
    for (int r = 0; r < R; ++r) {
      const double c = coef(r, s);
      for (int v = 0; v < NV; ++v) acc[r][v] = acc[r][v] + c * x[v];
      if (T) acc_tail[r] = acc_tail[r] + c * x_tail;
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) std::memcpy(out[r] + i0 + 8 * v, &acc[r][v], sizeof(Vec8));
    if (T) std::memcpy(out[r] + i0 + 8 * NV, &acc_tail[r], sizeof(Vec4));
  }
}
#endif

// True when the CPU has AVX-512 (32 vector registers): the products then use 32-wide blocks (R x 32
// accumulators = 16 zmm registers for R = 4), measured ~10% faster than 16-wide ones on Zen 4; with 16 ymm
// registers (AVX2) 32-wide blocks spill, so the other clones keep 16. The width never changes a result
// (every element is still summed over s in ascending order), so this choice is free to depend on the CPU.
// Without the clones, the build's own ISA decides (the AVX-512 clone is the only code that runs on such a CPU).
inline bool cpu_has_wide_vectors() {
#if defined(GHOSTFAST_WIDE_BLOCKS_BY_CPU)
  static const bool wide = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return wide;
#elif defined(__GNUC__) && defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

template <int R, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_rows(double* const* out, int N, int n_s, const Coef& coef, const Row& row) {
  int i0 = 0;
#if defined(__GNUC__)
  if (cpu_has_wide_vectors()) {
    while (N - i0 >= 32) {
      const int rest = N - i0 - 32;
      if (rest >= 4 && rest < 8) {
        accumulate_block_vec<R, 4, 4>(out, i0, n_s, coef, row);
        i0 += 36;
      } else {
        accumulate_block_vec<R, 4, 0>(out, i0, n_s, coef, row);
        i0 += 32;
      }
    }
  }
#endif
  for (; i0 + 16 <= N; i0 += 16) accumulate_block<R, 16>(out, i0, n_s, coef, row);
  for (; i0 + 8 <= N; i0 += 8) accumulate_block<R, 8>(out, i0, n_s, coef, row);
  for (; i0 + 4 <= N; i0 += 4) accumulate_block<R, 4>(out, i0, n_s, coef, row);
  for (; i0 < N; ++i0) accumulate_block<R, 1>(out, i0, n_s, coef, row);
}

// out[b][i] (+)= sum_j x[b N + j] A[j N + i] for b < nb (j ascending per element); x and out hold nb
// consecutive rows of length N. Forward: A = W^T, so out_b = W x_b; backward: A = W, so out_b += W^T g_b.
GHOSTFAST_INLINE void gemv_rows_multi(const double* A, int N, const double* x, double* out, int nb,
                                      bool accumulate) {
  if (!accumulate) std::fill(out, out + std::size_t(nb) * N, 0.0);
  auto row = [A, N](int j) { return A + std::size_t(j) * N; };
  double* outs[kTrialBlock];
  int b0 = 0;
  for (; b0 + kTrialBlock <= nb; b0 += kTrialBlock) {
    const double* xb = x + std::size_t(b0) * N;
    for (int r = 0; r < kTrialBlock; ++r) outs[r] = out + std::size_t(b0 + r) * N;
    accumulate_rows<kTrialBlock>(outs, N, N, [xb, N](int r, int j) { return xb[std::size_t(r) * N + j]; }, row);
  }
  for (; b0 < nb; ++b0) {
    const double* xb = x + std::size_t(b0) * N;
    outs[0] = out + std::size_t(b0) * N;
    accumulate_rows<1>(outs, N, N, [xb](int, int j) { return xb[j]; }, row);
  }
}

// G (N x N) += sum_s g[s] x[s]^T over n_s samples (s ascending per element): dL/dW from the per-step
// pre-activation gradients g and the states x.
GHOSTFAST_INLINE void outer_accumulate(double* G, int N, const double* const* g, const double* const* x,
                                           int n_s, double** row_ptr) {
  for (int i = 0; i < N; ++i) row_ptr[i] = G + std::size_t(i) * N;
  auto row = [x](int s) { return x[s]; };
  int r0 = 0;
  for (; r0 + kTrialBlock <= N; r0 += kTrialBlock)
    accumulate_rows<kTrialBlock>(row_ptr + r0, N, n_s, [g, r0](int r, int s) { return g[s][r0 + r]; }, row);
  for (; r0 < N; ++r0) accumulate_rows<1>(row_ptr + r0, N, n_s, [g, r0](int, int s) { return g[s][r0]; }, row);
}

// The same sum when the samples are consecutive rows: g[s N ...] and x[s N ...] (identical order and result).
GHOSTFAST_INLINE void outer_accumulate_rows(double* G, int N, const double* g, const double* x, int n_s,
                                            double** row_ptr) {
  for (int i = 0; i < N; ++i) row_ptr[i] = G + std::size_t(i) * N;
  auto row = [x, N](int s) { return x + std::size_t(s) * N; };
  int r0 = 0;
  for (; r0 + kTrialBlock <= N; r0 += kTrialBlock)
    accumulate_rows<kTrialBlock>(row_ptr + r0, N, n_s,
                                 [g, r0, N](int r, int s) { return g[std::size_t(s) * N + r0 + r]; }, row);
  for (; r0 < N; ++r0)
    accumulate_rows<1>(row_ptr + r0, N, n_s, [g, r0, N](int, int s) { return g[std::size_t(s) * N + r0]; }, row);
}

// tanh for arrays, vectorisable, accurate to a few ulp (tested against std::tanh):
// tanh|x| = e / (e + 2) with e = expm1(2|x|) = 2^k (1 + p) - 1, k = round(2|x| / ln 2),
// p = expm1(r) by its Taylor series to degree 13 on |r| <= ln2 / 2 (truncation < 1e-17 relative).
// For k = 0 (|x| < 0.17) e = p exactly, so small arguments keep full relative accuracy.
GHOSTFAST_INLINE void tanh_array(const double* in, double* out, int n) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so k * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShifter = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  std::uint64_t shifter_bits;
  std::memcpy(&shifter_bits, &kShifter, sizeof shifter_bits);
  for (int i = 0; i < n; ++i) {
    const double x = in[i];
    const double ax = std::min(std::fabs(x), 20.0);  // tanh(20) = 1 - 8.5e-18 rounds to 1
    const double y = 2.0 * ax;
    const double shifted = y * kLog2e + kShifter;
    const double kf = shifted - kShifter;
    const double r = (y - kf * kLn2Hi) - kf * kLn2Lo;
    // expm1(r) = r (c1 + c2 r + ... + c13 r^12), c_k = 1/k!, by Estrin's scheme (short dependency chains)
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double q0 = 1.0 + r * 0.5;
    const double q1 = 1.0 / 6.0 + r * (1.0 / 24.0);
    const double q2 = 1.0 / 120.0 + r * (1.0 / 720.0);
    const double q3 = 1.0 / 5040.0 + r * (1.0 / 40320.0);
    const double q4 = 1.0 / 362880.0 + r * (1.0 / 3628800.0);
    const double q5 = 1.0 / 39916800.0 + r * (1.0 / 479001600.0);
    const double q6 = 1.0 / 6227020800.0;
    const double lo = (q0 + q1 * r2) + (q2 + q3 * r2) * r4;
    const double hi = (q4 + q5 * r2) + q6 * r4;
    const double p = r * (lo + hi * r8);
    std::uint64_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    const std::uint64_t scale_bits = (bits - shifter_bits + 1023) << 52;  // 2^k, k in [0, 58]
    double scale;
    std::memcpy(&scale, &scale_bits, sizeof scale);
    const double e = scale * p + (scale - 1.0);
    const double t = e / (e + 2.0);
    out[i] = std::copysign(t, x);
  }
}

}  // namespace ghostfast::rnn
