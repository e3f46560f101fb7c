"""Every training configuration of the paper, ghostfast against PyTorch as the paper's code writes it (eager
autograd, the row-vector convention, torch.optim.SGD/Adam), measured in the same run on one thread, and the
projected cost of the whole paper in CPU-hours (runs x epochs x time per epoch, as the authors ran it).

Usage: python bench/bench_paper.py [--quick] [--only NAME ...]   (PYTHONPATH=python for an in-tree build)

ghostfast and PyTorch each run float64 and float32 (the paper's dtype; ghostfast: ``rnn.Model(dtype="float32")``).
Each per-epoch time is the best of several rounds, the implementations taking turns inside each round, so a
load spike on a shared machine hits all of them alike. For the figures that train many runs of one shape (sweeps)
ghostfast is also timed as ``sweep.sweep`` trains them: ``rnn.train_many`` on one thread over a group of two lane
widths of runs, which puts small networks into SIMD lane groups (the same bits as alone) and trains the others one
by one; the "as swept" CPU-hours use that time per network-epoch. The Fig 3 fixed-point test counts the fixed points of the
1-D latent flow on 1000 grid points every epoch (ghostfast: in C++ during training; PyTorch: one vectorised
flow-map evaluation per epoch, cheaper than the authors' loop).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ghostfast import _core, rnn, tasks


@dataclass
class Config:
    name: str
    figure: str
    model: rnn.Model
    task: tasks.Task
    runs: int
    epochs: int
    optimizer: str = "sgd"
    lr: float = 1e-3
    fixed_points: bool = False  # Fig 3 fixed-point test: the 1-D flow's fixed points every epoch
    extra: dict = field(default_factory=dict)


def configs() -> list[Config]:
    da = tasks.delayed_activation(20)
    rank1 = rnn.Model(N=100, rank=1)
    full_da = rnn.Model(N=100, rank="full", readout="linear", output="sigmoid")
    task_kw = dict(readout="linear", read="before", n_in=1)
    dcdt_a, dcdt_b = tasks.dcdt_config("A"), tasks.dcdt_config("B")
    dmts_a, dmts_b = tasks.dmts_config("A"), tasks.dmts_config("B")
    out = [
        Config("fig3a", "3A", rank1, da, 1, 500_000, lr=0.003),
        Config("fig3b", "3C/D", rank1, da, 1, 6_000, lr=0.02),
        Config("fig3_fp_test", "3 (fixed points)", rank1, da, 1, 500_000, lr=0.003, fixed_points=True),
        Config(
            "fig4_dcdt",
            "4A-D",
            rnn.Model(
                N=100, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1, x0="random", x0_std=0.3
            ),
            tasks.dcdt(*dcdt_a, samples_per_class=500),
            1,
            100_000,
            lr=1e-3,
        ),
        Config(
            "fig4_dmts",
            "4E-H",
            rnn.Model(
                N=100,
                rank=2,
                readout="latent_linear",
                output="sigmoid",
                read="before",
                n_in=1,
                noise_std=0.01,
                x0="random",
                x0_std=0.3,
            ),
            tasks.dmts(*dmts_a, samples_per_class=500),
            1,
            20_000,
            optimizer="adam",
            lr=1e-4,
        ),
        Config(
            "fig5_dcdt",
            "5A-C",
            rnn.Model(N=100, rank="full", output="tanh", noise_std=0.01, x0="random", x0_std=0.1, **task_kw),
            tasks.dcdt(*dcdt_a),
            1,
            3_001,
            lr=1e-2,
        ),
        Config(
            "fig5_dmts",
            "5D-F",
            rnn.Model(N=100, rank="full", output="sigmoid", noise_std=0.01, x0="random", x0_std=0.1, **task_kw),
            tasks.dmts(*dmts_b),
            1,
            100_001,
            lr=1e-2,
        ),
        Config("fig6a_rank1", "6A rank one", rank1, da, 300, 200_001, lr=0.01),
        Config("fig6a_full", "6A full rank", full_da, da, 300, 200_001, lr=0.01),
    ]
    for K in (1, 2, 3, 4, 5, 10, 30, 50, 100):
        out.append(
            Config(
                f"fig6b_K{K}",
                "6B",
                rnn.Model(N=100, rank=K, readout="linear", output="sigmoid"),
                da,
                100,
                500_000,
                lr=0.01,
            )
        )
    out += [
        Config(
            "fig7_dcdt",
            "7 DCDT",
            rnn.Model(N=100, rank="full", output="tanh", x0=0.0, **task_kw),
            tasks.dcdt(*dcdt_b),
            400,
            20_000,
            lr=0.3,
        ),
        Config(
            "fig7_dmts",
            "7 DMTS",
            rnn.Model(N=100, rank="full", output="sigmoid", x0=0.0, **task_kw),
            tasks.dmts(*dmts_a),
            400,
            20_000,
            lr=1.0,
        ),
        Config(
            "fig7_saturation",
            "7 saturation",
            rnn.Model(N=100, rank="full", output="sigmoid", x0=0.0, **task_kw),
            tasks.dmts(*dmts_a),
            1,
            6_000,
            lr=1.438,
        ),
        Config("fig8b_ablation", "8B ablation", rank1, da, 100, 6_000 + 30 * 100, lr=0.02),
        Config(
            "fig8b_learnable", "8B learnable c", rnn.Model(N=100, rank=1, train_confidence=True), da, 1, 20_000, lr=0.02
        ),
        Config(
            "fig8c",
            "8C",
            rnn.Model(
                N=100,
                rank="full",
                output="tanh",
                noise_std=1e-3,
                x0="random",
                x0_std=0.1,
                readout_l1_cap=1.0,
                **task_kw,
            ),
            tasks.dcdt(*dcdt_a, samples_per_class=10),
            500,
            20_000,
            optimizer="adam",
            lr=0.1,
        ),
    ]
    return out


# ------------------------------------------------------------------ PyTorch, as the paper's scripts write it
def torch_run(cfg: Config, params: dict, epochs: int, dtype):
    """A closure training cfg for `epochs` epochs in eager PyTorch (row vectors: x @ W_paper = (W_ours x)^T)."""
    import torch

    model, task = cfg.model, cfg.task

    def T(a):
        return torch.tensor(np.ascontiguousarray(a), dtype=dtype, requires_grad=True)

    full = model.rank == "full"
    P = {}
    if full:
        P["W"] = T(params["W"].T)
    else:
        P["S_l"], P["S_r"] = T(params["n"].T), T(params["m"].T)  # x @ S_l = kappa^T, kappa @ S_r = (m kappa)^T
    P["b"] = T(params["b"])
    if model.n_in:
        P["w_in"] = T(params["w_in"].T)
    if model.readout == "latent":
        c = torch.tensor(float(params["c"]), dtype=dtype, requires_grad=model.train_confidence)
        if model.train_confidence:
            P["c"] = c
    else:
        P["w_out"], P["b_out"] = T(params["w_out"].T), T(params["b_out"])
    opt = (torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD)(list(P.values()), lr=cfg.lr)
    U = torch.tensor(task.inputs, dtype=dtype)
    Y = torch.tensor(task.targets, dtype=dtype)
    B, S, _ = task.targets.shape
    N = model.N
    out_fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda a: a}[model.output]
    grid = torch.linspace(-15, 15, 1000, dtype=dtype)

    def readout(x):
        if model.readout == "latent":
            return torch.sigmoid(c * (x @ P["S_l"][:, :1] - model.threshold))
        z = x @ P["S_l"] if model.readout == "latent_linear" else x
        return out_fn(z @ P["w_out"] + P["b_out"])

    def run():
        for _ in range(epochs):
            opt.zero_grad()
            if model.readout_l1_cap is not None:
                with torch.no_grad():
                    scale = P["w_out"].abs().sum() / model.readout_l1_cap
                    P["w_out"].div_(scale)
                    P["b_out"].div_(scale)
            if model.x0 == "random":
                x = torch.tanh(model.x0_std * torch.randn(B, N, dtype=dtype))
            else:
                x = torch.full((B, N), float(model.x0), dtype=dtype)
            outs = []
            for t in range(S):
                if model.read == "before":
                    outs.append(readout(x))
                rec = x @ P["W"] if full else (x @ P["S_l"]) @ P["S_r"]
                pre = rec + P["b"]
                if model.n_in:
                    pre = pre + U[:, t] @ P["w_in"]
                if model.noise_std:
                    pre = pre + model.noise_std * torch.randn(B, N, dtype=dtype)
                x = (1 - model.alpha) * x + model.alpha * torch.tanh(pre)
                if model.read == "after":
                    outs.append(readout(x))
            y = torch.stack(outs, 1)
            loss = ((y - Y) ** 2).sum() * task.loss_scale
            loss.backward()
            _ = torch.sqrt(sum((q.grad**2).sum() for q in P.values()))  # the logged gradient norm
            opt.step()
            if cfg.fixed_points:
                with torch.no_grad():  # f(kappa) = -kappa + n . tanh(m kappa + b) on the grid, sign changes
                    f = -grid + torch.tanh(grid[:, None] * P["S_r"][0] + P["b"]) @ P["S_l"][:, 0]
                    _ = int((torch.sign(f[1:]) != torch.sign(f[:-1])).sum())

    return run


def ghostfast_run(cfg: Config, params: dict, epochs: int, dtype: str = "float64"):
    kw = {"fixed_point_grid": np.linspace(-15, 15, 1000)} if cfg.fixed_points else {}
    model = dataclasses.replace(cfg.model, dtype=dtype)

    def run():
        rnn.train(
            model,
            cfg.task,
            lr=cfg.lr,
            epochs=epochs,
            optimizer=cfg.optimizer,
            params=params,
            seed=0,
            n_threads=1,
            **kw,
        )

    return run


def ghostfast_sweep_run(cfg: Config, epochs: int, dtype: str = "float64"):
    """A group of the figure's runs as a sweep trains them (train_many on one thread): two lane widths of runs
    with their own initialisations and learning rates. Returns the call and its network-epochs per epoch."""
    model = dataclasses.replace(cfg.model, dtype=dtype)
    n = 2 * max(1, _core.rnn_lane_width(getattr(_core.RnnDtype, dtype)))
    jobs = [
        rnn.TrainJob(
            model,
            cfg.task,
            cfg.lr * (1.0 + 0.01 * i),
            epochs,
            rnn.init_params(model, seed=i),
            optimizer=cfg.optimizer,
            stream=i,
        )
        for i in range(n)
    ]

    def run():
        rnn.train_many(jobs, n_threads=1, progress=False)

    return run, n


def best_per_epoch(calls: dict, rounds: int) -> dict:
    best = {name: np.inf for name in calls}
    for fn, _ in calls.values():
        fn()  # warm-up
    for _ in range(rounds):
        for name, (fn, epochs) in calls.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / epochs)
    return best


def calibrate(fn_of_epochs, budget: float) -> int:
    """Epochs that take about `budget` seconds, from the cost of k more epochs, k growing tenfold until those
    take at least as long as the call's fixed set-up (a millisecond or so: a one-epoch timing would choose
    runs so short that the set-up dominates, and a small k would drown the slope in timer noise)."""

    def timed(e: int) -> float:
        t0 = time.perf_counter()
        fn_of_epochs(e)()
        return time.perf_counter() - t0

    base = timed(1)
    k = 10
    while True:
        extra = timed(1 + k) - base
        if extra >= base or k >= 100_000 or extra >= budget:
            return max(1, int(budget * k / max(extra, 1e-9)))
        k *= 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter measurements (noisier)")
    ap.add_argument("--only", nargs="*", help="configuration names to run")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    rounds, budget = (2, 0.15) if args.quick else (3, 0.6)
    rows = []
    for cfg in configs():
        if args.only and cfg.name not in args.only:
            continue
        params = rnn.init_params(cfg.model, seed=0)
        e_gf = calibrate(lambda e: ghostfast_run(cfg, params, e), budget)
        e_t = calibrate(lambda e: torch_run(cfg, params, e, torch.float32), budget)
        calls = {
            "ghostfast": (ghostfast_run(cfg, params, e_gf), e_gf),
            "ghostfast32": (ghostfast_run(cfg, params, e_gf, "float32"), e_gf),
            "torch64": (torch_run(cfg, params, e_t, torch.float64), e_t),
            "torch32": (torch_run(cfg, params, e_t, torch.float32), e_t),
        }
        if cfg.runs > 1:  # a sweep: time a group of runs as sweep.sweep trains them (network-epochs)
            for key, dt in (("sweep", "float64"), ("sweep32", "float32")):
                e_sw = calibrate(lambda e: ghostfast_sweep_run(cfg, e, dt)[0], budget)
                fn, n = ghostfast_sweep_run(cfg, e_sw, dt)
                calls[key] = (fn, e_sw * n)
        best = best_per_epoch(calls, rounds)
        best.setdefault("sweep", best["ghostfast"])
        best.setdefault("sweep32", best["ghostfast32"])
        work = cfg.runs * cfg.epochs
        rows.append((cfg, best, work))
        print(
            f"{cfg.name:18s} {cfg.figure:15s} ghostfast f64 {best['ghostfast'] * 1e6:10.1f} us  f32 "
            f"{best['ghostfast32'] * 1e6:10.1f} us  torch64 {best['torch64'] * 1e6:10.1f} us  torch32 "
            f"{best['torch32'] * 1e6:10.1f} us  x{best['torch32'] / best['ghostfast32']:6.1f} (f32)  paper: "
            f"{cfg.runs} x {cfg.epochs} epochs -> {work * best['ghostfast32'] / 3600:7.2f} CPU-h f32 "
            f"({work * best['ghostfast'] / 3600:7.2f} f64, torch32 {work * best['torch32'] / 3600:8.1f})"
            + (
                f"  as swept: f64 {best['sweep'] * 1e6:.1f} us, f32 {best['sweep32'] * 1e6:.1f} us per network-epoch"
                if cfg.runs > 1
                else ""
            ),
            flush=True,
        )
    if not rows:
        return
    print(
        "\n| config | paper figure | runs x epochs | ghostfast f64 | ghostfast f32 | PyTorch f64 | PyTorch f32 "
        "| f64 vs f64 | f32 vs f32 | ghostfast f64 CPU-h | ghostfast f32 CPU-h | PyTorch f32 CPU-h |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    tot64 = tot32 = tot_t = 0.0
    for cfg, best, work in rows:
        gf, gf32, t64, t32 = best["ghostfast"], best["ghostfast32"], best["torch64"], best["torch32"]
        tot64 += work * gf / 3600
        tot32 += work * gf32 / 3600
        tot_t += work * t32 / 3600
        print(
            f"| {cfg.name} | {cfg.figure} | {cfg.runs} x {cfg.epochs:,} | {gf * 1e6:.1f} us | {gf32 * 1e6:.1f} us "
            f"| {t64 * 1e6:.0f} us | {t32 * 1e6:.0f} us | {t64 / gf:.1f}x | {t32 / gf32:.1f}x | "
            f"{work * gf / 3600:.2f} | {work * gf32 / 3600:.2f} | {work * t32 / 3600:.1f} |"
        )
    print(f"| **whole paper** | | | | | | | | | **{tot64:.1f}** | **{tot32:.1f}** | **{tot_t:.0f}** |")
    print(
        "\nAs swept (sweep.sweep / train_many on one thread: lane groups where they apply), per network-epoch:\n"
        "\n| config | runs x epochs | one run f64 | as swept f64 | one run f32 | as swept f32 | swept f64 CPU-h "
        "| swept f32 CPU-h |"
    )
    print("|---|---|---|---|---|---|---|---|")
    sw64 = sw32 = 0.0
    for cfg, best, work in rows:
        sw64 += work * best["sweep"] / 3600
        sw32 += work * best["sweep32"] / 3600
        if cfg.runs > 1:
            print(
                f"| {cfg.name} | {cfg.runs} x {cfg.epochs:,} | {best['ghostfast'] * 1e6:.1f} us | "
                f"{best['sweep'] * 1e6:.1f} us ({best['ghostfast'] / best['sweep']:.2f}x) | "
                f"{best['ghostfast32'] * 1e6:.1f} us | {best['sweep32'] * 1e6:.1f} us "
                f"({best['ghostfast32'] / best['sweep32']:.2f}x) | {work * best['sweep'] / 3600:.2f} | "
                f"{work * best['sweep32'] / 3600:.2f} |"
            )
    print(f"| **whole paper, as swept** | | | | | | **{sw64:.1f}** | **{sw32:.1f}** |")


if __name__ == "__main__":
    main()
