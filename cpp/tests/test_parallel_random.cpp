// Pure C++ tests of the shared core utilities (no Python): run by tests/test_cpp_core.py or by ctest
// (-DGHOSTFAST_CPP_TESTS=ON). Exit code 0 means every check passed.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/random.hpp"

static int failures = 0;
#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

using ghostfast::Rng;

static void rng_streams_are_reproducible_and_distinct() {
  Rng a(1, 2, 0), b(1, 2, 0), c(1, 2, 1), d(1, 3, 0);
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());  // a 64-bit collision here would be a broken stream derivation
    CHECK(x != d.next_u64());
  }
}

static void rng_state_round_trip_includes_cached_normal() {
  Rng a(42, 7, 3);
  for (int i = 0; i < 5; ++i) a.normal();  // odd count: a second Box-Muller value is cached
  const Rng::State saved = a.state();
  std::vector<double> first;
  for (int i = 0; i < 9; ++i) first.push_back(a.normal());
  Rng b(saved);
  for (int i = 0; i < 9; ++i) CHECK(b.normal() == first[i]);
}

static void rng_normal_moments() {
  // 1e6 draws: the standard error of the mean is 1e-3 and of the variance ~1.4e-3; 5 sigma bounds.
  Rng r(123, 456, 0);
  const int n = 1000000;
  double sum = 0, sum2 = 0, umin = 1;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    sum += z;
    sum2 += z * z;
    umin = std::fmin(umin, r.uniform());
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  CHECK(std::fabs(mean) < 5e-3);
  CHECK(std::fabs(var - 1.0) < 7e-3);
  CHECK(umin > 0.0);
}

static void parallel_for_is_schedule_independent() {
  const int n = 257;
  std::vector<double> serial(n), threaded(n);
  auto work = [](std::vector<double>& out) {
    return [&out](std::int64_t i) {
      Rng r(9, 9, static_cast<std::uint64_t>(i));
      double acc = 0;
      for (int k = 0; k < 100 + (i % 7) * 50; ++k) acc += r.normal();
      out[static_cast<std::size_t>(i)] = acc;
    };
  };
  ghostfast::parallel_for(n, 1, work(serial));
  ghostfast::parallel_for(n, 2, work(threaded));
  for (int i = 0; i < n; ++i) CHECK(serial[i] == threaded[i]);
}

static void parallel_for_rethrows_first_error() {
  bool caught = false;
  try {
    ghostfast::parallel_for(100, 2, [](std::int64_t i) {
      if (i == 37) throw std::invalid_argument("bad run 37");
    });
  } catch (const std::invalid_argument& e) {
    caught = std::string(e.what()) == "bad run 37";
  }
  CHECK(caught);
}

int main() {
  rng_streams_are_reproducible_and_distinct();
  rng_state_round_trip_includes_cached_normal();
  rng_normal_moments();
  parallel_for_is_schedule_independent();
  parallel_for_rethrows_first_error();
  if (failures)
    std::fprintf(stderr, "%d check(s) failed\n", failures);
  else
    std::printf("all checks passed\n");
  return failures ? 1 : 0;
}
