// The arithmetic ceiling of one core: fused multiply-adds per second on independent chains, float64 and
// float32, with 256-bit vectors (and 512-bit where the CPU has AVX-512). Divide a configuration's FLOP per
// epoch by these rates to get the fastest epoch this core could run (bench/README.md, "Arithmetic ceiling").
//
// Build and run (x86-64 with AVX2 + FMA):
//   g++ -O3 -funroll-loops -o /tmp/peak_fma bench/peak_fma.cpp && /tmp/peak_fma
// (-O3 -funroll-loops keeps the chains in registers; at -O2 each FMA goes through memory and runs at half rate)
#include <immintrin.h>

#include <chrono>
#include <cstdio>

namespace {

constexpr long kIters = 100000000;
constexpr int kChains = 12;  // independent accumulators: more than FMA latency x throughput on any x86 core

template <class Body>
double gflops(double flops_per_iter, Body body) {
  const auto t0 = std::chrono::steady_clock::now();
  const double sink = body();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sink == 12345.678) std::puts("");  // keeps the chains alive
  return flops_per_iter * double(kIters) / dt / 1e9;
}

__attribute__((target("avx2,fma"))) double fma256_f64() {
  __m256d a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_pd(1.0 + i * 1e-3);
  const __m256d m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-7);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_fmadd_pd(a[i], m, c);
  double s = 0.0, v[4];
  for (int i = 0; i < kChains; ++i) {
    _mm256_storeu_pd(v, a[i]);
    s += v[0];
  }
  return s;
}

__attribute__((target("avx2,fma"))) double fma256_f32() {
  __m256 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_ps(1.0f + float(i) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-5f);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  double s = 0.0;
  float v[8];
  for (int i = 0; i < kChains; ++i) {
    _mm256_storeu_ps(v, a[i]);
    s += double(v[0]);
  }
  return s;
}

__attribute__((target("avx512f"))) double fma512_f64() {
  __m512d a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_pd(1.0 + i * 1e-3);
  const __m512d m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-7);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_fmadd_pd(a[i], m, c);
  double s = 0.0, v[8];
  for (int i = 0; i < kChains; ++i) {
    _mm512_storeu_pd(v, a[i]);
    s += v[0];
  }
  return s;
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::puts("this CPU has no AVX2 + FMA");
    return 1;
  }
  std::printf("float64, 256-bit FMA: %.1f GFLOP/s\n", gflops(2.0 * 4 * kChains, fma256_f64));
  std::printf("float32, 256-bit FMA: %.1f GFLOP/s\n", gflops(2.0 * 8 * kChains, fma256_f32));
  if (__builtin_cpu_supports("avx512f"))
    std::printf("float64, 512-bit FMA: %.1f GFLOP/s\n", gflops(2.0 * 8 * kChains, fma512_f64));
  else
    std::puts("float64, 512-bit FMA: no AVX-512 on this CPU");
  return 0;
}
