// Phase-space analysis of leaky-tanh networks: the exact 1-D latent flow of rank-one networks (flow maps,
// fixed points, ghosts), and a slow-point finder for the latent flow F(y) = -y + P tanh(M y + b), which
// covers the 2-D latent reduction of rank-2 networks (M: N x 2, P: 2 x N) and the full-rank flow
// F(x) = -x + tanh(W x + b) (P = identity, M = W). Column-vector convention throughout; pure C++17.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ghostfast/parallel.hpp"
#include "ghostfast/rnn_optim.hpp"

namespace ghostfast::analysis {

// ------------------------------------------------------------------------------------------------------
// 1-D latent flow of a rank-one network: f(k) = -k + sum_i n_i tanh(m_i k + b_i) and its first two
// derivatives (exact): f' = -1 + sum n_i m_i (1 - t_i^2), f'' = sum n_i m_i^2 (-2 t_i (1 - t_i^2)).
// ------------------------------------------------------------------------------------------------------
struct Rank1 {
  const double* m;
  const double* n;
  const double* b;
  std::int64_t N;
};

inline double flow_1d(const Rank1& p, double k) {
  double s = 0.0;
  for (std::int64_t i = 0; i < p.N; ++i) s += p.n[i] * std::tanh(p.m[i] * k + p.b[i]);
  return s - k;
}

struct Flow1D {
  double f, f1, f2;
};

inline Flow1D flow_1d_derivs(const Rank1& p, double k) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0;
  for (std::int64_t i = 0; i < p.N; ++i) {
    const double t = std::tanh(p.m[i] * k + p.b[i]);
    const double d = 1.0 - t * t;
    const double nm = p.n[i] * p.m[i];
    s0 += p.n[i] * t;
    s1 += nm * d;
    s2 += nm * p.m[i] * (-2.0 * t * d);
  }
  return {s0 - k, s1 - 1.0, s2};
}

inline void check_grid(const double* grid, std::int64_t G, std::int64_t min_points) {
  if (G < min_points)
    throw std::invalid_argument("kappa_grid must have at least " + std::to_string(min_points) + " points");
  for (std::int64_t g = 0; g + 1 < G; ++g)
    if (!(grid[g + 1] > grid[g])) throw std::invalid_argument("kappa_grid must be strictly increasing");
}

// out[e, g] = f_e(grid[g]) for E parameter sets stored as rows m[e, :], n[e, :], b[e, :] (each N long).
// Work is split into (snapshot, block of grid points) tasks; each output is computed by exactly the
// same arithmetic whatever the thread count, so results are bit-identical for any n_threads.
inline void flow_map_1d_batch(std::int64_t E, std::int64_t N, const double* m, const double* n, const double* b,
                              std::int64_t G, const double* grid, double* out, int n_threads) {
  constexpr std::int64_t block = 128;
  const std::int64_t blocks = (G + block - 1) / block;
  parallel_for(E * blocks, n_threads, [&](std::int64_t task) {
    const std::int64_t e = task / blocks, g0 = (task % blocks) * block, g1 = std::min(G, g0 + block);
    const Rank1 p{m + e * N, n + e * N, b + e * N, N};
    for (std::int64_t g = g0; g < g1; ++g) out[e * G + g] = flow_1d(p, grid[g]);
  });
}

// Sign classes: +1, -1, or 0 for an exact zero.
inline int sign_of(double v) { return (v > 0.0) - (v < 0.0); }

// Number of fixed points seen on the grid: strict sign changes between neighbours plus exact zeros at
// grid points (a zero is counted once, not as two sign changes). This is the Fig 3 "fixed point test".
inline std::int64_t count_roots_on_grid(const double* f, std::int64_t G) {
  std::int64_t count = 0;
  for (std::int64_t g = 0; g < G; ++g) {
    const int s = sign_of(f[g]);
    if (s == 0) {
      ++count;
    } else if (g + 1 < G && s * sign_of(f[g + 1]) < 0) {
      ++count;
    }
  }
  return count;
}

// counts[e] = number of fixed points of snapshot e on the grid, without storing the flow maps.
inline void count_fixed_points_1d_batch(std::int64_t E, std::int64_t N, const double* m, const double* n,
                                        const double* b, std::int64_t G, const double* grid, std::int64_t* counts,
                                        int n_threads) {
  parallel_for(E, n_threads, [&](std::int64_t e) {
    const Rank1 p{m + e * N, n + e * N, b + e * N, N};
    std::vector<double> f(static_cast<std::size_t>(G));
    for (std::int64_t g = 0; g < G; ++g) f[g] = flow_1d(p, grid[g]);
    counts[e] = count_roots_on_grid(f.data(), G);
  });
}

// Safeguarded Newton for a root of h on [lo, hi] with h(lo), h(hi) of opposite signs: each iterate
// updates the bracket; a Newton step (derivative dh) that leaves the bracket is replaced by bisection.
// Stops when the step is at most abs_tol (the error is then ~ step^2 for a simple root), h is exactly 0,
// or the bracket has shrunk to a few ulps.
template <class H>
double bracketed_newton(H&& h_and_dh, double lo, double hi, double abs_tol, int max_iter = 200) {
  const double h_lo0 = h_and_dh(lo).first;
  if (h_lo0 == 0.0) return lo;
  if (h_and_dh(hi).first == 0.0) return hi;
  const int s_lo = sign_of(h_lo0);
  double x = 0.5 * (lo + hi);
  for (int it = 0; it < max_iter; ++it) {
    const auto [h, dh] = h_and_dh(x);
    if (h == 0.0) return x;
    if (sign_of(h) == s_lo)
      lo = x;
    else
      hi = x;
    double x_new = (dh != 0.0) ? x - h / dh : lo;
    if (!(x_new > lo && x_new < hi)) x_new = 0.5 * (lo + hi);
    const double step = std::fabs(x_new - x);
    x = x_new;
    if (step <= abs_tol || hi - lo <= 4.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(x))) break;
  }
  return x;
}

struct FixedPoint1D {
  double kappa;
  double slope;     // f'(kappa*): < 0 stable, > 0 unstable
  double residual;  // f(kappa*) after refinement
};

// Fixed points of f on [grid[0], grid[G-1]]: sign changes and exact zeros on the grid, refined by
// bracketed Newton to |d kappa| <= tol.
inline std::vector<FixedPoint1D> fixed_points_1d(const Rank1& p, std::int64_t G, const double* grid, double tol) {
  check_grid(grid, G, 2);
  std::vector<double> f(static_cast<std::size_t>(G));
  for (std::int64_t g = 0; g < G; ++g) f[g] = flow_1d(p, grid[g]);
  auto h = [&](double k) {
    const Flow1D d = flow_1d_derivs(p, k);
    return std::pair<double, double>(d.f, d.f1);
  };
  std::vector<FixedPoint1D> out;
  for (std::int64_t g = 0; g < G; ++g) {
    const int s = sign_of(f[g]);
    double k;
    if (s == 0) {
      k = grid[g];
    } else if (g + 1 < G && s * sign_of(f[g + 1]) < 0) {
      k = bracketed_newton(h, grid[g], grid[g + 1], tol);
    } else {
      continue;
    }
    const Flow1D d = flow_1d_derivs(p, k);
    out.push_back({k, d.f1, d.f});
  }
  return out;
}

struct Extremum1D {
  double kappa;
  double value;      // f(kappa_e)
  double curvature;  // f''(kappa_e)
  double slope;      // f'(kappa_e) after refinement (~0)
};

// Local extrema of f: sign changes of the exact f' between grid neighbours (and exact zeros of f' at
// grid points), refined by bracketed Newton on f' = 0 using the exact f''.
inline std::vector<Extremum1D> extrema_1d(const Rank1& p, std::int64_t G, const double* grid, double tol) {
  check_grid(grid, G, 3);
  std::vector<double> d1(static_cast<std::size_t>(G));
  for (std::int64_t g = 0; g < G; ++g) d1[g] = flow_1d_derivs(p, grid[g]).f1;
  auto h = [&](double k) {
    const Flow1D d = flow_1d_derivs(p, k);
    return std::pair<double, double>(d.f1, d.f2);
  };
  std::vector<Extremum1D> out;
  for (std::int64_t g = 0; g < G; ++g) {
    const int s = sign_of(d1[g]);
    double k;
    if (s == 0) {
      if (g == 0 || g + 1 == G) continue;  // an extremum needs both neighbours
      k = grid[g];
    } else if (g + 1 < G && s * sign_of(d1[g + 1]) < 0) {
      k = bracketed_newton(h, grid[g], grid[g + 1], tol);
    } else {
      continue;
    }
    const Flow1D d = flow_1d_derivs(p, k);
    out.push_back({k, d.f, d.f2, d.f1});
  }
  return out;
}

// sum_k x[k] y[k] with 8 partial sums (four two-wide vectors; GCC/Clang vector extensions, else scalar),
// combined in a fixed order: deterministic, and vectorised without -ffast-math.
inline double dot(const double* x, const double* y, std::int64_t n) {
#if defined(__GNUC__) || defined(__clang__)
  typedef double v2d __attribute__((vector_size(16)));
  v2d a0{0.0, 0.0}, a1{0.0, 0.0}, a2{0.0, 0.0}, a3{0.0, 0.0};
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    v2d x0, x1, x2, x3, y0, y1, y2, y3;
    __builtin_memcpy(&x0, x + k, 16);
    __builtin_memcpy(&x1, x + k + 2, 16);
    __builtin_memcpy(&x2, x + k + 4, 16);
    __builtin_memcpy(&x3, x + k + 6, 16);
    __builtin_memcpy(&y0, y + k, 16);
    __builtin_memcpy(&y1, y + k + 2, 16);
    __builtin_memcpy(&y2, y + k + 4, 16);
    __builtin_memcpy(&y3, y + k + 6, 16);
    a0 += x0 * y0;
    a1 += x1 * y1;
    a2 += x2 * y2;
    a3 += x3 * y3;
  }
  const v2d s = (a0 + a1) + (a2 + a3);
  double r = s[0] + s[1];
  for (; k < n; ++k) r += x[k] * y[k];
  return r;
#else
  double r = 0.0;
  for (std::int64_t k = 0; k < n; ++k) r += x[k] * y[k];
  return r;
#endif
}

// ------------------------------------------------------------------------------------------------------
// Latent tanh flow F(y) = -y + P tanh(M y + b), y in R^K, M: N x K (row-major), P: K x N (row-major) or
// nullptr for the identity (then K == N and M = W: the full-rank flow). Speed fields and slow points.
// ------------------------------------------------------------------------------------------------------
struct LatentFlow {
  std::int64_t K, N;
  const double* M;
  const double* P;  // nullptr: identity (K == N)
  const double* b;
  const double* MT = nullptr;  // optional M^T (K x N): enables the blocked Hessian kernel (full rank)
};

// F(y) into F (K); t (N) receives tanh(M y + b). Returns |F|^2 / 2.
inline double latent_flow(const LatentFlow& L, const double* y, double* F, double* t) {
  for (std::int64_t j = 0; j < L.N; ++j) {
    t[j] = std::tanh(L.b[j] + dot(L.M + j * L.K, y, L.K));
  }
  double q = 0.0;
  for (std::int64_t a = 0; a < L.K; ++a) {
    double s;
    if (L.P) {
      s = dot(L.P + a * L.N, t, L.N);
    } else {
      s = t[a];
    }
    F[a] = s - y[a];
    q += F[a] * F[a];
  }
  return 0.5 * q;
}

// speed[iy, ix] = |F(grid_x[ix], grid_y[iy])| for a K = 2 latent flow (rows over y, columns over x, as
// matplotlib's pcolormesh/imshow expect). Parallel over rows; bit-identical for any thread count.
inline void speed_field_2d(const LatentFlow& L, std::int64_t GX, const double* gx, std::int64_t GY, const double* gy,
                           double* speed, int n_threads) {
  if (L.K != 2) throw std::invalid_argument("speed_field_2d needs a 2-D latent flow (K == 2)");
  parallel_for(GY, n_threads, [&](std::int64_t iy) {
    std::vector<double> t(static_cast<std::size_t>(L.N));
    double y[2], F[2];
    for (std::int64_t ix = 0; ix < GX; ++ix) {
      y[0] = gx[ix];
      y[1] = gy[iy];
      speed[iy * GX + ix] = std::sqrt(2.0 * latent_flow(L, y, F, t.data()));
    }
  });
}

// In-place Cholesky of a symmetric positive-definite n x n matrix (lower triangle used and overwritten
// with L). Returns false if a pivot is not positive (matrix not numerically PD).
inline bool cholesky(double* A, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) {
    double* Aj = A + j * n;
    const double d = Aj[j] - dot(Aj, Aj, j);
    if (!(d > 0.0) || !std::isfinite(d)) return false;
    const double ljj = std::sqrt(d);
    Aj[j] = ljj;
    const double inv = 1.0 / ljj;
    for (std::int64_t i = j + 1; i < n; ++i) {
      double* Ai = A + i * n;
      Ai[j] = (Ai[j] - dot(Ai, Aj, j)) * inv;
    }
  }
  return true;
}

// Solves L L^T x = rhs in place (L from cholesky()).
inline void cholesky_solve(const double* Lm, std::int64_t n, double* x) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double* Li = Lm + i * n;
    x[i] = (x[i] - dot(Li, x, i)) / Li[i];
  }
  for (std::int64_t i = n - 1; i >= 0; --i) {
    double s = x[i];
    for (std::int64_t k = i + 1; k < n; ++k) s -= Lm[k * n + i] * x[k];
    x[i] = s / Lm[i * n + i];
  }
}

struct SlowPointOptions {
  int max_iter = 100;        // Newton/LM iterations per start
  double speed_tol = 1e-13;  // |F| at or below this: a fixed point reached to rounding (stop)
  double grad_tol = 1e-15;   // |grad q| at or below this: a stationary point of q (stop)
  double step_tol = 1e-14;   // accepted step |d| <= step_tol (1 + |y|): converged (stop)
  double damping = 1e-6;     // initial (and minimal) Levenberg-Marquardt damping added to the Hessian
  double max_damping =
      1e12;  // damping beyond this x (mean |diag H|) without a decrease of q: stalled at rounding level
};

// status codes of one minimisation
enum SlowPointStatus : std::int8_t {
  kFixed = 0,       // |F| <= speed_tol
  kStationary = 1,  // |grad q| <= grad_tol or step below step_tol
  kStalled = 2,     // no step decreases q any more (rounding floor reached)
  kMaxIter = 3,     // iteration budget exhausted
  kNonFinite = 4,   // NaN/inf met (diverged)
};

// Workspace for one start (allocated once per start, reused across iterations).
struct SlowPointWork {
  std::vector<double> y, y_new, F, F_new, t, t_new, g, g_new, d, J, H, G, A, u, c, BT;
  bool G_ready = false;
  explicit SlowPointWork(std::int64_t K, std::int64_t N)
      : y(K),
        y_new(K),
        F(K),
        F_new(K),
        t(N),
        t_new(N),
        g(K),
        g_new(K),
        d(K),
        J(K * K),
        H(K * K),
        G(K * K),
        A(K * K),
        u(N),
        c(N),
        BT(K * N) {}
};

struct SlowPointOut {
  double q = 0.0, speed = 0.0, grad_norm = 0.0;
  std::int64_t iterations = 0;
  std::int64_t factorizations = 0;  // Cholesky factorisations (the dominant cost with the Hessian builds)
  std::int8_t status = kMaxIter;
};

// Upper triangle (c >= a, by 4 x 4 blocks; lower parts of diagonal blocks too) of H += X Y^T for X, Y
// (K x N, row-major, rows contiguous): H[a][c] += sum_j X[a][j] Y[c][j]. A register-blocked kernel of
// 16 two-wide accumulators over j (GCC/Clang vector extensions; a scalar loop otherwise). The order of
// operations is fixed, so results do not depend on threads.
inline void gram_upper(std::int64_t K, std::int64_t N, const double* X, const double* Y, double* H) {
#if defined(__GNUC__) || defined(__clang__)
  typedef double v2d __attribute__((vector_size(16)));
  const std::int64_t N2 = N & ~std::int64_t(1);
  for (std::int64_t a0 = 0; a0 < K; a0 += 4) {
    const std::int64_t na = std::min<std::int64_t>(4, K - a0);
    for (std::int64_t c0 = a0; c0 < K; c0 += 4) {
      const std::int64_t nc = std::min<std::int64_t>(4, K - c0);
      if (na == 4 && nc == 4) {
        v2d acc[4][4];
        for (int r = 0; r < 4; ++r)
          for (int q = 0; q < 4; ++q) acc[r][q] = v2d{0.0, 0.0};
        const double* x[4] = {X + (a0 + 0) * N, X + (a0 + 1) * N, X + (a0 + 2) * N, X + (a0 + 3) * N};
        const double* y[4] = {Y + (c0 + 0) * N, Y + (c0 + 1) * N, Y + (c0 + 2) * N, Y + (c0 + 3) * N};
        for (std::int64_t j = 0; j < N2; j += 2) {
          v2d xv[4], yv[4];
          for (int r = 0; r < 4; ++r) {
            __builtin_memcpy(&xv[r], x[r] + j, sizeof(v2d));
            __builtin_memcpy(&yv[r], y[r] + j, sizeof(v2d));
          }
          for (int r = 0; r < 4; ++r)
            for (int q = 0; q < 4; ++q) acc[r][q] += xv[r] * yv[q];
        }
        for (int r = 0; r < 4; ++r)
          for (int q = 0; q < 4; ++q) {
            double v = acc[r][q][0] + acc[r][q][1];
            if (N2 < N) v += x[r][N - 1] * y[q][N - 1];
            H[(a0 + r) * K + c0 + q] += v;
          }
      } else {
        for (std::int64_t r = 0; r < na; ++r)
          for (std::int64_t q = 0; q < nc; ++q) {
            const double* xr = X + (a0 + r) * N;
            const double* yq = Y + (c0 + q) * N;
            double v = 0.0;
            for (std::int64_t j = 0; j < N; ++j) v += xr[j] * yq[j];
            H[(a0 + r) * K + c0 + q] += v;
          }
      }
    }
  }
#else
  for (std::int64_t a = 0; a < K; ++a)
    for (std::int64_t c = a; c < K; ++c) {
      double v = 0.0;
      for (std::int64_t j = 0; j < N; ++j) v += X[a * N + j] * Y[c * N + j];
      H[a * K + c] += v;
    }
#endif
}

// Gradient g = J^T F, exact Hessian H and Gauss-Newton matrix G = J^T J of q = |F|^2/2 at w.y (w.F, w.t
// already evaluated):
// J = -I + P diag(D) M with D = 1 - t^2; H = J^T J + sum_a F_a Hess(F_a) = J^T J + M^T diag(c) M with
// c_j = t''(z_j) (P^T F)_j and t'' = -2 t D. For P = identity, J^T J = I - A - A^T + M^T diag(D^2) M with
// A = diag(D) M, so H needs a single N^3/2 symmetric product M^T diag(D^2 + c) M.
inline void gradient_hessian(const LatentFlow& L, SlowPointWork& w) {
  const std::int64_t K = L.K, N = L.N;
  double* J = w.J.data();
  double* H = w.H.data();
  // u_j = (P^T F)_j
  if (L.P) {
    for (std::int64_t j = 0; j < N; ++j) w.u[j] = 0.0;
    for (std::int64_t a = 0; a < K; ++a) {
      const double* Pa = L.P + a * N;
      const double Fa = w.F[a];
      for (std::int64_t j = 0; j < N; ++j) w.u[j] += Pa[j] * Fa;
    }
  } else {
    for (std::int64_t j = 0; j < N; ++j) w.u[j] = w.F[j];
  }
  for (std::int64_t j = 0; j < N; ++j) {
    const double tj = w.t[j], Dj = 1.0 - tj * tj;
    w.c[j] = -2.0 * tj * Dj * w.u[j];
  }
  double* Gm = w.G.data();
  for (std::int64_t i = 0; i < K * K; ++i) H[i] = 0.0;
  if (!L.P) {
    // J = A - I with A = diag(D) M; H = I - A - A^T + M^T diag(D^2 + c) M (upper triangle by rank-1 updates)
    for (std::int64_t j = 0; j < N; ++j) {
      const double Dj = 1.0 - w.t[j] * w.t[j];
      const double* Mj = L.M + j * K;
      double* Jj = J + j * K;
      for (std::int64_t c = 0; c < K; ++c) Jj[c] = Dj * Mj[c];
      Jj[j] -= 1.0;
      const double s = Dj * Dj + w.c[j];
      if (!L.MT) {
        for (std::int64_t a = 0; a < K; ++a) {
          const double sa = s * Mj[a];
          double* Ha = H + a * K;
          for (std::int64_t c = a; c < K; ++c) Ha[c] += sa * Mj[c];
        }
      } else {
        w.u[j] = s;  // u is free again (c already holds what it was needed for)
      }
    }
    if (L.MT) {
      for (std::int64_t a = 0; a < K; ++a) {
        const double* MTa = L.MT + a * N;
        double* BTa = w.BT.data() + a * N;
        for (std::int64_t j = 0; j < N; ++j) BTa[j] = w.u[j] * MTa[j];
      }
      gram_upper(K, N, L.MT, w.BT.data(), H);
    }
    for (std::int64_t a = 0; a < K; ++a) {
      double* Ha = H + a * K;
      for (std::int64_t c = a; c < K; ++c) {
        // A_ac = J_ac + delta_ac
        const double Aac = J[a * K + c] + (a == c ? 1.0 : 0.0), Aca = J[c * K + a] + (a == c ? 1.0 : 0.0);
        Ha[c] += (a == c ? 1.0 : 0.0) - Aac - Aca;
      }
    }
    w.G_ready = false;  // built on demand by gauss_newton_matrix (only where H is indefinite)
  } else {
    // J = -I + P diag(D) M (K x K, K small); H = J^T J + M^T diag(c) M
    for (std::int64_t a = 0; a < K; ++a) {
      const double* Pa = L.P + a * N;
      double* Ja = J + a * K;
      for (std::int64_t c = 0; c < K; ++c) Ja[c] = (a == c) ? -1.0 : 0.0;
      for (std::int64_t j = 0; j < N; ++j) {
        const double pd = Pa[j] * (1.0 - w.t[j] * w.t[j]);
        const double* Mj = L.M + j * K;
        for (std::int64_t c = 0; c < K; ++c) Ja[c] += pd * Mj[c];
      }
    }
    for (std::int64_t a = 0; a < K; ++a)
      for (std::int64_t c = a; c < K; ++c) {
        double s = 0.0;
        for (std::int64_t r = 0; r < K; ++r) s += J[r * K + a] * J[r * K + c];
        H[a * K + c] = s;
        Gm[a * K + c] = s;
        Gm[c * K + a] = s;
      }
    for (std::int64_t j = 0; j < N; ++j) {
      const double* Mj = L.M + j * K;
      for (std::int64_t a = 0; a < K; ++a) {
        const double sa = w.c[j] * Mj[a];
        for (std::int64_t c = a; c < K; ++c) H[a * K + c] += sa * Mj[c];
      }
    }
  }
  // mirror the upper triangle into the lower one
  if (L.P) w.G_ready = true;
  for (std::int64_t a = 0; a < K; ++a)
    for (std::int64_t c = 0; c < a; ++c) H[a * K + c] = H[c * K + a];
  // g = J^T F
  for (std::int64_t c = 0; c < K; ++c) w.g[c] = 0.0;
  for (std::int64_t a = 0; a < K; ++a) {
    const double Fa = w.F[a];
    const double* Ja = J + a * K;
    for (std::int64_t c = 0; c < K; ++c) w.g[c] += Ja[c] * Fa;
  }
}

// The Gauss-Newton matrix G = J^T J for the full-rank flow (P = identity), from w.J of the last
// gradient_hessian call: G = I - A - A^T + M^T diag(D^2) M with A = J + I.
inline void gauss_newton_matrix(const LatentFlow& L, SlowPointWork& w) {
  if (w.G_ready) return;
  const std::int64_t K = L.K, N = L.N;
  double* Gm = w.G.data();
  const double* J = w.J.data();
  for (std::int64_t i = 0; i < K * K; ++i) Gm[i] = 0.0;
  if (L.MT) {
    for (std::int64_t a = 0; a < K; ++a) {
      const double* MTa = L.MT + a * N;
      double* BTa = w.BT.data() + a * N;
      for (std::int64_t j = 0; j < N; ++j) {
        const double Dj = 1.0 - w.t[j] * w.t[j];
        BTa[j] = Dj * Dj * MTa[j];
      }
    }
    gram_upper(K, N, L.MT, w.BT.data(), Gm);
  } else {
    for (std::int64_t j = 0; j < N; ++j) {
      const double Dj = 1.0 - w.t[j] * w.t[j];
      const double* Mj = L.M + j * K;
      const double s = Dj * Dj;
      for (std::int64_t a = 0; a < K; ++a) {
        const double sa = s * Mj[a];
        double* Ga = Gm + a * K;
        for (std::int64_t c = a; c < K; ++c) Ga[c] += sa * Mj[c];
      }
    }
  }
  for (std::int64_t a = 0; a < K; ++a)
    for (std::int64_t c = a; c < K; ++c) {
      const double Aac = J[a * K + c] + (a == c ? 1.0 : 0.0), Aca = J[c * K + a] + (a == c ? 1.0 : 0.0);
      Gm[a * K + c] += (a == c ? 1.0 : 0.0) - Aac - Aca;
    }
  for (std::int64_t a = 0; a < K; ++a)
    for (std::int64_t c = 0; c < a; ++c) Gm[a * K + c] = Gm[c * K + a];
  w.G_ready = true;
}

inline double norm2(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// |grad q| = |J^T F| at a point whose F and t are evaluated (O(N K); used by the polishing test).
inline double gradient_norm(const LatentFlow& L, const std::vector<double>& F, const std::vector<double>& t,
                            std::vector<double>& u, std::vector<double>& g) {
  const std::int64_t K = L.K, N = L.N;
  if (L.P) {
    for (std::int64_t j = 0; j < N; ++j) u[j] = 0.0;
    for (std::int64_t a = 0; a < K; ++a) {
      const double* Pa = L.P + a * N;
      for (std::int64_t j = 0; j < N; ++j) u[j] += Pa[j] * F[a];
    }
  } else {
    for (std::int64_t j = 0; j < N; ++j) u[j] = F[j];
  }
  for (std::int64_t c = 0; c < K; ++c) g[c] = -F[c];
  for (std::int64_t j = 0; j < N; ++j) {
    const double s = u[j] * (1.0 - t[j] * t[j]);
    const double* Mj = L.M + j * K;
    for (std::int64_t c = 0; c < K; ++c) g[c] += s * Mj[c];
  }
  return norm2(g);
}

// Minimises q(y) = |F(y)|^2 / 2 from w.y (in place) by Newton's method with the exact Hessian H and
// Levenberg-Marquardt damping: solve (H + lambda I) d = -g by Cholesky. Where H + lambda I is not
// positive definite (far from a minimum) the iteration uses the Gauss-Newton matrix J^T J + lambda I
// instead (always PD), so no factorisations are wasted on an indefinite H. A step that does not decrease
// q is first shortened (backtracking: halve up to 6 times; d is a descent direction), then lambda is
// increased x10; lambda shrinks /10 (down to opts.damping) after each success. Near a fixed point
// (q -> 0) this is Newton on F (quadratic); near a ghost (a non-zero minimum of q) the exact Hessian
// keeps convergence quadratic, where Gauss-Newton alone would be linear.
// Polishing: q is quadratic around a minimum, so it stops resolving the minimiser at a distance
// ~ sqrt(rounding of q / curvature) (1e-7 for a shallow ghost). A full step that leaves q unchanged
// within rounding (q_new <= q (1 + 1e-10)) is therefore also accepted when it decreases |grad q|: this is
// Newton on grad q = 0, which locates the minimiser to ~ (rounding of grad q) / curvature instead.
inline SlowPointOut minimise_speed(const LatentFlow& L, SlowPointWork& w, const SlowPointOptions& o,
                                   const Control* control = nullptr) {
  const std::int64_t K = L.K;
  SlowPointOut out;
  double q = latent_flow(L, w.y.data(), w.F.data(), w.t.data());
  double lambda = o.damping;
  auto finish = [&](std::int8_t status) {
    out.q = q;
    out.speed = std::sqrt(2.0 * q);
    out.status = std::isfinite(q) ? status : static_cast<std::int8_t>(kNonFinite);
    return out;
  };
  auto try_point = [&](double alpha) {
    for (std::int64_t a = 0; a < K; ++a) w.y_new[a] = w.y[a] + alpha * w.d[a];
    return latent_flow(L, w.y_new.data(), w.F_new.data(), w.t_new.data());
  };
  if (!std::isfinite(q)) return finish(kNonFinite);
  for (std::int64_t it = 0; it < o.max_iter; ++it) {
    if (control && control->cancelled()) return finish(kMaxIter);  // stopped early: counted as not converged
    gradient_hessian(L, w);
    out.grad_norm = norm2(w.g);
    if (std::sqrt(2.0 * q) <= o.speed_tol) return finish(kFixed);
    if (out.grad_norm <= o.grad_tol) return finish(kStationary);
    double trace = 0.0;
    for (std::int64_t a = 0; a < K; ++a) trace += std::fabs(w.H[a * K + a]);
    const double scale = std::max(trace / static_cast<double>(K), 1e-300);
    bool gauss_newton = false;
    for (;;) {
      const std::vector<double>& Hm = gauss_newton ? w.G : w.H;
      for (std::int64_t i = 0; i < K * K; ++i) w.A[i] = Hm[i];
      for (std::int64_t a = 0; a < K; ++a) w.A[a * K + a] += lambda;
      ++out.factorizations;
      if (!cholesky(w.A.data(), K)) {
        if (!gauss_newton) {
          gauss_newton = true;
          gauss_newton_matrix(L, w);
        } else {
          lambda = std::max(lambda * 10.0, 1e-12 * scale);
          // A matrix no damping makes positive definite (NaN/inf entries): stop instead of looping forever.
          if (!(lambda <= o.max_damping * scale)) {
            out.iterations = it + 1;
            return finish(kStalled);
          }
        }
        continue;
      }
      for (std::int64_t a = 0; a < K; ++a) w.d[a] = -w.g[a];
      cholesky_solve(w.A.data(), K, w.d.data());
      double alpha = 1.0;
      double q_new = try_point(alpha);
      bool accepted = q_new < q;
      if (!accepted && q_new <= q * (1.0 + 1e-10))
        accepted = gradient_norm(L, w.F_new, w.t_new, w.u, w.g_new) < out.grad_norm;
      for (int h = 0; h < 6 && !accepted && std::isfinite(q); ++h) {
        alpha *= 0.5;
        q_new = try_point(alpha);
        accepted = q_new < q;
      }
      if (accepted) {
        for (std::int64_t a = 0; a < K; ++a) w.d[a] *= alpha;
        std::swap(w.y, w.y_new);
        std::swap(w.F, w.F_new);
        std::swap(w.t, w.t_new);
        q = q_new;
        lambda = std::max(o.damping, lambda * 0.1);
        break;
      }
      lambda *= 10.0;
      if (lambda > o.max_damping * scale) {
        out.iterations = it + 1;
        return finish(kStalled);
      }
    }
    out.iterations = it + 1;
    if (norm2(w.d) <= o.step_tol * (1.0 + norm2(w.y))) {
      gradient_hessian(L, w);
      out.grad_norm = norm2(w.g);
      return finish(std::sqrt(2.0 * q) <= o.speed_tol ? kFixed : kStationary);
    }
  }
  gradient_hessian(L, w);
  out.grad_norm = norm2(w.g);
  if (std::sqrt(2.0 * q) <= o.speed_tol) return finish(kFixed);
  return finish(out.grad_norm <= o.grad_tol ? kStationary : kMaxIter);
}

// Runs minimise_speed from S starts (rows of starts, each K long), in parallel over starts. Outputs:
// y_out [S, K], and per start q, speed, |grad q|, iterations, status. Each start's arithmetic is
// independent of the others, so results are bit-identical for any thread count. A cancel request
// (control) stops new starts; those get status kMaxIter with zero iterations and y = start.
inline void find_slow_points(const LatentFlow& L, std::int64_t S, const double* starts, const SlowPointOptions& o,
                             double* y_out, double* q_out, double* speed_out, double* grad_out, std::int64_t* iter_out,
                             std::int8_t* status_out, int n_threads, Control* control = nullptr,
                             std::int64_t* factorizations_out = nullptr) {
  if (o.max_iter < 0) throw std::invalid_argument("max_iter must be >= 0");
  // Full rank: M^T once (shared, read-only) for the blocked Hessian kernel.
  std::vector<double> MT;
  LatentFlow Lk = L;
  if (!L.P && !L.MT) {
    MT.resize(static_cast<std::size_t>(L.K * L.N));
    for (std::int64_t j = 0; j < L.N; ++j)
      for (std::int64_t a = 0; a < L.K; ++a) MT[a * L.N + j] = L.M[j * L.K + a];
    Lk.MT = MT.data();
  }
  parallel_for(S, n_threads, [&](std::int64_t s) {
    SlowPointOut r;
    if (control && control->cancelled()) {  // without the K x K work matrices: a cancel stops in milliseconds
      std::vector<double> F(static_cast<std::size_t>(Lk.K)), t(static_cast<std::size_t>(Lk.N));
      r.q = latent_flow(Lk, starts + s * Lk.K, F.data(), t.data());
      r.speed = std::sqrt(2.0 * r.q);
      r.status = kMaxIter;
      for (std::int64_t a = 0; a < Lk.K; ++a) y_out[s * Lk.K + a] = starts[s * Lk.K + a];
    } else {
      SlowPointWork w(Lk.K, Lk.N);
      for (std::int64_t a = 0; a < Lk.K; ++a) w.y[a] = starts[s * Lk.K + a];
      r = minimise_speed(Lk, w, o, control);
      for (std::int64_t a = 0; a < Lk.K; ++a) y_out[s * Lk.K + a] = w.y[a];
    }
    q_out[s] = r.q;
    speed_out[s] = r.speed;
    grad_out[s] = r.grad_norm;
    iter_out[s] = r.iterations;
    status_out[s] = r.status;
    if (factorizations_out) factorizations_out[s] = r.factorizations;
    if (control) control->finish_one();
  });
}

// The paper's solver (its Fig. 5 code), for comparison: Adam on q(y) = |F(y)|^2 / 2 per start (the paper uses
// the mean over units, i.e. q * 2 / K; that only rescales the gradient, which Adam's normalisation
// removes except through eps), lr, iterations, beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
// A cancel request (control) stops each start within 256 iterations; completed[s] (if given) is 1 for the
// starts that ran all their iterations.
inline void adam_slow_points(const LatentFlow& L, std::int64_t S, const double* starts, double lr, std::int64_t iters,
                             double* y_out, double* speed_out, int n_threads, Control* control = nullptr,
                             std::uint8_t* completed = nullptr) {
  parallel_for(S, n_threads, [&](std::int64_t s) {
    const std::int64_t K = L.K, N = L.N;
    std::vector<double> y(K), F(K), t(N), u(N), g(K), m1(K, 0.0), v(K, 0.0);
    for (std::int64_t a = 0; a < K; ++a) y[a] = starts[s * K + a];
    bool finished = true;
    for (std::int64_t it = 0; it < iters; ++it) {
      if (control && (it & 255) == 0 && control->cancelled()) {
        finished = false;
        break;
      }
      latent_flow(L, y.data(), F.data(), t.data());
      // grad of (1/K) sum F^2 = (2/K) J^T F, J = -I + P diag(D) M
      if (L.P) {
        for (std::int64_t j = 0; j < N; ++j) u[j] = 0.0;
        for (std::int64_t a = 0; a < K; ++a)
          for (std::int64_t j = 0; j < N; ++j) u[j] += L.P[a * N + j] * F[a];
      } else {
        for (std::int64_t j = 0; j < N; ++j) u[j] = F[j];
      }
      for (std::int64_t c = 0; c < K; ++c) g[c] = -F[c];
      for (std::int64_t j = 0; j < N; ++j) {
        const double s2 = u[j] * (1.0 - t[j] * t[j]);
        const double* Mj = L.M + j * K;
        for (std::int64_t c = 0; c < K; ++c) g[c] += s2 * Mj[c];
      }
      for (std::int64_t c = 0; c < K; ++c) g[c] *= 2.0 / static_cast<double>(K);
      rnn::adam_step(y.data(), g.data(), m1.data(), v.data(), static_cast<std::size_t>(K), lr, rnn::AdamConfig{},
                     it + 1);  // the training loop's Adam (PyTorch's)
    }
    const double q = latent_flow(L, y.data(), F.data(), t.data());
    for (std::int64_t a = 0; a < K; ++a) y_out[s * K + a] = y[a];
    speed_out[s] = std::sqrt(2.0 * q);
    if (completed) completed[s] = finished ? 1 : 0;
    if (control) control->finish_one();
  });
}

}  // namespace ghostfast::analysis
