"""Tests of ghostfast.analysis against systems with known answers (closed forms or independent numpy
Newton solves written here), plus bad input, thread determinism and plot helpers."""

from __future__ import annotations

import numpy as np
import pytest

from ghostfast import analysis as A

# ---------------------------------------------------------------------------------------------------
# Known-answer constructions (pure numpy, independent of the package)
# ---------------------------------------------------------------------------------------------------
# N units sharing m_i = g and b_i = beta, with n_i > 0 summing to 1, give f(k) = -k + tanh(g k + beta).
# f' = 0 where tanh^2(g k + beta) = 1 - 1/g; at t = -sqrt(1 - 1/g) f has a local minimum, at
# t = +sqrt(1 - 1/g) a local maximum. The minimum touches zero (a fold) for beta_f = atanh(-s) + g s,
# s = sqrt(1 - 1/g); beta > beta_f lifts it (a ghost with f > 0), beta < beta_f gives two fixed points.


def uniform_rank_one(N, g, beta, rng):
    n = rng.uniform(0.5, 1.5, N)
    n /= n.sum()
    return {"m": np.full((N, 1), g), "n": n[None, :], "b": np.full(N, beta)}


def fold_beta(g, kind="min"):
    s = np.sqrt(1.0 - 1.0 / g)
    return np.arctanh(-s) + g * s if kind == "min" else np.arctanh(s) - g * s


def exact_extremum(g, beta, kind="min"):
    """Closed form of the extremum of f(k) = -k + tanh(g k + beta): location, f, f''."""
    t = -np.sqrt(1 - 1 / g) if kind == "min" else np.sqrt(1 - 1 / g)
    k = (np.arctanh(t) - beta) / g
    return k, -k + t, -2.0 * g * g * t * (1.0 - t * t)


def f_ref(p, k):
    m, n, b = p["m"][:, 0], p["n"][0], p["b"]
    k = np.asarray(k, float)
    return -k + np.tanh(np.multiply.outer(k, m) + b) @ n


def df_ref(p, k):
    m, n, b = p["m"][:, 0], p["n"][0], p["b"]
    t = np.tanh(m * k + b)
    return -1.0 + n @ (m * (1 - t * t))


def roots_ref(p, lo=-5, hi=5, pts=20000):
    """All roots of f by a dense scan and Newton's method in numpy (independent reference)."""
    k = np.linspace(lo, hi, pts)
    f = f_ref(p, k)
    roots = []
    for i in np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]:
        x = 0.5 * (k[i] + k[i + 1])
        for _ in range(50):
            x -= f_ref(p, x) / df_ref(p, x)
        roots.append(float(x))
    return np.array(roots)


# ---------------------------------------------------------------------------------------------------
# 1-D flow maps
# ---------------------------------------------------------------------------------------------------
def test_flow_map_matches_numpy(rng):
    N, E = 30, 5
    m, n, b = rng.normal(size=(E, N)), rng.normal(size=(E, N)) / N, rng.normal(size=(E, N))
    grid = np.linspace(-4, 4, 777)
    out = A.flow_maps_1d(m, n, b, grid)
    ref = -grid + np.einsum("egn,en->eg", np.tanh(m[:, None, :] * grid[None, :, None] + b[:, None, :]), n)
    # same formula, different summation order: a few ulps of the O(1) terms
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-13)
    single = A.flow_map_1d({"m": m[2][:, None], "n": n[2][None], "b": b[2]}, grid)
    np.testing.assert_array_equal(single, out[2])
    # (E, N, 1) / (E, 1, N) stacks are accepted too
    np.testing.assert_array_equal(A.flow_maps_1d(m[..., None], n[:, None, :], b, grid), out)


def test_flow_maps_threads_bit_identical(rng):
    E, N = 7, 40
    m, n, b = rng.normal(size=(E, N)), rng.normal(size=(E, N)) / N, rng.normal(size=(E, N))
    grid = np.linspace(-15, 15, 1000)
    np.testing.assert_array_equal(
        A.flow_maps_1d(m, n, b, grid, n_threads=1), A.flow_maps_1d(m, n, b, grid, n_threads=2)
    )
    np.testing.assert_array_equal(
        A.count_fixed_points_1d(m, n, b, grid, n_threads=1), A.count_fixed_points_1d(m, n, b, grid, n_threads=2)
    )


def test_count_fixed_points_against_reference(rng):
    g = 2.0
    params = [uniform_rank_one(20, g, beta, rng) for beta in (0.0, fold_beta(g) + 0.05, fold_beta(g) - 0.05, 0.1)]
    m = np.stack([p["m"][:, 0] for p in params])
    n = np.stack([p["n"][0] for p in params])
    b = np.stack([p["b"] for p in params])
    counts = A.count_fixed_points_1d(m, n, b)
    # an exact zero at a grid point counts once (f = -kappa, grid through 0)
    assert A.count_fixed_points_1d([[0.0]], [[0.0]], None, [-1.0, 0.0, 1.0])[0] == 1
    expected = [len(roots_ref(p)) for p in params]
    assert expected == [3, 1, 3, 3]  # the reference itself: 3 roots at beta=0, a ghost (1 root), two near the fold
    np.testing.assert_array_equal(counts, expected)


# ---------------------------------------------------------------------------------------------------
# (a) ghosts with known answers; (b) fixed points with known stability
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["min", "max"])
@pytest.mark.parametrize("detune", [1e-2, 1e-4])
def test_ghost_1d_closed_form(rng, kind, detune):
    g = 4.0 / 3.0  # fold at |kappa| = sqrt(1 - 1/g) = 0.5
    beta = fold_beta(g, kind) + (detune if kind == "min" else -detune)
    p = uniform_rank_one(50, g, beta, rng)
    gh = A.ghosts_1d(p)
    assert len(gh) == 1
    k, eps, f2 = exact_extremum(g, beta, kind)
    # Newton on f' converges to rounding: the closed form is exact, 1e-10 leaves room for sum(n) != 1 ulps
    np.testing.assert_allclose(gh.kappa[0], k, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gh.speed[0], eps, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(gh.curvature[0], f2, rtol=1e-10)
    np.testing.assert_allclose(gh.r[0], 0.5 * eps * f2, rtol=1e-8)
    assert gh.r[0] > 0 and gh.kind[0] == kind and (gh.speed[0] > 0) == (kind == "min")
    np.testing.assert_allclose(gh.passage_time[0], np.pi / np.sqrt(0.5 * eps * f2), rtol=1e-8)
    assert len(A.fixed_points_1d(p)) == 1  # the ghost's partner: one fixed point elsewhere
    assert len(A.ghosts_1d(p, max_speed=abs(eps) / 2)) == 0


def test_fixed_points_1d_near_fold(rng):
    g = 2.0
    beta = fold_beta(g) - 1e-3  # two fixed points close to the fold at kappa = -0.707 plus one far right
    p = uniform_rank_one(25, g, beta, rng)
    fp = A.fixed_points_1d(p)
    ref = roots_ref(p)
    assert len(ref) == 3
    # Newton to |dk| <= 1e-12 on both sides; reference Newton converges to rounding (simple roots)
    np.testing.assert_allclose(fp.kappa, ref, rtol=0, atol=1e-10)
    slopes = np.array([df_ref(p, k) for k in ref])
    np.testing.assert_allclose(fp.slope, slopes, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(fp.stable, [True, False, True])
    assert np.all(np.abs(fp.residual) < 1e-14)
    assert len(A.ghosts_1d(p)) == 0  # the minimum dips below zero: no ghost


# ---------------------------------------------------------------------------------------------------
# (c) passage time through a 1-D ghost vs iterating the map
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["min", "max"])
def test_passage_time_matches_map(rng, kind):
    g, alpha = 2.0, 0.5
    for detune, rtol in [(1e-3, 0.03), (1e-5, 3e-3)]:
        beta = fold_beta(g, kind) + (detune if kind == "min" else -detune)
        p = uniform_rank_one(10, g, beta, rng)
        gh = A.ghosts_1d(p)
        kg = gh.kappa[0]
        direction = 1.0 if kind == "min" else -1.0
        k, steps = kg - direction * 0.5, 0
        while direction * (k - (kg + direction * 0.5)) < 0:
            k = k + alpha * f_ref(p, k)
            steps += 1
        pred = gh.passage_steps(alpha)[0]
        # pi/(alpha sqrt r) is asymptotic: the finite window (+-0.5) and higher Taylor terms add O(1) steps,
        # i.e. a relative error O(sqrt r): 3 % at eps = 1e-3 (~240 steps), 0.3 % at eps = 1e-5 (~2400 steps)
        np.testing.assert_allclose(steps, pred, rtol=rtol)


# ---------------------------------------------------------------------------------------------------
# N-D finder on rank-one networks embedded in N dimensions
# ---------------------------------------------------------------------------------------------------
def embedded_starts(p, kappas, rng, noise=0.05):
    m, b = p["m"][:, 0], p["b"]
    base = np.tanh(np.multiply.outer(kappas, m) + b)
    return base + noise * rng.normal(size=base.shape)


def test_nd_ghost_rank_one(rng):
    N, g = 40, 2.0
    beta = fold_beta(g) + 2e-3
    p = uniform_rank_one(N, g, beta, rng)
    m, n, b = p["m"][:, 0], p["n"][0], p["b"]
    k, eps, _ = exact_extremum(g, beta)
    # Minimising |F|^2 over x with n.x = kappa fixed gives x = T(kappa) - f(kappa) n/|n|^2 with
    # T = tanh(m kappa + b) and |F| = |f(kappa)|/|n|; so the N-D ghost sits over the 1-D ghost:
    x_ref = np.tanh(m * k + b) - eps * n / (n @ n)
    starts = embedded_starts(p, np.linspace(-1.5, 1.5, 31), rng)
    sp = A.find_slow_points(p, None, starts)
    i = int(np.argmin(np.linalg.norm(sp.x - x_ref, axis=1)))
    # location: the exact-Hessian polish resolves the minimiser to ~1e-13; 1e-8 per the brief
    np.testing.assert_allclose(sp.x[i], x_ref, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sp.speed[i], abs(eps) / np.linalg.norm(n), rtol=1e-8)
    assert sp.kind[i] == "ghost" and sp.converged[i] and sp.stability[i] == ""
    # Jacobian eigenvalues: -1 (N-1 times) and -1 + n.diag(1 - tanh^2(W x + b)) m; at the ghost
    # W x + b = m kappa_g + b so the last one is f'(kappa_g) = 0 exactly.
    d = 1 - np.tanh(m * (n @ x_ref) + b) ** 2
    lam = -1.0 + n @ (d * m)
    assert abs(lam) < 1e-10
    np.testing.assert_allclose(sp.eigenvalues[i, 0].real, lam, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sp.eigenvalues[i, 1:], -1.0, rtol=0, atol=1e-8)
    # the other end points: the single stable fixed point of this f (on the right branch)
    fixed = sp.select("fixed point")
    kstar = roots_ref(p)
    assert len(kstar) == 1 and len(fixed) == 1
    np.testing.assert_allclose(sp.x[fixed[0]], np.tanh(m * kstar[0] + b), rtol=0, atol=1e-8)
    assert sp.stability[fixed[0]] == "stable"
    assert set(sp.kind) <= {"ghost", "fixed point"}


def test_nd_fixed_points_and_saddle(rng):
    N, g = 30, 2.0
    beta = fold_beta(g) - 5e-3
    p = uniform_rank_one(N, g, beta, rng)
    m, n, b = p["m"][:, 0], p["n"][0], p["b"]
    kstar = roots_ref(p)
    assert len(kstar) == 3
    starts = embedded_starts(p, np.concatenate([kstar, np.linspace(-2, 2, 21)]), rng, noise=0.02)
    sp = A.find_slow_points({"m": p["m"], "n": p["n"], "b": b}, None, starts)
    fixed = sp.select("fixed point")
    assert len(fixed) == 3
    order = np.argsort(sp.x[fixed] @ n)
    for k_ref, i in zip(kstar, fixed[order]):
        x_ref = np.tanh(m * k_ref + b)
        np.testing.assert_allclose(sp.x[i], x_ref, rtol=0, atol=1e-8)  # Newton converges to ~1e-15
        lam = -1.0 + n @ ((1 - x_ref**2) * m)  # independent: f'(kappa*) = -1 + n.D m
        eig = sp.eigenvalues[i]
        j = int(np.argmin(np.abs(eig - lam)))
        np.testing.assert_allclose(eig[j].real, lam, rtol=0, atol=1e-8)
        np.testing.assert_allclose(np.delete(eig, j), -1.0, rtol=0, atol=1e-8)
        assert sp.stability[i] == ("stable" if lam < 0 else "saddle")
        assert sp.speed[i] < 1e-12
    assert sorted(sp.stability[fixed].tolist()) == ["saddle", "stable", "stable"]


def test_nd_random_network_against_numpy(rng):
    """Every converged end point is a stationary point of q (numpy gradient J^T F ~ 0) with a positive
    semi-definite numpy Hessian; fixed points have |F| ~ 0 in numpy; eigenvalues match numpy's."""
    N = 25
    W = rng.normal(size=(N, N)) * 1.8 / np.sqrt(N)
    b = rng.normal(size=N) * 0.2
    starts = rng.normal(size=(40, N)) * 0.6
    sp = A.find_slow_points(W, b, starts, deduplicate=False)
    assert np.mean(sp.converged) > 0.9
    for i in np.nonzero(sp.converged)[0]:
        x = sp.x[i]
        t = np.tanh(W @ x + b)
        F = -x + t
        J = -np.eye(N) + (1 - t**2)[:, None] * W
        grad = J.T @ F
        # stationarity to rounding: |J| ~ 3 and |F| <= 1, so 1e-10 is far above rounding, far below any
        # real gradient
        assert np.linalg.norm(grad) < 1e-10
        np.testing.assert_allclose(sp.speed[i], np.linalg.norm(F), rtol=1e-10, atol=1e-15)
        H = J.T @ J + W.T @ ((-2 * t * (1 - t**2) * F)[:, None] * W)
        assert np.linalg.eigvalsh(H).min() > -1e-8  # a minimum, not a saddle, of q
        np.testing.assert_allclose(
            np.sort_complex(sp.eigenvalues[i]), np.sort_complex(np.linalg.eigvals(J)), rtol=0, atol=1e-9
        )
        if sp.kind[i] == "fixed point":
            assert np.linalg.norm(F) < 1e-8


def test_nd_threads_bit_identical(rng):
    N = 30
    W = rng.normal(size=(N, N)) * 1.5 / np.sqrt(N)
    b = rng.normal(size=N) * 0.1
    starts = rng.normal(size=(24, N)) * 0.5
    s1 = A.find_slow_points(W, b, starts, n_threads=1, deduplicate=False)
    s2 = A.find_slow_points(W, b, starts, n_threads=2, deduplicate=False)
    for name in ("x", "speed", "grad_norm", "iterations", "converged"):
        np.testing.assert_array_equal(getattr(s1, name), getattr(s2, name))


def test_cancelled_control_stops_starts(rng):
    """A cancel request before the call: no start is minimised; each is reported unconverged (status 3,
    0 iterations) at its starting point."""
    from ghostfast import _core

    W = 0.5 * np.eye(4)
    starts = rng.normal(size=(5, 4))
    control = _core.Control()
    control.cancel()
    raw = _core.find_slow_points(W, None, np.zeros(4), starts, control=control)
    np.testing.assert_array_equal(raw["iterations"], 0)
    np.testing.assert_array_equal(raw["status"], 3)
    np.testing.assert_array_equal(raw["x"], starts)
    assert control.done == 5


def test_dedup_keeps_point_closest_to_starts(rng):
    W = 0.5 * np.eye(3)  # single stable fixed point at 0
    starts = np.array([[1.0, 1, 1], [0.1, 0, 0], [-2.0, 0.5, 0]])
    sp = A.find_slow_points(W, np.zeros(3), starts)
    assert len(sp) == 1 and sp.count[0] == 3
    np.testing.assert_array_equal(sp.assignment, [0, 0, 0])
    assert sp.start_index[0] == 1
    np.testing.assert_allclose(sp.distance[0], 0.1, rtol=1e-10)
    np.testing.assert_allclose(sp.eigenvalues[0], -0.5, atol=1e-12)


def test_adam_baseline_reaches_slow_point(rng):
    W = 0.5 * np.eye(4)
    x, speed = A.adam_slow_points(W, np.zeros(4), rng.normal(size=(3, 4)), iterations=3000)
    # Adam with lr 1e-2 oscillates around the minimum at a scale ~ lr: it gets close, not exact
    assert np.all(speed < 5e-2) and np.all(np.abs(x) < 0.1)


# ---------------------------------------------------------------------------------------------------
# 2-D latent flow (rank two)
# ---------------------------------------------------------------------------------------------------
def two_group_network(N, g1, beta1, g2, beta2, rng):
    """Two groups of N/2 units: kappa_1 = mean of group 1, kappa_2 = mean of group 2; the latent flow
    decouples into f_1(k) = -k + tanh(g1 k + beta1) and f_2(k) = -k + tanh(g2 k + beta2)."""
    half = N // 2
    M = np.zeros((N, 2))
    M[:half, 0], M[half:, 1] = g1, g2
    P = np.zeros((2, N))
    P[0, :half], P[1, half:] = 1.0 / half, 1.0 / half
    b = np.r_[np.full(half, beta1), np.full(half, beta2)]
    perm = rng.permutation(N)  # hide the group structure
    return M[perm], P[:, perm], b[perm]


def solve_1d(g, beta, x0):
    x = x0
    for _ in range(100):
        t = np.tanh(g * x + beta)
        x -= (-x + t) / (-1 + g * (1 - t * t))
    return x


def test_latent_reduction_exact(rng):
    M, P, b = two_group_network(20, 2.0, 0.0, 0.5, 0.0, rng)
    W = M @ P
    red = A.latent_reduction({"W": W, "b": b})
    assert red.exact and red.rank == 2
    np.testing.assert_allclose(red.M @ red.P, W, atol=1e-13)  # the top-2 SVD reproduces a rank-2 W
    x = rng.normal(size=(5, 20))
    # exactness: P F(x) for states on the latent subspace equals F(P x); check on arbitrary states: the
    # latents obey kappa' = P tanh(W x + b) - P x = F(kappa) since W x = M (P x)
    kap = red.project(x)
    np.testing.assert_allclose((np.tanh(x @ W.T + b) - x) @ red.P.T, A.latent_flow(red, kap), atol=1e-13)


def test_2d_saddle_and_stable_nodes(rng):
    M, P, b = two_group_network(20, 2.0, 0.0, 0.5, 0.0, rng)
    red = A.latent_reduction({"m": M, "n": P, "b": b})
    C = P @ red.P.T  # group latents = C @ SVD latents (P = C P_svd since both span W's row space)
    grid = np.linspace(-6, 6, 121)
    sp = A.slow_points_2d(red, grid, grid)
    fixed = sp.select("fixed point")
    ks = solve_1d(2.0, 0.0, 1.0)
    expected = {
        (0.0, 0.0): ("saddle", [1.0, -0.5]),
        (ks, 0.0): ("stable", [-0.5, -1 + 2 * (1 - ks**2)]),
        (-ks, 0.0): ("stable", [-0.5, -1 + 2 * (1 - ks**2)]),
    }
    assert len(fixed) == 3
    for i in fixed:
        kg = C @ sp.x[i]
        key = min(expected, key=lambda e: np.hypot(kg[0] - e[0], kg[1] - e[1]))
        np.testing.assert_allclose(kg, key, rtol=0, atol=1e-8)
        stab, eig = expected[key]
        assert sp.stability[i] == stab
        np.testing.assert_allclose(np.sort(sp.eigenvalues[i].real), np.sort(eig), rtol=0, atol=1e-8)
        np.testing.assert_allclose(sp.eigenvalues[i].imag, 0.0, atol=1e-12)


def test_2d_factor_basis_gives_model_latents(rng):
    """basis='factors' uses kappa = n @ x directly: the fixed points are the group latents themselves."""
    M, P, b = two_group_network(20, 2.0, 0.0, 0.5, 0.0, rng)
    red = A.latent_reduction({"m": M, "n": P, "b": b}, basis="factors")
    grid = np.linspace(-1.5, 1.5, 61)
    sp = A.slow_points_2d(red, grid, grid)
    ks = solve_1d(2.0, 0.0, 1.0)
    fixed = sp.select("fixed point")
    np.testing.assert_allclose(np.sort(sp.x[fixed, 0]), [-ks, 0.0, ks], rtol=0, atol=1e-8)
    np.testing.assert_allclose(sp.x[fixed, 1], 0.0, rtol=0, atol=1e-8)
    with pytest.raises(ValueError, match="basis"):
        A.latent_reduction({"W": M @ P}, basis="factors")


def test_2d_ghost(rng):
    g1 = 2.0
    beta1 = fold_beta(g1) + 1e-3
    M, P, b = two_group_network(20, g1, beta1, 0.5, 0.0, rng)
    red = A.latent_reduction({"W": M @ P, "b": b})
    C = P @ red.P.T
    grid = np.linspace(-6, 6, 151)
    sp = A.slow_points_2d(red, grid, grid)
    k, eps, _ = exact_extremum(g1, beta1)
    ghosts = sp.select("ghost")
    assert len(ghosts) == 1 and len(sp.select("fixed point")) == 1 and len(sp) == 2
    i = ghosts[0]
    # with equal group sizes C is a scaled rotation, so minimising |F|^2 in SVD coordinates and in group
    # coordinates gives the same point: (kappa_g, 0)
    np.testing.assert_allclose(C @ sp.x[i], [k, 0.0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(sp.speed[i], np.linalg.norm(np.linalg.solve(C, [eps, 0.0])), rtol=1e-8)
    np.testing.assert_allclose(np.sort(sp.eigenvalues[i].real), [-0.5, 0.0], rtol=0, atol=1e-8)
    # the slow direction is group latent 1 (kappa_2 contracts at -0.5): C maps it onto (+-1, 0) up to scale
    v = C @ sp.slow_direction[i]
    np.testing.assert_allclose(abs(v[1]) / np.linalg.norm(v), 0.0, atol=1e-8)


def test_speed_field_threads_and_reference(rng):
    M, P, b = two_group_network(16, 2.0, 0.1, 0.5, -0.2, rng)
    red = A.latent_reduction({"W": M @ P, "b": b})
    gx, gy = np.linspace(-3, 3, 37), np.linspace(-2, 2, 23)
    s1 = A.speed_field_2d(red, gx, gy, n_threads=1)
    s2 = A.speed_field_2d(red, gx, gy, n_threads=2)
    np.testing.assert_array_equal(s1, s2)
    KX, KY = np.meshgrid(gx, gy)
    ref = np.linalg.norm(A.latent_flow(red, np.stack([KX, KY], -1)), axis=-1)
    np.testing.assert_allclose(s1, ref, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------------
# abrupt-learning metrics
# ---------------------------------------------------------------------------------------------------
def test_learning_metrics_synthetic():
    E = 400
    e = np.arange(E)
    learned = 1.0 / (1.0 + np.exp((e - 200) / 3.0)) + 1e-4  # plateau, sharp drop at 200
    never = np.full(E, 0.9999)  # no learning at all
    fell = np.where(e < 150, 1.0, np.where(e < 200, 0.01, 0.9999))  # learned, then trapped
    osc = np.where(e < 100, 1.0, 0.05 + 0.01 * (e % 2))  # oscillatory minimum
    L = np.stack([learned, never, fell, osc])
    G = np.stack([np.full(E, 1.0), np.full(E, 1e-6), np.where(e < 200, 1.0, 1e-7), np.full(E, 1.0)])
    G[1, 0] = 1.0  # grad norm max over history for the never-learning run
    met = A.learning_metrics(L, G, window=50)
    np.testing.assert_array_equal(met.dropped, [True, False, True, True])
    # learned: 1/(1+exp(x/3)) < 0.9 (1 + 1e-4) first at x = -6.59.. -> epoch 194
    assert met.plateau_length[0] == 194 and met.plateau_length[1] == E
    assert abs(met.drop_epoch[0] - 200) <= 6 and met.drop_epoch[2] == 150  # first epoch below L0 / 2
    assert abs(met.steepest_epoch[0] - 200) <= 6 and met.steepest_epoch[2] == 149
    # 10 % -> 90 % of the drop of a logistic with scale 3: 2 * 3 * ln 9 = 13.2 epochs
    assert 12 <= met.drop_duration[0] <= 14 and met.drop_duration[1] == -1
    np.testing.assert_array_equal(met.trapped, [False, True, True, False])
    np.testing.assert_array_equal(met.fell_back, [False, False, True, False])
    np.testing.assert_array_equal(met.oscillating, [False, False, False, True])
    assert met.sign_change_fraction[3] == 1.0
    # without gradients, "trapped" is just a high final loss
    np.testing.assert_array_equal(A.learning_metrics(L, window=50).trapped, [False, True, True, False])
    # vectorised over leading axes
    assert A.learning_metrics(L.reshape(2, 2, E), window=50).plateau_length.shape == (2, 2)
    # smoothing (moving average of width 5) keeps the drop epoch of the sharp drop within the window
    assert abs(A.learning_metrics(L, window=50, smooth=5).steepest_epoch[2] - 149) <= 2


# ---------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------
def test_bad_input_raises_value_error(rng):
    p = {"m": np.ones(4), "n": np.ones(4) / 4, "b": np.zeros(4)}
    with pytest.raises(ValueError, match="kappa_grid"):
        A.flow_map_1d(p, [])
    with pytest.raises(ValueError, match="increasing"):
        A.fixed_points_1d(p, [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"params\['n'\] must have shape"):
        A.flow_map_1d({"m": np.ones(4), "n": np.ones(3)}, [0.0])
    with pytest.raises(ValueError, match="finite"):
        A.ghosts_1d({"m": [np.nan, 1.0], "n": [1.0, 1.0]})
    with pytest.raises(ValueError, match="b must have shape"):
        A.find_slow_points(np.eye(3), np.zeros(4), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="starts must have shape"):
        A.find_slow_points(np.eye(3), np.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"params \(the matrix W\) must be"):
        A.find_slow_points(np.ones((3, 2)), None, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        A.find_slow_points(np.full((2, 2), np.nan), None, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="starts"):
        A.find_slow_points(np.eye(2), None, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="max_iter"):
        A.find_slow_points(np.eye(2), None, np.zeros((1, 2)), max_iter=-1)
    red = A.latent_reduction(np.eye(3), rank=3)
    with pytest.raises(ValueError, match="rank-2"):
        A.speed_field_2d(red, [0.0], [0.0])
    with pytest.raises(ValueError, match="grid_x"):
        A.speed_field_2d(A.latent_reduction(np.eye(3)), [], [0.0])
    with pytest.raises(ValueError, match="rank"):
        A.latent_reduction(np.eye(3), rank=4)
    with pytest.raises(ValueError, match="loss"):
        A.learning_metrics([1.0])
    with pytest.raises(ValueError, match="grad_norm"):
        A.learning_metrics([1.0, 0.5], [1.0])
    with pytest.raises(ValueError, match="stack"):
        A.flow_maps_1d(np.ones(3), np.ones(3), None, [0.0])
    with pytest.raises(ValueError, match="alpha"):
        A.ghosts_1d({"m": [2.0], "n": [1.0], "b": [0.6]}).passage_steps(-1.0)


# ---------------------------------------------------------------------------------------------------
# plot helpers (Agg, artists only)
# ---------------------------------------------------------------------------------------------------
def test_plots_return_axes(rng):
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.quiver import Quiver

    from ghostfast import plotting

    g = 2.0
    p = uniform_rank_one(10, g, fold_beta(g) + 1e-2, rng)
    ax = plotting.plot_flow_1d(p, kappa0=-0.3)
    assert len(ax.lines) == 3  # f, zero line, threshold
    # scatters: kappa0, fixed points, ghosts
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == 3
    plt.close(ax.figure)

    M, P, b = two_group_network(20, 2.0, fold_beta(2.0) + 1e-3, 0.5, 0.0, rng)
    red = A.latent_reduction({"W": M @ P, "b": b})
    grid = np.linspace(-6, 6, 61)
    sp = A.slow_points_2d(red, grid, grid)
    ax = plotting.plot_speed_2d(red, grid, grid, slow_points=sp, trajectories=[rng.normal(size=(5, 2))])
    assert sum(isinstance(c, QuadMesh) for c in ax.collections) == 1
    assert sum(isinstance(c, Quiver) for c in ax.collections) == 1
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == len(set(sp.kind))
    assert len(ax.lines) == 1 + len(sp.select("ghost"))  # trajectory + slow direction of each ghost
    plt.close(ax.figure)

    W = rng.normal(size=(8, 8)) / np.sqrt(8)
    states = rng.normal(size=(2, 6, 8))
    spn = A.find_slow_points(W, None, states.reshape(-1, 8))
    ax = plotting.plot_pca_3d(states, spn)
    assert ax.name == "3d" and len(ax.lines) == 2 and len(ax.collections) == 1
    plt.close(ax.figure)

    ax = plotting.plot_history(np.linspace(1, 0.1, 10), np.linspace(0.1, 1, 10))
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata().max(), 1.0)
    plt.close(ax.figure)


# ---------------------------------------------------------------------------------------------------
# a trained rank-one network (spec 8, target 13)
# ---------------------------------------------------------------------------------------------------
def test_trained_rank_one_network_has_ghost():
    from ghostfast import rnn, tasks

    model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3)
    task = tasks.delayed_activation(T=20)
    # lr 0.01, seed 2: the loss drops below 0.05 near epoch 10 000 and a genuine local minimum of f
    # (f > 0) forms by epoch ~15 000 (seeds 0, 1, 40 behave alike, a few thousand epochs later); ~1 s.
    epochs = 20000
    res = rnn.train(
        model, task, lr=0.01, epochs=epochs, seed=2, record_every=100, snapshot_epochs=list(range(0, epochs + 1, 1000))
    )
    assert res.loss[-1] < 0.05 and not res.diverged
    # abrupt learning: a long plateau with a tiny gradient, then 90 % of the drop within 500 epochs and a
    # gradient spike (grad_0 ~ 1e-3, spec target 9) at the drop; records are every 100 epochs
    met = A.learning_metrics(res.loss, res.grad_norm, window=20)
    assert met.dropped and not met.trapped and not met.oscillating
    assert met.plateau_length >= 50 and 0 <= met.drop_duration <= 5
    assert res.grad_norm.max() > 1e3 * res.grad_norm[0]
    assert abs(int(np.argmax(res.grad_norm)) - int(met.drop_epoch)) <= 5

    # initialisation: b = 0 makes kappa = 0 an exact fixed point, and the only one (small n.m)
    p0 = res.snapshots[0]
    fp0 = A.fixed_points_1d(p0)
    assert len(fp0) == 1 and fp0.stable[0] and abs(fp0.kappa[0]) < 1e-12

    # the number of fixed points stays 1 through training (no saddle-node pair is created)
    np.testing.assert_array_equal(A.count_fixed_points_1d(*A.stack_rank_one(res.snapshots)), 1)

    # after learning: f > 0 on (kappa0, 1) and a ghost (local minimum of f, f > 0) between them
    p = res.params
    kappa0 = -0.3 * float(np.sum(p["n"]))
    grid = np.linspace(kappa0, 1.0, 2001)
    assert A.flow_map_1d(p, grid).min() > 0
    gh = A.ghosts_1d(p)
    inside = (gh.kappa > kappa0) & (gh.kappa < 1.0)
    assert np.count_nonzero(inside) == 1
    i = int(np.nonzero(inside)[0][0])
    assert gh.kind[i] == "min" and -2.0 < gh.kappa[i] < 0.0 and 0.1 < gh.speed[i] < 0.35  # spec target 13 window
    fp = A.fixed_points_1d(p)
    assert len(fp) == 1 and fp.kappa[0] > 1.0 and fp.stable[0]  # the fixed point slid past the threshold

    # the 1-D map is exact: the simulated network's latent n.x_t equals kappa_t of the map, and it crosses
    # the threshold about T = 20 updates in (state index 21 is the first target-1 readout; with the finite
    # confidence c = 10 the crossing may lag by a step or two and still give a loss < 0.05)
    states = rnn.forward(model, p, task).states[0]
    kap_net = states @ p["n"][0]
    kap = [kappa0]
    for _ in range(len(kap_net) - 1):
        kap.append(kap[-1] + 0.5 * A.flow_map_1d(p, [kap[-1]])[0])
    np.testing.assert_allclose(kap_net, kap, rtol=0, atol=1e-12)  # 40 steps of rounding
    assert 19 <= int(np.argmax(np.asarray(kap) > 1.0)) <= 23


def test_progress_path_same_result(rng):
    """The progress/cancel path (worker thread + Control) returns the same points as the direct call."""
    N = 12
    W = rng.normal(size=(N, N)) * 1.3 / np.sqrt(N)
    starts = rng.normal(size=(10, N)) * 0.5
    direct = A.find_slow_points(W, None, starts, n_threads=1)
    via = A.find_slow_points(W, None, starts, n_threads=1, progress=True)
    np.testing.assert_array_equal(direct.x, via.x)
    assert via.config["interrupted"] is False
