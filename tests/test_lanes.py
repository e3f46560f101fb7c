"""SIMD lane groups (``rnn.train_many``, sweeps): runs of one small shape trained together, one network per
lane, give exactly the bits of each run trained alone: on any thread count, in any group, and whether or not a
neighbour diverges or the call is cancelled. The C++ core test checks the same on every kernel path."""

import threading
import time

import numpy as np
import pytest

from ghostfast import _core, rnn, sweep, tasks

FIELDS = ("loss", "grad_norm", "weight_norm", "accuracy", "epochs")


def assert_same_run(a, b, what=""):
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{what}: {f}")
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=f"{what}: params[{k}]")
        np.testing.assert_array_equal(a.grad_norm_groups[k], b.grad_norm_groups[k], err_msg=f"{what}: group {k}")
    assert a.diverged == b.diverged and a.diverged_epoch == b.diverged_epoch, what
    assert a.state.epoch == b.state.epoch and a.state.adam_step == b.state.adam_step, what
    assert a.params["b"].dtype == b.params["b"].dtype, what
    assert sorted(a.snapshots) == sorted(b.snapshots), what
    for e in b.snapshots:
        for k in b.snapshots[e]:
            np.testing.assert_array_equal(a.snapshots[e][k], b.snapshots[e][k], err_msg=f"{what}: snapshot {e}")


def small_task(n_trials):
    """A delayed-response task with ``n_trials`` trials and two input channels (a cue in the first steps)."""
    rng = np.random.default_rng(3)
    S = 12
    inputs = np.zeros((n_trials, S, 2))
    inputs[:, :2, 0] = rng.choice([-1.0, 1.0], size=(n_trials, 1))
    inputs[:, :2, 1] = rng.choice([-1.0, 0.0, 1.0], size=(n_trials, 1))
    targets = np.zeros((n_trials, S, 1))
    targets[:, 8:, 0] = (inputs[:, :1, 0] > 0).astype(float)
    return tasks.Task(inputs=inputs, targets=targets, loss_scale=1.0 / (n_trials * S))


VARIANTS = [
    # (model fields, task, optimizer, lrs)
    (dict(N=40, rank=1, readout="latent"), tasks.delayed_activation(6), "sgd", np.linspace(0.01, 0.3, 11)),
    (
        dict(N=40, rank=3, readout="latent", read="before"),
        tasks.delayed_activation(6),
        "adam",
        np.geomspace(1e-3, 3e-2, 8),
    ),
    (dict(N=30, rank=2, readout="latent_linear", n_in=2), small_task(3), "sgd", np.linspace(0.05, 2.0, 8)),
    (
        dict(N=30, rank=2, readout="linear", output="tanh", n_in=2, read="before"),
        small_task(8),
        "adam",
        np.geomspace(1e-3, 1e-2, 9),
    ),
]
# (at least 8 runs of a shape: a lane group takes at least half a vector, 8 float32 runs on AVX-512)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=[f"v{i}" for i in range(len(VARIANTS))])
def test_lane_group_equals_runs_alone(variant, dtype):
    fields, task, optimizer, lrs = VARIANTS[variant]
    model = rnn.Model(dtype=dtype, **fields)
    jobs = [
        rnn.TrainJob(model, task, float(lr), 30, rnn.init_params(model, i), optimizer=optimizer, snapshot_epochs=(5,))
        for i, lr in enumerate(lrs)
    ]
    grouped = rnn.train_many(jobs, n_threads=1)
    alone = rnn.train_many(jobs, n_threads=1, lanes=False)
    two_threads = rnn.train_many(jobs, n_threads=2)
    for i, (g, a, t) in enumerate(zip(grouped, alone, two_threads)):
        assert_same_run(g, a, f"job {i}, lanes vs alone")
        assert_same_run(t, a, f"job {i}, 2 threads vs alone")
    # the same run through the public single-run API
    single = rnn.train(
        model, task, float(lrs[-1]), 30, optimizer=optimizer, params=jobs[-1].params, snapshot_epochs=(5,)
    )
    assert_same_run(grouped[-1], single, "last job vs rnn.train")


def test_diverging_lane_drops_out_without_disturbing_neighbours():
    # an unbounded (identity) readout: at lr 1e3 the second run's outputs overflow within 40 epochs
    model = rnn.Model(N=40, rank=1, readout="linear", output="identity")
    task = tasks.delayed_activation(6)
    lrs = [0.01, 1e3, 0.05, 0.1]
    jobs = [rnn.TrainJob(model, task, lr, 40, rnn.init_params(model, i)) for i, lr in enumerate(lrs)]
    grouped = rnn.train_many(jobs, n_threads=1)
    assert grouped[1].diverged and 1 < grouped[1].diverged_epoch < 40
    assert np.isnan(grouped[1].loss[-1]) and np.isfinite(grouped[1].loss[0])
    for i, job in enumerate(jobs):
        assert_same_run(grouped[i], rnn.train_many([job], n_threads=1)[0], f"job {i}")
    assert not any(grouped[i].diverged for i in (0, 2, 3))


def test_resumed_runs_join_a_group_and_continue_exactly():
    model = rnn.Model(N=40, rank=2, readout="latent", dtype="float32")
    task = tasks.delayed_activation(6)
    jobs = [rnn.TrainJob(model, task, 0.02 * (i + 1), 20, rnn.init_params(model, i)) for i in range(8)]
    head = rnn.train_many(jobs, n_threads=1)
    tail_jobs = [rnn.TrainJob(model, task, j.lr, 25, j.params, state=h.state) for j, h in zip(jobs, head)]
    tail = rnn.train_many(tail_jobs, n_threads=2)
    whole = rnn.train_many([rnn.TrainJob(model, task, j.lr, 45, j.params) for j in jobs], n_threads=1, lanes=False)
    for i in range(len(jobs)):
        np.testing.assert_array_equal(tail[i].params["m"], whole[i].params["m"])
        np.testing.assert_array_equal(np.concatenate([head[i].loss, tail[i].loss]), whole[i].loss)


def test_cancel_mid_group_keeps_partial_runs_that_continue_exactly():
    """A cancel stops a lane group within an epoch: each of its runs comes back partial, with histories of the
    epochs done and a state that continues the run bit for bit (as the per-run path's cancel does)."""
    model, task = rnn.Model(N=30, rank=2), tasks.delayed_activation(10)
    jobs = [
        rnn.TrainJob(model, task, 0.01 * (i + 1), 10**7, rnn.init_params(model, i), record_every=7) for i in range(4)
    ]
    control = _core.Control()

    def cancel_once_running():  # after some epochs, however loaded the machine (a timer may fire before any)
        while control.epochs < 4 * 50:
            time.sleep(0.01)
        control.cancel()

    canceller = threading.Thread(target=cancel_once_running, daemon=True)
    canceller.start()
    t0 = time.perf_counter()
    out = _core.rnn_train_many([rnn._job_to_core(j, i, {}) for i, j in enumerate(jobs)], 1, control)
    assert time.perf_counter() - t0 < 30
    canceller.join()
    assert all(d.cancelled for d in out)
    done = {int(d.state["epoch"]) for d in out}
    assert len(done) == 1  # one group: its runs stop at the same epoch
    (stopped,) = done
    assert 0 < stopped < 10**7 and control.epochs == 4 * stopped
    for i, (job, d) in enumerate(zip(jobs, out)):
        part = rnn._result_from_core(job, d)
        assert part.interrupted and part.loss.size == -(-stopped // 7)
        rest = rnn.train(model, task, job.lr, 30, state=part.state, record_every=7)
        ref = rnn.train_many(
            [rnn.TrainJob(model, task, job.lr, stopped + 30, job.params, record_every=7)], lanes=False
        )[0]
        np.testing.assert_array_equal(np.concatenate([part.loss, rest.loss]), ref.loss, err_msg=f"job {i}")
        np.testing.assert_array_equal(rest.params["m"], ref.params["m"], err_msg=f"job {i}")


def test_sweep_runs_equal_runs_trained_alone():
    """A sweep's runs go through lane groups; each equals the same configuration trained alone."""
    model, task = rnn.Model(N=40, rank=1), tasks.delayed_activation(6)
    lrs = [0.01, 0.03, 0.1]
    res = sweep.sweep(model, task, epochs=50, lr=lrs, seed=range(3), record_every=10, n_threads=2)
    for a, lr in enumerate(lrs):
        for seed in range(3):
            alone = rnn.train(model, task, lr, 50, seed=seed, record_every=10)
            np.testing.assert_array_equal(res.loss[a, seed], alone.loss)


def test_lane_width_follows_the_kernel_path():
    """One vector of the CPU's kernel path: 64 bytes on AVX-512, 32 on AVX2, 16 portable."""
    import ghostfast

    if _core.rnn_lane_width(_core.RnnDtype.float64) == 0:
        pytest.skip("this build has no lane groups (a compiler without the GCC/Clang vector extensions)")
    bytes_per_vector = {"avx512": 64, "avx2": 32, "portable": 16}[ghostfast.vector_kernel()]
    assert _core.rnn_lane_width(_core.RnnDtype.float64) == bytes_per_vector // 8
    assert _core.rnn_lane_width(_core.RnnDtype.float32) == bytes_per_vector // 4
