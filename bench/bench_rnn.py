"""Per-epoch training time of ghostfast.rnn.train against the same models in PyTorch (autograd, eager, CPU)
and in vectorised numpy (hand-written BPTT), measured in the same process, single thread.

(a) rank-one RNN, N = 100, delayed activation T = 20 (40 steps, 1 trial), SGD (paper Fig 3);
(b) full-rank RNN, N = 100, DMTS config A (38 steps, 4 trials), SGD, read-before, sigmoid readout (paper Fig 7:
    no noise, x0 = 0); (b') the same with noise 0.01 and random x0 (std 0.1);
(c) the Fig 4 E-H rank-2 model: DMTS A with 500 trials per class (2000 x 38 steps), noise 0.01, random x0,
    Adam (no numpy baseline).

Usage: python bench/bench_rnn.py [--quick]   (PYTHONPATH=python for an in-tree build)
PyTorch runs float64 (same precision as ghostfast) and float32 (as the paper's code), one thread.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ghostfast import rnn, tasks


# ---------------------------------------------------------------- numpy (vectorised over units and trials)
def numpy_rank_one_epoch(p, T, lr, alpha=0.5, c=10.0, thr=1.0):
    m, n, b = p["m"][:, 0], p["n"][0], p["b"]
    S = 2 * T
    target = np.r_[np.zeros(T), np.ones(T)]
    X = np.empty((S + 1, m.size))
    H = np.empty((S, m.size))
    K = np.empty(S + 1)
    X[0] = -0.3
    K[0] = n @ X[0]
    for t in range(S):
        H[t] = np.tanh(m * K[t] + b)
        X[t + 1] = (1 - alpha) * X[t] + alpha * H[t]
        K[t + 1] = n @ X[t + 1]
    y = 1 / (1 + np.exp(-c * (K[1:] - thr)))
    gy = 2 / T * (y - target) * y * (1 - y) * c  # dL/dkappa_{t+1}
    gm = np.zeros_like(m)
    gn = np.zeros_like(n)
    gb = np.zeros_like(b)
    gx = np.zeros_like(m)
    for t in range(S - 1, -1, -1):
        gx += gy[t] * n
        gn += gy[t] * X[t + 1]
        gpre = gx * alpha * (1 - H[t] ** 2)
        gk = m @ gpre
        gm += gpre * K[t]
        gb += gpre
        gn += gk * X[t]
        gx = (1 - alpha) * gx + gk * n
    p["m"][:, 0] -= lr * gm
    p["n"][0] -= lr * gn
    p["b"] -= lr * gb


def numpy_full_epoch(p, task, lr, alpha=0.5, rng=None, noise=0.0, x0_std=0.0):
    W, b, win, wout, bout = p["W"], p["b"], p["w_in"], p["w_out"], p["b_out"]
    U = task.inputs  # [B, S, 1]
    Y = task.targets[..., 0]
    B, S = Y.shape
    N = W.shape[0]
    X = np.empty((S + 1, B, N))
    H = np.empty((S, B, N))
    X[0] = np.tanh(x0_std * rng.standard_normal((B, N))) if x0_std > 0 else 0.0
    out = np.empty((S, B))
    for t in range(S):
        out[t] = 1 / (1 + np.exp(-(X[t] @ wout[0] + bout[0])))
        pre = X[t] @ W.T + U[:, t] @ win.T + b
        if noise > 0:
            pre += noise * rng.standard_normal((B, N))
        H[t] = np.tanh(pre)
        X[t + 1] = (1 - alpha) * X[t] + alpha * H[t]
    gz = (2 / (B * S)) * (out - Y.T) * out * (1 - out)  # [S, B]
    gW = np.zeros_like(W)
    gb = np.zeros_like(b)
    gwin = np.zeros_like(win)
    gwout = np.zeros_like(wout)
    gbout = np.zeros_like(bout)
    gx = np.zeros((B, N))
    for t in range(S - 1, -1, -1):
        gpre = gx * alpha * (1 - H[t] ** 2)
        gW += gpre.T @ X[t]
        gb += gpre.sum(0)
        gwin += gpre.T @ U[:, t]
        gx = (1 - alpha) * gx + gpre @ W
        gwout[0] += gz[t] @ X[t]
        gbout[0] += gz[t].sum()
        gx += np.outer(gz[t], wout[0])
    for k, g in (("W", gW), ("b", gb), ("w_in", gwin), ("w_out", gwout), ("b_out", gbout)):
        p[k] -= lr * g


# ---------------------------------------------------------------- PyTorch (the paper's style: autograd + SGD)
def torch_rank_one(p, T, epochs, dtype, lr=1e-4):
    import torch

    m = torch.tensor(p["m"][:, 0], dtype=dtype, requires_grad=True)
    n = torch.tensor(p["n"][0], dtype=dtype, requires_grad=True)
    b = torch.tensor(p["b"], dtype=dtype, requires_grad=True)
    opt = torch.optim.SGD([m, n, b], lr=lr)
    target = torch.cat([torch.zeros(T, dtype=dtype), torch.ones(T, dtype=dtype)])

    def run():
        for _ in range(epochs):
            opt.zero_grad()
            x = torch.full((m.numel(),), -0.3, dtype=dtype)
            ys = []
            for _t in range(2 * T):
                kappa = n @ x
                x = 0.5 * x + 0.5 * torch.tanh(m * kappa + b)
                ys.append(torch.sigmoid(10.0 * (n @ x - 1.0)))
            loss = ((torch.stack(ys) - target) ** 2).sum() / T
            loss.backward()
            _ = torch.sqrt(sum((q.grad**2).sum() for q in (m, n, b)))  # the logged gradient norm
            opt.step()
        return {"m": m.detach().numpy(), "n": n.detach().numpy(), "b": b.detach().numpy()}

    return run


def torch_full(p, task, epochs, dtype, noise=0.0, x0_std=0.0, lr=1e-4):
    import torch

    W = torch.tensor(p["W"].T.copy(), dtype=dtype, requires_grad=True)  # row-vector convention: x @ W
    b = torch.tensor(p["b"], dtype=dtype, requires_grad=True)
    win = torch.tensor(p["w_in"].T.copy(), dtype=dtype, requires_grad=True)
    wout = torch.tensor(p["w_out"].T.copy(), dtype=dtype, requires_grad=True)
    bout = torch.tensor(p["b_out"], dtype=dtype, requires_grad=True)
    params = [W, b, win, wout, bout]
    opt = torch.optim.SGD(params, lr=lr)
    U = torch.tensor(task.inputs, dtype=dtype)
    Y = torch.tensor(task.targets, dtype=dtype)
    B, S, _ = task.targets.shape
    N = W.shape[0]

    def run():
        for _ in range(epochs):
            opt.zero_grad()
            x = torch.tanh(x0_std * torch.randn(B, N, dtype=dtype))
            outs = []
            for t in range(S):
                outs.append(torch.sigmoid(x @ wout + bout))
                x = 0.5 * x + 0.5 * torch.tanh(x @ W + U[:, t] @ win + b + noise * torch.randn(B, N, dtype=dtype))
            loss = torch.nn.functional.mse_loss(torch.stack(outs, 1), Y)
            loss.backward()
            _ = torch.sqrt(sum((q.grad**2).sum() for q in params))
            opt.step()
        return {"W": W.detach().numpy().T, "w_out": wout.detach().numpy().T}

    return run


def check_baselines(have_torch: bool) -> None:
    """The baselines compute the same training: 3 SGD epochs agree with ghostfast to rounding."""
    lr, epochs = 0.5, 3
    model = rnn.Model(N=100, rank=1)
    params = rnn.init_params(model, 40)
    params["b"] = np.random.default_rng(1).normal(0, 0.5, 100)  # off the plateau: non-trivial gradients
    ours = rnn.train(model, tasks.delayed_activation(20), lr, epochs, params=params, seed=0).params
    p_np = {k: v.copy() for k, v in params.items()}
    for _ in range(epochs):
        numpy_rank_one_epoch(p_np, 20, lr)
    for k in ("m", "n", "b"):
        np.testing.assert_allclose(p_np[k], ours[k], rtol=1e-9, atol=1e-12)
    dm = tasks.dmts(*tasks.dmts_config("A"))
    fmodel = rnn.Model(N=100, rank="full", readout="linear", output="sigmoid", read="before", n_in=1, x0=0.0)
    fparams = rnn.init_params(fmodel, 3)
    ours = rnn.train(fmodel, dm, lr, epochs, params=fparams, seed=0).params
    p_np = {k: v.copy() for k, v in fparams.items()}
    for _ in range(epochs):
        numpy_full_epoch(p_np, dm, lr)
    for k in fmodel.groups:
        np.testing.assert_allclose(p_np[k], ours[k], rtol=1e-9, atol=1e-12)
    if have_torch:
        import torch

        run = torch_full(fparams, dm, epochs, torch.float64, lr=lr)
        tparams = run()
        np.testing.assert_allclose(tparams["W"], ours["W"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tparams["w_out"], ours["w_out"], rtol=1e-9, atol=1e-12)
        run = torch_rank_one(params, 20, epochs, torch.float64, lr=lr)
        tparams = run()
        ours1 = rnn.train(model, tasks.delayed_activation(20), lr, epochs, params=params, seed=0).params
        np.testing.assert_allclose(tparams["m"], ours1["m"][:, 0], rtol=1e-9, atol=1e-12)
    print("baselines agree with ghostfast after 3 SGD epochs (rtol 1e-9)")


def torch_rank2_task(p, task, epochs, dtype, noise, x0_std, lr=1e-4):
    """Fig 4 E-H rank-2 RNN in PyTorch (row-vector convention, Adam): r W with W = S_l S_r."""
    import torch

    S_l = torch.tensor(p["n"].T.copy(), dtype=dtype, requires_grad=True)  # n_ours = S_l^T
    S_r = torch.tensor(p["m"].T.copy(), dtype=dtype, requires_grad=True)  # m_ours = S_r^T
    b = torch.tensor(p["b"], dtype=dtype, requires_grad=True)
    win = torch.tensor(p["w_in"].T.copy(), dtype=dtype, requires_grad=True)
    wout = torch.tensor(p["w_out"].T.copy(), dtype=dtype, requires_grad=True)
    bout = torch.tensor(p["b_out"], dtype=dtype, requires_grad=True)
    params = [S_l, S_r, b, win, wout, bout]
    opt = torch.optim.Adam(params, lr=lr)
    U = torch.tensor(task.inputs, dtype=dtype)
    Y = torch.tensor(task.targets, dtype=dtype)
    B, S, _ = task.targets.shape
    N = b.shape[0]

    def run():
        for _ in range(epochs):
            opt.zero_grad()
            x = torch.tanh(x0_std * torch.randn(B, N, dtype=dtype))
            outs = []
            for t in range(S):
                outs.append(torch.sigmoid((x @ S_l) @ wout + bout))
                x = 0.5 * x + 0.5 * torch.tanh(
                    (x @ S_l) @ S_r + U[:, t] @ win + b + noise * torch.randn(B, N, dtype=dtype)
                )
            loss = torch.nn.functional.mse_loss(torch.stack(outs, 1), Y)
            loss.backward()
            opt.step()

    return run


def interleaved_best(callables: dict, rounds: int) -> dict:
    """Per-epoch time of each callable (name -> (fn, epochs)): best over `rounds` rounds, the callables run
    in turn inside each round, so a load spike on the shared machine hits all of them alike."""
    best = {name: np.inf for name in callables}
    for fn, _ in callables.values():
        fn()  # warm-up (allocations, lazy imports, caches)
    for _ in range(rounds):
        for name, (fn, epochs) in callables.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / epochs)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    q = args.quick
    rounds = 3 if q else 7
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = True
    except ImportError:
        have_torch = False
        print("torch not installed: PyTorch baselines skipped (pip install torch==2.13.0)")
    check_baselines(have_torch)
    dtypes = (("torch64", "float64"), ("torch32", "float32"))
    cases = []

    # (a) rank one
    model = rnn.Model(N=100, rank=1)
    task = tasks.delayed_activation(20)
    params = rnn.init_params(model, 40)
    e_ours, e_np, e_t = (5000, 20, 10) if q else (20000, 100, 50)
    p1_np = {k: v.copy() for k, v in params.items()}
    calls = {
        "ghostfast": (lambda e=e_ours: rnn.train(model, task, 1e-4, e, params=params, seed=0, n_threads=1), e_ours),
        "numpy": (lambda e=e_np: [numpy_rank_one_epoch(p1_np, 20, 1e-4) for _ in range(e)], e_np),
    }
    if have_torch:
        for name, dt in dtypes:
            calls[name] = (torch_rank_one(params, 20, e_t, getattr(torch, dt)), e_t)
    cases.append(("(a) rank-one N=100, T=20", calls))

    # (b) full rank DMTS A
    dm = tasks.dmts(*tasks.dmts_config("A"))
    for label, noise, x0_std in (
        ("(b) full N=100, DMTS A (4x38), no noise", 0.0, 0.0),
        ("(b') same, noise 0.01, random x0", 0.01, 0.1),
    ):
        fmodel = rnn.Model(
            N=100,
            rank="full",
            readout="linear",
            output="sigmoid",
            read="before",
            n_in=1,
            noise_std=noise,
            x0="random" if x0_std > 0 else 0.0,
            x0_std=x0_std,
        )
        fparams = rnn.init_params(fmodel, 3)
        e_ours, e_np, e_t = (200, 10, 5) if q else (1000, 50, 25)
        p_np = {k: v.copy() for k, v in fparams.items()}
        rng = np.random.default_rng(0)
        calls = {
            "ghostfast": (
                lambda fmodel=fmodel, fparams=fparams, e=e_ours: rnn.train(
                    fmodel, dm, 1e-4, e, params=fparams, seed=0, n_threads=1
                ),
                e_ours,
            ),
            "numpy": (
                lambda p_np=p_np, noise=noise, x0_std=x0_std, e=e_np: [
                    numpy_full_epoch(p_np, dm, 1e-4, rng=rng, noise=noise, x0_std=x0_std) for _ in range(e)
                ],
                e_np,
            ),
        }
        if have_torch:
            for name, dt in dtypes:
                calls[name] = (torch_full(fparams, dm, e_t, getattr(torch, dt), noise, x0_std), e_t)
        cases.append((label, calls))

    # (c) Fig 4 E-H: rank 2, DMTS A with 500 trials per class (2000 x 38), noise 0.01, x0 random, Adam
    dm500 = tasks.dmts(*tasks.dmts_config("A"), samples_per_class=500)
    r2 = rnn.Model(
        N=100,
        rank=2,
        readout="latent_linear",
        output="sigmoid",
        read="before",
        n_in=1,
        noise_std=0.01,
        x0="random",
        x0_std=0.3,
    )
    r2params = rnn.init_params(r2, 0)
    e_ours = 3 if q else 6
    calls = {
        "ghostfast": (
            lambda e=e_ours: rnn.train(r2, dm500, 1e-4, e, optimizer="adam", params=r2params, seed=0, n_threads=1),
            e_ours,
        )
    }
    if have_torch:
        for name, dt in dtypes:
            calls[name] = (torch_rank2_task(r2params, dm500, 2, getattr(torch, dt), 0.01, 0.3), 2)
    cases.append(("(c) rank-2 N=100, DMTS A 2000x38, noise, Adam", calls))

    print(
        f"{'case':48s} {'ghostfast':>11s} {'numpy':>11s} {'torch f64':>11s} {'torch f32':>11s}"
        f" {'x numpy':>8s} {'x t64':>7s} {'x t32':>7s}   (us/epoch, 1 thread, best of {rounds} interleaved)"
    )
    for label, calls in cases:
        r = {k: v * 1e6 for k, v in interleaved_best(calls, rounds if "(c)" not in label else 2).items()}
        ours = r["ghostfast"]
        t_np, t64, t32 = r.get("numpy", np.nan), r.get("torch64", np.nan), r.get("torch32", np.nan)
        print(
            f"{label:48s} {ours:11.2f} {t_np:11.1f} {t64:11.1f} {t32:11.1f}"
            f" {t_np / ours:8.1f} {t64 / ours:7.1f} {t32 / ours:7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
