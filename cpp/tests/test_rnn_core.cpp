// Pure C++ checks of the RNN core (no Python): BPTT against central finite differences, exact resume,
// train_many independence of the thread count, the vectorised tanh against std::tanh, and the vector kernels
// (tanh, dense products) against their portable definitions, bit for bit.
// Build: cmake -S . -B build/cpp -DGHOSTFAST_CPP_TESTS=ON && cmake --build build/cpp && ctest --test-dir build/cpp
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "ghostfast/rnn_train_many.hpp"

using namespace ghostfast::rnn;

static int failures = 0;
#define CHECK(cond, ...)                               \
  do {                                                 \
    if (!(cond)) {                                     \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      std::printf(__VA_ARGS__);                        \
      std::printf("\n");                               \
      ++failures;                                      \
    }                                                  \
  } while (0)

static std::shared_ptr<TaskData> make_task(int B, int S, int n_in) {
  auto t = std::make_shared<TaskData>();
  t->B = B;
  t->S = S;
  t->n_in = n_in;
  t->n_out = 1;
  ghostfast::Rng rng(7, 7, 7);
  t->inputs.resize(static_cast<std::size_t>(B) * S * n_in);
  for (auto& v : t->inputs) v = rng.uniform() < 0.3 ? (rng.uniform() < 0.5 ? -1.0 : 1.0) : 0.0;
  t->targets.resize(static_cast<std::size_t>(B) * S);
  for (auto& v : t->targets) v = rng.uniform() < 0.5 ? 0.0 : 1.0;
  t->mask.assign(t->targets.size(), 1.0);
  t->loss_scale = 1.0 / (B * S);
  return t;
}

static ModelSpec make_model(bool full, int K, Readout readout, bool before, int n_in, double noise) {
  ModelSpec s;
  s.N = 7;
  s.K = K;
  s.full_rank = full;
  s.readout = readout;
  s.output = Output::Sigmoid;
  s.read_before = before;
  s.n_in = n_in;
  s.noise_std = noise;
  s.x0_random = noise > 0;
  s.x0_std = 0.3;
  if (!s.x0_random) s.x0.assign(s.N, -0.2);
  s.trainable.fill(true);
  return s;
}

static std::vector<double> random_params(const ModelSpec& s, std::uint64_t seed) {
  const Layout L = make_layout(s);
  std::vector<double> p(L.total);
  ghostfast::Rng rng(seed, 1, 2);
  for (auto& v : p) v = 0.5 * rng.normal();
  if (L.has(kC)) p[L.offset[kC]] = 2.0;
  return p;
}

static void check_gradient(const ModelSpec& s, const TaskData& task, const char* name) {
  const Layout L = make_layout(s);
  std::vector<double> p = random_params(s, 3), grad(L.total);
  ghostfast::Rng rng(1, 2, 0);
  evaluate(s, p.data(), task, rng, grad.data());
  double diff2 = 0, norm2 = 0;
  for (std::size_t i = 0; i < L.total; ++i) {
    const double h = 1e-6 * std::max(1.0, std::fabs(p[i])), saved = p[i];
    p[i] = saved + h;
    ghostfast::Rng r1(1, 2, 0);  // the same noise for every evaluation
    const double lp = evaluate(s, p.data(), task, r1, nullptr);
    p[i] = saved - h;
    ghostfast::Rng r2(1, 2, 0);
    const double lm = evaluate(s, p.data(), task, r2, nullptr);
    p[i] = saved;
    const double fd = (lp - lm) / (2 * h);
    diff2 += (fd - grad[i]) * (fd - grad[i]);
    norm2 += grad[i] * grad[i];
  }
  const double rel = std::sqrt(diff2 / norm2);
  CHECK(norm2 > 1e-8 && rel < 1e-6, "%s: relative FD error %.3e (|g| = %.3e)", name, rel, std::sqrt(norm2));
}

// float32: the gradient of the float32 passes against the float64 gradient at the same (float) parameters and
// the same noise (the float32 draws are the float64 ones rounded): the relative error is float32 rounding.
static void check_gradient_f32(ModelSpec s, const TaskData& task, const char* name) {
  const Layout L = make_layout(s);
  std::vector<double> p = random_params(s, 3), g32(L.total), g64(L.total);
  for (auto& v : p) v = static_cast<float>(v);
  s.dtype = Dtype::Float32;
  ghostfast::Rng r32(1, 2, 0), r64(1, 2, 0);
  const double l32 = evaluate(s, p.data(), task, r32, g32.data());
  s.dtype = Dtype::Float64;
  const double l64 = evaluate(s, p.data(), task, r64, g64.data());
  double diff2 = 0, norm2 = 0;
  for (std::size_t i = 0; i < L.total; ++i) {
    diff2 += (g32[i] - g64[i]) * (g32[i] - g64[i]);
    norm2 += g64[i] * g64[i];
    CHECK(static_cast<double>(static_cast<float>(g32[i])) == g32[i], "%s: float32 gradient is not a float", name);
  }
  const double rel = std::sqrt(diff2 / norm2);
  CHECK(norm2 > 1e-8 && rel < 2e-5 && std::fabs(l32 - l64) <= 1e-5 * std::fabs(l64),
        "%s: float32 vs float64 gradient %.3e, loss %.9g vs %.9g", name, rel, l32, l64);
}

// Section 6's check for scalar type T: accumulate_rows against the fma chains, bit for bit.
template <class T>
static void check_products(const std::vector<int>& widths, const char* label) {
  ghostfast::Rng r6(6, 6, 6);
  int bad = 0, cases = 0;
  for (int Np : widths)
    for (int n_s : {0, 1, 7, 40})
      for (bool zero_init : {false, true}) {
        std::vector<T> rows(static_cast<std::size_t>(n_s) * Np), coefs(static_cast<std::size_t>(n_s) * 4);
        std::vector<T> out(4 * static_cast<std::size_t>(Np)), ref;
        for (auto& v : rows) v = static_cast<T>(2 * r6.uniform() - 1);
        for (auto& v : coefs) v = static_cast<T>(2 * r6.uniform() - 1);
        for (auto& v : out) v = static_cast<T>(2 * r6.uniform() - 1);
        ref = out;
        for (int r = 0; r < 4; ++r)
          for (int i = 0; i < Np; ++i) {
            T acc = zero_init ? T(0) : ref[r * Np + i];
            for (int k = 0; k < n_s; ++k) acc = std::fma(coefs[k * 4 + r], rows[k * Np + i], acc);
            ref[r * Np + i] = acc;
          }
        T* outs[4] = {out.data(), out.data() + Np, out.data() + 2 * Np, out.data() + 3 * Np};
        auto coef = [&](int r, int k) { return coefs[k * 4 + r]; };
        auto row = [&](int k) { return rows.data() + std::size_t(k) * Np; };
        std::vector<T> out1(out.begin(), out.begin() + Np);  // one row alone (the wide R = 1 blocks)
        accumulate_rows<4>(outs, Np, n_s, coef, row, zero_init);
        T* out1p[1] = {out1.data()};
        accumulate_rows<1>(out1p, Np, n_s, coef, row, zero_init);
        ++cases;
        if (std::memcmp(out.data(), ref.data(), out.size() * sizeof(T)) != 0) ++bad;
        if (std::memcmp(out1.data(), ref.data(), out1.size() * sizeof(T)) != 0) ++bad;
      }
  CHECK(bad == 0, "%s dense products differ from the fma chains in %d of %d cases (kernel %d)", label, bad, cases,
        static_cast<int>(vector_kernel()));
}

int main() {
  // 1. gradients (two chunks of trials in the DMTS-like task: B = 20 > 16)
  auto task_in = make_task(20, 6, 1);
  auto task_noin = make_task(1, 8, 0);
  check_gradient(make_model(false, 1, Readout::Latent, false, 0, 0.0), *task_noin, "rank1 latent");
  check_gradient(make_model(false, 3, Readout::Linear, false, 0, 0.0), *task_noin, "rank3 linear");
  check_gradient(make_model(true, 0, Readout::Linear, true, 1, 0.1), *task_in, "full linear input noise");
  check_gradient(make_model(false, 2, Readout::LatentLinear, true, 1, 0.1), *task_in, "rank2 latent-linear");
  check_gradient_f32(make_model(false, 1, Readout::Latent, false, 0, 0.0), *task_noin, "f32 rank1 latent");
  check_gradient_f32(make_model(false, 3, Readout::Linear, false, 0, 0.0), *task_noin, "f32 rank3 linear");
  check_gradient_f32(make_model(true, 0, Readout::Linear, true, 1, 0.1), *task_in, "f32 full linear input noise");
  check_gradient_f32(make_model(false, 2, Readout::LatentLinear, true, 1, 0.1), *task_in, "f32 rank2 latent-linear");

  // 2. resume: 2 x 40 epochs == 80 epochs, bit for bit (Adam, noise)
  RunSpec r;
  r.model = make_model(true, 0, Readout::Linear, true, 1, 0.05);
  r.task = task_in;
  r.params = random_params(r.model, 5);
  r.optimizer = Optimizer::Adam;
  r.lr = 0.01;
  r.epochs = 80;
  r.key0 = 9;
  RunResult whole, first, second;
  train_run(r, whole);
  r.epochs = 40;
  train_run(r, first);
  r.has_state = true;
  r.state = first.state;
  train_run(r, second);
  CHECK(second.state.params == whole.state.params, "resume: parameters differ");
  CHECK(second.state.adam_m == whole.state.adam_m && second.state.adam_v == whole.state.adam_v, "resume: moments");
  CHECK(second.loss.back() == whole.loss.back() && second.epochs.front() == 40, "resume: histories");
  CHECK(whole.loss.back() < whole.loss.front(), "Adam did not reduce the loss");
  {  // the same in float32: the float64 state holds the float values exactly
    RunSpec r32 = r;
    r32.model.dtype = Dtype::Float32;
    r32.has_state = false;
    r32.epochs = 80;
    RunResult w32, f32a, f32b;
    train_run(r32, w32);
    r32.epochs = 40;
    train_run(r32, f32a);
    r32.has_state = true;
    r32.state = f32a.state;
    train_run(r32, f32b);
    CHECK(f32b.state.params == w32.state.params && f32b.state.adam_v == w32.state.adam_v, "f32 resume differs");
    CHECK(w32.state.params != whole.state.params && w32.loss.back() < w32.loss.front(), "f32 run is not a float32 run");
    for (double v : w32.state.params) CHECK(static_cast<double>(static_cast<float>(v)) == v, "f32 params not floats");
  }

  // 3. train_many: 1 thread == 2 threads
  std::vector<RunSpec> runs;
  for (int i = 0; i < 6; ++i) {
    RunSpec j = r;
    j.has_state = false;
    j.epochs = 30 + 5 * i;
    j.stream = i;
    j.lr = 0.002 * (i + 1);
    runs.push_back(j);
  }
  std::vector<RunResult> a, b;
  std::vector<unsigned char> da, db;
  train_many(runs, a, da, 1, nullptr);
  train_many(runs, b, db, 2, nullptr);
  for (std::size_t i = 0; i < runs.size(); ++i)
    CHECK(da[i] && db[i] && a[i].loss == b[i].loss && a[i].state.params == b[i].state.params,
          "train_many job %zu differs between 1 and 2 threads", i);

  // 4. tanh
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const double x = i * 1e-4 * (1 + 1e-3 * (i % 7));
    double y;
    tanh_array(&x, &y, 1);
    const double ref = std::tanh(x);
    if (ref != 0) worst = std::max(worst, std::fabs(y - ref) / (std::nextafter(std::fabs(ref), 2.0) - std::fabs(ref)));
  }
  CHECK(worst <= 8, "tanh: %.1f ulp", worst);
  double worst_f32 = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = static_cast<float>(i * 1e-4 * (1 + 1e-3 * (i % 7)));
    float y;
    tanh_array(&x, &y, 1);
    const double ref = std::tanh(static_cast<double>(x));
    if (ref != 0) {
      const float fr = std::fabs(static_cast<float>(ref));
      worst_f32 = std::max(worst_f32, std::fabs(y - ref) / (std::nextafter(fr, 2.0f) - fr));
    }
  }
  CHECK(worst_f32 <= 4, "tanh float32: %.2f ulp", worst_f32);

  // 5. The vector tanh kernels (AVX-512 / AVX2, chosen at run time) give tanh_one's bits, value for value:
  // arrays of every length mod 8 mix the vector body and the scalar remainder.
  {
    ghostfast::Rng r5(5, 5, 5);
    std::vector<double> xs;
    for (double scale : {1e-300, 1e-8, 0.1, 0.17, 0.35, 1.0, 5.0, 19.9, 25.0, 1e300})
      for (int i = 0; i < 203; ++i) xs.push_back((2 * r5.uniform() - 1) * scale);
    const double inf = std::numeric_limits<double>::infinity();
    for (double v : {0.0, -0.0, 20.0, -20.0, inf, -inf, std::numeric_limits<double>::quiet_NaN()}) xs.push_back(v);
    std::vector<double> ys(xs.size());
    tanh_array(xs.data(), ys.data(), static_cast<int>(xs.size()));
    int differ = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double one = tanh_one(xs[i]);
      if (std::memcmp(&one, &ys[i], sizeof one) != 0) ++differ;
    }
    CHECK(differ == 0, "tanh_array differs from tanh_one in %d of %zu values (kernel %d)", differ, xs.size(),
          static_cast<int>(vector_kernel()));
    std::vector<float> xf(xs.begin(), xs.end()), yf(xs.size());  // lengths of every residue mod 16 below
    for (int n : {static_cast<int>(xf.size()), 15, 16, 17, 33}) {
      tanh_array(xf.data(), yf.data(), n);
      int differ_f = 0;
      for (int i = 0; i < n; ++i) {
        const float one = tanh_one(xf[i]);
        if (std::memcmp(&one, &yf[i], sizeof one) != 0) ++differ_f;
      }
      CHECK(differ_f == 0, "float32 tanh_array differs from tanh_one in %d of %d values", differ_f, n);
    }
  }

  // 6. The dense products (vector FMA kernels chosen at run time, blocks of every width) against their
  // definition: each element is the chain acc = fma(coef, row, acc) over s ascending. Bit for bit.
  check_products<double>(
      {1, 3, 4, 5, 8, 11, 12, 13, 16, 31, 32, 35, 36, 37, 40, 44, 64, 95, 96, 99, 100, 101, 104, 200}, "float64");
  check_products<float>(
      {1, 3, 7, 8, 15, 16, 17, 24, 31, 32, 63, 64, 65, 79, 80, 100, 128, 143, 144, 145, 160, 200, 300}, "float32");

  // 7. Bulk normals: the vector kernels give the portable definition's draws bit for bit, fill sizes of every
  // residue mod 8 included (the rare draws resolved by the scalar continuation, in order).
  {
    BulkNormals va(11, 3), po(11, 3);
    int bad = 0, total = 0;
    for (int n : {1, 7, 8, 9, 100, 1600, 13, 4096, 3}) {
      std::vector<double> x(n), y(n);
      va.fill(0.7, x.data(), n);
      po.fill_portable(0.7, y.data(), n);
      total += n;
      if (std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) != 0) ++bad;
    }
    CHECK(bad == 0, "bulk normals: vector kernel differs from the portable draws in %d fills of %d draws (kernel %d)",
          bad, total, static_cast<int>(vector_kernel()));
  }

  // 8. ||m n||_F through the Gram matrices (dots for K < 16, blocked products from 16 on) against m n formed.
  for (int K : {1, 2, 5, 15, 16, 17, 23}) {
    ModelSpec s = make_model(false, K, Readout::Linear, false, 0, 0.0);
    s.N = 29;
    s.x0.assign(s.N, -0.2);
    const Layout L = make_layout(s);
    std::vector<double> p = random_params(s, 8);
    const double* m = p.data() + L.offset[kM];
    const double* n = p.data() + L.offset[kN];
    double ref = 0.0;
    for (int i = 0; i < s.N; ++i)
      for (int j = 0; j < s.N; ++j) {
        double w = 0.0;
        for (int k = 0; k < K; ++k) w += m[i * K + k] * n[k * s.N + j];
        ref += w * w;
      }
    Workspace<double> ws;
    const double got = weight_norm(s, L, p.data(), ws);
    CHECK(std::fabs(got - std::sqrt(ref)) <= 1e-12 * std::sqrt(ref), "weight norm K=%d: %.17g vs %.17g", K, got,
          std::sqrt(ref));
    const std::vector<float> pf(p.begin(), p.end());
    Workspace<float> wf;
    const double got_f = weight_norm(s, L, pf.data(), wf);
    CHECK(std::fabs(got_f - std::sqrt(ref)) <= 1e-5 * std::sqrt(ref), "float32 weight norm K=%d: %.9g vs %.9g", K,
          got_f, std::sqrt(ref));
  }

  // 9. One run with many chunks of trials (B = 70: five chunks, five groups; B = 300: 19 chunks in 16 groups),
  // noise and random x0: 1, 2 and 3 threads give the same bits.
  {
    for (int B : {70, 300})
      for (bool full : {true, false})
        for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
          RunSpec j;
          j.model = make_model(full, 3, full ? Readout::Linear : Readout::LatentLinear, true, 1, 0.2);
          j.model.dtype = dtype;
          j.task = make_task(B, 5, 1);
          j.params = random_params(j.model, 9);
          j.optimizer = Optimizer::Adam;
          j.lr = 0.01;
          j.epochs = 12;
          j.key0 = 4;
          RunResult one, two, three;
          train_run(j, one, nullptr, 1);
          train_run(j, two, nullptr, 2);
          train_run(j, three, nullptr, 3);
          CHECK(one.loss == two.loss && one.state.params == two.state.params &&
                    one.state.params == three.state.params && one.grad_norm == three.grad_norm,
                "one run (B = %d, %s): chunks on 1, 2, 3 threads differ", B, full ? "full" : "rank 3");
        }
    for (int B : {1, 3, 4, 15, 16, 17, 20, 33, 70, 1000, 2000}) {
      const Chunking ch = chunking(B);
      CHECK(ch.C % 4 == 0 || ch.C == B, "chunking(%d): C = %d", B, ch.C);
      CHECK(ch.C <= 16 && (ch.n_chunks - 1) * ch.C < B && ch.n_chunks * ch.C >= B, "chunking(%d): %d x %d", B,
            ch.n_chunks, ch.C);
      CHECK(ch.n_groups == std::min(ch.n_chunks, 16) && ch.first(0) == 0 && ch.first(ch.n_groups) == ch.n_chunks,
            "chunking(%d): groups", B);
      for (int g = 0; g < ch.n_groups; ++g) CHECK(ch.first(g + 1) > ch.first(g), "chunking(%d): empty group", B);
    }
  }

  if (failures == 0)
    std::printf("all RNN core checks passed (tanh worst %.0f ulp, float32 %.0f ulp, kernels %d)\n", worst, worst_f32,
                static_cast<int>(vector_kernel()));

  // 10. SIMD lane groups: every run of a train_many call trained in a lane group gives the bits of the same run
  // trained alone (train_run), for each readout, read before/after, inputs, SGD and Adam, both precisions,
  // 1-4 trials, ranks 1-3, a run that diverges mid-group, snapshots, and a run resumed from a state.
  int lane_runs_diverged = 0;
  for (Dtype dtype : {Dtype::Float64, Dtype::Float32})
    for (int variant = 0; variant < 6; ++variant) {
      const Readout readouts[3] = {Readout::Latent, Readout::Linear, Readout::LatentLinear};
      const Readout ro = readouts[variant % 3];
      const int K = 1 + variant % 3, n_in = variant >= 3 ? 2 : 0, B = 1 + variant % 4;
      ModelSpec s = make_model(false, K, ro, variant % 2 == 1, n_in, 0.0);
      s.N = 21;  // two 8-lane blocks and a tail in every dot
      s.x0.assign(s.N, -0.2);
      s.dtype = dtype;
      if (ro != Readout::Latent) s.output = variant == 4 ? Output::Tanh : Output::Sigmoid;
      if (variant == 5) s.trainable[kB] = false;
      auto task = make_task(B, 9, n_in);
      const Layout L = make_layout(s);
      std::vector<RunSpec> group;
      const int n_runs = dtype == Dtype::Float32 ? 19 : 11;  // a full group and a partial one
      for (int i = 0; i < n_runs; ++i) {
        RunSpec j;
        j.model = s;
        j.task = task;
        j.params.resize(L.total);
        ghostfast::Rng init(static_cast<std::uint64_t>(i), 3, 5);
        for (double& v : j.params) v = 0.6 * init.normal();
        j.optimizer = variant % 2 == 0 ? Optimizer::Sgd : Optimizer::Adam;
        j.lr = (j.optimizer == Optimizer::Adam ? 0.002 : 0.05) * (1 + i);
        if (i == 3) j.lr = 1e300;  // diverges after one step
        j.epochs = 25;
        j.record_every = 1 + variant % 2;
        j.key0 = static_cast<std::uint64_t>(i);
        j.snapshot_epochs = {0, 7, static_cast<std::int64_t>(i % 5), 25};
        group.push_back(j);
      }
      {  // a resumed run joins the group when its first epoch matches: resume all from epoch 10
        std::vector<RunResult> head(group.size());
        for (std::size_t i = 0; i < group.size(); ++i) {
          RunSpec h = group[i];
          h.epochs = 10;
          train_run(h, head[i]);
        }
        for (std::size_t i = 0; i < group.size(); ++i)
          if (i % 2 == 1 && !head[i].diverged) {
            group[i].has_state = true;
            group[i].state = head[i].state;
          }
        for (std::size_t i = 0; i < group.size(); ++i)
          if (i % 2 == 0) {
            group[i].has_state = true;
            group[i].state = head[i].state;
            group[i].state.epoch = 10;
          }
      }
      const LanePlan plan = plan_lanes(group, 1, true);
      CHECK(!plan.groups.empty(), "lanes: runs of one shape not grouped");
      std::vector<RunResult> many;
      std::vector<unsigned char> done;
      train_many(group, many, done, 2, nullptr);
      for (std::size_t i = 0; i < group.size(); ++i) {
        RunResult alone;
        train_run(group[i], alone);
        const RunResult& m = many[i];
        auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
          return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0);
        };
        const bool ok = done[i] && same(m.loss, alone.loss) && same(m.grad_norm, alone.grad_norm) &&
                        same(m.weight_norm, alone.weight_norm) && same(m.accuracy, alone.accuracy) &&
                        same(m.group_norms, alone.group_norms) && m.epochs == alone.epochs &&
                        same(m.state.params, alone.state.params) && same(m.state.adam_m, alone.state.adam_m) &&
                        same(m.state.adam_v, alone.state.adam_v) && m.state.adam_step == alone.state.adam_step &&
                        m.state.epoch == alone.state.epoch && m.state.rng == alone.state.rng &&
                        m.diverged == alone.diverged && m.diverged_epoch == alone.diverged_epoch &&
                        m.snapshots == alone.snapshots;
        CHECK(ok, "lanes: %s variant %d run %zu differs from the run alone (diverged %d/%d)",
              dtype == Dtype::Float32 ? "f32" : "f64", variant, i, int(m.diverged), int(alone.diverged));
      }
      lane_runs_diverged += many[3].diverged ? 1 : 0;
    }
  CHECK(lane_runs_diverged >= 4, "lanes: only %d runs with lr 1e300 diverged", lane_runs_diverged);
  {  // the lane plan: every run once, groups between half a vector and a vector, leftovers alone, thread splits
    ModelSpec s = make_model(false, 1, Readout::Latent, false, 0, 0.0);
    auto task = make_task(1, 5, 0);
    const Layout L = make_layout(s);
    const int width = lane_width(s.dtype), min_runs = lane_min_runs(s.dtype);
    for (int n : {1, width - 1, width, width + min_runs - 1, 3 * width + min_runs})
      for (int threads : {1, 2, 7}) {
        std::vector<RunSpec> plan_runs(static_cast<std::size_t>(std::max(n, 0)));
        for (RunSpec& pr : plan_runs) {
          pr.model = s;
          pr.task = task;
          pr.params.assign(L.total, 0.1);
          pr.epochs = 3;
        }
        const LanePlan plan = plan_lanes(plan_runs, threads, true);
        std::vector<int> seen(plan_runs.size(), 0);
        bool sizes_ok = true;
        for (const auto& g : plan.groups) {
          sizes_ok = sizes_ok && static_cast<int>(g.size()) >= min_runs && static_cast<int>(g.size()) <= width;
          for (std::size_t i : g) ++seen[i];
        }
        for (std::size_t i : plan.singles) ++seen[i];
        const bool once = std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; });
        const bool few_alone = static_cast<int>(plan.singles.size()) < min_runs;
        CHECK(sizes_ok && once && few_alone, "lane plan of %d runs on %d threads", n, threads);
        if (n == width && threads == 2 && width >= 2 * min_runs)
          CHECK(plan.groups.size() == 2, "lane plan: a full group is not split for 2 threads");
      }
  }

  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
