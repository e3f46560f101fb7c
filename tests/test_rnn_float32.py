"""float32 models (``Model(dtype="float32")``): gradients against the float64 engine and against central finite
differences, the forward pass against the numpy reference, training against float64 and (when installed)
PyTorch float32, determinism (threads, resume, train_many), sweeps with a dtype axis, and validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_rnn import VARIANTS, _random_params, reference_forward

from ghostfast import rnn, sweep, tasks


def _as_f32(model: rnn.Model) -> rnn.Model:
    return dataclasses.replace(model, dtype="float32")


def _rounded(params: dict) -> dict:
    """float32 values held in float64 arrays: the same network for both precisions."""
    return {g: np.asarray(v, dtype=np.float32).astype(np.float64) for g, v in params.items()}


@pytest.mark.parametrize("name,kwargs,make_task", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_float32_gradient_matches_float64_gradient(name, kwargs, make_task, rng):
    model = rnn.Model(**kwargs)
    task = make_task()
    params = _rounded(_random_params(model, rng))
    loss64, g64 = rnn.loss_and_grad(model, params, task, seed=123)
    loss32, g32 = rnn.loss_and_grad(_as_f32(model), params, task, seed=123)  # the same noise, rounded to float32
    assert all(g32[g].dtype == np.float32 and g32[g].shape == g64[g].shape for g in model.groups)
    a = np.concatenate([g64[g].ravel() for g in model.groups])
    b = np.concatenate([g32[g].ravel() for g in model.groups]).astype(np.float64)
    rel = np.linalg.norm(b - a) / np.linalg.norm(a)
    print(f"{name}: float32 vs float64 gradient {rel:.2e}, loss {abs(loss32 - loss64) / abs(loss64):.2e}")
    # float32 rounding (2^-24 = 6e-8 per operation) over a few hundred operations per gradient entry
    assert np.linalg.norm(a) > 1e-3 and rel < 3e-5
    assert abs(loss32 - loss64) <= 1e-5 * abs(loss64)


@pytest.mark.parametrize(
    "name", ["rank1_latent", "full_linear_tanh_dcdt_before", "rank2_latent_linear_dmts_noise", "rank17_linear_blocked"]
)
def test_float32_gradient_matches_central_finite_differences(name, rng):
    """Central differences of the float32 loss itself (the loss is summed in float64 from float32 outputs):
    step 3e-3 keeps truncation (~h^2) and rounding (~6e-8 |L| / h) both near 1e-5 relative."""
    _, kwargs, make_task = next(v for v in VARIANTS if v[0] == name)
    model = _as_f32(rnn.Model(**kwargs))
    task = make_task()
    params = rnn.check_params(model, _random_params(model, rng))
    _, grads = rnn.loss_and_grad(model, params, task, seed=7)
    analytic, numeric = [], []
    for g in model.groups:
        flat = params[g].reshape(-1)
        for i in range(flat.size):
            h = np.float32(3e-3 * max(1.0, abs(float(flat[i]))))
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[g].reshape(-1)[i] += h
            minus[g].reshape(-1)[i] -= h
            step = float(plus[g].reshape(-1)[i]) - float(minus[g].reshape(-1)[i])  # the float32 step taken
            lp, _ = rnn.loss_and_grad(model, plus, task, seed=7)
            lm, _ = rnn.loss_and_grad(model, minus, task, seed=7)
            numeric.append((lp - lm) / step)
            analytic.append(float(grads[g].reshape(-1)[i]))
    analytic, numeric = np.array(analytic), np.array(numeric)
    rel = np.linalg.norm(numeric - analytic) / np.linalg.norm(analytic)
    print(f"{name}: float32 relative FD error {rel:.2e}")
    assert np.linalg.norm(analytic) > 1e-3 and rel < 1e-3


@pytest.mark.parametrize(
    "name,kwargs,make_task",
    [v for v in VARIANTS if "noise" not in v[0]],
    ids=[v[0] for v in VARIANTS if "noise" not in v[0]],
)
def test_float32_forward_matches_numpy_reference(name, kwargs, make_task, rng):
    model = _as_f32(rnn.Model(**kwargs))
    task = make_task()
    params = rnn.check_params(model, _random_params(model, rng))
    res = rnn.forward(model, params, task)
    assert res.outputs.dtype == np.float32 and res.states.dtype == np.float32
    x0 = np.broadcast_to(np.asarray(model.x0, dtype=np.float64), (task.n_trials, model.N))
    ys, xs, loss = reference_forward(model, {g: v.astype(np.float64) for g, v in params.items()}, task, x0)
    # the float64 reference of the same (float32) network: float32 rounding only
    np.testing.assert_allclose(res.states, xs, rtol=0, atol=2e-6)
    np.testing.assert_allclose(res.outputs, ys, rtol=0, atol=2e-6)
    np.testing.assert_allclose(res.loss, loss, rtol=2e-5)


RANK1 = rnn.Model(N=100)
DA = tasks.delayed_activation(20)


def test_float32_training_tracks_float64_through_the_drop():
    """The rank-one network of Fig. 3 (seed 40): the plateau and the abrupt drop happen at the same epoch in
    both precisions (the drop is the dynamics', not the rounding's)."""
    params = _rounded(rnn.init_params(RANK1, 40))
    r64 = rnn.train(RANK1, DA, 0.02, 6000, params=params, seed=0)
    r32 = rnn.train(_as_f32(RANK1), DA, 0.02, 6000, params=params, seed=0)
    assert all(v.dtype == np.float32 for v in r32.params.values())
    assert all(v.dtype == np.float32 for v in r32.state.params.values())
    assert r32.loss.dtype == np.float64  # histories stay float64
    d64, d32 = (int(np.argmax(r.loss < 0.5 * r.loss[0])) for r in (r64, r32))
    assert d64 > 1000, "no plateau: the test would not test the drop"
    assert abs(d32 - d64) <= 0.01 * d64
    np.testing.assert_allclose(r32.loss[:1000], r64.loss[:1000], rtol=1e-4)
    assert not np.array_equal(r32.loss, r64.loss)  # really trained in float32


def test_float32_is_deterministic_across_threads_resume_and_train_many():
    model = rnn.Model(
        N=20, rank=2, readout="latent_linear", read="before", n_in=1, noise_std=0.05, x0="random", x0_std=0.1
    )
    model32 = _as_f32(model)
    task = tasks.dmts(2, 3, 3, samples_per_class=20)  # 80 trials: five chunks of 16
    p = rnn.init_params(model32, 1)
    one = rnn.train(model32, task, 1e-3, 30, params=p, seed=5, optimizer="adam", n_threads=1)
    two = rnn.train(model32, task, 1e-3, 30, params=p, seed=5, optimizer="adam", n_threads=2)
    np.testing.assert_array_equal(one.loss, two.loss)
    for g in p:
        np.testing.assert_array_equal(one.params[g], two.params[g])
    first = rnn.train(model32, task, 1e-3, 12, params=p, seed=5, optimizer="adam")
    rest = rnn.train(model32, task, 1e-3, 18, seed=5, optimizer="adam", state=first.state)
    np.testing.assert_array_equal(np.concatenate([first.loss, rest.loss]), one.loss)
    for g in p:
        np.testing.assert_array_equal(rest.params[g], one.params[g])
    jobs = [
        rnn.TrainJob(model32 if i % 2 else model, task, 1e-3 * (i + 1), 10, p, optimizer="adam", stream=i)
        for i in range(4)
    ]
    a, b = rnn.train_many(jobs, n_threads=1), rnn.train_many(jobs, n_threads=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.loss, y.loss)
    assert a[1].params["m"].dtype == np.float32 and a[0].params["m"].dtype == np.float64


def test_sweep_takes_dtype_as_a_grid_axis():
    res = sweep.sweep(RANK1, DA, 200, lr=[0.01, 0.02], seed=[0], dtype=["float64", "float32"], keep_params=True)
    assert "dtype" in res.coords and list(res.coords["dtype"]) == ["float64", "float32"]
    i32 = list(res.coords["dtype"]).index("float32")
    loss = np.moveaxis(res.loss, res.dims.index("dtype"), 0)
    alone = rnn.train(_as_f32(RANK1), DA, 0.02, 200, params=rnn.init_params(_as_f32(RANK1), 0), seed=0)
    hist = loss[i32].reshape(-1, loss.shape[-1])
    assert any(np.array_equal(h, alone.loss) for h in hist)
    assert not np.array_equal(loss[0], loss[1])


def test_float32_validation():
    with pytest.raises(ValueError, match="dtype"):
        rnn.Model(N=4, dtype="float16")
    model = rnn.Model(N=4, dtype="float32")
    p = rnn.init_params(model, 0)
    assert all(v.dtype == np.float32 for v in p.values())
    bad = {**p, "m": np.full((4, 1), 1e39)}
    with pytest.raises(ValueError, match=r"params\['m'\] overflows float32"):
        rnn.loss_and_grad(model, bad, tasks.delayed_activation(3))


def test_engine_tanh_float32_is_accurate_to_a_few_ulp(rng):
    from ghostfast import _core

    x = np.concatenate([rng.uniform(-12, 12, 100_003), np.linspace(-1e-3, 1e-3, 1001)]).astype(np.float32)
    got = _core.rnn_tanh(x)
    assert got.dtype == np.float32
    ref = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - ref) / ulp) <= 4


def test_float32_matches_pytorch_float32():
    """The rank-one network trained in PyTorch float32 as the paper writes it (autograd, torch.optim.SGD):
    the same histories to float32 rounding (different summation orders) over the plateau."""
    torch = pytest.importorskip("torch")
    model = _as_f32(RANK1)
    p = rnn.init_params(model, 40)
    ours = rnn.train(model, DA, 0.02, 300, params=p, seed=0)
    m = torch.tensor(p["m"][:, 0], requires_grad=True)
    n = torch.tensor(p["n"][0], requires_grad=True)
    b = torch.tensor(p["b"], requires_grad=True)
    c = float(p["c"])
    targets = torch.tensor(DA.targets[0, :, 0], dtype=torch.float32)
    mask = torch.tensor(DA.mask[0, :, 0], dtype=torch.float32)
    opt = torch.optim.SGD([m, n, b], lr=0.02)
    losses = []
    for _ in range(300):
        x = torch.full((model.N,), float(model.x0))
        ys = []
        for _t in range(DA.n_steps):
            x = (1 - model.alpha) * x + model.alpha * torch.tanh(m * (n @ x) + b)
            ys.append(torch.sigmoid(c * (n @ x - model.threshold)))
        loss = DA.loss_scale * torch.sum(mask * (torch.stack(ys) - targets) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    np.testing.assert_allclose(ours.loss, losses, rtol=1e-4)


def test_analysis_takes_float32_parameters():
    """The analysis computes in float64; a float32 model's parameters go in as they come out of training."""
    from ghostfast import analysis

    res = rnn.train(_as_f32(RANK1), DA, 0.02, 50, params=rnn.init_params(_as_f32(RANK1), 40), seed=0)
    p32 = res.params
    p64 = {g: v.astype(np.float64) for g, v in p32.items()}
    grid = np.linspace(-3, 3, 201)
    np.testing.assert_array_equal(analysis.flow_map_1d(p32, grid), analysis.flow_map_1d(p64, grid))
    a, b = analysis.fixed_points_1d(p32, grid), analysis.fixed_points_1d(p64, grid)
    np.testing.assert_array_equal(np.asarray(a.kappa), np.asarray(b.kappa))
    model2 = _as_f32(rnn.Model(N=30, rank=2, readout="latent_linear", read="before", n_in=1))
    q32 = rnn.init_params(model2, 3)
    r32 = analysis.latent_reduction(q32)
    r64 = analysis.latent_reduction({g: v.astype(np.float64) for g, v in q32.items()})
    np.testing.assert_array_equal(analysis.latent_flow(r32, [0.1, -0.2]), analysis.latent_flow(r64, [0.1, -0.2]))
