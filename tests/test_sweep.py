"""ghostfast.sweep: grid expansion, seeding and determinism, flags, errors, save/load, resume (Ctrl-C and
SIGKILL), the dask backend, a scaled-down Fig 6A and the critical learning rate."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial

import numpy as np
import pytest

from ghostfast import rnn, sweep, tasks
from ghostfast._seeding import seed_key

ARRAYS = (
    "loss",
    "grad_norm",
    "accuracy",
    "weight_norm",
    "record_epochs",
    "final_loss",
    "drop_epoch",
    "trapped",
    "diverged",
    "diverged_epoch",
    "done",
    "seed_entropy",
)


def rank_one(N: int = 100, **kw) -> rnn.Model:
    """The rank-one delayed-activation model of the paper's Figs. 3 and 6A."""
    base = dict(N=N, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3)
    base.update(kw)
    return rnn.Model(**base)


def assert_same(a: sweep.SweepResult, b: sweep.SweepResult) -> None:
    """Bit-for-bit equality of everything a sweep computes (not the `interrupted` flag)."""
    assert a.coords == b.coords
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.params is None) == (b.params is None)
    if a.params is not None:
        for pa, pb in zip(a.params.reshape(-1), b.params.reshape(-1)):
            assert (pa is None) == (pb is None)
            if pa is not None:
                assert pa.keys() == pb.keys()
                for k in pa:
                    np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)


# A small but non-trivial grid: noise makes the per-run stream matter (x0="random" and noise_std > 0).
NOISY = dict(N=30, rank=2, noise_std=0.05, x0="random", x0_std=0.1)
GRID_KW = dict(epochs=60, lr=[5e-3, 2e-2, 8e-2], seed=[0, 3], record_every=7)


@pytest.fixture(scope="module")
def noisy_model():
    return rank_one(**NOISY)


@pytest.fixture(scope="module")
def reference(noisy_model):
    """Uninterrupted local run of the noisy grid (the reference for every determinism test)."""
    return sweep.sweep(noisy_model, tasks.delayed_activation, T=[5, 8], n_threads=1, keep_params=True, **GRID_KW)


# ---------------------------------------------------------------------------------------------------------
# Grid expansion and seeding


def test_axes_shapes_and_coords(reference):
    assert reference.dims == ("lr", "seed", "T")
    assert reference.coords == {"lr": (5e-3, 2e-2, 8e-2), "seed": (0, 3), "T": (5, 8)}
    n_rec = len(range(0, 60, 7))
    assert reference.loss.shape == (3, 2, 2, n_rec)
    np.testing.assert_array_equal(reference.record_epochs, np.arange(0, 60, 7))
    for name in ("final_loss", "drop_epoch", "trapped", "diverged", "done"):
        assert getattr(reference, name).shape == (3, 2, 2)
    assert reference.done.all() and not reference.interrupted
    np.testing.assert_array_equal(reference.final_loss, reference.loss[..., -1])
    np.testing.assert_array_equal(reference.seed_entropy, [seed_key(0).entropy, seed_key(3).entropy])
    assert reference.params.shape == (3, 2, 2) and set(reference.params[0, 0, 0]) >= {"m", "n", "b"}


def test_each_run_equals_a_direct_train_many_call(noisy_model, reference):
    """The documented seeding: params = init_params(model, seed), stream = flat index in the full grid."""
    shape = reference.shape
    for flat in (0, 5, int(np.prod(shape)) - 1):
        i_lr, i_seed, i_T = np.unravel_index(flat, shape)
        lr, seed, T = reference.coords["lr"][i_lr], reference.coords["seed"][i_seed], reference.coords["T"][i_T]
        key = seed_key(seed)
        job = rnn.TrainJob(
            model=noisy_model,
            task=tasks.delayed_activation(T),
            lr=lr,
            epochs=60,
            params=rnn.init_params(noisy_model, seed),
            key0=key.key0,
            key1=key.key1,
            stream=flat,
            record_every=7,
        )
        direct = rnn.train_many([job], n_threads=1)[0]
        np.testing.assert_array_equal(reference.loss[i_lr, i_seed, i_T], direct.loss)
        np.testing.assert_array_equal(reference.grad_norm[i_lr, i_seed, i_T], direct.grad_norm)
        np.testing.assert_array_equal(reference.accuracy[i_lr, i_seed, i_T], direct.accuracy)
        np.testing.assert_array_equal(reference.weight_norm[i_lr, i_seed, i_T], direct.weight_norm)
        for k, v in direct.params.items():
            np.testing.assert_array_equal(reference.params[i_lr, i_seed, i_T][k], v)


def test_every_lr_starts_from_the_same_network():
    model = rank_one(N=40)
    res = sweep.sweep(model, tasks.delayed_activation(10), 1, lr=[1e-3, 1e-1], seed=[0, 1], n_threads=1)
    # epoch 0's loss is evaluated before any update: identical across lr for a seed, different across seeds
    np.testing.assert_array_equal(res.loss[0, :, 0], res.loss[1, :, 0])
    assert res.loss[0, 0, 0] != res.loss[0, 1, 0]


def test_init_scheme_is_passed_to_init_params():
    model = rank_one()
    res = sweep.sweep(
        model, tasks.delayed_activation(20), 3, lr=[1e-2], seed=[40], init_scheme="torch", keep_params=True, n_threads=1
    )
    key = seed_key(40)
    job = rnn.TrainJob(
        model=model,
        task=tasks.delayed_activation(20),
        lr=1e-2,
        epochs=3,
        params=rnn.init_params(model, 40, scheme="torch"),
        key0=key.key0,
        key1=key.key1,
        stream=0,
    )
    direct = rnn.train_many([job], n_threads=1)[0]
    np.testing.assert_array_equal(res.loss[0, 0], direct.loss)
    np.testing.assert_array_equal(res.params[0, 0]["m"], direct.params["m"])
    assert res.config["init_scheme"] == "torch"
    with pytest.raises(ValueError, match="scheme"):
        sweep.sweep(model, tasks.delayed_activation(20), 3, lr=[1e-2], init_scheme="nonsense")


def test_model_fields_and_optimizer_lists_are_axes():
    model = rank_one(N=20)
    res = sweep.sweep(
        model,
        tasks.delayed_activation(6),
        5,
        lr=[1e-2],
        seed=[0],
        optimizer=["sgd", "adam"],
        rank=[1, 3, 5],
        confidence=[1.0, 10.0],
        n_threads=2,
    )
    assert res.dims == ("lr", "seed", "optimizer", "rank", "confidence")
    assert res.loss.shape == (1, 1, 2, 3, 2, 5)
    assert res.done.all()
    # sgd and adam differ after the first update; ranks differ already at epoch 0 (different networks)
    assert not np.array_equal(res.loss[0, 0, 0], res.loss[0, 0, 1])
    assert res.loss[0, 0, 0, 0, 0, 0] != res.loss[0, 0, 0, 1, 0, 0]
    ds = res.to_xarray()
    assert ds["loss"].dims == ("lr", "seed", "optimizer", "rank", "confidence", "epoch")
    assert list(ds["optimizer"].values) == ["sgd", "adam"]
    assert list(ds["rank"].values) == [1, 3, 5]
    np.testing.assert_array_equal(ds["loss"].values, res.loss)
    np.testing.assert_array_equal(ds["epoch"].values, res.record_epochs)
    assert ds["trapped"].dims == ("lr", "seed", "optimizer", "rank", "confidence")


def test_ambiguous_names_need_a_prefix():
    model = rnn.Model(N=12, rank="full", readout="linear", output="tanh", read="before", n_in=1)
    dcdt = partial(tasks.dcdt, n_delay=3, n_react=2)
    with pytest.raises(ValueError, match="n_in"):
        sweep.sweep(model, dcdt, 2, lr=[1e-2], n_in=[1, 2])
    res = sweep.sweep(model, dcdt, 2, lr=[1e-2], task__n_in=[1, 2], n_threads=1)
    assert res.dims == ("lr", "seed", "task__n_in")
    assert res.done.all()


# ---------------------------------------------------------------------------------------------------------
# Determinism: threads, chunking, backends, resume


def test_threads_and_chunking_do_not_change_results(noisy_model, reference):
    for n_threads, chunk in ((2, None), (2, 1), (1, 5), (2, 7)):
        other = sweep.sweep(
            noisy_model,
            tasks.delayed_activation,
            T=[5, 8],
            n_threads=n_threads,
            chunk_size=chunk,
            keep_params=True,
            **GRID_KW,
        )
        assert_same(reference, other)


def test_memory_capped_default_chunks_give_the_same_results(noisy_model, reference, monkeypatch):
    monkeypatch.setattr(sweep, "CHUNK_BYTES", 1)  # default chunk = the thread count: 6 train_many calls
    calls = []
    real = rnn.train_many
    monkeypatch.setattr(rnn, "train_many", lambda jobs, **kw: calls.append(len(jobs)) or real(jobs, **kw))
    other = sweep.sweep(noisy_model, tasks.delayed_activation, T=[5, 8], n_threads=2, keep_params=True, **GRID_KW)
    assert calls == [2] * 6
    assert_same(reference, other)


def test_out_resume_and_config_mismatch(noisy_model, reference, tmp_path):
    out = tmp_path / "run"
    first = sweep.sweep(
        noisy_model, tasks.delayed_activation, T=[5, 8], n_threads=2, keep_params=True, out=out, chunk_size=4, **GRID_KW
    )
    assert_same(reference, first)
    files = sorted(p.name for p in out.iterdir())
    assert "manifest.json" in files and sum(f.startswith("chunk-") for f in files) == 3
    # drop one chunk file (as if the run had been killed before writing it): the rerun redoes only those runs
    victim = sorted(out.glob("chunk-*.npz"))[1]
    victim.unlink()
    again = sweep.sweep(
        noisy_model, tasks.delayed_activation, T=[5, 8], n_threads=1, keep_params=True, out=out, chunk_size=3, **GRID_KW
    )
    assert_same(reference, again)
    # a different sweep at the same path is refused, unless overwrite=True
    with pytest.raises(ValueError, match="different sweep"):
        sweep.sweep(noisy_model, tasks.delayed_activation, T=[5, 9], out=out, keep_params=True, **GRID_KW)
    with pytest.raises(ValueError, match="different sweep"):
        sweep.sweep(
            noisy_model, tasks.delayed_activation, T=[5, 8], out=out, keep_params=True, **{**GRID_KW, "epochs": 61}
        )
    fresh = sweep.sweep(
        noisy_model, tasks.delayed_activation, T=[5, 8], out=out, overwrite=True, keep_params=True, **GRID_KW
    )
    assert_same(reference, fresh)
    # changing only the flag thresholds is the same sweep (they are derived from the stored histories)
    relaxed = sweep.sweep(
        noisy_model, tasks.delayed_activation, T=[5, 8], out=out, keep_params=True, trap_grad_tol=1.0, **GRID_KW
    )
    np.testing.assert_array_equal(relaxed.loss, reference.loss)


SIGKILL_SCRIPT = textwrap.dedent("""
    import sys
    from ghostfast import rnn, sweep, tasks
    model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after",
                      x0=-0.3)
    sweep.sweep(model, tasks.delayed_activation(20), {epochs}, lr={lrs}, seed=[0, 1, 2, 3], n_threads=1,
                chunk_size=2, out=sys.argv[1], progress=False)
""")


def test_sigkill_mid_sweep_then_resume_is_identical(tmp_path):
    """A sweep killed with SIGKILL after some chunks are on disk resumes to exactly the uninterrupted result."""
    model = rank_one()
    lrs = [3e-3, 6e-3, 1e-2, 2e-2, 4e-2, 8e-2]
    epochs = 1500
    out = tmp_path / "killed"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in [os.path.dirname(os.path.dirname(rnn.__file__)), os.environ.get("PYTHONPATH", "")] if p
        ),
    )
    log = tmp_path / "child.log"
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", SIGKILL_SCRIPT.format(epochs=epochs, lrs=lrs), str(out)],
            env=env,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(list(out.glob("chunk-*.npz"))) >= 2:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the sweep ended before it could be killed: {log.read_text()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    n_files = len(list(out.glob("chunk-*.npz")))
    assert 2 <= n_files < 12, n_files  # killed mid-way: some but not all 12 chunks are on disk
    resumed = sweep.sweep(
        model, tasks.delayed_activation(20), epochs, lr=lrs, seed=[0, 1, 2, 3], n_threads=2, chunk_size=5, out=out
    )
    full = sweep.sweep(model, tasks.delayed_activation(20), epochs, lr=lrs, seed=[0, 1, 2, 3], n_threads=2)
    assert_same(full, resumed)


def test_ctrl_c_returns_finished_runs_and_resumes(tmp_path):
    """Ctrl-C (a real SIGINT to the main thread, sent once the first chunk is on disk) returns the finished runs."""
    model = rank_one()
    kw = dict(epochs=4000, lr=[1e-2, 2e-2], seed=list(range(8)), chunk_size=2, n_threads=1)
    out = tmp_path / "ctrlc"
    main_id = threading.main_thread().ident
    sent = []

    def interrupt_after_first_chunk() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and any(out.glob("chunk-*.npz"))):
            time.sleep(0.005)
        sent.append(time.monotonic())
        signal.pthread_kill(main_id, signal.SIGINT)

    killer = threading.Thread(target=interrupt_after_first_chunk, daemon=True)
    killer.start()
    with pytest.warns(RuntimeWarning, match=r"sweep interrupted: \d+ of 16 runs finished"):
        part = sweep.sweep(model, tasks.delayed_activation(20), out=out, **kw)
    returned = time.monotonic()
    killer.join()
    # Ctrl-C takes effect within an epoch of each running job: well under a second after the signal
    assert returned - sent[0] < 1.0, returned - sent[0]
    assert part.interrupted
    assert 0 < part.done.sum() < 16, part.done.sum()
    assert np.isnan(part.loss[~part.done]).all() and not part.trapped[~part.done].any()
    rest = sweep.sweep(model, tasks.delayed_activation(20), out=out, **kw)
    full = sweep.sweep(model, tasks.delayed_activation(20), **{**kw, "n_threads": 2, "chunk_size": None})
    assert_same(full, rest)
    assert not rest.interrupted
    for name in ("loss", "grad_norm"):
        np.testing.assert_array_equal(getattr(part, name)[part.done], getattr(full, name)[part.done])


# ---------------------------------------------------------------------------------------------------------
# Flags


def test_divergence_is_flagged_and_the_sweep_goes_on():
    """An unbounded (identity) readout with a huge lr overflows to NaN: flagged, while the other runs train on."""
    model = rnn.Model(N=20, rank="full", readout="linear", output="identity")
    res = sweep.sweep(model, tasks.delayed_activation(10), 400, lr=[1e-2, 10.0], seed=[0, 1], n_threads=2)
    assert res.done.all()
    assert res.diverged[1].all() and not res.diverged[0].any()
    assert (res.diverged_epoch[1] >= 0).all() and (res.diverged_epoch[0] == -1).all()
    assert np.isnan(res.final_loss[1]).all() and not res.trapped[1].any()
    assert np.isfinite(res.loss[0]).all()
    assert (res.final_loss[0] < 0.5 * res.loss[0, :, 0]).all()  # the small lr learns (drop flagged)
    assert (res.drop_epoch[0] > 0).all() and (res.drop_epoch[1] == -1).all()


def test_zero_epochs_gives_empty_histories(tmp_path):
    res = sweep.sweep(rank_one(N=10), tasks.delayed_activation(4), 0, lr=[1e-2], seed=[0, 1])
    assert res.loss.shape == (1, 2, 0) and res.record_epochs.shape == (0,)
    assert res.done.all() and np.isnan(res.final_loss).all() and (res.drop_epoch == -1).all()
    res.save(tmp_path / "e0.npz")
    assert_same(res, sweep.load(tmp_path / "e0.npz"))


def test_flag_helpers():
    loss = np.array([[1.0, 0.9, 0.4, 0.1], [1.0, 1.0, 1.0, 1.0], [1.0, 0.8, np.nan, np.nan]])
    grad = np.array([[1e-3, 1e-2, 1e-1, 1e-2], [1e-3, 1e-4, 1e-9, 1e-12], [1e-3, 1e-2, np.nan, np.nan]])
    epochs = np.array([0, 10, 20, 30])
    np.testing.assert_array_equal(sweep.drop_epochs(loss, epochs), [20, -1, -1])
    np.testing.assert_array_equal(sweep.trapped_mask(loss, grad), [False, True, False])
    np.testing.assert_array_equal(sweep.trapped_mask(loss, grad, grad_tol=1e-13), [False, False, False])


# ---------------------------------------------------------------------------------------------------------
# Errors, memory guard, save/load


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(lr=[]), ValueError, "lr"),
        (dict(lr=[1e-2, 0.0]), ValueError, "lr"),
        (dict(lr=[-1e-3]), ValueError, "lr"),
        (dict(lr=[float("nan")]), ValueError, "lr"),
        (dict(seed=[-1]), ValueError, "seed"),
        (dict(seed=[]), ValueError, "seed"),
        (dict(seed=[1, 1]), ValueError, "seed"),
        (dict(epochs=-1), ValueError, "epochs"),
        (dict(backend="spark"), ValueError, "backend"),
        (dict(client=object()), ValueError, "client"),
        (dict(nonsense=[1, 2], alpha2=[3]), ValueError, r"nonsense.*alpha2"),
        (dict(confidence=[]), ValueError, "confidence"),
        (dict(confidence="abc"), TypeError, "confidence"),
        (dict(rank=[1, 1000]), ValueError, "rank"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer"),
        (dict(T=[10]), ValueError, "T"),  # a fixed Task has no parameters to sweep
        (dict(chunk_size=0), ValueError, "chunk_size"),
        (dict(record_every=0), ValueError, "record_every"),
        (dict(n_threads=0), ValueError, "n_threads"),
    ],
)
def test_bad_arguments_raise(kwargs, exc, match):
    call = dict(epochs=3, lr=[1e-2], seed=[0])
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        sweep.sweep(rank_one(N=10), tasks.delayed_activation(4), **call)


def test_memory_guard_refuses_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="max_memory"):
        sweep.sweep(
            rank_one(N=10),
            tasks.delayed_activation(4),
            10**6,
            lr=np.logspace(-4, -1, 30),
            seed=range(10),
            max_memory=2**20,
            out=tmp_path / "never",
        )
    assert not (tmp_path / "never").exists()


def test_save_load_round_trip(reference, tmp_path):
    path = tmp_path / "res.npz"
    reference.save(path)
    back = sweep.load(path)
    assert_same(reference, back)
    assert back.config == reference.config and back.version == reference.version
    assert back.interrupted == reference.interrupted
    assert back.dims == reference.dims


# ---------------------------------------------------------------------------------------------------------
# dask backend (a real LocalCluster with 2 worker processes)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_backend_matches_local_and_resumes(noisy_model, reference, dask_client, tmp_path):
    res = sweep.sweep(
        noisy_model,
        tasks.delayed_activation,
        T=[5, 8],
        backend="dask",
        client=dask_client,
        chunk_size=3,
        keep_params=True,
        **GRID_KW,
    )
    assert_same(reference, res)
    # dask writes checkpoints too: a local rerun at the same path finds everything done
    out = tmp_path / "dask"
    sweep.sweep(
        noisy_model,
        tasks.delayed_activation,
        T=[5, 8],
        backend="dask",
        client=dask_client,
        out=out,
        chunk_size=5,
        keep_params=True,
        **GRID_KW,
    )
    assert len(list(out.glob("chunk-*.npz"))) == 3
    os.unlink(sorted(out.glob("chunk-*.npz"))[0])
    resumed = sweep.sweep(
        noisy_model,
        tasks.delayed_activation,
        T=[5, 8],
        backend="dask",
        client=dask_client,
        out=out,
        keep_params=True,
        **GRID_KW,
    )
    assert_same(reference, resumed)


def test_dask_ctrl_c_keeps_finished_chunks_and_resumes(dask_client, tmp_path):
    model = rank_one()
    kw = dict(epochs=3000, lr=[1e-2, 2e-2], seed=list(range(6)), chunk_size=1)
    out = tmp_path / "dask-ctrlc"
    main_id = threading.main_thread().ident

    def interrupt_after_first_chunk() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and any(out.glob("chunk-*.npz"))):
            time.sleep(0.005)
        signal.pthread_kill(main_id, signal.SIGINT)

    killer = threading.Thread(target=interrupt_after_first_chunk, daemon=True)
    killer.start()
    with pytest.warns(RuntimeWarning, match="sweep interrupted"):
        part = sweep.sweep(model, tasks.delayed_activation(20), backend="dask", client=dask_client, out=out, **kw)
    killer.join()
    assert part.interrupted and 0 < part.done.sum() < 12
    rest = sweep.sweep(model, tasks.delayed_activation(20), out=out, n_threads=2, **kw)
    full = sweep.sweep(model, tasks.delayed_activation(20), n_threads=2, **kw)
    assert_same(full, rest)


def test_dask_missing_gives_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"ghostfast\[dask\]"):
        sweep.sweep(rank_one(N=10), tasks.delayed_activation(4), 2, lr=[1e-2], backend="dask")


# ---------------------------------------------------------------------------------------------------------
# Science: scaled-down Fig 6A and the critical learning rate


@pytest.fixture(scope="module")
def fig6a():
    """Rank-one, T = 20, seeds 0-4, 10 log-spaced lrs in [3e-3, 1e-1], 13 000 epochs (lr ~ 1e-2 needs ~11 000
    epochs to arrive; the spec's rule of thumb is 150 / lr)."""
    lrs = np.geomspace(3e-3, 1e-1, 10)
    return sweep.sweep(rank_one(), tasks.delayed_activation(20), 13_000, lr=lrs, seed=range(5), record_every=10)


def test_fig6a_window_and_wall(fig6a):
    lrs = np.asarray(fig6a.coords["lr"])
    all_learned = (fig6a.final_loss < 0.05).all(axis=1)
    frac_trapped = fig6a.trapped.mean(axis=1)
    print("lr:", np.array2string(lrs, precision=4))
    print("mean final loss:", np.array2string(fig6a.final_loss.mean(axis=1), precision=4))
    print("fraction trapped:", frac_trapped)
    # a window: some lr around 1e-2 where every seed learns
    window = np.flatnonzero(all_learned)
    assert window.size > 0 and np.any((lrs[window] > 5e-3) & (lrs[window] < 3e-2)), fig6a.final_loss
    # a wall: from some lr on every run is trapped (loss ~1 with ~0 gradient); above it the lr stays past the
    # critical rate (>= 50% of seeds trapped, the paper's definition): a seed may creep out of the zone slowly
    # there (gradient 4e-6 and growing at lr 0.031 after 13 000 epochs), which chaos decides
    wall = np.flatnonzero(frac_trapped == 1.0)
    assert wall.size > 0
    first_wall = wall[0]
    assert (frac_trapped[first_wall:] >= 0.5).all()
    assert 1.2e-2 <= lrs[first_wall] <= 4e-2, lrs[first_wall]
    assert lrs[first_wall] > lrs[window].max()
    np.testing.assert_allclose(fig6a.final_loss[first_wall:], 1.0, atol=1e-3)  # L = 1 plateau (output ~0)
    assert not fig6a.diverged.any()


def test_critical_lr_bisection_is_consistent_with_the_grid():
    model = rank_one()
    c = sweep.critical_lr(
        model, tasks.delayed_activation(20), 6000, seeds=range(4), lr_bounds=(5e-3, 1e-1), n_grid=5, n_bisect=3
    )
    print("critical lr (T=20, 6000 epochs, 4 seeds):", c.lr, c.bracket, c.lrs, c.trapped_fraction)
    assert c.found
    lo, hi = c.bracket
    assert lo < c.lr < hi and math.isclose(c.lr, math.sqrt(lo * hi))
    # after 3 bisection steps the bracket is 1/8 of a coarse grid step in log lr
    np.testing.assert_allclose(math.log(hi / lo), math.log(1e-1 / 5e-3) / 4 / 8, rtol=1e-12)
    frac = dict(zip(c.lrs.tolist(), c.trapped_fraction.tolist()))
    assert frac[hi] >= 0.5 and frac[lo] < 0.5
    # after 6000 epochs only lrs >~ 0.02 have arrived at the optimum (arrival ~ 150 / lr epochs), so the
    # crossing sits at or a little above the long-run critical lr (1.5e-2 - 2.1e-2 in the Fig 6A test)
    assert 1.2e-2 < c.lr < 4e-2


def test_critical_lr_scaling_small():
    """T in {5, 10, 20} (the cheap end of the spec's suggested T range; see bench/results_sweep.md for T up to
    40): the critical lr falls steeply with T. Epochs grow with T because runs near lr_c need ~ 1/lr_c epochs
    to reach the optimum (and only then can they overshoot into the no-learning zone)."""
    sc = sweep.critical_lr_scaling(
        rank_one(),
        Ts=[5, 10, 20],
        epochs=lambda T: 400 * T,
        lr_bounds=lambda T: (0.3 * 0.017 * (20 / T) ** 2, 6 * 0.017 * (20 / T) ** 2),
        seeds=range(3),
        n_grid=5,
        n_bisect=2,
    )
    print("Ts", sc.Ts, "lr_c", sc.lr_c, "fit", sc.fit)
    assert all(r.found for r in sc.results)
    assert np.all(np.diff(sc.lr_c) < 0)
    # measured exponent ~ -1.6 over this range (a new experiment, no paper value): assert only a steep fall
    assert sc.fit is not None and -3.0 < sc.fit.exponent < -1.0, sc.fit


def test_power_law_fit_recovers_exact_and_noisy_laws(rng):
    T = np.array([10.0, 20.0, 40.0, 80.0])
    fit = sweep.power_law_fit(T, 9.13 * T**-4)
    np.testing.assert_allclose([fit.exponent, fit.prefactor], [-4.0, 9.13], rtol=1e-12)  # exact data
    assert fit.exponent_se < 1e-12
    # noisy data: the 95% interval must cover the true exponent in about 95% of repeats (binomial check)
    cover = 0
    for _ in range(400):
        y = 2.0 * T**-3 * np.exp(rng.normal(0, 0.1, T.size))
        f = sweep.power_law_fit(T, y)
        cover += f.exponent_ci95[0] <= -3 <= f.exponent_ci95[1]
    assert 0.91 <= cover / 400 <= 0.99  # 400 draws: 95% +- 4 standard deviations (sd = 1.1%)
    with pytest.raises(ValueError, match="y"):
        sweep.power_law_fit([1, 2], [1, -1])


def test_student_t_quantiles_match_tables():
    from ghostfast.sweep import student_t_ppf

    # two-sided 95% critical values from standard t tables (3 decimals)
    for df, t in ((1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042)):
        np.testing.assert_allclose(student_t_ppf(0.975, df), t, atol=6e-4)


# ---------------------------------------------------------------------------------------------------------
# CLI: ghostfast sweep config.toml


def test_cli_sweep_from_toml(tmp_path, capsys):
    from ghostfast import cli

    cfg = tmp_path / "s.toml"
    cfg.write_text(
        textwrap.dedent("""
        [model]
        N = 30
        rank = 1
        x0 = -0.3
        [task]
        factory = "delayed_activation"
        [sweep]
        epochs = 40
        lr = { logspace = [-2, -1, 3] }
        seed = { range = [0, 2] }
        record_every = 5
        out = "OUT"
        [grid]
        T = [5, 7]
    """).replace("OUT", (tmp_path / "ckpt").as_posix())
    )
    saved = tmp_path / "r.npz"
    assert cli.main(["sweep", str(cfg), "--threads", "1", "--save", str(saved), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "12 of 12 runs finished" in text and "fraction trapped" in text
    got = sweep.load(saved)
    want = sweep.sweep(
        rnn.Model(N=30, rank=1, x0=-0.3),
        tasks.delayed_activation,
        40,
        lr=np.logspace(-2, -1, 3),
        seed=range(0, 2),
        record_every=5,
        T=[5, 7],
        n_threads=2,
    )
    assert_same(want, got)
    assert (tmp_path / "ckpt" / "manifest.json").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep]\nepochs = 3\nlr = [0.01]\nbogus = 1\n")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # one line naming the key, no traceback (exit code 2, as argparse)
        cli.main(["sweep", str(bad)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "bogus" in err and len(err.strip().splitlines()) == 1


def test_progress_bar_shows_the_memory_estimate_before_work(capsys):
    """The memory estimate is visible to a user before a long sweep starts: it is the progress bar's label."""
    model = rnn.Model(N=20, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3)
    res = sweep.sweep(model, tasks.delayed_activation(T=5), epochs=10, lr=[1e-2, 2e-2], seed=[0, 1], progress=True)
    err = capsys.readouterr().err
    assert "sweep [4 runs x 10 epochs, results " in err
    assert res.done.all()
