// Fast standard normals for the RNN noise and random initial states: Doornik's 128-layer ziggurat
// ("An improved ziggurat method to generate normal random samples", 2005) on the run's xoshiro256** stream.
// About 98.8% of draws take one 64-bit word, a table lookup and a multiply; the rest (wedges, tail) use
// exp/log. Box-Muller (Rng::normal) costs log + sqrt + sin + cos per pair, which dominated noisy epochs.
// Deterministic: a draw depends only on the Rng state.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ghostfast/random.hpp"
#include "ghostfast/rnn_kernels.hpp"

namespace ghostfast::rnn {

struct ZigguratTables {
  static constexpr int kLayers = 128;
  static constexpr double kR = 3.442619855899;       // start of the tail
  static constexpr double kV = 9.91256303526217e-3;  // area of each layer
  std::array<double, kLayers + 1> x{};
  std::array<double, kLayers> ratio{};

  ZigguratTables() {
    double f = std::exp(-0.5 * kR * kR);
    x[0] = kV / f;  // the bottom layer (rectangle + tail) as a rectangle of width V / f(R)
    x[1] = kR;
    x[kLayers] = 0.0;
    for (int i = 2; i < kLayers; ++i) {
      x[i] = std::sqrt(-2.0 * std::log(kV / x[i - 1] + f));
      f = std::exp(-0.5 * x[i] * x[i]);
    }
    for (int i = 0; i < kLayers; ++i) ratio[i] = x[i + 1] / x[i];
  }
  static const ZigguratTables& get() {
    static const ZigguratTables tables;  // thread-safe initialisation (C++11)
    return tables;
  }
};

// One N(0, 1) draw.
inline double ziggurat_normal(Rng& rng, const ZigguratTables& z) {
  for (;;) {
    const std::uint64_t bits = rng.next_u64();
    const int i = static_cast<int>(bits & 0x7F);
    // u uniform in (-1, 1) from the top 53 bits (never exactly +-1)
    const double u = 2.0 * ((static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53) - 1.0;
    if (std::fabs(u) < z.ratio[i]) return u * z.x[i];  // inside the rectangle: the common case
    if (i == 0) {                                      // the tail beyond R (Marsaglia's method)
      double xt, yt;
      do {
        xt = std::log(rng.uniform()) / ZigguratTables::kR;
        yt = std::log(rng.uniform());
      } while (-2.0 * yt < xt * xt);
      return u < 0 ? xt - ZigguratTables::kR : ZigguratTables::kR - xt;
    }
    const double xw = u * z.x[i];  // a wedge: accept under the density
    const double f0 = std::exp(-0.5 * (z.x[i] * z.x[i] - xw * xw));
    const double f1 = std::exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - xw * xw));
    if (f1 + (f0 - f1) * rng.uniform() < 1.0) return xw;
  }
}

// out[i] = scale * z_i for i < n.
inline void fill_normal(Rng& rng, double scale, double* out, int n) {
  const ZigguratTables& z = ZigguratTables::get();
  for (int i = 0; i < n; ++i) out[i] = scale * ziggurat_normal(rng, z);
}

// The ziggurat after its first 64-bit word `bits` missed the rectangle of its layer: the wedge or tail test
// with further uniforms from `rng`, and a fresh draw from `rng` when that rejects too. Together with the
// rectangle test on `bits` this is exactly ziggurat_normal (so the draws are exact N(0, 1)).
inline double ziggurat_continue(std::uint64_t bits, Rng& rng, const ZigguratTables& z) {
  const int i = static_cast<int>(bits & 0x7F);
  const double u = (static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0;
  if (i == 0) {
    double xt, yt;
    do {
      xt = std::log(rng.uniform()) / ZigguratTables::kR;
      yt = std::log(rng.uniform());
    } while (-2.0 * yt < xt * xt);
    return u < 0 ? xt - ZigguratTables::kR : ZigguratTables::kR - xt;
  }
  const double xw = u * z.x[i];
  const double f0 = std::exp(-0.5 * (z.x[i] * z.x[i] - xw * xw));
  const double f1 = std::exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - xw * xw));
  if (f1 + (f0 - f1) * rng.uniform() < 1.0) return xw;
  return ziggurat_normal(rng, z);
}

// Normals in bulk for the noise and random initial states of one chunk of trials in one pass.
//
// Definition (the same bits on every code path): eight xoshiro256** lanes, seeded from (key, stream); draw q
// of a fill takes its 64-bit word from lane q mod 8 (words are produced eight at a time, and a fill of n values
// consumes ceil(n / 8) rounds). A word w gives layer i = w & 127 and u = ((w >> 12) + 0.5) 2^-51 - 1; when
// |u| < x[i+1] / x[i] (about 98.8% of words) the draw is u x[i], otherwise ziggurat_continue(w, fallback)
// with a ninth, scalar stream, taken in increasing q. The common case is branch-free, so it runs eight (AVX-512)
// or four (AVX2) draws at a time; the rare ones follow in order.
class BulkNormals {
 public:
  static constexpr int kLanes = 8;
  BulkNormals() { seed(0, 0); }
  BulkNormals(std::uint64_t key, std::uint64_t stream) { seed(key, stream); }
  // Restarts the draws as the stream (key, stream); no allocation (a Workspace reuses one generator).
  void seed(std::uint64_t key, std::uint64_t stream) {
    Rng seeder(key, 0x9E6C63D0876A9A47ULL, stream);
    for (int w = 0; w < 4; ++w)
      for (int l = 0; l < kLanes; ++l) s_[w][l] = seeder.next_u64();
    fallback_ = Rng(seeder.next_u64(), seeder.next_u64(), stream);
  }

  // out[q] = scale * z_q for q < n (the next n draws).
  void fill(double scale, double* out, int n) { fill_impl(scale, out, n, true); }
  // The same draws by the portable code alone (the definition the vector kernels are tested against).
  void fill_portable(double scale, double* out, int n) { fill_impl(scale, out, n, false); }
  // float32 models: the same draws (scale * z_q in float64), rounded once to float.
  void fill(double scale, float* out, int n) {
    if (wide_.size() < static_cast<std::size_t>(n)) wide_.resize(static_cast<std::size_t>(n));
    fill_impl(scale, wide_.data(), n, true);
    for (int q = 0; q < n; ++q) out[q] = static_cast<float>(wide_[q]);
  }

 private:
  void fill_impl(double scale, double* out, int n, bool vector) {
    const ZigguratTables& z = ZigguratTables::get();
    rejects_.clear();
    int q = 0;
#if defined(GHOSTFAST_X86_KERNELS)
    const VectorKernel kernel = vector ? vector_kernel() : VectorKernel::Portable;
    if (kernel == VectorKernel::Avx512)
      q = fill_avx512(scale, out, n, z);
    else if (kernel == VectorKernel::Avx2Fma)
      q = fill_avx2(scale, out, n, z);
#endif
    for (; q < n; q += kLanes) {  // (the portable path, and what the vector loops leave)
      std::uint64_t words[kLanes];
      next_words(words);
      const int m = std::min(kLanes, n - q);
      for (int l = 0; l < m; ++l) {
        const std::uint64_t w = words[l];
        const int i = static_cast<int>(w & 0x7F);
        const double u = (static_cast<double>(w >> 12) + 0.5) * 0x1.0p-51 - 1.0;
        if (std::fabs(u) < z.ratio[i]) {
          out[q + l] = scale * (u * z.x[i]);
        } else {
          std::memcpy(out + q + l, &w, sizeof w);  // the word, resolved below
          rejects_.push_back(q + l);
        }
      }
    }
    for (int r : rejects_) {
      std::uint64_t w;
      std::memcpy(&w, out + r, sizeof w);
      out[r] = scale * ziggurat_continue(w, fallback_, z);
    }
#if !defined(GHOSTFAST_X86_KERNELS)
    (void)vector;
#endif
  }

  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  void next_words(std::uint64_t* words) {
    for (int l = 0; l < kLanes; ++l) {
      words[l] = rotl(s_[1][l] * 5, 7) * 9;
      const std::uint64_t t = s_[1][l] << 17;
      s_[2][l] ^= s_[0][l];
      s_[3][l] ^= s_[1][l];
      s_[1][l] ^= s_[2][l];
      s_[0][l] ^= s_[3][l];
      s_[2][l] ^= t;
      s_[3][l] = rotl(s_[3][l], 45);
    }
  }
#if defined(GHOSTFAST_X86_KERNELS)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 gather intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  // Whole rounds of eight while they fit in n; returns the number of draws written (or marked as rejects).
  __attribute__((target("avx512f,fma"))) int fill_avx512(double scale, double* out, int n, const ZigguratTables& z) {
    __m512i s0 = _mm512_loadu_si512(s_[0]), s1 = _mm512_loadu_si512(s_[1]);
    __m512i s2 = _mm512_loadu_si512(s_[2]), s3 = _mm512_loadu_si512(s_[3]);
    const __m512i low7 = _mm512_set1_epi64(0x7F);
    const __m512i magic = _mm512_set1_epi64(0x4330000000000000LL);  // 2^52: exact int -> double for < 2^52
    const __m512d two52 = _mm512_set1_pd(0x1.0p52);
    const __m512d half = _mm512_set1_pd(0.5), step = _mm512_set1_pd(0x1.0p-51), one = _mm512_set1_pd(1.0);
    const __m512d vscale = _mm512_set1_pd(scale);
    const __m512i abs_mask = _mm512_set1_epi64(0x7FFFFFFFFFFFFFFFLL);
    int q = 0;
    for (; q + kLanes <= n; q += kLanes) {
      const __m512i s1x5 = _mm512_add_epi64(_mm512_slli_epi64(s1, 2), s1);
      const __m512i r7 = _mm512_rol_epi64(s1x5, 7);
      const __m512i w = _mm512_add_epi64(_mm512_slli_epi64(r7, 3), r7);
      const __m512i t = _mm512_slli_epi64(s1, 17);
      s2 = _mm512_xor_si512(s2, s0);
      s3 = _mm512_xor_si512(s3, s1);
      s1 = _mm512_xor_si512(s1, s2);
      s0 = _mm512_xor_si512(s0, s3);
      s2 = _mm512_xor_si512(s2, t);
      s3 = _mm512_rol_epi64(s3, 45);
      const __m512i layer = _mm512_and_si512(w, low7);
      const __m512d top = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64(w, 12), magic)), two52);
      const __m512d u = _mm512_sub_pd(_mm512_mul_pd(_mm512_add_pd(top, half), step), one);
      const __m512d ratio = _mm512_i64gather_pd(layer, z.ratio.data(), 8);
      const __m512d xi = _mm512_i64gather_pd(layer, z.x.data(), 8);
      const __m512d au = _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(u), abs_mask));
      const __mmask8 ok = _mm512_cmp_pd_mask(au, ratio, _CMP_LT_OQ);
      const __m512d val = _mm512_mul_pd(vscale, _mm512_mul_pd(u, xi));
      _mm512_storeu_pd(out + q, _mm512_mask_blend_pd(ok, _mm512_castsi512_pd(w), val));
      if (ok != 0xFF)
        for (int l = 0; l < kLanes; ++l)
          if (!((ok >> l) & 1)) rejects_.push_back(q + l);
    }
    _mm512_storeu_si512(s_[0], s0);
    _mm512_storeu_si512(s_[1], s1);
    _mm512_storeu_si512(s_[2], s2);
    _mm512_storeu_si512(s_[3], s3);
    return q;
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  template <int k>
  __attribute__((target("avx2"))) static __m256i rotl4(__m256i x) {
    return _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - k));
  }
  // The same with two 4-lane halves (lanes 0-3 and 4-7) in AVX2 registers.
  __attribute__((target("avx2,fma"))) int fill_avx2(double scale, double* out, int n, const ZigguratTables& z) {
    const __m256i low7 = _mm256_set1_epi64x(0x7F);
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
    const __m256d two52 = _mm256_set1_pd(0x1.0p52);
    const __m256d half = _mm256_set1_pd(0.5), step = _mm256_set1_pd(0x1.0p-51), one = _mm256_set1_pd(1.0);
    const __m256d vscale = _mm256_set1_pd(scale);
    const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    __m256i s[2][4];
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 4; ++w) s[h][w] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s_[w] + 4 * h));
    int q = 0;
    for (; q + kLanes <= n; q += kLanes) {
      for (int h = 0; h < 2; ++h) {
        __m256i& s0 = s[h][0];
        __m256i& s1 = s[h][1];
        __m256i& s2 = s[h][2];
        __m256i& s3 = s[h][3];
        const __m256i s1x5 = _mm256_add_epi64(_mm256_slli_epi64(s1, 2), s1);
        const __m256i r7 = rotl4<7>(s1x5);
        const __m256i w = _mm256_add_epi64(_mm256_slli_epi64(r7, 3), r7);
        const __m256i t = _mm256_slli_epi64(s1, 17);
        s2 = _mm256_xor_si256(s2, s0);
        s3 = _mm256_xor_si256(s3, s1);
        s1 = _mm256_xor_si256(s1, s2);
        s0 = _mm256_xor_si256(s0, s3);
        s2 = _mm256_xor_si256(s2, t);
        s3 = rotl4<45>(s3);
        const __m256i layer = _mm256_and_si256(w, low7);
        const __m256d top = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(w, 12), magic)), two52);
        const __m256d u = _mm256_sub_pd(_mm256_mul_pd(_mm256_add_pd(top, half), step), one);
        const __m256d ratio = _mm256_i64gather_pd(z.ratio.data(), layer, 8);
        const __m256d xi = _mm256_i64gather_pd(z.x.data(), layer, 8);
        const __m256d ok = _mm256_cmp_pd(_mm256_and_pd(u, abs_mask), ratio, _CMP_LT_OQ);
        const __m256d val = _mm256_mul_pd(vscale, _mm256_mul_pd(u, xi));
        _mm256_storeu_pd(out + q + 4 * h, _mm256_blendv_pd(_mm256_castsi256_pd(w), val, ok));
        const int okm = _mm256_movemask_pd(ok);
        if (okm != 0xF)
          for (int l = 0; l < 4; ++l)
            if (!((okm >> l) & 1)) rejects_.push_back(q + 4 * h + l);
      }
    }
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 4; ++w) _mm256_storeu_si256(reinterpret_cast<__m256i*>(s_[w] + 4 * h), s[h][w]);
    return q;
  }
#endif
  std::uint64_t s_[4][kLanes];
  Rng fallback_;
  std::vector<int> rejects_;
  std::vector<double> wide_;  // float64 draws of a float32 fill
};

}  // namespace ghostfast::rnn
