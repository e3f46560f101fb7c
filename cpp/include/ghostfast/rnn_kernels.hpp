// Small dense kernels of the RNN engine.
//
// Determinism: reductions use kLanes explicit partial sums (lane l takes elements i = l mod kLanes) combined
// in a fixed tree; the build uses -ffp-contract=off (the compiler never fuses a multiply and an add on its
// own); the dense products and tanh fuse them explicitly, with the same operations in the portable code
// (std::fma) and in the AVX2/AVX-512 kernels. Every result is therefore the same whatever the ISA the code
// runs on (SSE2, AVX2, AVX-512 clones and kernels) and whatever the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

// GHOSTFAST_MAX_KERNEL caps the run-time choice of kernels (0: portable only, 1: up to AVX2, 2: up to
// AVX-512, the default), so the tests can run every path on one machine.
#ifndef GHOSTFAST_MAX_KERNEL
#define GHOSTFAST_MAX_KERNEL 2
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && GHOSTFAST_MAX_KERNEL > 0
// AVX2/AVX-512 FMA kernels for the dense products and tanh, chosen at run time (vector_kernel()).
#include <cpuid.h>
#include <immintrin.h>
#define GHOSTFAST_X86_KERNELS 1
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(GHOSTFAST_NO_CLONES)
// Runtime dispatch of the forward/backward passes to an AVX2 / AVX-512 clone when the CPU has it (results are
// identical, see above).
#define GHOSTFAST_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
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

constexpr int kLanes = 8;       // partial sums of a float64 reduction (one 64-byte vector)
constexpr int kTrialBlock = 4;  // trials sharing one pass over W in the full-rank products

// Partial sums of a reduction in scalar type T: one 64-byte vector's worth (8 float64, 16 float32).
template <class T>
constexpr int lanes_of = static_cast<int>(64 / sizeof(T));

// The fixed combination tree of the partial sums (16 float32 lanes fold pairwise onto 8 first).
template <class T>
inline T reduce_lanes(const T* acc) {
  if constexpr (lanes_of<T> == 16) {
    T half[8];
    for (int l = 0; l < 8; ++l) half[l] = acc[l] + acc[l + 8];
    return ((half[0] + half[4]) + (half[2] + half[6])) + ((half[1] + half[5]) + (half[3] + half[7]));
  } else {
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
  }
}

template <class T>
GHOSTFAST_INLINE T dot(const T* __restrict a, const T* __restrict b, std::ptrdiff_t n) {
  constexpr int W = lanes_of<T>;
  T acc[W] = {};
  std::ptrdiff_t i = 0;
  for (; i + W <= n; i += W)
    for (int l = 0; l < W; ++l) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += a[i] * b[i];
  return reduce_lanes(acc);
}

// out[b] = dot(w, x + b n, n) for b < nb, with dot()'s arithmetic for each b (so the same bits), four rows at a
// time: their accumulation chains overlap, where one dot alone waits on the add latency at every step.
template <class T>
GHOSTFAST_INLINE void dot_rows(const T* __restrict w, const T* __restrict x, int n, int nb, T* __restrict out) {
  int b = 0;
#if defined(__GNUC__)
  // 64-byte GCC vectors: lane l of acc[r] is dot()'s partial sum l (the plain loops were not vectorised well)
  constexpr int W = lanes_of<T>;
  typedef T Lanes __attribute__((vector_size(64), aligned(sizeof(T))));
  for (; b + 4 <= nb; b += 4) {
    const T* xr[4];
    for (int r = 0; r < 4; ++r) xr[r] = x + std::size_t(b + r) * n;
    Lanes acc[4] = {};
    int i = 0;
    for (; i + W <= n; i += W) {
      Lanes wv;
      std::memcpy(&wv, w + i, sizeof wv);
      for (int r = 0; r < 4; ++r) {
        Lanes xv;
        std::memcpy(&xv, xr[r] + i, sizeof xv);
        acc[r] = acc[r] + wv * xv;
      }
    }
    for (int r = 0; r < 4; ++r) {
      T part[W];
      std::memcpy(part, &acc[r], sizeof part);
      for (int j = i, l = 0; j < n; ++j, ++l) part[l] += w[j] * xr[r][j];
      out[b + r] = reduce_lanes(part);
    }
  }
#endif
  for (; b < nb; ++b) out[b] = dot(w, x + std::size_t(b) * n, n);
}

// y += alpha x
template <class T>
GHOSTFAST_INLINE void axpy(T alpha, const T* __restrict x, T* __restrict y, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// The dense products of the full-rank model (W x, W^T g, dL/dW) all reduce to this block operation: for
// r < R outputs and i in [i0, i0 + C),
//   out[r][i] = fma(coef(r, s), row(s)[i], out[r][i])  for s = 0, 1, ..., n_s - 1 in turn,
// with the R x C accumulators held in registers while the rows stream through. Every element gets this
// chain whatever R and C, so the blocking never changes a result.
//
// Why fused multiply-adds: the products are ~75% of a full-rank epoch. A register block whose outputs span
// only the 4 trials of a DMTS batch reaches ~77% of this core's peak with separate multiplies and adds, ~95%
// with FMA (bench/results_rnn.md), and FMA rounds once per step instead of twice. GCC only fuses when told
// (-ffp-contract=off elsewhere) and does not reliably vectorise std::fma over vector lanes, so the vector
// kernels below use the FMA intrinsics; this portable one uses std::fma (hardware FMA where the build or the
// clone has it, the C library's correctly rounded fma otherwise: the same bits either way).
template <int R, int C, class T, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_block(T* const* out, int i0, int n_s, const Coef& coef, const Row& row,
                                       bool zero_init) {
  T acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int l = 0; l < C; ++l) acc[r][l] = zero_init ? T(0) : out[r][i0 + l];
  for (int s = 0; s < n_s; ++s) {
    const T* __restrict rw = row(s) + i0;
    T c[R];
    for (int r = 0; r < R; ++r) c[r] = coef(r, s);
    for (int l = 0; l < C; ++l) {
      const T v = rw[l];
      for (int r = 0; r < R; ++r) acc[r][l] = std::fma(c[r], v, acc[r][l]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int l = 0; l < C; ++l) out[r][i0 + l] = acc[r][l];
}

#if defined(GHOSTFAST_X86_KERNELS)
// R x (8 NV + T) block on AVX-512 (T = 0 or 4: a 4-wide ymm tail rides along with a full block, because its
// own 4 accumulators alone would wait on the FMA latency every sample; a masked zmm tail measured 3x slower
// on Zen 4). R = 4, NV = 4: 16 zmm + 4 ymm accumulators. Not inlined into the passes' clones (its target
// differs): one call per block of R x 32 outputs.
template <int R, int NV, int T, class Coef, class Row>
__attribute__((target("avx512f,fma"))) void accumulate_block_avx512(double* const* out, int i0, int n_s,
                                                                    const Coef& coef, const Row& row, bool zero_init) {
  __m512d acc[R][NV > 0 ? NV : 1];
  __m256d acc_tail[R];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = zero_init ? _mm512_setzero_pd() : _mm512_loadu_pd(out[r] + i0 + 8 * v);
    if (T) acc_tail[r] = zero_init ? _mm256_setzero_pd() : _mm256_loadu_pd(out[r] + i0 + 8 * NV);
  }
#pragma GCC unroll 1
  for (int s = 0; s < n_s; ++s) {
    const double* rw = row(s) + i0;
    __m512d x[NV > 0 ? NV : 1];
    __m256d x_tail;
    for (int v = 0; v < NV; ++v) x[v] = _mm512_loadu_pd(rw + 8 * v);
    if (T) x_tail = _mm256_loadu_pd(rw + 8 * NV);
    for (int r = 0; r < R; ++r) {
      const double c = coef(r, s);
      const __m512d cv = _mm512_set1_pd(c);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_pd(cv, x[v], acc[r][v]);
      if (T) acc_tail[r] = _mm256_fmadd_pd(_mm256_set1_pd(c), x_tail, acc_tail[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) _mm512_storeu_pd(out[r] + i0 + 8 * v, acc[r][v]);
    if (T) _mm256_storeu_pd(out[r] + i0 + 8 * NV, acc_tail[r]);
  }
}

// The last N mod 4 output columns of the vector paths, one at a time: accumulate_block's std::fma compiled
// for FMA hardware here (in a clone without FMA it would call the C library's fma for every term).
template <int R, class T, class Coef, class Row>
__attribute__((target("avx2,fma"))) void accumulate_columns_fma(T* const* out, int i0, int i1, int n_s,
                                                                const Coef& coef, const Row& row, bool zero_init) {
  for (int i = i0; i < i1; ++i) accumulate_block<R, 1>(out, i, n_s, coef, row, zero_init);
}

// R x 4 NV block on AVX2 + FMA (16 ymm registers: R = 4, NV = 3 uses 12 accumulators).
template <int R, int NV, class Coef, class Row>
__attribute__((target("avx2,fma"))) void accumulate_block_avx2(double* const* out, int i0, int n_s, const Coef& coef,
                                                               const Row& row, bool zero_init) {
  __m256d acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = zero_init ? _mm256_setzero_pd() : _mm256_loadu_pd(out[r] + i0 + 4 * v);
#pragma GCC unroll 1
  for (int s = 0; s < n_s; ++s) {
    const double* rw = row(s) + i0;
    __m256d x[NV];
    for (int v = 0; v < NV; ++v) x[v] = _mm256_loadu_pd(rw + 4 * v);
    for (int r = 0; r < R; ++r) {
      const __m256d c = _mm256_set1_pd(coef(r, s));
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_pd(c, x[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm256_storeu_pd(out[r] + i0 + 4 * v, acc[r][v]);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC bug 105593 (see tanh_avx512)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// float32: R x (16 NV + tail) block on AVX-512. The tail (1-15 columns) is one masked vector riding along with
// the block's full ones (masked loads and stores; its dead lanes accumulate zeros), so N = 100 is 6 full
// vectors and a 4-column tail in one or two blocks.
template <int R, int NV, bool Tail, class Coef, class Row>
__attribute__((target("avx512f,fma"))) void accumulate_block_avx512_f32(float* const* out, int i0, int n_s,
                                                                        const Coef& coef, const Row& row,
                                                                        bool zero_init, __mmask16 tail_mask) {
  constexpr int NA = NV + (Tail ? 1 : 0);
  __m512 acc[R][NA > 0 ? NA : 1];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = zero_init ? _mm512_setzero_ps() : _mm512_loadu_ps(out[r] + i0 + 16 * v);
    if (Tail) acc[r][NV] = zero_init ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(tail_mask, out[r] + i0 + 16 * NV);
  }
#pragma GCC unroll 1
  for (int s = 0; s < n_s; ++s) {
    const float* rw = row(s) + i0;
    __m512 x[NA > 0 ? NA : 1];
    for (int v = 0; v < NV; ++v) x[v] = _mm512_loadu_ps(rw + 16 * v);
    if (Tail) x[NV] = _mm512_maskz_loadu_ps(tail_mask, rw + 16 * NV);
    for (int r = 0; r < R; ++r) {
      const __m512 cv = _mm512_set1_ps(coef(r, s));
      for (int v = 0; v < NA; ++v) acc[r][v] = _mm512_fmadd_ps(cv, x[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out[r] + i0 + 16 * v, acc[r][v]);
    if (Tail) _mm512_mask_storeu_ps(out[r] + i0 + 16 * NV, tail_mask, acc[r][NV]);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// The last block of a float32 row: nv (<= NVMax) full vectors and a tail of `rest` (0-15) columns.
template <int R, int NVMax, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_last_avx512_f32(float* const* out, int i0, int nv, int rest, int n_s, const Coef& coef,
                                                 const Row& row, bool zero_init) {
  if constexpr (NVMax >= 0) {
    if (nv < NVMax) return accumulate_last_avx512_f32<R, NVMax - 1>(out, i0, nv, rest, n_s, coef, row, zero_init);
    const __mmask16 mask = static_cast<__mmask16>((1u << rest) - 1u);
    if (rest > 0)
      accumulate_block_avx512_f32<R, NVMax, true>(out, i0, n_s, coef, row, zero_init, mask);
    else if (NVMax > 0)
      accumulate_block_avx512_f32<R, NVMax, false>(out, i0, n_s, coef, row, zero_init, mask);
  }
}

// float32: R x 8 NV block on AVX2 + FMA.
template <int R, int NV, class Coef, class Row>
__attribute__((target("avx2,fma"))) void accumulate_block_avx2_f32(float* const* out, int i0, int n_s, const Coef& coef,
                                                                   const Row& row, bool zero_init) {
  __m256 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = zero_init ? _mm256_setzero_ps() : _mm256_loadu_ps(out[r] + i0 + 8 * v);
#pragma GCC unroll 1
  for (int s = 0; s < n_s; ++s) {
    const float* rw = row(s) + i0;
    __m256 x[NV];
    for (int v = 0; v < NV; ++v) x[v] = _mm256_loadu_ps(rw + 8 * v);
    for (int r = 0; r < R; ++r) {
      const __m256 c = _mm256_set1_ps(coef(r, s));
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(c, x[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(out[r] + i0 + 8 * v, acc[r][v]);
}
#endif

// Which vector kernels the products and tanh use on this CPU (decided once). The choice never changes a
// result: every kernel computes the same IEEE operations as the portable code.
enum class VectorKernel { Portable, Avx2Fma, Avx512 };
#if defined(GHOSTFAST_X86_KERNELS)
// CPUID plus the OS's saved register state (XCR0), read directly rather than through
// __builtin_cpu_supports: some toolchains' runtimes (zig's compiler-rt, for one) answer "no" to every feature.
inline VectorKernel detect_vector_kernel() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return VectorKernel::Portable;
  const bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!(fma && osxsave && avx)) return VectorKernel::Portable;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0x6) != 0x6) return VectorKernel::Portable;  // the OS saves xmm and ymm state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return VectorKernel::Portable;
  const bool avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
  const bool zmm_state = (xcr0_lo & 0xe6) == 0xe6;  // ... and opmask and zmm state
  if (GHOSTFAST_MAX_KERNEL >= 2 && avx512f && zmm_state) return VectorKernel::Avx512;
  if (avx2) return VectorKernel::Avx2Fma;
  return VectorKernel::Portable;
}
#endif

inline VectorKernel vector_kernel() {
#if defined(GHOSTFAST_X86_KERNELS)
  static const VectorKernel kernel = detect_vector_kernel();
  return kernel;
#else
  return VectorKernel::Portable;
#endif
}

// out[r][i] for r < R, i < N: accumulate_block's chain for every element, in register blocks that fit the ISA.
template <int R, class T, class Coef, class Row>
GHOSTFAST_INLINE void accumulate_rows(T* const* out, int N, int n_s, const Coef& coef, const Row& row, bool zero_init) {
  int i0 = 0;
#if defined(GHOSTFAST_X86_KERNELS)
  const VectorKernel kernel = vector_kernel();
  if constexpr (std::is_same_v<T, float>) {
    if (kernel == VectorKernel::Avx512) {
      // Up to 8 vectors per block for one output row (its chains alone would wait on the FMA latency), 4 for a
      // block of 4 rows; the last block takes what is left, tail included.
      constexpr int kMaxVectors = R == 1 ? 8 : 4;
      while (N - i0 >= 16 * kMaxVectors + 16) {
        accumulate_block_avx512_f32<R, kMaxVectors, false>(out, i0, n_s, coef, row, zero_init, 0);
        i0 += 16 * kMaxVectors;
      }
      accumulate_last_avx512_f32<R, kMaxVectors>(out, i0, (N - i0) / 16, (N - i0) % 16, n_s, coef, row, zero_init);
      return;
    }
    if (kernel == VectorKernel::Avx2Fma) {
      if (R == 1)
        for (; i0 + 64 <= N; i0 += 64) accumulate_block_avx2_f32<R, 8>(out, i0, n_s, coef, row, zero_init);
      for (; i0 + 24 <= N; i0 += 24) accumulate_block_avx2_f32<R, 3>(out, i0, n_s, coef, row, zero_init);
      for (; i0 + 8 <= N; i0 += 8) accumulate_block_avx2_f32<R, 1>(out, i0, n_s, coef, row, zero_init);
    }
  } else if (kernel == VectorKernel::Avx512) {
    if (R == 1) {
      // One output row (a single trial, or one row of an outer product): its chains alone would wait on the
      // FMA latency, so up to 12 vectors (96 columns, 100 with the tail) ride in one block.
      while (N - i0 >= 96) {
        const int rest = N - i0 - 96;
        if (rest >= 4 && rest < 8) {
          accumulate_block_avx512<R, 12, 4>(out, i0, n_s, coef, row, zero_init);
          i0 += 100;
        } else {
          accumulate_block_avx512<R, 12, 0>(out, i0, n_s, coef, row, zero_init);
          i0 += 96;
        }
      }
      for (; i0 + 32 <= N; i0 += 32) accumulate_block_avx512<R, 4, 0>(out, i0, n_s, coef, row, zero_init);
    }
    // 32-wide blocks; N = 100 = 32 + 32 + 36 (the last one with the 4-wide tail)
    while (N - i0 >= 32) {
      const int rest = N - i0 - 32;
      if (rest >= 4 && rest < 8) {
        accumulate_block_avx512<R, 4, 4>(out, i0, n_s, coef, row, zero_init);
        i0 += 36;
      } else {
        accumulate_block_avx512<R, 4, 0>(out, i0, n_s, coef, row, zero_init);
        i0 += 32;
      }
    }
    for (; i0 + 8 <= N; i0 += 8) accumulate_block_avx512<R, 1, 0>(out, i0, n_s, coef, row, zero_init);
    if (N - i0 >= 4) {
      accumulate_block_avx512<R, 0, 4>(out, i0, n_s, coef, row, zero_init);
      i0 += 4;
    }
  } else if (kernel == VectorKernel::Avx2Fma) {
    if (R == 1)
      for (; i0 + 32 <= N; i0 += 32) accumulate_block_avx2<R, 8>(out, i0, n_s, coef, row, zero_init);
    for (; i0 + 12 <= N; i0 += 12) accumulate_block_avx2<R, 3>(out, i0, n_s, coef, row, zero_init);
    for (; i0 + 4 <= N; i0 += 4) accumulate_block_avx2<R, 1>(out, i0, n_s, coef, row, zero_init);
  }
  if (kernel != VectorKernel::Portable && i0 < N) {
    accumulate_columns_fma<R>(out, i0, N, n_s, coef, row, zero_init);
    i0 = N;
  }
#endif
  for (; i0 + 16 <= N; i0 += 16) accumulate_block<R, 16>(out, i0, n_s, coef, row, zero_init);
  for (; i0 + 8 <= N; i0 += 8) accumulate_block<R, 8>(out, i0, n_s, coef, row, zero_init);
  for (; i0 + 4 <= N; i0 += 4) accumulate_block<R, 4>(out, i0, n_s, coef, row, zero_init);
  for (; i0 < N; ++i0) accumulate_block<R, 1>(out, i0, n_s, coef, row, zero_init);
}

// out_b[i] (+)= sum_j x_b[j] A[j width + i] (j ascending per element) for b < nb trials and i < width, j < n_j:
// x_b = x + b x_stride, out_b = out + b out_stride. Forward: A = W^T (n_j = width = N), so out_b = W x_b; backward:
// A = W, so out_b += W^T g_b; low rank: A = n^T (N x K) gives the latents n x_b, A = m^T (K x N) gives m kappa_b.
// accumulate = false: the chains start from 0 instead of from out (the same as zeroing out first).
template <class T>
GHOSTFAST_INLINE void gemv_rows(const T* A, int n_j, int width, const T* x, std::ptrdiff_t x_stride, T* out,
                                std::ptrdiff_t out_stride, int nb, bool accumulate) {
  const bool zero_init = !accumulate;
  auto row = [A, width](int j) { return A + std::size_t(j) * width; };
  T* outs[kTrialBlock];
  int b0 = 0;
  for (; b0 + kTrialBlock <= nb; b0 += kTrialBlock) {
    const T* xb = x + b0 * x_stride;
    for (int r = 0; r < kTrialBlock; ++r) outs[r] = out + (b0 + r) * out_stride;
    accumulate_rows<kTrialBlock>(
        outs, width, n_j, [xb, x_stride](int r, int j) { return xb[r * x_stride + j]; }, row, zero_init);
  }
  for (; b0 < nb; ++b0) {
    const T* xb = x + b0 * x_stride;
    outs[0] = out + b0 * out_stride;
    accumulate_rows<1>(outs, width, n_j, [xb](int, int j) { return xb[j]; }, row, zero_init);
  }
}

// Square case with consecutive rows (the full-rank products): out_b (+)= A^T-product of x_b, rows of length N.
template <class T>
GHOSTFAST_INLINE void gemv_rows_multi(const T* A, int N, const T* x, T* out, int nb, bool accumulate) {
  gemv_rows(A, N, N, x, N, out, N, nb, accumulate);
}

// G (n_rows x width) += sum_s g[s][r] x[s][i] over n_s samples (s ascending per element): dL/dW from the per-step
// pre-activation gradients g and the states x (n_rows = width = N); low rank: dL/dm^T from the latents and the
// pre-activation gradients, dL/dn from the latent gradients and the states (n_rows = K, width = N).
// zero_init: G = the sum (G's old contents are ignored).
template <class T>
GHOSTFAST_INLINE void outer_accumulate(T* G, int n_rows, int width, const T* const* g, const T* const* x, int n_s,
                                       T** row_ptr, bool zero_init) {
  for (int i = 0; i < n_rows; ++i) row_ptr[i] = G + std::size_t(i) * width;
  auto row = [x](int s) { return x[s]; };
  int r0 = 0;
  for (; r0 + kTrialBlock <= n_rows; r0 += kTrialBlock)
    accumulate_rows<kTrialBlock>(
        row_ptr + r0, width, n_s, [g, r0](int r, int s) { return g[s][r0 + r]; }, row, zero_init);
  for (; r0 < n_rows; ++r0)
    accumulate_rows<1>(row_ptr + r0, width, n_s, [g, r0](int, int s) { return g[s][r0]; }, row, zero_init);
}

// The same sum when the samples are consecutive rows: g[s g_stride ...] and x[s width ...] (same order, same result).
template <class T>
GHOSTFAST_INLINE void outer_accumulate_rows(T* G, int n_rows, int width, const T* g, std::ptrdiff_t g_stride,
                                            const T* x, int n_s, T** row_ptr, bool zero_init) {
  for (int i = 0; i < n_rows; ++i) row_ptr[i] = G + std::size_t(i) * width;
  auto row = [x, width](int s) { return x + std::size_t(s) * width; };
  int r0 = 0;
  for (; r0 + kTrialBlock <= n_rows; r0 += kTrialBlock)
    accumulate_rows<kTrialBlock>(
        row_ptr + r0, width, n_s, [g, r0, g_stride](int r, int s) { return g[s * g_stride + r0 + r]; }, row, zero_init);
  for (; r0 < n_rows; ++r0)
    accumulate_rows<1>(
        row_ptr + r0, width, n_s, [g, r0, g_stride](int, int s) { return g[s * g_stride + r0]; }, row, zero_init);
}

// tanh, accurate to a few ulp (tested against std::tanh):
// tanh|x| = e / (e + 2) with e = expm1(2|x|) = 2^k (1 + p) - 1, k = round(2|x| / ln 2),
// p = expm1(r) by its Taylor series to degree 13 on |r| <= ln2 / 2 (truncation < 1e-17 relative).
// For k = 0 (|x| < 0.17) e = p exactly, so small arguments keep full relative accuracy.
// tanh_one is the definition; the AVX-512 and AVX2 kernels below apply the same IEEE operations (fused
// multiply-adds where tanh_one calls std::fma) to 8 or 4 values at once, so every path gives the same bits.
namespace tanh_detail {
constexpr double kLog2e = 1.4426950408889634074;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so k * kLn2Hi is exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kShifter = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
constexpr std::uint64_t kShifterBits = 0x4338000000000000ULL;
constexpr double kMaxArg = 20.0;  // tanh(20) = 1 - 8.5e-18 rounds to 1
// expm1(r) = r (c1 + c2 r + ... + c13 r^12), c_k = 1/k!
constexpr double c[14] = {0.0,
                          1.0,
                          1.0 / 2.0,
                          1.0 / 6.0,
                          1.0 / 24.0,
                          1.0 / 120.0,
                          1.0 / 720.0,
                          1.0 / 5040.0,
                          1.0 / 40320.0,
                          1.0 / 362880.0,
                          1.0 / 3628800.0,
                          1.0 / 39916800.0,
                          1.0 / 479001600.0,
                          1.0 / 6227020800.0};
}  // namespace tanh_detail

GHOSTFAST_INLINE double tanh_one(double x) {
  using namespace tanh_detail;
  const double ax = std::min(std::fabs(x), kMaxArg);  // (NaN stays NaN)
  const double y = 2.0 * ax;
  const double shifted = std::fma(y, kLog2e, kShifter);
  const double kf = shifted - kShifter;
  const double r = std::fma(-kf, kLn2Lo, std::fma(-kf, kLn2Hi, y));
  // Estrin's scheme (short dependency chains)
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double q0 = std::fma(c[2], r, c[1]), q1 = std::fma(c[4], r, c[3]), q2 = std::fma(c[6], r, c[5]);
  const double q3 = std::fma(c[8], r, c[7]), q4 = std::fma(c[10], r, c[9]), q5 = std::fma(c[12], r, c[11]);
  const double lo = std::fma(std::fma(q3, r2, q2), r4, std::fma(q1, r2, q0));
  const double hi = std::fma(c[13], r4, std::fma(q5, r2, q4));
  const double p = r * std::fma(hi, r8, lo);
  std::uint64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  const std::uint64_t scale_bits = (bits - kShifterBits + 1023) << 52;  // 2^k, k in [0, 58]
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const double e = std::fma(scale, p, scale - 1.0);
  const double t = e / (e + 2.0);
  return std::copysign(t, x);
}

#if defined(GHOSTFAST_X86_KERNELS)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics (_mm512_min_pd, _mm512_slli_epi64, ...) trip a false -Wmaybe-uninitialized
// (GCC bug 105593, fixed in GCC 13) once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// tanh_one on 8 lanes, the last n mod 8 values one at a time (std::fma on FMA hardware here).
__attribute__((target("avx512f,fma"))) inline void tanh_avx512(const double* in, double* out, int n) {
  using namespace tanh_detail;
  const __m512i sign_mask = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d x = _mm512_loadu_pd(in + i);
    const __m512i xi = _mm512_castpd_si512(x);
    const __m512d ax = _mm512_min_pd(_mm512_castsi512_pd(_mm512_andnot_si512(sign_mask, xi)), _mm512_set1_pd(kMaxArg));
    const __m512d y = _mm512_add_pd(ax, ax);
    const __m512d shifted = _mm512_fmadd_pd(y, _mm512_set1_pd(kLog2e), _mm512_set1_pd(kShifter));
    const __m512d kf = _mm512_sub_pd(shifted, _mm512_set1_pd(kShifter));
    const __m512d r = _mm512_fnmadd_pd(kf, _mm512_set1_pd(kLn2Lo), _mm512_fnmadd_pd(kf, _mm512_set1_pd(kLn2Hi), y));
    const __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2), r8 = _mm512_mul_pd(r4, r4);
    const __m512d q0 = _mm512_fmadd_pd(_mm512_set1_pd(c[2]), r, _mm512_set1_pd(c[1]));
    const __m512d q1 = _mm512_fmadd_pd(_mm512_set1_pd(c[4]), r, _mm512_set1_pd(c[3]));
    const __m512d q2 = _mm512_fmadd_pd(_mm512_set1_pd(c[6]), r, _mm512_set1_pd(c[5]));
    const __m512d q3 = _mm512_fmadd_pd(_mm512_set1_pd(c[8]), r, _mm512_set1_pd(c[7]));
    const __m512d q4 = _mm512_fmadd_pd(_mm512_set1_pd(c[10]), r, _mm512_set1_pd(c[9]));
    const __m512d q5 = _mm512_fmadd_pd(_mm512_set1_pd(c[12]), r, _mm512_set1_pd(c[11]));
    const __m512d lo = _mm512_fmadd_pd(_mm512_fmadd_pd(q3, r2, q2), r4, _mm512_fmadd_pd(q1, r2, q0));
    const __m512d hi = _mm512_fmadd_pd(_mm512_set1_pd(c[13]), r4, _mm512_fmadd_pd(q5, r2, q4));
    const __m512d p = _mm512_mul_pd(r, _mm512_fmadd_pd(hi, r8, lo));
    const __m512i scale_bits = _mm512_slli_epi64(
        _mm512_add_epi64(
            _mm512_sub_epi64(_mm512_castpd_si512(shifted), _mm512_set1_epi64(static_cast<long long>(kShifterBits))),
            _mm512_set1_epi64(1023)),
        52);
    const __m512d scale = _mm512_castsi512_pd(scale_bits);
    const __m512d e = _mm512_fmadd_pd(scale, p, _mm512_sub_pd(scale, _mm512_set1_pd(1.0)));
    const __m512d t = _mm512_div_pd(e, _mm512_add_pd(e, _mm512_set1_pd(2.0)));
    const __m512i res =
        _mm512_or_si512(_mm512_andnot_si512(sign_mask, _mm512_castpd_si512(t)), _mm512_and_si512(sign_mask, xi));
    _mm512_storeu_pd(out + i, _mm512_castsi512_pd(res));
  }
  for (; i < n; ++i) out[i] = tanh_one(in[i]);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// tanh_one on 4 lanes, the last n mod 4 values one at a time (std::fma on FMA hardware here).
__attribute__((target("avx2,fma"))) inline void tanh_avx2(const double* in, double* out, int n) {
  using namespace tanh_detail;
  const __m256d sign_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ULL)));
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(in + i);
    const __m256d ax = _mm256_min_pd(_mm256_andnot_pd(sign_mask, x), _mm256_set1_pd(kMaxArg));
    const __m256d y = _mm256_add_pd(ax, ax);
    const __m256d shifted = _mm256_fmadd_pd(y, _mm256_set1_pd(kLog2e), _mm256_set1_pd(kShifter));
    const __m256d kf = _mm256_sub_pd(shifted, _mm256_set1_pd(kShifter));
    const __m256d r = _mm256_fnmadd_pd(kf, _mm256_set1_pd(kLn2Lo), _mm256_fnmadd_pd(kf, _mm256_set1_pd(kLn2Hi), y));
    const __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2), r8 = _mm256_mul_pd(r4, r4);
    const __m256d q0 = _mm256_fmadd_pd(_mm256_set1_pd(c[2]), r, _mm256_set1_pd(c[1]));
    const __m256d q1 = _mm256_fmadd_pd(_mm256_set1_pd(c[4]), r, _mm256_set1_pd(c[3]));
    const __m256d q2 = _mm256_fmadd_pd(_mm256_set1_pd(c[6]), r, _mm256_set1_pd(c[5]));
    const __m256d q3 = _mm256_fmadd_pd(_mm256_set1_pd(c[8]), r, _mm256_set1_pd(c[7]));
    const __m256d q4 = _mm256_fmadd_pd(_mm256_set1_pd(c[10]), r, _mm256_set1_pd(c[9]));
    const __m256d q5 = _mm256_fmadd_pd(_mm256_set1_pd(c[12]), r, _mm256_set1_pd(c[11]));
    const __m256d lo = _mm256_fmadd_pd(_mm256_fmadd_pd(q3, r2, q2), r4, _mm256_fmadd_pd(q1, r2, q0));
    const __m256d hi = _mm256_fmadd_pd(_mm256_set1_pd(c[13]), r4, _mm256_fmadd_pd(q5, r2, q4));
    const __m256d p = _mm256_mul_pd(r, _mm256_fmadd_pd(hi, r8, lo));
    const __m256i scale_bits = _mm256_slli_epi64(
        _mm256_add_epi64(
            _mm256_sub_epi64(_mm256_castpd_si256(shifted), _mm256_set1_epi64x(static_cast<long long>(kShifterBits))),
            _mm256_set1_epi64x(1023)),
        52);
    const __m256d scale = _mm256_castsi256_pd(scale_bits);
    const __m256d e = _mm256_fmadd_pd(scale, p, _mm256_sub_pd(scale, _mm256_set1_pd(1.0)));
    const __m256d t = _mm256_div_pd(e, _mm256_add_pd(e, _mm256_set1_pd(2.0)));
    _mm256_storeu_pd(out + i, _mm256_or_pd(_mm256_andnot_pd(sign_mask, t), _mm256_and_pd(sign_mask, x)));
  }
  for (; i < n; ++i) out[i] = tanh_one(in[i]);
}
#endif

// float32 tanh by the same construction in single precision: k = round(2|x| / ln 2) with the float split of
// ln 2, expm1(r) by its Taylor series to degree 7 on |r| <= ln2 / 2 (truncation < 2e-8 relative, a third of
// an ulp), |x| capped at 10 (tanh(10) rounds to 1). tanh_one(float) is the definition; the kernels below apply
// the same operations to 16 or 8 values at once.
namespace tanh_detail_f32 {
constexpr float kLog2e = 1.44269504f;
constexpr float kLn2Hi = 0.693145751953125f;  // 15 significant bits: k * kLn2Hi is exact for k < 2^9
constexpr float kLn2Lo = 1.42860677e-06f;
constexpr float kShifter = 0x1.8p23f;
constexpr std::uint32_t kShifterBits = 0x4B400000u;
constexpr float kMaxArg = 10.0f;
constexpr float c[8] = {0.0f,         1.0f,          1.0f / 2.0f,   1.0f / 6.0f,
                        1.0f / 24.0f, 1.0f / 120.0f, 1.0f / 720.0f, 1.0f / 5040.0f};
}  // namespace tanh_detail_f32

GHOSTFAST_INLINE float tanh_one(float x) {
  using namespace tanh_detail_f32;
  const float ax = std::min(std::fabs(x), kMaxArg);
  const float y = 2.0f * ax;
  const float shifted = std::fma(y, kLog2e, kShifter);
  const float kf = shifted - kShifter;
  const float r = std::fma(-kf, kLn2Lo, std::fma(-kf, kLn2Hi, y));
  const float r2 = r * r, r4 = r2 * r2;
  const float q0 = std::fma(c[2], r, c[1]), q1 = std::fma(c[4], r, c[3]), q2 = std::fma(c[6], r, c[5]);
  const float lo = std::fma(q1, r2, q0);
  const float hi = std::fma(c[7], r2, q2);
  const float p = r * std::fma(hi, r4, lo);
  std::uint32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  const std::uint32_t scale_bits = (bits - kShifterBits + 127u) << 23;  // 2^k, k in [0, 29]
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const float e = std::fma(scale, p, scale - 1.0f);
  const float t = e / (e + 2.0f);
  return std::copysign(t, x);
}

#if defined(GHOSTFAST_X86_KERNELS)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC bug 105593 (see tanh_avx512)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// tanh_one(float) on 16 lanes, the last n mod 16 values one at a time.
__attribute__((target("avx512f,fma"))) inline void tanh_avx512(const float* in, float* out, int n) {
  using namespace tanh_detail_f32;
  const __m512i sign_mask = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 x = _mm512_loadu_ps(in + i);
    const __m512i xi = _mm512_castps_si512(x);
    const __m512 ax = _mm512_min_ps(_mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, xi)), _mm512_set1_ps(kMaxArg));
    const __m512 y = _mm512_add_ps(ax, ax);
    const __m512 shifted = _mm512_fmadd_ps(y, _mm512_set1_ps(kLog2e), _mm512_set1_ps(kShifter));
    const __m512 kf = _mm512_sub_ps(shifted, _mm512_set1_ps(kShifter));
    const __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(kLn2Lo), _mm512_fnmadd_ps(kf, _mm512_set1_ps(kLn2Hi), y));
    const __m512 r2 = _mm512_mul_ps(r, r), r4 = _mm512_mul_ps(r2, r2);
    const __m512 q0 = _mm512_fmadd_ps(_mm512_set1_ps(c[2]), r, _mm512_set1_ps(c[1]));
    const __m512 q1 = _mm512_fmadd_ps(_mm512_set1_ps(c[4]), r, _mm512_set1_ps(c[3]));
    const __m512 q2 = _mm512_fmadd_ps(_mm512_set1_ps(c[6]), r, _mm512_set1_ps(c[5]));
    const __m512 lo = _mm512_fmadd_ps(q1, r2, q0);
    const __m512 hi = _mm512_fmadd_ps(_mm512_set1_ps(c[7]), r2, q2);
    const __m512 p = _mm512_mul_ps(r, _mm512_fmadd_ps(hi, r4, lo));
    const __m512i scale_bits = _mm512_slli_epi32(
        _mm512_add_epi32(
            _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(static_cast<int>(kShifterBits))),
            _mm512_set1_epi32(127)),
        23);
    const __m512 scale = _mm512_castsi512_ps(scale_bits);
    const __m512 e = _mm512_fmadd_ps(scale, p, _mm512_sub_ps(scale, _mm512_set1_ps(1.0f)));
    const __m512 t = _mm512_div_ps(e, _mm512_add_ps(e, _mm512_set1_ps(2.0f)));
    const __m512i res =
        _mm512_or_si512(_mm512_andnot_si512(sign_mask, _mm512_castps_si512(t)), _mm512_and_si512(sign_mask, xi));
    _mm512_storeu_ps(out + i, _mm512_castsi512_ps(res));
  }
  for (; i < n; ++i) out[i] = tanh_one(in[i]);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// tanh_one(float) on 8 lanes, the last n mod 8 values one at a time.
__attribute__((target("avx2,fma"))) inline void tanh_avx2(const float* in, float* out, int n) {
  using namespace tanh_detail_f32;
  const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    const __m256 ax = _mm256_min_ps(_mm256_andnot_ps(sign_mask, x), _mm256_set1_ps(kMaxArg));
    const __m256 y = _mm256_add_ps(ax, ax);
    const __m256 shifted = _mm256_fmadd_ps(y, _mm256_set1_ps(kLog2e), _mm256_set1_ps(kShifter));
    const __m256 kf = _mm256_sub_ps(shifted, _mm256_set1_ps(kShifter));
    const __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(kLn2Lo), _mm256_fnmadd_ps(kf, _mm256_set1_ps(kLn2Hi), y));
    const __m256 r2 = _mm256_mul_ps(r, r), r4 = _mm256_mul_ps(r2, r2);
    const __m256 q0 = _mm256_fmadd_ps(_mm256_set1_ps(c[2]), r, _mm256_set1_ps(c[1]));
    const __m256 q1 = _mm256_fmadd_ps(_mm256_set1_ps(c[4]), r, _mm256_set1_ps(c[3]));
    const __m256 q2 = _mm256_fmadd_ps(_mm256_set1_ps(c[6]), r, _mm256_set1_ps(c[5]));
    const __m256 lo = _mm256_fmadd_ps(q1, r2, q0);
    const __m256 hi = _mm256_fmadd_ps(_mm256_set1_ps(c[7]), r2, q2);
    const __m256 p = _mm256_mul_ps(r, _mm256_fmadd_ps(hi, r4, lo));
    const __m256i scale_bits = _mm256_slli_epi32(
        _mm256_add_epi32(
            _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(static_cast<int>(kShifterBits))),
            _mm256_set1_epi32(127)),
        23);
    const __m256 scale = _mm256_castsi256_ps(scale_bits);
    const __m256 e = _mm256_fmadd_ps(scale, p, _mm256_sub_ps(scale, _mm256_set1_ps(1.0f)));
    const __m256 t = _mm256_div_ps(e, _mm256_add_ps(e, _mm256_set1_ps(2.0f)));
    _mm256_storeu_ps(out + i, _mm256_or_ps(_mm256_andnot_ps(sign_mask, t), _mm256_and_ps(sign_mask, x)));
  }
  for (; i < n; ++i) out[i] = tanh_one(in[i]);
}
#endif

// out[i] = tanh(in[i]) for i < n (in == out allowed).
template <class T>
GHOSTFAST_INLINE void tanh_array(const T* in, T* out, int n) {
#if defined(GHOSTFAST_X86_KERNELS)
  const VectorKernel kernel = vector_kernel();
  if (kernel == VectorKernel::Avx512) return tanh_avx512(in, out, n);
  if (kernel == VectorKernel::Avx2Fma) return tanh_avx2(in, out, n);
#endif
  for (int i = 0; i < n; ++i) out[i] = tanh_one(in[i]);
}

}  // namespace ghostfast::rnn
