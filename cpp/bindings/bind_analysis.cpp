// Bindings for ghostfast.analysis: shape/finiteness checks under the GIL, one GIL release around the
// core call, outputs allocated here. The maths lives in ghostfast/analysis.hpp.
#include <pybind11/stl.h>

#include <optional>

#include "boundary.hpp"
#include "ghostfast/analysis.hpp"

namespace py = pybind11;
namespace ga = ghostfast::analysis;
using ghostfast::bindings::darray;
using ghostfast::bindings::require_finite;
using ghostfast::bindings::require_ndim;
using ghostfast::bindings::require_shape;

namespace {

void check_grid_values(const darray& grid, const char* name, py::ssize_t min_points) {
  require_ndim(grid, 1, name);
  require_finite(grid, name);
  if (grid.shape(0) < min_points)
    throw py::value_error(std::string(name) + " must have at least " + std::to_string(min_points) + " points");
  const double* g = grid.data();
  for (py::ssize_t i = 0; i + 1 < grid.shape(0); ++i)
    if (!(g[i + 1] > g[i])) throw py::value_error(std::string(name) + " must be strictly increasing");
}

// Rank-one stacks: m, n, b all (E, N).
void check_rank1_stack(const darray& m, const darray& n, const darray& b) {
  require_ndim(m, 2, "m");
  require_shape(n, {m.shape(0), m.shape(1)}, "n");
  require_shape(b, {m.shape(0), m.shape(1)}, "b");
  require_finite(m, "m");
  require_finite(n, "n");
  require_finite(b, "b");
}

void check_rank1(const darray& m, const darray& n, const darray& b) {
  require_ndim(m, 1, "m");
  require_shape(n, {m.shape(0)}, "n");
  require_shape(b, {m.shape(0)}, "b");
  require_finite(m, "m");
  require_finite(n, "n");
  require_finite(b, "b");
}

// Latent flow: M (N, K), P (K, N) or None (identity, K == N), b (N,).
ga::LatentFlow latent_view(const darray& M, const std::optional<darray>& P, const darray& b) {
  require_ndim(M, 2, "M");
  const py::ssize_t N = M.shape(0), K = M.shape(1);
  if (N < 1 || K < 1) throw py::value_error("M must be non-empty");
  require_finite(M, "M");
  require_shape(b, {N}, "b");
  require_finite(b, "b");
  if (P) {
    require_shape(*P, {K, N}, "P");
    require_finite(*P, "P");
  } else if (K != N) {
    throw py::value_error("without P the flow is full rank and M must be square (N, N)");
  }
  return ga::LatentFlow{K, N, M.data(), P ? P->data() : nullptr, b.data()};
}

}  // namespace

void bind_analysis(py::module_& m) {
  m.def(
      "flow_map_1d_batch",
      [](const darray& mm, const darray& nn, const darray& bb, const darray& grid, int n_threads) {
        check_rank1_stack(mm, nn, bb);
        check_grid_values(grid, "kappa_grid", 1);
        const py::ssize_t E = mm.shape(0), N = mm.shape(1), G = grid.shape(0);
        darray out({E, G});
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          ga::flow_map_1d_batch(E, N, mm.data(), nn.data(), bb.data(), G, grid.data(), o, n_threads);
        }
        return out;
      },
      py::arg("m"), py::arg("n"), py::arg("b"), py::arg("kappa_grid"), py::arg("n_threads") = 0,
      "f_e(kappa) = -kappa + n_e . tanh(m_e kappa + b_e) for E stacked rank-one snapshots: (E, G).");

  m.def(
      "count_fixed_points_1d_batch",
      [](const darray& mm, const darray& nn, const darray& bb, const darray& grid, int n_threads) {
        check_rank1_stack(mm, nn, bb);
        check_grid_values(grid, "kappa_grid", 2);
        const py::ssize_t E = mm.shape(0), N = mm.shape(1), G = grid.shape(0);
        py::array_t<std::int64_t> out(E);
        std::int64_t* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          ga::count_fixed_points_1d_batch(E, N, mm.data(), nn.data(), bb.data(), G, grid.data(), o, n_threads);
        }
        return out;
      },
      py::arg("m"), py::arg("n"), py::arg("b"), py::arg("kappa_grid"), py::arg("n_threads") = 0);

  m.def(
      "fixed_points_1d",
      [](const darray& mm, const darray& nn, const darray& bb, const darray& grid, double tol) {
        check_rank1(mm, nn, bb);
        check_grid_values(grid, "kappa_grid", 2);
        std::vector<ga::FixedPoint1D> fps;
        {
          py::gil_scoped_release release;
          fps = ga::fixed_points_1d(ga::Rank1{mm.data(), nn.data(), bb.data(), mm.shape(0)}, grid.shape(0), grid.data(),
                                    tol);
        }
        const auto k = static_cast<py::ssize_t>(fps.size());
        darray kappa(k), slope(k), residual(k);
        for (py::ssize_t i = 0; i < k; ++i) {
          kappa.mutable_at(i) = fps[i].kappa;
          slope.mutable_at(i) = fps[i].slope;
          residual.mutable_at(i) = fps[i].residual;
        }
        return py::make_tuple(kappa, slope, residual);
      },
      py::arg("m"), py::arg("n"), py::arg("b"), py::arg("kappa_grid"), py::arg("tol") = 1e-12);

  m.def(
      "extrema_1d",
      [](const darray& mm, const darray& nn, const darray& bb, const darray& grid, double tol) {
        check_rank1(mm, nn, bb);
        check_grid_values(grid, "kappa_grid", 3);
        std::vector<ga::Extremum1D> ex;
        {
          py::gil_scoped_release release;
          ex = ga::extrema_1d(ga::Rank1{mm.data(), nn.data(), bb.data(), mm.shape(0)}, grid.shape(0), grid.data(), tol);
        }
        const auto k = static_cast<py::ssize_t>(ex.size());
        darray kappa(k), value(k), curvature(k), slope(k);
        for (py::ssize_t i = 0; i < k; ++i) {
          kappa.mutable_at(i) = ex[i].kappa;
          value.mutable_at(i) = ex[i].value;
          curvature.mutable_at(i) = ex[i].curvature;
          slope.mutable_at(i) = ex[i].slope;
        }
        return py::make_tuple(kappa, value, curvature, slope);
      },
      py::arg("m"), py::arg("n"), py::arg("b"), py::arg("kappa_grid"), py::arg("tol") = 1e-12);

  m.def(
      "speed_field_2d",
      [](const darray& M, const darray& P, const darray& b, const darray& gx, const darray& gy, int n_threads) {
        const ga::LatentFlow L = latent_view(M, P, b);
        if (L.K != 2) throw py::value_error("M must have shape (N, 2) for a 2-D speed field");
        check_grid_values(gx, "grid_x", 1);
        check_grid_values(gy, "grid_y", 1);
        darray out({gy.shape(0), gx.shape(0)});
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          ga::speed_field_2d(L, gx.shape(0), gx.data(), gy.shape(0), gy.data(), o, n_threads);
        }
        return out;
      },
      py::arg("M"), py::arg("P"), py::arg("b"), py::arg("grid_x"), py::arg("grid_y"), py::arg("n_threads") = 0);

  m.def(
      "find_slow_points",
      [](const darray& M, std::optional<darray> P, const darray& b, const darray& starts, int max_iter,
         double speed_tol, double grad_tol, double step_tol, double damping, int n_threads,
         ghostfast::Control* control) {
        const ga::LatentFlow L = latent_view(M, P, b);
        require_ndim(starts, 2, "starts");
        require_shape(starts, {-1, L.K}, "starts");
        require_finite(starts, "starts");
        if (max_iter < 0) throw py::value_error("max_iter must be >= 0");
        if (!(damping > 0.0)) throw py::value_error("damping must be > 0");
        ga::SlowPointOptions o;
        o.max_iter = max_iter;
        o.speed_tol = speed_tol;
        o.grad_tol = grad_tol;
        o.step_tol = step_tol;
        o.damping = damping;
        const py::ssize_t S = starts.shape(0);
        darray y({S, static_cast<py::ssize_t>(L.K)}), q(S), speed(S), grad(S);
        py::array_t<std::int64_t> iters(S), factorizations(S);
        py::array_t<std::int8_t> status(S);
        double *py_ = y.mutable_data(), *pq = q.mutable_data(), *ps = speed.mutable_data(), *pg = grad.mutable_data();
        std::int64_t* pi = iters.mutable_data();
        std::int64_t* pf = factorizations.mutable_data();
        std::int8_t* pst = status.mutable_data();
        {
          py::gil_scoped_release release;
          ga::find_slow_points(L, S, starts.data(), o, py_, pq, ps, pg, pi, pst, n_threads, control, pf);
        }
        py::dict out;
        out["x"] = y;
        out["q"] = q;
        out["speed"] = speed;
        out["grad_norm"] = grad;
        out["iterations"] = iters;
        out["status"] = status;
        out["factorizations"] = factorizations;
        return out;
      },
      py::arg("M"), py::arg("P"), py::arg("b"), py::arg("starts"), py::arg("max_iter") = 100,
      py::arg("speed_tol") = 1e-13, py::arg("grad_tol") = 1e-15, py::arg("step_tol") = 1e-14, py::arg("damping") = 1e-6,
      py::arg("n_threads") = 0, py::arg("control") = nullptr);

  m.def(
      "adam_slow_points",
      [](const darray& M, std::optional<darray> P, const darray& b, const darray& starts, double lr,
         std::int64_t iterations, int n_threads, ghostfast::Control* control) {
        const ga::LatentFlow L = latent_view(M, P, b);
        require_shape(starts, {-1, L.K}, "starts");
        require_finite(starts, "starts");
        if (!(lr > 0.0)) throw py::value_error("lr must be > 0");
        if (iterations < 0) throw py::value_error("iterations must be >= 0");
        const py::ssize_t S = starts.shape(0);
        darray y({S, static_cast<py::ssize_t>(L.K)}), speed(S);
        py::array_t<std::uint8_t> completed(S);
        double *py_ = y.mutable_data(), *ps = speed.mutable_data();
        std::uint8_t* pc = completed.mutable_data();
        {
          py::gil_scoped_release release;
          ga::adam_slow_points(L, S, starts.data(), lr, iterations, py_, ps, n_threads, control, pc);
        }
        return py::make_tuple(y, speed, completed);
      },
      py::arg("M"), py::arg("P"), py::arg("b"), py::arg("starts"), py::arg("lr") = 1e-2, py::arg("iterations") = 5000,
      py::arg("n_threads") = 0, py::arg("control") = nullptr,
      "Adam on the speed from each start: (y [S, K], speed [S], completed [S] (0: stopped by a cancel)).");
}
