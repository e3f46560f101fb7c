// Parallel loops over independent runs, threads resolution, and the cancel/progress control that the
// Python layer polls. No Python headers here: the bindings translate exceptions and release the GIL.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#ifdef GHOSTFAST_HAS_OPENMP
#include <omp.h>
#endif

namespace ghostfast {

constexpr bool has_openmp() {
#ifdef GHOSTFAST_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

// Threads a call uses by default (honours OMP_NUM_THREADS); 1 without OpenMP.
inline int default_threads() {
#ifdef GHOSTFAST_HAS_OPENMP
  const int t = omp_get_max_threads();
  return t < 1 ? 1 : t;
#else
  return 1;
#endif
}

// The most threads a parallel call uses: the processors this process may run on, or OMP_NUM_THREADS if the
// user set more (1 without OpenMP). Every explicit thread count is clamped to it, in resolve_threads (and
// Python's check_threads applies the same limit, read from this function, before converting to a C int).
// Results never depend on the thread count, so the clamp changes the speed only; asking OpenMP for tens of
// thousands of threads would crash the process instead.
inline int max_threads() {
#ifdef GHOSTFAST_HAS_OPENMP
  const int procs = omp_get_num_procs();
  const int limit = procs > default_threads() ? procs : default_threads();
  return limit > 0 ? limit : 1;
#else
  return 1;
#endif
}

// n_threads <= 0 means "the default"; larger than max_threads() is clamped; without OpenMP all is serial.
inline int resolve_threads(int n_threads) {
  if (!has_openmp()) return 1;
  if (n_threads <= 0) return default_threads();
  return n_threads > max_threads() ? max_threads() : n_threads;
}

// Shared between a long C++ call (running with the GIL released) and the Python thread that watches it:
// Python reads `done` (jobs finished) or `epochs` (epochs done, summed over jobs) for progress and sets
// `cancel` on Ctrl-C. Workers check `cancelled()` between epochs, so a cancel takes effect within one
// epoch of each running job.
struct Control {
  std::atomic<bool> cancel{false};
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> epochs{0};
  bool cancelled() const { return cancel.load(std::memory_order_relaxed); }
  void finish_one() { done.fetch_add(1, std::memory_order_relaxed); }
  void add_epochs(std::int64_t n) { epochs.fetch_add(n, std::memory_order_relaxed); }
};

// Thrown by workers that stop because of a cancel request (callers usually catch it per run).
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// Runs body(i, worker) for i in [0, n) over n_threads threads (dynamic schedule); worker in [0, threads) names
// the calling thread, so each can use its own scratch. Each i must write only its own outputs, so results never
// depend on the thread count or the schedule. An exception must not escape an OpenMP region: the first one is
// kept, the remaining iterations are skipped, and it is rethrown on the calling thread after the loop.
template <class Body>
void parallel_for_workers(std::int64_t n, int n_threads, Body&& body) {
  std::exception_ptr first_error = nullptr;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};
  const int threads = resolve_threads(n_threads);
  (void)threads;
#ifdef GHOSTFAST_HAS_OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
#ifdef GHOSTFAST_HAS_OPENMP
    const int worker = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
#else
    const int worker = 0;
#endif
    for (std::int64_t i = 0; i < n; ++i) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        body(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

// Runs body(i) for i in [0, n) over n_threads threads with dynamic scheduling (runs differ in cost), with the
// guarantees of parallel_for_workers.
template <class Body>
void parallel_for(std::int64_t n, int n_threads, Body&& body) {
  parallel_for_workers(n, n_threads, [&body](std::int64_t i, int) { body(i); });
}

}  // namespace ghostfast
