// Small dense kernels of the RNN engine. Reductions use a fixed number of accumulators in a fixed order,
// so results are identical for any thread count (compiled with -ffp-contract=off: no silent FMAs).
#pragma once

#include <cmath>
#include <cstddef>

namespace ghostfast::rnn {

// sum_i a[i] b[i] with 4 interleaved partial sums combined as (s0 + s1) + (s2 + s3).
inline double dot(const double* a, const double* b, int n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// y += alpha x
inline void axpy(double alpha, const double* x, double* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

inline void tanh_array(const double* in, double* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
}

}  // namespace ghostfast::rnn
