// Training many small networks together, one network per SIMD lane (the sweeps of paper Figs 6 and 8B: many
// rank-one or low-rank networks with one trial, where a single network's epoch is a chain of short reductions
// waiting on each other, and independent networks of the same shape have no such chain between them).
//
// A lane group holds up to lane_width() runs, one vector of the CPU's kernel path (64 bytes on AVX-512: 8
// float64 or 16 float32 runs; 32 bytes on AVX2; 16 portable), of one lane shape (same model, task, optimizer
// and epoch schedule; any parameters, learning rates and Adam settings). Every operation of the per-run pass
// (rnn_bptt.hpp) and optimizer step (rnn_optim.hpp) is applied to the vector of the lanes' values, in the
// per-run order (rnn_lanes_body.inc), so each run gets exactly the bits it gets when trained alone: on every
// code path, in any group, on any thread count.
//
// Which runs go to lanes (lane_eligible): low rank up to kLaneMaxRank, at most kLaneMaxTrials trials (one chunk
// of the per-run pass), deterministic (no noise, fixed x0), no readout cap or fixed-point grid. Larger shapes
// keep the per-run path, whose blocked products and parallel chunks win there (bench/bench_lanes.py measures
// both).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/random.hpp"
#include "ghostfast/rnn_bptt.hpp"
#include "ghostfast/rnn_kernels.hpp"
#include "ghostfast/rnn_model.hpp"
#include "ghostfast/rnn_train.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define GHOSTFAST_HAS_LANES 1  // the lane code uses the GCC/Clang vector extensions
#endif

namespace ghostfast::rnn {

// Measured limits of the lane path (bench/bench_lanes.py, "where lanes pay"): lanes win while the per-run pass
// reduces over the units with dots (rank < kLowRankBlocked) and lose to its blocked products from there on;
// beyond 8 trials per lane the per-run trial blocks catch up.
constexpr int kLaneMaxRank = kLowRankBlocked - 1;
constexpr int kLaneMaxTrials = 8;

inline bool lane_eligible(const RunSpec& r) {
#if defined(GHOSTFAST_HAS_LANES)
  const ModelSpec& s = r.model;
  return !s.full_rank && s.K <= kLaneMaxRank && r.task && r.task->B <= kLaneMaxTrials && !stochastic(s) &&
         !(s.readout_l1_cap > 0.0) && r.fixed_point_grid.empty() && s.n_out <= 8;
#else
  (void)r;
  return false;
#endif
}

// Runs of one lane shape can share a group: the same model in every field, the same task object, optimizer
// and epoch schedule (epochs, record_every, first epoch).
inline bool same_lane_shape(const RunSpec& a, const RunSpec& b) {
  const ModelSpec &x = a.model, &y = b.model;
  const bool same_model =
      x.N == y.N && x.K == y.K && x.full_rank == y.full_rank && x.alpha == y.alpha && x.readout == y.readout &&
      x.output == y.output && x.threshold == y.threshold && x.read_before == y.read_before && x.n_in == y.n_in &&
      x.n_out == y.n_out && x.noise_std == y.noise_std && x.x0_random == y.x0_random && x.x0_std == y.x0_std &&
      x.x0 == y.x0 && x.trainable == y.trainable && x.readout_l1_cap == y.readout_l1_cap && x.dtype == y.dtype;
  const std::int64_t first_a = a.has_state ? a.state.epoch : 0, first_b = b.has_state ? b.state.epoch : 0;
  return same_model && a.task == b.task && a.optimizer == b.optimizer && a.epochs == b.epochs &&
         a.record_every == b.record_every && first_a == first_b;
}

// Runs per lane group on this CPU's kernel path: one vector of the model's scalars (64 bytes on AVX-512, 32 on
// AVX2, 16 portable). The width never changes a run's numbers, only how many train together.
inline int lane_width(Dtype d) {
#if defined(GHOSTFAST_HAS_LANES)
  int bytes = 16;
#if defined(GHOSTFAST_X86_KERNELS)
  const VectorKernel kernel = vector_kernel();
  bytes = kernel == VectorKernel::Avx512 ? 64 : kernel == VectorKernel::Avx2Fma ? 32 : 16;
#endif
  return bytes / (d == Dtype::Float32 ? 4 : 8);
#else
  (void)d;
  return 0;  // no lane groups without the vector extensions
#endif
}
// The fewest runs a group takes: half a vector, and at least 2. A group's pass costs a full vector whatever
// its number of runs; where lanes gain least (float64 on AVX2: 1.1-1.3x per network, bench/bench_lanes.py) a
// half-full group is slower than its runs alone, but only a shape's last group can be partial.
inline int lane_min_runs(Dtype d) { return std::max(2, (lane_width(d) + 1) / 2); }

// Storage of lane vectors on 64-byte boundaries: the alignment a vector type gets depends on the target it is
// compiled for (16 bytes in the default x86-64 target, 64 with AVX-512), so allocation must not rely on it.
template <class V>
struct LaneAllocator {
  using value_type = V;
  LaneAllocator() = default;
  template <class U>
  LaneAllocator(const LaneAllocator<U>&) {}
  V* allocate(std::size_t n) { return static_cast<V*>(::operator new(n * sizeof(V), std::align_val_t(64))); }
  void deallocate(V* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const LaneAllocator&) const { return true; }
  bool operator!=(const LaneAllocator&) const { return false; }
};

#if defined(GHOSTFAST_HAS_LANES)
#if defined(__GNUC__) && !defined(__clang__)
// Wide vectors in the default-target copies are passed only between functions of that copy, never across an
// ABI boundary. Left off for the rest of the translation unit: GCC reports it where templates are instantiated
// (the end of the file), after any pop.
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593 (see tanh_avx512)
#endif
#define GHOSTFAST_NOINLINE_LANES __attribute__((noinline))

// One copy of rnn_lanes_body.inc per instruction set, each compiled for it.
#if defined(GHOSTFAST_X86_KERNELS)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#endif
#define GHOSTFAST_LANES_ISA 2
#define GHOSTFAST_LANES_BYTES 64
namespace lanes_avx512 {
#include "ghostfast/rnn_lanes_body.inc"
}  // namespace lanes_avx512
#undef GHOSTFAST_LANES_ISA
#undef GHOSTFAST_LANES_BYTES
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define GHOSTFAST_LANES_ISA 1
#define GHOSTFAST_LANES_BYTES 32
namespace lanes_avx2 {
#include "ghostfast/rnn_lanes_body.inc"
}  // namespace lanes_avx2
#undef GHOSTFAST_LANES_ISA
#undef GHOSTFAST_LANES_BYTES
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // GHOSTFAST_X86_KERNELS

#define GHOSTFAST_LANES_ISA 0
#define GHOSTFAST_LANES_BYTES 16
namespace lanes_portable {
#include "ghostfast/rnn_lanes_body.inc"
}  // namespace lanes_portable
#undef GHOSTFAST_LANES_ISA
#undef GHOSTFAST_LANES_BYTES
#undef GHOSTFAST_NOINLINE_LANES
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Trains runs[0 .. n) (one lane shape, n <= lane_width) as one group on the kernel path of this CPU.
template <class T>
inline void train_lane_group_t(const RunSpec* const* runs, int n, RunResult* results, unsigned char* done,
                               Control* control) {
#if defined(GHOSTFAST_X86_KERNELS)
  const VectorKernel kernel = vector_kernel();
  if (kernel == VectorKernel::Avx512) return lanes_avx512::train_group<T>(runs, n, results, done, control);
  if (kernel == VectorKernel::Avx2Fma) return lanes_avx2::train_group<T>(runs, n, results, done, control);
#endif
  lanes_portable::train_group<T>(runs, n, results, done, control);
}
#endif  // GHOSTFAST_HAS_LANES

inline void train_lane_group(const RunSpec* const* runs, int n, RunResult* results, unsigned char* done,
                             Control* control) {
#if defined(GHOSTFAST_HAS_LANES)
  if (runs[0]->model.dtype == Dtype::Float32) return train_lane_group_t<float>(runs, n, results, done, control);
  train_lane_group_t<double>(runs, n, results, done, control);
#else
  (void)runs, (void)n, (void)results, (void)done, (void)control;
#endif
}

}  // namespace ghostfast::rnn
