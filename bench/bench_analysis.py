"""Benchmark: full-rank slow-point finding (spec 5.3) from 1000 visited states at N = 100.

ghostfast: exact-Hessian Levenberg-Marquardt in C++ (OpenMP over starts), to rounding-level convergence.
Baselines, in the same process, as the paper does it: Adam (lr 1e-2, 5000 steps) on the mean of F(x)^2,
batched over points, in numpy and in PyTorch (if installed), followed by the paper's single Newton step
(Hessian + 1e-4 I). The network: the spec's Fig 5 full-rank DCDT model (seed 3, SGD lr 1e-2), trained
with ghostfast.rnn to epoch 200; the starts: its visited states on 46 noisy trials (23 states each).

Quality is the final speed |F| distribution (and the number of distinct fixed points found).
If a baseline would take longer than --budget seconds, its time is extrapolated from a probe of a few
hundred steps on all points (the cost per Adam step is constant) and its quality is measured with the full
5000 steps on a subset of the points (stated in the output).

    PYTHONPATH=python python bench/bench_analysis.py [--budget 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ghostfast import analysis as A
from ghostfast import rnn, tasks


def network_and_starts(n_starts: int = 1000, epoch: int = 200):
    model = rnn.Model(
        N=100,
        rank="full",
        alpha=0.5,
        readout="linear",
        output="tanh",
        read="before",
        n_in=1,
        noise_std=0.01,
        x0="random",
        x0_std=0.1,
    )
    res = rnn.train(
        model, tasks.dcdt(2, 10, 10), lr=0.01, epochs=epoch + 1, seed=3, record_every=100, snapshot_epochs=[epoch]
    )
    params = res.snapshots[epoch]
    states = rnn.forward(model, params, tasks.dcdt(2, 10, 10, samples_per_class=23), seed=1).states
    starts = states.reshape(-1, 100)[:n_starts]
    return params["W"], params["b"], np.ascontiguousarray(starts)


def speed_np(W, b, X):
    return np.linalg.norm(-X + np.tanh(X @ W.T + b), axis=1)


def newton_step_np(W, b, X, reg=1e-4):
    """The paper's final step: x <- x - (H + reg I)^-1 grad q, q = mean_i F_i^2 (per point)."""
    N = W.shape[0]
    T = np.tanh(X @ W.T + b)
    F = -X + T
    D = 1 - T**2
    J = -np.eye(N) + D[:, :, None] * W[None]
    g = 2.0 / N * np.einsum("pij,pi->pj", J, F)
    c = -2 * T * D * F
    H = 2.0 / N * (np.einsum("pij,pik->pjk", J, J) + np.einsum("ij,pi,ik->pjk", W, c, W))
    return X - np.linalg.solve(H + reg * np.eye(N), g[:, :, None])[:, :, 0]


def adam_numpy(W, b, X0, lr=1e-2, steps=5000):
    X = X0.copy()
    m = np.zeros_like(X)
    v = np.zeros_like(X)
    N = W.shape[0]
    for t in range(1, steps + 1):
        T = np.tanh(X @ W.T + b)
        F = -X + T
        G = 2.0 / N * (-F + (F * (1 - T * T)) @ W)  # grad of mean_i F_i^2 per point
        m = 0.9 * m + 0.1 * G
        v = 0.999 * v + 0.001 * G * G
        X -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return X


def adam_torch(W, b, X0, lr=1e-2, steps=5000, threads=1):
    import torch

    torch.set_num_threads(threads)
    Wt = torch.tensor(W)
    bt = torch.tensor(b)
    X = torch.tensor(X0, requires_grad=True)
    opt = torch.optim.Adam([X], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F = -X + torch.tanh(X @ Wt.T + bt)
        loss = (F**2).mean(dim=1).sum()  # per-point mean, summed: independent per-point Adam updates
        loss.backward()
        opt.step()
    return X.detach().numpy()


def pct(s):
    q = np.percentile(s, [0, 10, 50, 90, 100])
    return " ".join(f"{v:.1e}" for v in q)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads (2 on the loaded 2-core test machine was ~100x slower: spin-waits)",
    )
    ap.add_argument("--cpp-adam", action="store_true", help="also time ghostfast.analysis.adam_slow_points")
    args = ap.parse_args()
    W, b, starts = network_and_starts(args.starts)
    S = starts.shape[0]
    print(f"network: Fig 5 DCDT full rank, N=100, epoch 200; starts: {S} visited states")
    print("speed |F| percentiles (0/10/50/90/100 %)")

    rows = []
    for threads in (1, args.threads):
        t0 = time.perf_counter()
        sp = A.find_slow_points(W, b, starts, n_threads=threads)
        t = time.perf_counter() - t0
        rows.append((threads, t))
        print(
            f"ghostfast LM {threads} thr: {t:7.2f} s (incl. de-duplication and numpy eigenvalues of the "
            f"distinct points)  speed {pct(sp.start_speed)}  factorisations/start mean "
            f"{sp.factorizations.mean():.1f} max {sp.factorizations.max()}  converged starts "
            f"{np.mean(sp.assignment >= 0):.3f}"
        )
    print(
        f"  distinct points: {len(sp)} {list(zip(sp.kind.tolist(), sp.count.tolist()))} speeds "
        f"{' '.join(f'{v:.1e}' for v in sp.speed)}; stability {sp.stability.tolist()}"
    )
    t_ours = rows[-1][1]

    # C++ Adam (same algorithm as the paper, our core, per point without BLAS) for reference
    if args.cpp_adam:
        t0 = time.perf_counter()
        _, s_adam_cpp = A.adam_slow_points(W, b, starts, lr=1e-2, iterations=5000, n_threads=args.threads)
        t_adam_cpp = time.perf_counter() - t0
        print(f"ghostfast Adam 5000 ({args.threads} thr): {t_adam_cpp:7.2f} s  speed {pct(s_adam_cpp)}")

    def baseline(name, run, probe_steps):
        """Time `run(X, steps)` over all points: directly when the 5000 steps fit the budget, else from a
        probe of `probe_steps` steps on all points (Adam's cost per step does not depend on the step) while
        the quality comes from the full 5000 steps on a subset of points."""
        t0 = time.perf_counter()
        run(starts, probe_steps)
        est = (time.perf_counter() - t0) / probe_steps * 5000
        if est <= args.budget:
            t0 = time.perf_counter()
            X = run(starts, 5000)
            t = time.perf_counter() - t0
            note = ""
        else:
            sub = max(50, int(S * args.budget / est))
            X = run(starts[:sub], 5000)
            t = est
            note = (
                f" (time extrapolated from {probe_steps} steps on all {S} points; quality from the full 5000 "
                f"steps on the first {sub} points)"
            )
        s = speed_np(W, b, X)
        print(f"{name} Adam 5000: {t:7.2f} s{note}  speed {pct(s)}")
        print(f"  + paper's Newton step (H + 1e-4 I): speed {pct(speed_np(W, b, newton_step_np(W, b, X)))}")
        print(f"ratio {name}/ghostfast({args.threads} thr): {t / t_ours:.1f}x")

    baseline("numpy", lambda X, steps: adam_numpy(W, b, X, steps=steps), 200)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not installed: PyTorch baseline skipped")
        return
    tt = args.torch_threads
    baseline(f"torch({tt} thr)", lambda X, steps: adam_torch(W, b, X, steps=steps, threads=tt), 100)


if __name__ == "__main__":
    main()
