// Fast standard normals for the RNN noise and random initial states: Doornik's 128-layer ziggurat
// ("An improved ziggurat method to generate normal random samples", 2005) on the run's xoshiro256** stream.
// About 98.8% of draws take one 64-bit word, a table lookup and a multiply; the rest (wedges, tail) use
// exp/log. Box-Muller (Rng::normal) costs log + sqrt + sin + cos per pair, which dominated noisy epochs.
// Deterministic: a draw depends only on the Rng state.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "ghostfast/random.hpp"

namespace ghostfast::rnn {

struct ZigguratTables {
  static constexpr int kLayers = 128;
  static constexpr double kR = 3.442619855899;            // start of the tail
  static constexpr double kV = 9.91256303526217e-3;       // area of each layer
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
    if (i == 0) {  // the tail beyond R (Marsaglia's method)
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

}  // namespace ghostfast::rnn
