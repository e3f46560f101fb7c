"""Benchmark: full-rank slow-point finding (spec 5.3) from 1000 visited states at N = 100.

ghostfast: exact-Hessian Levenberg-Marquardt in C++ (OpenMP over starts), to rounding-level convergence.
Baselines, in the same process, as the paper does it: Adam (lr 1e-2, 5000 steps) on the mean of F(x)^2,
batched over points, in numpy and in PyTorch (if installed), followed by the paper's single Newton step
(Hessian + 1e-4 I). The network: the spec's Fig 5 full-rank DCDT model (seed 3, SGD lr 1e-2), trained
with ghostfast.rnn to epoch 200; the starts: its visited states on 46 noisy trials (23 states each).

Quality is the final speed |F| distribution (and the number of distinct fixed points found).
If a baseline would take longer than --budget seconds, it is run on a subset of the points (the full
5000 steps) and its time is scaled linearly to 1000 points (stated in the output).

    PYTHONPATH=python python bench/bench_analysis.py [--budget 60] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from ghostfast import analysis as A
from ghostfast import rnn, tasks


def network_and_starts(n_starts: int = 1000, epoch: int = 200):
    model = rnn.Model(N=100, rank="full", alpha=0.5, readout="linear", output="tanh", read="before", n_in=1,
                      noise_std=0.01, x0="random", x0_std=0.1)
    res = rnn.train(model, tasks.dcdt(2, 10, 10), lr=0.01, epochs=epoch + 1, seed=3, record_every=100,
                    snapshot_epochs=[epoch])
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
    D = 1 - T ** 2
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
        X -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
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
        loss = (F ** 2).mean(dim=1).sum()  # per-point mean, summed: independent per-point Adam updates
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
        print(f"ghostfast LM {threads} thr: {t:7.2f} s (incl. de-duplication and numpy eigenvalues of the "
              f"distinct points)  speed {pct(sp.start_speed)}  factorisations/start mean "
              f"{sp.factorizations.mean():.1f} max {sp.factorizations.max()}  converged starts "
              f"{np.mean(sp.assignment >= 0):.3f}")
    print(f"  distinct points: {len(sp)} {dict(zip(sp.kind.tolist(), sp.count.tolist()))} speeds "
          f"{' '.join(f'{v:.1e}' for v in sp.speed)}; stability {sp.stability.tolist()}")
    t_ours = rows[-1][1]

    # C++ Adam (same algorithm as the paper, our core) for reference
    t0 = time.perf_counter()
    _, s_adam_cpp = A.adam_slow_points(W, b, starts, lr=1e-2, iterations=5000, n_threads=args.threads)
    t_adam_cpp = time.perf_counter() - t0
    print(f"ghostfast Adam 5000 ({args.threads} thr): {t_adam_cpp:7.2f} s  speed {pct(s_adam_cpp)}")

    # numpy baseline: time a probe of 200 steps on all points to decide the subset
    t0 = time.perf_counter()
    adam_numpy(W, b, starts, steps=200)
    per_step = (time.perf_counter() - t0) / 200
    est = per_step * 5000
    sub = S if est <= args.budget else max(50, int(S * args.budget / est))
    t0 = time.perf_counter()
    X = adam_numpy(W, b, starts[:sub])
    t_np = (time.perf_counter() - t0) * S / sub
    s_np = speed_np(W, b, X)
    Xn = newton_step_np(W, b, X)
    s_npn = speed_np(W, b, Xn)
    note = "" if sub == S else f" (run on {sub} points, time scaled x{S / sub:.1f})"
    print(f"numpy Adam 5000: {t_np:7.2f} s{note}  speed {pct(s_np)}")
    print(f"  + paper's Newton step (H + 1e-4 I): speed {pct(s_npn)}")
    print(f"ratio numpy/ghostfast({args.threads} thr): {t_np / t_ours:.1f}x")

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("torch not installed: PyTorch baseline skipped")
    if have_torch:
        t0 = time.perf_counter()
        adam_torch(W, b, starts, steps=100, threads=args.threads)
        est = (time.perf_counter() - t0) / 100 * 5000
        sub = S if est <= args.budget else max(50, int(S * args.budget / est))
        t0 = time.perf_counter()
        Xt = adam_torch(W, b, starts[:sub], threads=args.threads)
        t_t = (time.perf_counter() - t0) * S / sub
        note = "" if sub == S else f" (run on {sub} points, time scaled x{S / sub:.1f})"
        print(f"torch Adam 5000 ({args.threads} thr): {t_t:7.2f} s{note}  speed {pct(speed_np(W, b, Xt))}")
        print(f"ratio torch/ghostfast({args.threads} thr): {t_t / t_ours:.1f}x")


if __name__ == "__main__":
    main()
