"""Child process of tests/test_interrupt.py: runs long calls one after the other; before each it prints
``GO <name>`` and waits for the parent's SIGINT(s); right after the call returns it prints ``RETURNED <name>``,
then checks the result and prints ``OK <name> <facts>``. Any failed check raises (non-zero exit)."""

from __future__ import annotations

import re
import sys
import tempfile
import time
import warnings

import numpy as np

from ghostfast import analysis, canonical, rnn, sweep, tasks


def go(name: str) -> None:
    print(f"GO {name}", flush=True)


def returned(name: str) -> None:
    print(f"RETURNED {name}", flush=True)


def ok(name: str, **facts: object) -> None:
    print(f"OK {name} " + " ".join(f"{k}={v}" for k, v in facts.items()), flush=True)


def frozen(arrays: list, seconds: float = 0.3) -> bool:
    """Nothing writes into the result after the call returned: the arrays are unchanged a while later."""
    before = [np.array(a, copy=True) for a in arrays]
    time.sleep(seconds)
    return all(np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, before))


def catch(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return value, msgs


MODEL = rnn.Model(N=100, rank=1)
TASK = tasks.delayed_activation(20)
LRS = list(np.geomspace(1e-3, 3e-2, 30))
# Sweep epochs: the whole sweep must outlast the parent's SIGINT delay on an idle machine (a rank-one epoch is
# ~14 us, so 300 runs x 1000 epochs take ~2 s on two cores).
SWEEP_EPOCHS = 1000


def sweep_default() -> None:
    go("sweep")
    res, msgs = catch(lambda: sweep.sweep(MODEL, TASK, SWEEP_EPOCHS, lr=LRS, seed=range(10), progress=True))
    returned("sweep")
    assert res.interrupted, "sweep did not report the interrupt"
    n_done = int(res.done.sum())
    assert 0 < n_done < res.done.size, n_done
    (msg,) = [m for m in msgs if "sweep interrupted" in m]
    assert int(re.search(r"(\d+) of (\d+) runs finished", msg).group(1)) == n_done, (msg, n_done)
    final = res.loss[..., -1]
    assert np.all(np.isfinite(final[res.done])) and np.all(np.isnan(final[~res.done])), "final losses"
    assert frozen([res.loss, res.done, res.grad_norm]), "the result changed after the call returned"
    ok("sweep", done=n_done, total=res.done.size)


def sweep_out() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lrs = LRS  # 300 runs: about 1.5-3 s on 2 threads, so the SIGINT at 0.6 s lands mid-sweep
        go("sweep_out")
        res, _ = catch(lambda: sweep.sweep(MODEL, TASK, SWEEP_EPOCHS, lr=lrs, seed=range(10), out=tmp, progress=False))
        returned("sweep_out")
        assert res.interrupted
        n_done = int(res.done.sum())
        assert 0 < n_done < res.done.size, n_done
        again, msgs = catch(
            lambda: sweep.sweep(MODEL, TASK, SWEEP_EPOCHS, lr=lrs, seed=range(10), out=tmp, progress=False)
        )
        assert not again.interrupted and bool(again.done.all()), "the rerun did not finish"
        assert not msgs, msgs
        # the rerun resumed: the runs finished before the interrupt are the stored ones, bit for bit
        assert np.array_equal(again.loss[res.done], res.loss[res.done])
        ok("sweep_out", done=n_done, total=res.done.size)


def train_single() -> None:
    go("train")
    res, msgs = catch(lambda: rnn.train(MODEL, TASK, 0.01, 10**8, seed=3, record_every=100, progress=True))
    returned("train")
    assert res.interrupted and any("rnn.train interrupted" in m for m in msgs), msgs
    done = res.state.epoch
    assert 0 < done < 10**8
    assert res.epochs.size == len(res.loss) == -(-done // 100), (res.epochs.size, done)
    assert np.all(np.isfinite(res.loss))
    assert frozen([res.loss, res.grad_norm, res.state.params["m"]])
    # the state continues exactly: interrupted + 200 more epochs == 200 + done epochs in one go
    more = rnn.train(MODEL, TASK, 0.01, 200, seed=3, record_every=100, state=res.state, progress=False)
    ref = rnn.train(MODEL, TASK, 0.01, done + 200, seed=3, record_every=100, progress=False)
    assert np.array_equal(np.concatenate([res.loss, more.loss]), ref.loss)
    assert all(np.array_equal(more.params[g], ref.params[g]) for g in ref.params)
    ok("train", epochs_done=done)


def train_many() -> None:
    p = rnn.init_params(MODEL, 0)
    jobs = [
        rnn.TrainJob(MODEL, TASK, lr, 10**8 if k % 2 else 300, p, record_every=50)
        for k, lr in enumerate([0.003, 0.01, 0.02, 0.03])
    ]
    go("train_many")
    out, msgs = catch(lambda: rnn.train_many(jobs, n_threads=2, progress=False))
    returned("train_many")
    assert any("rnn.train_many interrupted" in m for m in msgs), msgs
    assert all(r is not None for r in out[:2]), "the first two jobs had started"
    finished = [r for r in out if r is not None and not r.interrupted]
    partial = [r for r in out if r is not None and r.interrupted]
    assert all(r.state.epoch == 300 for r in finished)
    assert partial and all(0 < r.state.epoch < 10**8 for r in partial)
    assert frozen([r.loss for r in finished + partial])
    ok("train_many", finished=len(finished), partial=len(partial))


def canonical_train() -> None:
    T = 100.0
    go("canonical")
    res, msgs = catch(
        lambda: canonical.train(None, [1e-3] * 4, T, 10**6, confidence=10.0, record_every=1000, seed=0, progress=True)
    )
    returned("canonical")
    assert res.interrupted and any("canonical.train interrupted" in m for m in msgs), msgs
    assert frozen([res.r, res.loss, res.r_final])
    ok("canonical", runs=res.r_final.size)


def slow_points() -> None:
    rng = np.random.default_rng(0)
    N = 120
    W = rng.standard_normal((N, N)) / np.sqrt(N)
    starts = rng.standard_normal((2000, N))
    go("slow_points")
    sp, msgs = catch(lambda: analysis.find_slow_points({"W": W, "b": np.zeros(N)}, starts=starts, progress=True))
    returned("slow_points")
    assert sp.config["interrupted"] and any("interrupted" in m for m in msgs), msgs
    ok("slow_points", points=len(sp.kind))
    go("adam")
    (x, speed), msgs = catch(
        lambda: analysis.adam_slow_points({"W": W, "b": np.zeros(N)}, starts=starts[:8], iterations=10**9)
    )
    returned("adam")
    assert any("adam_slow_points interrupted" in m for m in msgs), msgs
    assert x.shape == (8, N) and np.all(np.isfinite(speed))
    ok("adam")


def absorb() -> None:
    """A call that needs 0.6 s to stop after the cancel: the parent's second SIGINT lands while it stops."""
    from ghostfast._progress import run_with_control

    def call(control):
        while not control.cancelled:
            time.sleep(0.01)
        time.sleep(0.6)
        return "partial"

    print("GO2 absorb", flush=True)
    t0 = time.monotonic()
    value, interrupted = run_with_control(call, total=1, progress=True)
    returned("absorb")
    assert value == "partial" and interrupted
    assert time.monotonic() - t0 > 0.6 + 0.5  # it did wait for the worker to finish stopping
    ok("absorb")


SCENARIOS = {
    "absorb": absorb,
    "sweep": sweep_default,
    "sweep_out": sweep_out,
    "train": train_single,
    "train_many": train_many,
    "canonical": canonical_train,
    "slow_points": slow_points,
}

if __name__ == "__main__":
    for name in sys.argv[1:]:
        SCENARIOS[name]()
    print("ALL DONE", flush=True)
