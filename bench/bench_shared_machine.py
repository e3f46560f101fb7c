"""One run on 1 thread vs on all threads, on an idle machine and beside another busy process.

A single run splits its trials over its threads and joins them at every pass over the batch. Where another
process holds the cores, each join waits for a thread the scheduler has put aside, so small runs can get far
slower on more threads. This is why ``ghostfast reproduce`` calibrates its time estimates on one thread, and
what the README's advice for shared machines rests on. The busy process is a ``train_many`` sweep on all cores
(what a second ghostfast user would run), started in a subprocess for the loaded timings.

Usage: PYTHONPATH=python python bench/bench_shared_machine.py [--epochs 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from ghostfast import _report, default_threads, rnn, tasks


def shapes() -> dict:
    """Two of the shapes ``ghostfast reproduce`` calibrates on (20 trials), and Fig 4A-D's batch (1000 trials)."""
    cal = _report._shapes()
    low, dcdt10 = cal["rank2_dcdt_10"][:2]
    return {
        "rank 2, DCDT, 20 trials": (low, dcdt10),
        "rank 2, DCDT, 1000 trials (Fig 4A-D)": (low, tasks.dcdt(*tasks.dcdt_config("A"), samples_per_class=500)),
        "full rank, DCDT, 20 trials (Fig 8C)": cal["full_dcdtA_10"][:2],
    }


def per_epoch(model, task, epochs: int, n_threads: int) -> float:
    params = rnn.init_params(model, 0)
    rnn.train(model, task, 1e-3, 3, optimizer="adam", params=params, n_threads=n_threads)  # warm-up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        rnn.train(model, task, 1e-3, epochs, optimizer="adam", params=params, record_every=epochs, n_threads=n_threads)
        best = min(best, (time.perf_counter() - t0) / epochs)
    return best


def busy_process() -> subprocess.Popen:
    """A sweep of the Fig 8C shape (full-rank DCDT, 20 trials) on all cores, long enough to outlast the timings."""
    code = (
        "from ghostfast import _report, rnn\n"
        "m, t = _report._shapes()['full_dcdtA_10'][:2]\n"
        "jobs = [rnn.TrainJob(m, t, 1e-3, 200000, params=rnn.init_params(m, s), record_every=200000)"
        " for s in range(64)]\n"
        "rnn.train_many(jobs, progress=False)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="epochs per timing (the best of three)")
    args = ap.parse_args()
    nt = default_threads()
    if nt < 2:
        sys.exit("needs at least 2 threads")
    rows = []
    for name, (model, task) in shapes().items():
        rows.append([name, per_epoch(model, task, args.epochs, 1), per_epoch(model, task, args.epochs, nt)])
    busy = busy_process()
    try:
        time.sleep(3.0)  # let it start its threads
        for row, (model, task) in zip(rows, shapes().values()):
            row += [per_epoch(model, task, args.epochs, 1), per_epoch(model, task, args.epochs, nt)]
    finally:
        busy.kill()
        busy.wait()
    print(f"ms per epoch, best of 3 x {args.epochs} epochs; loaded = beside a train_many sweep on all {nt} cores")
    print(
        f"{'shape':<40} {'idle 1t':>8} {'idle ' + str(nt) + 't':>8} {'busy 1t':>8} {'busy ' + str(nt) + 't':>8}"
        f"  {nt}t/1t idle  {nt}t/1t busy"
    )
    for name, i1, i2, b1, b2 in rows:
        print(
            f"{name:<40} {i1 * 1e3:8.2f} {i2 * 1e3:8.2f} {b1 * 1e3:8.2f} {b2 * 1e3:8.2f}  "
            f"{i2 / i1:11.2f}x  {b2 / b1:11.2f}x"
        )


if __name__ == "__main__":
    main()
