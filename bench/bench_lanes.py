"""Benchmark of the SIMD lane groups (``rnn.train_many`` / sweeps of small networks) against the per-run path and
against JAX (``jax.jit`` of ``jax.vmap`` over networks, autodiff, epochs in ``lax.fori_loop``), in one process.

Measures, per network-epoch (one thread unless said; ratios are within this run):
1. the Fig 6A sweep (paper Fig. 6A: rank-one networks, N = 100, delayed activation T = 20, 30 lr = logspace(-4, -1)
   x 10 seeds = 300 networks), float64 and float32: lane groups, the per-run path (``lanes=False``, the same
   bits, checked), lane groups on 2 threads, and JAX on one thread;
2. a Fig 6B-shaped sweep: ranks 1-5 (and ``--ranks``), 64 networks each, lanes vs per-run (vs JAX at rank 4);
3. where lanes pay: rank x trials x precision, lanes vs per-run (the measurements behind kLaneMaxRank and
   kLaneMaxTrials in cpp/include/ghostfast/rnn_lanes.hpp);
4. the projected full Fig 6A (300 networks x 200 001 epochs) on 2 threads.

ghostfast records every epoch (``record_every=1``: loss, gradient norms per group, weight norm, accuracy), as the
paper's scripts do; the JAX loop records nothing.

Usage:  PYTHONPATH=python python bench/bench_lanes.py [--epochs 2000] [--jax-epochs 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# JAX on one thread, as ghostfast's one-thread rows (set before jax is imported)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np

from ghostfast import __version__, rnn, tasks, vector_kernel

N, T, PAPER_EPOCHS = 100, 20, 200_001


def model(rank: int, dtype: str) -> rnn.Model:
    return rnn.Model(
        N=N, rank=rank, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3, dtype=dtype
    )


def jobs_for(rank: int, dtype: str, lrs, seeds, epochs: int, task) -> list:
    m = model(rank, dtype)
    return [
        rnn.TrainJob(m, task, float(lr), epochs, rnn.init_params(m, int(seed)), record_every=1)
        for lr in lrs
        for seed in seeds
    ]


def time_call(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def us_per_net_epoch(seconds: float, n_nets: int, epochs: int) -> float:
    return seconds / (n_nets * epochs) * 1e6


def same_bits(a: list, b: list) -> bool:
    return all(
        np.array_equal(x.loss, y.loss, equal_nan=True) and np.array_equal(x.params["n"], y.params["n"])
        for x, y in zip(a, b)
    )


def jax_us_per_net_epoch(rank: int, dtype: str, lrs, seeds, epochs: int) -> float | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", dtype == "float64")
    jdt = jnp.float64 if dtype == "float64" else jnp.float32
    alpha, c, thr = 0.5, 10.0, 1.0
    target = jnp.concatenate([jnp.zeros(T), jnp.ones(T)]).astype(jdt)

    def loss_fn(p):
        m, n, b = p  # m (N, K), n (K, N), b (N,)

        def step(x, tg):
            x = (1 - alpha) * x + alpha * jnp.tanh(m @ (n @ x) + b)
            y = jax.nn.sigmoid(c * ((n @ x)[0] - thr))
            return x, (y - tg) ** 2

        _, err = jax.lax.scan(step, jnp.full(N, -0.3, jdt), target)
        return err.sum() / T

    grad = jax.grad(loss_fn)

    def train(p, lr, n_epochs):
        def body(_, q):
            g = grad(q)
            return tuple(a - lr * ga for a, ga in zip(q, g))

        return jax.lax.fori_loop(0, n_epochs, body, p)

    run = jax.jit(jax.vmap(train, in_axes=(0, 0, None)))
    inits = [rnn.init_params(model(rank, dtype), int(s)) for _ in lrs for s in seeds]
    params = (
        jnp.asarray(np.stack([p["m"] for p in inits]), jdt),
        jnp.asarray(np.stack([p["n"] for p in inits]), jdt),
        jnp.asarray(np.stack([p["b"] for p in inits]), jdt),
    )
    lr = jnp.asarray(np.repeat(np.asarray(lrs, float), len(seeds)), jdt)
    jax.block_until_ready(run(params, lr, 2))  # compile
    seconds, _ = time_call(lambda: jax.block_until_ready(run(params, lr, epochs)))
    return us_per_net_epoch(seconds, len(inits), epochs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2000, help="epochs per ghostfast network")
    ap.add_argument("--jax-epochs", type=int, default=200, help="epochs per JAX network")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--quick", action="store_true", help="a few hundred epochs, for a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.jax_epochs = 200, 20
    task = tasks.delayed_activation(T)
    lrs, seeds = np.logspace(-4, -1, 30), range(10)
    print(f"ghostfast {__version__}, kernel path {vector_kernel()}, {platform.processor() or platform.machine()}")
    print(f"per network-epoch, one thread unless said; {args.epochs} epochs (JAX {args.jax_epochs})\n")

    print("## Fig 6A sweep: 300 rank-one networks")
    print("| dtype | lanes | per-run | per-run / lanes | lanes, 2 threads | 1 / 2 threads | JAX | JAX / lanes |")
    print("|---|---|---|---|---|---|---|---|")
    fig6a_2t = {}
    for dtype in ("float64", "float32"):
        jobs = jobs_for(1, dtype, lrs, seeds, args.epochs, task)
        t_lanes, lanes = time_call(lambda: rnn.train_many(jobs, n_threads=1))
        t_alone, alone = time_call(lambda: rnn.train_many(jobs, n_threads=1, lanes=False))
        t_two, two = time_call(lambda: rnn.train_many(jobs, n_threads=2))
        assert same_bits(lanes, alone) and same_bits(two, alone), "lanes differ from the per-run path"
        u_l, u_a, u_2 = (us_per_net_epoch(t, len(jobs), args.epochs) for t in (t_lanes, t_alone, t_two))
        fig6a_2t[dtype] = u_2
        u_j = jax_us_per_net_epoch(1, dtype, lrs, seeds, args.jax_epochs)
        jax_cols = f"{u_j:.1f} µs | {u_j / u_l:.1f}x" if u_j else "not installed | -"
        print(
            f"| {dtype} | {u_l:.2f} µs | {u_a:.2f} µs | {u_a / u_l:.2f}x | {u_2:.2f} µs | {u_l / u_2:.2f}x | {jax_cols} |"
        )

    print("\n## Fig 6B-shaped sweep: 64 networks per rank (float64 | float32)")
    print("| rank | lanes f64 | per-run f64 | ratio | lanes f32 | per-run f32 | ratio | JAX f64 / f32 |")
    print("|---|---|---|---|---|---|---|---|")
    lrs6b, seeds6b = np.logspace(-3, -1, 8), range(8)
    for rank in args.ranks:
        cols = []
        for dtype in ("float64", "float32"):
            jobs = jobs_for(rank, dtype, lrs6b, seeds6b, args.epochs // 2, task)
            t_lanes, lanes = time_call(lambda: rnn.train_many(jobs, n_threads=1))
            t_alone, alone = time_call(lambda: rnn.train_many(jobs, n_threads=1, lanes=False))
            assert same_bits(lanes, alone)
            u_l, u_a = (us_per_net_epoch(t, len(jobs), args.epochs // 2) for t in (t_lanes, t_alone))
            cols += [f"{u_l:.2f} µs", f"{u_a:.2f} µs", f"{u_a / u_l:.2f}x"]
        jx = "-"
        if rank == 4:
            j64 = jax_us_per_net_epoch(rank, "float64", lrs6b, seeds6b, args.jax_epochs)
            j32 = jax_us_per_net_epoch(rank, "float32", lrs6b, seeds6b, args.jax_epochs)
            jx = f"{j64:.1f} / {j32:.1f} µs" if j64 and j32 else "not installed"
        print(f"| {rank} | " + " | ".join(cols) + f" | {jx} |")

    print("\n## Where lanes pay: per-run time / lanes time (float64 | float32), 32 networks of each shape")
    print("| rank \\ trials | 1 | 2 | 4 | 8 |")
    print("|---|---|---|---|---|")
    for rank in (1, 4, 8, 12):
        row = []
        for trials in (1, 2, 4, 8):
            ratios = []
            for dtype in ("float64", "float32"):
                rng = np.random.default_rng(0)
                inputs = np.zeros((trials, 2 * T, 1))
                inputs[:, :3, 0] = rng.choice([-1.0, 1.0], size=(trials, 1))
                targets = np.zeros((trials, 2 * T, 1))
                targets[:, T:, 0] = 1.0
                tk = tasks.Task(inputs=inputs, targets=targets, loss_scale=1.0 / (trials * T))
                m = rnn.Model(N=N, rank=rank, readout="latent", n_in=1, x0=-0.3, dtype=dtype)
                e = max(50, args.epochs // 10)
                jobs = [rnn.TrainJob(m, tk, 0.01 * (1 + i % 4), e, rnn.init_params(m, i)) for i in range(32)]
                # lanes=True trains these in lanes only where lane_eligible allows: force both to compare
                t_l, _ = time_call(lambda: rnn.train_many(jobs, n_threads=1))
                t_a, _ = time_call(lambda: rnn.train_many(jobs, n_threads=1, lanes=False))
                ratios.append(t_a / t_l)
            row.append(f"{ratios[0]:.2f} \\| {ratios[1]:.2f}")
        print(f"| {rank} | " + " | ".join(row) + " |")

    print("\n## The full Fig 6A (300 networks x 200 001 epochs), projected from the 2-thread rows")
    for dtype, u in fig6a_2t.items():
        print(f"- {dtype}: {u * 300 * PAPER_EPOCHS / 1e6:.0f} s")


if __name__ == "__main__":
    main()
