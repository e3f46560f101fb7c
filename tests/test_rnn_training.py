"""ghostfast.rnn training: abrupt learning of the rank-one RNN (paper Fig. 3), exact resume, snapshots,
train_many determinism across thread counts, divergence flags and cancellation."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ghostfast import _core, rnn, tasks

DA20 = tasks.delayed_activation(20)
RANK1 = rnn.Model(N=100, rank=1)


def _drop(loss: np.ndarray) -> tuple[int, int]:
    """(last epoch with loss > 0.99 before the first epoch below 0.1, that first epoch) or (-1, -1)."""
    low = np.nonzero(loss < 0.1)[0]
    if low.size == 0:
        return -1, -1
    high = np.nonzero(loss[: low[0]] > 0.99)[0]
    return (int(high[-1]) if high.size else -1), int(low[0])


def test_rank_one_plateau_then_abrupt_drop_scales_with_lr():
    """Spec §3.1 / Fig 3: a long plateau at L ~ 0.9999 with a tiny gradient, then an abrupt drop. Gradient
    descent moves the parameters by ~lr x gradient per epoch, so the drop epoch scales like 1/lr.
    Measured (seed 0): lr x drop epoch = 100.7, 100.7, 101.1 for lr = 0.003, 0.005, 0.01 (spread < 1%);
    the 0.99 -> 0.1 fall takes 1-2% of the plateau length."""
    lrs = (0.003, 0.005, 0.01)
    params = rnn.init_params(RANK1, 0)
    jobs = [rnn.TrainJob(RANK1, DA20, lr, int(130 / lr), params) for lr in lrs]
    results = rnn.train_many(jobs)
    products = []
    for lr, res in zip(lrs, results):
        last_high, first_low = _drop(res.loss)
        assert first_low > 0, f"lr={lr}: the loss never fell below 0.1"
        # plateau: the loss stays above 0.99 for all but the last few % of the epochs before the drop
        assert last_high > 0.9 * first_low
        assert np.all(res.loss[:last_high] > 0.99)
        assert np.max(res.grad_norm[: first_low // 2]) < 1e-2  # near-zero gradient on the plateau
        assert first_low - last_high < 0.05 * first_low  # the fall is abrupt
        assert res.loss[-1] < 0.05  # below the critical rate: converged
        products.append(lr * first_low)
    products = np.array(products)
    # 1/lr scaling; tolerance +-10% (measured spread < 1%, the margin covers libm differences across builds)
    np.testing.assert_allclose(products, products.mean(), rtol=0.10)


def test_rank_one_above_critical_lr_is_not_stable():
    """lr = 0.02 is above the critical rate (~0.015): after the drop the runs do not settle at a low loss;
    measured: seeds 0 and 1 fall into the no-learning zone (L -> 1 with zero gradient), seed 40 oscillates.
    Robust claim tested: at least one of the three seeds ends trapped at L ~ 1 with a vanishing gradient
    after having dropped, while lr = 0.01 converges for all of them."""
    trapped = 0
    for seed in (0, 1, 40):
        params = rnn.init_params(RANK1, seed)
        hi, lo = rnn.train_many(
            [rnn.TrainJob(RANK1, DA20, 0.02, 7500, params), rnn.TrainJob(RANK1, DA20, 0.01, 12500, params)]
        )
        assert lo.loss[-1] < 0.05
        assert np.min(hi.loss) < 0.5  # it did reach the ghost region once
        if hi.loss[-1] > 0.99 and hi.grad_norm[-1] < 1e-6:
            trapped += 1
    assert trapped >= 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_from_state_is_bit_identical(optimizer):
    model = rnn.Model(
        N=12,
        rank=2,
        readout="latent_linear",
        output="sigmoid",
        read="before",
        n_in=1,
        noise_std=0.05,
        x0="random",
        x0_std=0.3,
    )
    task = tasks.dmts(2, 3, 3)
    lr = 0.05 if optimizer == "sgd" else 0.01
    one = rnn.train(model, task, lr, 1000, optimizer=optimizer, seed=11, snapshot_epochs=(0, 500, 999, 1000))
    first = rnn.train(model, task, lr, 500, optimizer=optimizer, seed=11)
    second = rnn.train(model, task, lr, 500, optimizer=optimizer, seed=99, state=first.state)  # seed unused
    np.testing.assert_array_equal(np.concatenate([first.loss, second.loss]), one.loss)
    np.testing.assert_array_equal(np.concatenate([first.grad_norm, second.grad_norm]), one.grad_norm)
    np.testing.assert_array_equal(second.epochs, np.arange(500, 1000))
    for g in model.groups:
        np.testing.assert_array_equal(second.params[g], one.params[g])
        if optimizer == "adam":
            np.testing.assert_array_equal(second.state.adam_m[g], one.state.adam_m[g])
            np.testing.assert_array_equal(second.state.adam_v[g], one.state.adam_v[g])
    np.testing.assert_array_equal(second.state.rng, one.state.rng)
    assert second.state.epoch == one.state.epoch == 1000
    assert one.loss[-1] < one.loss[0]  # it trained
    # snapshots are the parameters at the START of the epoch
    for g in model.groups:
        np.testing.assert_array_equal(one.snapshots[500][g], first.params[g])
        np.testing.assert_array_equal(one.snapshots[1000][g], one.params[g])
    assert sorted(one.snapshots) == [0, 500, 999, 1000]


def test_record_every_and_group_norms():
    model = rnn.Model(N=20, rank=1)
    res = rnn.train(model, tasks.delayed_activation(5), 0.01, 95, seed=0, record_every=10)
    np.testing.assert_array_equal(res.epochs, np.arange(0, 95, 10))
    full = rnn.train(model, tasks.delayed_activation(5), 0.01, 95, seed=0)
    np.testing.assert_array_equal(res.loss, full.loss[::10])
    # grad_norm is the L2 norm over the trainable groups (c frozen here)
    trainable = np.sqrt(sum(full.grad_norm_groups[g] ** 2 for g in ("m", "n", "b")))
    np.testing.assert_allclose(full.grad_norm, trainable, rtol=1e-14)
    # weight_norm = ||m n||_F; the first record uses the initial params
    p0 = rnn.init_params(model, 0)
    np.testing.assert_allclose(full.weight_norm[0], np.linalg.norm(p0["m"] @ p0["n"]), rtol=1e-13)
    # accuracy at the init: y ~ 0 everywhere, so exactly the first half (target 0) is right
    assert full.accuracy[0] == 0.5


def test_frozen_groups_do_not_move():
    model = rnn.Model(N=10, rank=1, trainable={"n"})
    p0 = rnn.init_params(model, 1, scheme={"b": ("normal", 0.3)})
    res = rnn.train(model, tasks.delayed_activation(5), 0.5, 20, params=p0, seed=0)
    for g in ("m", "b", "c"):
        np.testing.assert_array_equal(res.params[g], p0[g])
    assert not np.array_equal(res.params["n"], p0["n"])


def test_adam_matches_pytorch_formula():
    """Two Adam steps by hand (PyTorch's formula) from the engine's own gradients."""
    model = rnn.Model(N=8, rank="full", readout="linear")
    task = tasks.delayed_activation(4)
    p = rnn.init_params(model, 2)
    lr, b1, b2, eps = 0.01, 0.8, 0.9, 1e-6
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    cur = {k: x.copy() for k, x in p.items()}
    for step in (1, 2):
        _, g = rnn.loss_and_grad(model, cur, task)
        for k in cur:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
            denom = np.sqrt(v[k]) / np.sqrt(1 - b2**step) + eps
            cur[k] = cur[k] - (lr / (1 - b1**step)) * (m[k] / denom)
    res = rnn.train(model, task, lr, 2, optimizer="adam", params=p, betas=(b1, b2), eps=eps, seed=0)
    for k in cur:  # same operations in the same order: agreement to rounding
        np.testing.assert_allclose(res.params[k], cur[k], rtol=1e-13, atol=1e-15)


def _mixed_jobs() -> list[rnn.TrainJob]:
    rank1 = rnn.Model(N=30, rank=1)
    full = rnn.Model(
        N=16,
        rank="full",
        readout="linear",
        output="tanh",
        read="before",
        n_in=1,
        noise_std=0.02,
        x0="random",
        x0_std=0.1,
    )
    jobs = []
    for i, lr in enumerate((0.003, 0.01, 0.03, 0.1)):
        jobs.append(rnn.TrainJob(rank1, DA20, lr, 400 + 100 * i, rnn.init_params(rank1, i)))
        jobs.append(
            rnn.TrainJob(
                full,
                tasks.dcdt(2, 3, 3, 2),
                lr,
                300,
                rnn.init_params(full, i),
                key0=5,
                key1=i,
                stream=i,
                optimizer="adam" if i % 2 else "sgd",
            )
        )
    return jobs


def test_train_many_identical_for_any_thread_count():
    jobs = _mixed_jobs()
    one = rnn.train_many(jobs, n_threads=1)
    two = rnn.train_many(jobs, n_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.grad_norm, b.grad_norm)
        for g in a.params:
            np.testing.assert_array_equal(a.params[g], b.params[g])
    # and each equals the job run alone
    alone = rnn.train_many([jobs[3]], n_threads=1)[0]
    np.testing.assert_array_equal(alone.loss, two[3].loss)


def test_train_many_flags_divergence_and_completes_the_others():
    model = rnn.Model(N=10, rank="full", readout="linear", output="identity")
    task = tasks.delayed_activation(5)
    p = rnn.init_params(model, 0)
    jobs = [
        rnn.TrainJob(model, task, 0.01, 50, p),
        rnn.TrainJob(model, task, 1e100, 50, p),
        rnn.TrainJob(model, task, 0.02, 50, p),
    ]
    ok1, bad, ok2 = rnn.train_many(jobs, n_threads=2)
    assert not ok1.diverged and not ok2.diverged and ok1.diverged_epoch == -1
    assert bad.diverged and 0 < bad.diverged_epoch < 50
    assert not np.isfinite(bad.loss[bad.diverged_epoch])
    assert np.all(np.isnan(bad.loss[bad.diverged_epoch + 1 :]))
    assert np.all(np.isfinite(bad.loss[: bad.diverged_epoch]))
    assert all(np.all(np.isfinite(v)) for v in bad.params.values())  # the last finite parameters
    assert np.all(np.isfinite(ok1.loss)) and np.all(np.isfinite(ok2.loss))


def test_train_many_cancel():
    jobs = _mixed_jobs()
    control = _core.Control()
    control.cancel()
    assert rnn.train_many(jobs, n_threads=2, control=control) == [None] * len(jobs)
    assert control.done == 0
    # cancelling from another thread while long jobs run: the unfinished ones come back as None
    control = _core.Control()
    long_job = rnn.TrainJob(RANK1, DA20, 0.01, 10**8, rnn.init_params(RANK1, 0), record_every=10**6)
    short = rnn.TrainJob(RANK1, DA20, 0.01, 10, rnn.init_params(RANK1, 0))
    timer = threading.Timer(0.3, control.cancel)
    timer.start()
    out = rnn.train_many([short, long_job], n_threads=1, control=control)
    timer.join()
    assert out[1] is None and out[0] is not None and out[0].loss.shape == (10,)
    assert control.done == 1


def test_train_many_validates_before_running():
    model = rnn.Model(N=5)
    task = tasks.delayed_activation(3)
    good = rnn.TrainJob(model, task, 0.1, 3, rnn.init_params(model, 0))
    bad = rnn.TrainJob(model, task, 0.1, 3, {**rnn.init_params(model, 0), "b": np.full(5, np.inf)})
    with pytest.raises(ValueError, match=r"jobs\[1\]\.params\['b'\]"):
        rnn.train_many([good, bad])
    with pytest.raises(TypeError, match=r"jobs\[0\]"):
        rnn.train_many(["job"])
    with pytest.raises(ValueError, match=r"jobs\[0\]\.record_every"):
        rnn.train_many([rnn.TrainJob(model, task, 0.1, 3, good.params, record_every=0)])


def test_fixed_point_count_matches_numpy_flow_map():
    """fixed_point_count = sign changes of f(kappa) = -kappa + n.tanh(m kappa + b) on the grid, evaluated
    with the parameters of each recorded epoch (= the snapshot at its start)."""
    grid = np.linspace(-15, 15, 1000)
    epochs = list(range(0, 12000, 1000))
    res = rnn.train(
        RANK1,
        DA20,
        0.01,
        12000,
        seed=0,
        params=rnn.init_params(RANK1, 0),
        record_every=1000,
        fixed_point_grid=grid,
        snapshot_epochs=epochs,
    )
    assert res.fixed_point_count.shape == (12,)
    for i, e in enumerate(epochs):
        p = res.snapshots[e]
        f = -grid + np.tanh(np.outer(grid, p["m"][:, 0]) + p["b"]) @ p["n"][0]
        assert res.fixed_point_count[i] == np.count_nonzero(np.diff(f > 0))
    # paper Fig. 3: a single fixed point at the init, and the count stays 1 through the abrupt drop (seed 0)
    np.testing.assert_array_equal(res.fixed_point_count, 1.0)
    assert res.loss[-1] < 0.1  # the drop happened inside the window
    assert rnn.train(RANK1, DA20, 0.01, 3, seed=0).fixed_point_count is None


def test_readout_l1_cap_rescales_before_each_forward():
    """Fig 8C: before each forward pass w_out and b_out are divided by ||w_out||_1 / cap (in place)."""
    model = rnn.Model(N=10, rank="full", readout="linear", output="sigmoid", read="before", n_in=1, readout_l1_cap=0.5)
    task = tasks.dmts(2, 2, 2)
    p0 = rnn.init_params(model, 3)
    scale = np.abs(p0["w_out"]).sum() / 0.5
    capped = {**p0, "w_out": p0["w_out"] / scale, "b_out": p0["b_out"] / scale}
    res = rnn.train(model, task, 0.1, 3, params=p0, seed=0, snapshot_epochs=(0, 1))
    uncapped = rnn.Model(N=10, rank="full", readout="linear", output="sigmoid", read="before", n_in=1)
    loss0, grads0 = rnn.loss_and_grad(uncapped, capped, task)
    assert res.loss[0] == loss0  # the first forward used the rescaled parameters
    for g in model.groups:  # snapshot = start of epoch 1 = capped params after one SGD step
        np.testing.assert_array_equal(res.snapshots[1][g], capped[g] - 0.1 * grads0[g])
        np.testing.assert_array_equal(res.snapshots[0][g], p0[g])  # taken before the rescaling
    assert np.abs(res.snapshots[1]["w_out"]).sum() != pytest.approx(0.5, abs=1e-9)  # moved by the step


def test_torch_seed_init_gives_the_papers_network():
    """scheme='torch' reproduces torch.manual_seed(40); m, n = randn(N)/sqrt(N). Spec §3.1 [R] values for seed 40:
    kappa_0 = -0.2967 and |grad|_0 = 9.08e-4; Fig 3C/D (lr 0.02): plateau, then the abrupt drop inside the paper's
    inset window (epochs 5000-5200; measured here: last L > 0.99 at 5031, first L < 0.5 at 5051), with a single
    fixed point of the latent flow throughout (Fig 3 fixed-point test: max count 1)."""
    params = rnn.init_params(RANK1, 40, scheme="torch")
    assert abs(-0.3 * params["n"].sum() - (-0.2967)) < 1e-4
    _, grads = rnn.loss_and_grad(RANK1, params, DA20)
    gnorm = np.sqrt(sum(float(np.sum(grads[g] ** 2)) for g in ("m", "n", "b")))
    assert abs(gnorm - 9.08e-4) < 0.01e-4
    res = rnn.train(RANK1, DA20, 0.02, 5300, params=params, seed=0)
    first_drop = int(np.argmax(res.loss < 0.5))
    assert 5000 <= first_drop <= 5200
    assert np.all(res.loss[:4900] > 0.99)
    # the flow map every 25 epochs (every epoch in the paper; this keeps the test fast)
    fp = rnn.train(
        RANK1, DA20, 0.02, 5300, params=params, seed=0, record_every=25, fixed_point_grid=np.linspace(-15, 15, 1000)
    )
    np.testing.assert_array_equal(fp.loss, res.loss[::25])
    assert np.max(fp.fixed_point_count) == 1
    with pytest.raises(ValueError, match="torch"):
        rnn.init_params(rnn.Model(N=100, rank=2), 0, scheme="torch")


def test_torch_seed_init_matches_pytorch():
    torch = pytest.importorskip("torch")
    for seed in (0, 40, 2**31 + 5):
        params = rnn.init_params(rnn.Model(N=100, rank=1), seed, scheme="torch")
        torch.manual_seed(seed)
        m = (torch.randn(100) / np.sqrt(100)).numpy()
        n = (torch.randn(100) / np.sqrt(100)).numpy()
        # PyTorch evaluates log/sin/cos with SLEEF in float32, we round correctly: <= 1-2 float32 ulp apart
        np.testing.assert_allclose(params["m"][:, 0], m, rtol=0, atol=4e-8)
        np.testing.assert_allclose(params["n"][0], n, rtol=0, atol=4e-8)


def test_torch_seed_init_of_the_fig4_task_network():
    """scheme='torch' for the rank-2 task model of Fig 4A-D draws in the script's order (nn.Linear(1, N) default
    init, randn S_l and S_r, their normal_ re-init, nn.Linear(2, 1), xavier_uniform_ of both weights, normal_
    bias). The uniforms are exact, so these PyTorch 2.13 values for seed 0 pin the order without torch."""
    model = rnn.Model(N=100, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1)
    p = rnn.init_params(model, 0, scheme="torch")
    assert {k: v.shape for k, v in p.items()} == {
        "m": (100, 2),
        "n": (2, 100),
        "b": (100,),
        "w_in": (100, 1),
        "w_out": (1, 2),
        "b_out": (1,),
    }
    np.testing.assert_array_equal(p["b_out"], np.float32(PAPER_FIG4_SEED0["b_out"]))
    np.testing.assert_array_equal(p["w_out"][0], np.float32(PAPER_FIG4_SEED0["w_out"]))
    np.testing.assert_array_equal(p["w_in"][:3, 0], np.float32(PAPER_FIG4_SEED0["w_in[:3]"]))
    # scales of the paper's init: n ~ N(0, 1/N), m ~ N(0, 1), b ~ N(0, 0.1^2), w_in ~ U(+-sqrt(6/101))
    assert 0.8 < p["m"].std() < 1.2 and 0.08 < p["n"].std() < 0.12 and 0.08 < p["b"].std() < 0.12
    assert np.abs(p["w_in"]).max() <= np.sqrt(6 / 101)
    with pytest.raises(ValueError, match="rank-K task model"):
        rnn.init_params(rnn.Model(N=100, rank="full", readout="linear", n_in=1), 0, scheme="torch")


# PyTorch 2.13 (CPU) values of the Fig 4A-D script's init for seed 0 (the exact uniforms)
PAPER_FIG4_SEED0 = {
    "b_out": [-0.08288203179836273],
    "w_out": [-0.016254184767603874, -0.5810576677322388],
    "w_in[:3]": [-0.22949442267417908, 0.09553741663694382, 0.17977489531040192],
}


def test_torch_seed_init_of_the_fig4_task_network_matches_pytorch():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = rnn.Model(N=100, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1)
    for seed in (0, 40, 2**31 + 5):
        p = rnn.init_params(model, seed, scheme="torch")
        torch.manual_seed(seed)  # the paper's run_dcdt.py, in its order
        w_in = nn.Linear(1, 100, bias=True)
        s_l = nn.Parameter(torch.randn(100, 2))
        s_r = nn.Parameter(torch.randn(2, 100))
        nn.init.normal_(s_l, 0.0, 1.0 / np.sqrt(100))
        nn.init.normal_(s_r, 0.0, 1.0)
        w_out = nn.Linear(2, 1, bias=True)
        nn.init.xavier_uniform_(w_in.weight)
        nn.init.xavier_uniform_(w_out.weight)
        nn.init.normal_(w_in.bias, 0.0, 0.1)
        ref = {
            "m": s_r.detach().numpy().T,
            "n": s_l.detach().numpy().T,
            "b": w_in.bias.detach().numpy(),
            "w_in": w_in.weight.detach().numpy(),
            "w_out": w_out.weight.detach().numpy(),
            "b_out": w_out.bias.detach().numpy(),
        }
        for g, v in ref.items():
            ulps = np.abs(p[g] - v.astype(np.float64)) / np.spacing(np.abs(v)).astype(np.float64)
            # uniforms exact; normals: PyTorch's SLEEF log/sin/cos vs correctly rounded, times std: <= 3 ulp
            assert ulps.max() <= (0 if g in ("w_in", "w_out", "b_out") else 3), (seed, g, ulps.max())


def test_the_papers_fig4_network_learns_dcdt_with_the_papers_sgd():
    """With the paper's optimizer (SGD lr 1e-3) whether the rank-2 DCDT network leaves the zero-output plateau
    (L = 10/22) depends on its initial weights: the paper's seed-0 network does (its script's curve: 0.474 ->
    0.196 at epoch 1000 with 10 trials per class; here 0.472 -> 0.198), numpy's seed 0 does not."""
    model = rnn.Model(
        N=100, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1, x0="random", x0_std=0.3
    )
    task = tasks.dcdt(*tasks.dcdt_config("A"), samples_per_class=10)
    paper = rnn.train(model, task, 1e-3, 1000, params=rnn.init_params(model, 0, scheme="torch"), seed=0)
    numpy_seed0 = rnn.train(model, task, 1e-3, 1000, params=rnn.init_params(model, 0), seed=0)
    assert abs(paper.loss[0] - 0.474) < 0.01 and np.median(paper.loss[-100:]) < 0.25
    assert np.median(numpy_seed0.loss[-100:]) > 0.44


def test_train_result_to_xarray():
    pytest.importorskip("xarray")
    res = rnn.train(rnn.Model(N=10), tasks.delayed_activation(4), 0.01, 12, seed=3, record_every=4)
    ds = res.to_xarray()
    np.testing.assert_array_equal(ds["epoch"].values, [0, 4, 8])
    np.testing.assert_array_equal(ds["loss"].values, res.loss)
    np.testing.assert_array_equal(ds["grad_norm_n"].values, res.grad_norm_groups["n"])
    assert ds.attrs["seed_entropy"] == str(res.seed_entropy) and ds.attrs["diverged"] == 0
