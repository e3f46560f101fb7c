"""Spec target 19 at the paper's scale (Fig 4 E-H): does a ghost precede the abrupt drop of a rank-2 RNN?

Trains the Fig 4 E-H model (rank 2, DMTS config A with 500 trials per class, noise 0.01, random x0 with
std 0.3, Adam lr 1e-4, 20 000 epochs) for each seed, one thread per seed, seeds in parallel. It keeps the
parameters every ``--snapshot-every`` epochs. At each snapshot it finds the slow points of the 2-D latent
flow F(kappa) = -kappa + n tanh(m kappa + b) (no input, as in the delay), on the paper's [-5, 5]^2 grid,
and classifies them (``analysis.slow_points_2d``: "ghost" = a local minimum of |F| that is not a fixed point
and has an eigenvalue with |Re| < 0.05). In 2-D every such minimum has an exactly zero eigenvalue
(grad |F|^2/2 = J^T F = 0 with F != 0 makes J singular), so its speed |F| is what tells a ghost that traps
trajectories (|F| << 1) from a mere speed minimum: the summary reports the slowest ghost per snapshot.

It prints the loss and accuracy around the drop, and the slow points before and after it.
Not a test: about 26 min per seed on this machine (77 ms per epoch).

Usage: PYTHONPATH=python python bench/experiment_fig4_ghost.py [--seeds 0 1] [--epochs 20000] [--save DIR]
       PYTHONPATH=python python bench/experiment_fig4_ghost.py --load DIR     # analyse saved runs again
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ghostfast import analysis, rnn, tasks


def train(seed: int, epochs: int, samples_per_class: int, snapshot_every: int) -> dict:
    task = tasks.dmts(*tasks.dmts_config("A"), samples_per_class=samples_per_class)
    model = rnn.Model(
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
    # rnn.train releases the GIL: the seeds run in parallel threads
    res = rnn.train(
        model,
        task,
        1e-4,
        epochs,
        optimizer="adam",
        seed=seed,
        record_every=10,
        snapshot_epochs=tuple(range(0, epochs + 1, snapshot_every)),
        n_threads=1,
    )
    return dict(seed=seed, epochs=res.epochs, loss=res.loss, acc=res.accuracy, snaps=res.snapshots)


def drop_epoch(epochs: np.ndarray, loss: np.ndarray) -> int | None:
    """First recorded epoch whose loss is below the midpoint of the initial plateau and the final loss."""
    plateau = float(np.median(loss[: max(1, len(loss) // 50)]))
    final = float(loss[-1])
    if final > 0.5 * plateau:
        return None
    below = np.nonzero(loss < 0.5 * (plateau + final))[0]
    return int(epochs[below[0]])


def describe(params: dict, grid: np.ndarray) -> tuple[list[str], float]:
    red = analysis.latent_reduction(params, rank=2, basis="factors")
    sp = analysis.slow_points_2d(red, grid, grid)
    out = []
    for j in range(len(sp)):
        ev = sp.eigenvalues[j].real
        kind = sp.kind[j] + (f" ({sp.stability[j]})" if sp.stability[j] else "")
        out.append(
            f"{kind} |F| = {sp.speed[j]:.1e}, Re eig = ({ev[0]:+.3f}, {ev[1]:+.3f}), "
            f"kappa = ({sp.x[j][0]:+.2f}, {sp.x[j][1]:+.2f})"
        )
    ghosts = sp.speed[sp.kind == "ghost"]
    return out, float(ghosts.min()) if ghosts.size else np.inf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=20_000)
    ap.add_argument("--samples-per-class", type=int, default=500)
    ap.add_argument("--snapshot-every", type=int, default=100)
    ap.add_argument("--save", type=Path, help="directory to keep each seed's histories and snapshots in")
    ap.add_argument("--load", type=Path, help="analyse the runs saved in this directory instead of training")
    args = ap.parse_args()
    if args.load is not None:
        results = [pickle.loads(f.read_bytes()) for f in sorted(args.load.glob("seed-*.pkl"))]
    else:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(args.seeds)) as pool:
            results = list(
                pool.map(lambda s: train(s, args.epochs, args.samples_per_class, args.snapshot_every), args.seeds)
            )
        print(f"trained {len(args.seeds)} seeds x {args.epochs} epochs in {time.perf_counter() - t0:.0f} s")
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            for res in results:
                (args.save / f"seed-{res['seed']}.pkl").write_bytes(pickle.dumps(res))
    grid = np.linspace(-5, 5, 201)
    for res in results:
        ep, loss, acc, snaps = res["epochs"], res["loss"], res["acc"], res["snaps"]
        every = int(np.min(np.diff(sorted(snaps)))) if len(snaps) > 1 else 1
        drop = drop_epoch(ep, loss)
        print(
            f"\nseed {res['seed']}: loss {loss[0]:.4f} -> {loss[-1]:.4f}, accuracy {acc[0]:.3f} -> {acc[-1]:.3f}, "
            f"drop at epoch {drop}"
        )
        slowest = {}  # epoch -> speed of its slowest ghost
        for e in sorted(snaps):
            lines, slowest[e] = describe(snaps[e], grid)
            i = min(int(np.searchsorted(ep, e)), len(ep) - 1)
            if e % (10 * every) == 0 or (drop is not None and abs(e - drop) <= 5 * every):
                print(f"  epoch {e:6d}  loss {loss[i]:.4f}  acc {acc[i]:.3f}:  " + "; ".join(lines))
        ranked = sorted((v, e) for e, v in slowest.items() if np.isfinite(v))[:5]
        print("  slowest ghosts (|F|, epoch): " + ", ".join(f"({v:.1e}, {e})" for v, e in ranked))


if __name__ == "__main__":
    main()
