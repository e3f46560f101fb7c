// Deterministic random streams. A stream is named by a 128-bit key (from numpy's SeedSequence in
// Python) and a 64-bit stream index (the run's index in a sweep), so a run's numbers depend only on
// (seed, run index): never on the thread that runs it, the chunking, or the backend.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ghostfast {

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna) with Box-Muller normals. The full state (including the cached second
// normal) is a plain array, so it can be returned to Python and restored to continue a run exactly.
class Rng {
 public:
  static constexpr int kStateSize = 6;  // s[0..3], has_spare, spare (bit pattern)
  using State = std::array<std::uint64_t, kStateSize>;

  Rng() : Rng(0, 0, 0) {}
  Rng(std::uint64_t key0, std::uint64_t key1, std::uint64_t stream) {
    std::uint64_t sm = key0 ^ splitmix64(key1) ^ (0xD1B54A32D192ED03ULL * (stream + 1));
    for (auto& w : s_) w = splitmix64(sm);
  }
  explicit Rng(const State& st) { set_state(st); }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1): 53 random bits, never exactly 0 (safe for log).
  double uniform() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform(), u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925286766559 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

  State state() const {
    State st{s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1ULL : 0ULL, 0};
    static_assert(sizeof(double) == sizeof(std::uint64_t), "64-bit double expected");
    std::uint64_t bits;
    std::memcpy(&bits, &spare_, sizeof bits);
    st[5] = bits;
    return st;
  }
  void set_state(const State& st) {
    for (int i = 0; i < 4; ++i) s_[i] = st[i];
    has_spare_ = st[4] != 0;
    std::memcpy(&spare_, &st[5], sizeof spare_);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace ghostfast
