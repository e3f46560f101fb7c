// Many independent runs in one call: runs of one lane shape are trained together in SIMD lane groups
// (rnn_lanes.hpp), the others one by one (rnn_train.hpp); groups and single runs are spread over the threads.
// Each run's result depends only on the run: never on its group, its neighbours, the grouping or the threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/rnn_lanes.hpp"
#include "ghostfast/rnn_train.hpp"

namespace ghostfast::rnn {

// The work items of a train_many call: lane groups (runs of one shape) and single runs, in job order.
struct LanePlan {
  std::vector<std::vector<std::size_t>> groups;  // job indices of each lane group
  std::vector<std::size_t> singles;              // jobs trained alone
};

// Groups the lane-eligible runs by shape in job order, a vector's width per group. A group costs a full
// vector whatever its number of runs, so a group must be at least half full (lane_min_runs): the runs of a
// smaller last group go alone. When there are fewer items than threads, the largest groups are split in two
// while both halves stay at least half full, so every thread has work. Lanes are independent: no grouping or
// split changes a bit.
inline LanePlan plan_lanes(const std::vector<RunSpec>& runs, int threads, bool use_lanes) {
  LanePlan plan;
  std::vector<std::vector<std::size_t>> shapes;  // job indices of each lane shape
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!use_lanes || !lane_eligible(runs[i])) {
      plan.singles.push_back(i);
      continue;
    }
    auto it = std::find_if(shapes.begin(), shapes.end(),
                           [&](const std::vector<std::size_t>& sh) { return same_lane_shape(runs[sh[0]], runs[i]); });
    if (it == shapes.end())
      shapes.push_back({i});
    else
      it->push_back(i);
  }
  for (const std::vector<std::size_t>& sh : shapes) {
    const Dtype dtype = runs[sh[0]].model.dtype;
    const std::size_t width = static_cast<std::size_t>(lane_width(dtype));
    for (std::size_t a = 0; a < sh.size(); a += width) {
      const auto first = sh.begin() + static_cast<std::ptrdiff_t>(a);
      const auto last = sh.begin() + static_cast<std::ptrdiff_t>(std::min(sh.size(), a + width));
      if (last - first >= lane_min_runs(dtype))
        plan.groups.emplace_back(first, last);
      else
        plan.singles.insert(plan.singles.end(), first, last);
    }
  }
  std::sort(plan.singles.begin(), plan.singles.end());
  while (plan.groups.size() + plan.singles.size() < static_cast<std::size_t>(threads)) {
    auto largest = std::max_element(plan.groups.begin(), plan.groups.end(),
                                    [](const auto& x, const auto& y) { return x.size() < y.size(); });
    if (largest == plan.groups.end() ||
        static_cast<int>(largest->size()) < 2 * lane_min_runs(runs[largest->front()].model.dtype))
      break;
    const std::size_t half = largest->size() / 2;
    std::vector<std::size_t> tail(largest->begin() + static_cast<std::ptrdiff_t>(half), largest->end());
    largest->resize(half);
    plan.groups.push_back(std::move(tail));
  }
  return plan;
}

// Runs independent jobs in parallel (dynamic schedule over lane groups and single runs). done[i] = 1 for jobs
// that finished; cancelled jobs stay 0. Each job's result depends only on the job. The first exception is
// rethrown after the loop. use_lanes = false trains every run alone (the same numbers; for comparisons).
inline void train_many(const std::vector<RunSpec>& runs, std::vector<RunResult>& results,
                       std::vector<unsigned char>& done, int n_threads, Control* control, bool use_lanes = true) {
  results.assign(runs.size(), RunResult{});
  done.assign(runs.size(), 0);
  auto run = [&](std::size_t i, int run_threads) {
    if (control && control->cancelled()) return;
    if (train_run(runs[i], results[i], control, run_threads)) {
      done[i] = 1;
      if (control) control->finish_one();
    }
  };
  // One run: its trial chunks share the threads, called from here (inside a parallel region of one thread its
  // team would be a nested one, rebuilt every pass: measured slower than one thread). Several runs: one
  // thread each. The numbers are the same either way.
  if (runs.size() == 1) {
    run(0, resolve_threads(n_threads));
    return;
  }
  const int threads = resolve_threads(n_threads);
  const LanePlan plan = plan_lanes(runs, threads, use_lanes);
  for (const std::vector<std::size_t>& g : plan.groups)
    for (std::size_t i : g) check_run(runs[i]);  // invalid runs raise here, as train_run would
  const std::int64_t n_groups = static_cast<std::int64_t>(plan.groups.size());
  const std::int64_t n_items = n_groups + static_cast<std::int64_t>(plan.singles.size());
  parallel_for(n_items, n_threads, [&](std::int64_t item) {
    if (item >= n_groups) return run(plan.singles[static_cast<std::size_t>(item - n_groups)], 1);
    if (control && control->cancelled()) return;
    const std::vector<std::size_t>& g = plan.groups[static_cast<std::size_t>(item)];
    const int n = static_cast<int>(g.size());
    std::vector<const RunSpec*> group_runs(g.size());
    std::vector<RunResult> group_results(g.size());
    std::vector<unsigned char> group_done(g.size(), 0);
    for (std::size_t l = 0; l < g.size(); ++l) group_runs[l] = &runs[g[l]];
    train_lane_group(group_runs.data(), n, group_results.data(), group_done.data(), control);
    for (std::size_t l = 0; l < g.size(); ++l) {
      results[g[l]] = std::move(group_results[l]);
      done[g[l]] = group_done[l];
    }
  });
}

}  // namespace ghostfast::rnn
