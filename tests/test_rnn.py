"""ghostfast.rnn: forward pass vs a pure-numpy reference, BPTT vs central finite differences for every
parameter group of every model variant, the Fig. 3 network's initial loss/gradient, and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from ghostfast import rnn, tasks
from ghostfast._seeding import seed_key

# ---------------------------------------------------------------------------------------------------------
# A small pure-numpy reference of the model (column-vector convention of ghostfast.rnn), deterministic models
# only (the stochastic draws are checked through the engine's own consistency in the FD test).


def _g(output: str, a: np.ndarray) -> np.ndarray:
    return {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh, "identity": lambda z: z}[output](a)


def reference_forward(model: rnn.Model, p: dict, task: tasks.Task, x0: np.ndarray):
    """Outputs [B, S, O], states [B, S+1, N], loss; x0: (B, N) initial states."""
    W = p["W"] if model.rank == "full" else p["m"] @ p["n"]
    B, S = task.n_trials, task.n_steps
    xs = np.zeros((B, S + 1, model.N))
    ys = np.zeros((B, S, model.n_out))

    def read(x):
        if model.readout == "latent":
            return 1.0 / (1.0 + np.exp(-p["c"] * ((p["n"][0] @ x) - model.threshold)))[None]
        z = p["w_out"] @ (p["n"] @ x if model.readout == "latent_linear" else x) + p["b_out"]
        return _g(model.output, z)

    for b in range(B):
        x = x0[b].copy()
        xs[b, 0] = x
        for t in range(S):
            if model.read == "before":
                ys[b, t] = read(x)
            pre = W @ x + p["b"]
            if model.n_in:
                pre = pre + p["w_in"] @ task.inputs[b, t]
            x = (1 - model.alpha) * x + model.alpha * np.tanh(pre)
            xs[b, t + 1] = x
            if model.read == "after":
                ys[b, t] = read(x)
    loss = task.loss_scale * np.sum(task.mask * (ys - task.targets) ** 2)
    return ys, xs, loss


def _random_params(model: rnn.Model, rng: np.random.Generator, scale: float = 1.0) -> dict:
    """Parameters away from the plateau (O(1) gradients) so the FD check has a strong signal."""
    p = {}
    for g, shape in rnn.param_shapes(model).items():
        std = scale / np.sqrt(model.N) if g in ("m", "n", "W", "w_out") else 0.5 * scale
        p[g] = rng.standard_normal(shape) * std
    if "m" in p:
        p["m"] *= 3.0
    if "c" in p:
        p["c"] = np.array(2.5)
    return p


# The variants under test: (id, model kwargs, task factory)
_DA = lambda: tasks.delayed_activation(6)  # noqa: E731
_DCDT = lambda: tasks.dcdt(2, 3, 3, samples_per_class=1)  # noqa: E731
_DMTS = lambda: tasks.dmts(2, 3, 3)  # noqa: E731
VARIANTS = [
    ("rank1_latent", dict(N=9, rank=1), _DA),
    ("rank1_latent_trainc", dict(N=9, rank=1, train_confidence=True, confidence=3.0, threshold=0.3), _DA),
    ("rank3_latent", dict(N=10, rank=3), _DA),
    ("rank3_linear_sigmoid", dict(N=10, rank=3, readout="linear"), _DA),
    ("full_linear_sigmoid", dict(N=8, rank="full", readout="linear"), _DA),
    (
        "full_linear_tanh_dcdt_before",
        dict(N=8, rank="full", readout="linear", output="tanh", read="before", n_in=1),
        _DCDT,
    ),
    ("full_linear_identity_dmts", dict(N=8, rank="full", readout="linear", output="identity", n_in=1), _DMTS),
    (
        "rank2_latent_linear_dcdt",
        dict(N=10, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1),
        _DCDT,
    ),
    (
        "rank2_latent_linear_dmts_noise",
        dict(
            N=10,
            rank=2,
            readout="latent_linear",
            output="sigmoid",
            read="before",
            n_in=1,
            noise_std=0.1,
            x0="random",
            x0_std=0.3,
        ),
        _DMTS,
    ),
    (
        "full_dmts_noise_random_x0",
        dict(
            N=8,
            rank="full",
            readout="linear",
            output="sigmoid",
            read="before",
            n_in=1,
            noise_std=0.05,
            x0="random",
            x0_std=0.1,
        ),
        _DMTS,
    ),
    (
        "rank3_linear_tanh_x0_array",
        dict(N=10, rank=3, readout="linear", output="tanh", x0=np.linspace(-0.5, 0.5, 10)),
        _DA,
    ),
    # batches larger than the engine's 16-trial chunks (two chunks, the second partial)
    (
        "full_dcdt_18_trials_noise",
        dict(
            N=6,
            rank="full",
            readout="linear",
            output="tanh",
            read="before",
            n_in=1,
            noise_std=0.05,
            x0="random",
            x0_std=0.2,
        ),
        lambda: tasks.dcdt(1, 2, 2, samples_per_class=9),
    ),
    (
        "rank2_dmts_20_trials",
        dict(N=7, rank=2, readout="latent_linear", read="before", n_in=1),
        lambda: tasks.dmts(1, 1, 2, samples_per_class=5),
    ),
    # x0 = 0 and read before: the passes skip W x_0, x_0's dL/dW terms and the unobserved last update
    (
        "full_dmts_x0_zero_20_trials",
        dict(N=7, rank="full", readout="linear", output="sigmoid", read="before", n_in=1, x0=0.0),
        lambda: tasks.dmts(1, 1, 2, samples_per_class=5),
    ),
    # rank K >= 16: the latents and m^T gpre through the register-blocked products (K < 16 uses 8-lane dots)
    ("rank17_linear_blocked", dict(N=18, rank=17, readout="linear"), lambda: tasks.delayed_activation(3)),
    (
        "rank16_latent_linear_blocked_18_trials_noise",
        dict(N=16, rank=16, readout="latent_linear", read="before", n_in=1, noise_std=0.05, x0="random", x0_std=0.2),
        lambda: tasks.dcdt(1, 1, 1, samples_per_class=9),
    ),
    ("rank1_latent_5_trials_after", dict(N=9, rank=1, n_in=1), lambda: tasks.dcdt(1, 1, 2, samples_per_class=3)),
]


@pytest.mark.parametrize("name,kwargs,make_task", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_gradient_matches_central_finite_differences(name, kwargs, make_task, rng):
    model = rnn.Model(**kwargs)
    task = make_task()
    params = _random_params(model, rng)
    seed = 123  # stochastic models: the same noise/x0 stream for every evaluation (stream 0 of this seed)
    loss, grads = rnn.loss_and_grad(model, params, task, seed=seed)
    assert set(grads) == set(model.groups)
    analytic = np.concatenate([grads[g].ravel() for g in model.groups])
    numeric = []
    for g in model.groups:
        flat = params[g].reshape(-1)
        for i in range(flat.size):
            # relative step 1e-6: truncation error ~h^2 |L'''| ~ 1e-12, rounding ~1e-16 |L| / h ~ 1e-10, both far
            # below the 1e-6 relative tolerance on a gradient vector of norm O(0.1 .. 1).
            h = 1e-6 * max(1.0, abs(flat[i]))
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[g].reshape(-1)[i] += h
            minus[g].reshape(-1)[i] -= h
            lp, _ = rnn.loss_and_grad(model, plus, task, seed=seed)
            lm, _ = rnn.loss_and_grad(model, minus, task, seed=seed)
            numeric.append((lp - lm) / (2 * h))
    numeric = np.array(numeric)
    assert np.linalg.norm(analytic) > 1e-3  # a real signal, not a vacuous comparison of zeros
    rel = np.linalg.norm(numeric - analytic) / np.linalg.norm(analytic)
    print(f"{name}: relative gradient error {rel:.2e}")
    assert rel < 1e-6, f"{name}: relative gradient error {rel:.2e}"
    # every group individually too (a wrong small group could hide in the full-vector norm)
    off = 0
    for g in model.groups:
        size = grads[g].size
        a, n = analytic[off : off + size], numeric[off : off + size]
        off += size
        np.testing.assert_allclose(a, n, rtol=0, atol=1e-6 * np.linalg.norm(analytic) + 1e-9, err_msg=g)


@pytest.mark.parametrize(
    "name,kwargs,make_task",
    [v for v in VARIANTS if "noise" not in v[0]],
    ids=[v[0] for v in VARIANTS if "noise" not in v[0]],
)
def test_forward_matches_numpy_reference(name, kwargs, make_task, rng):
    model = rnn.Model(**kwargs)
    task = make_task()
    params = _random_params(model, rng)
    res = rnn.forward(model, params, task)
    if isinstance(model.x0, float):
        x0 = np.full((task.n_trials, model.N), model.x0)
    else:
        x0 = np.tile(np.asarray(model.x0), (task.n_trials, 1))
    ys, xs, loss = reference_forward(model, params, task, x0)
    # Same maths, different summation order (4-accumulator dots vs numpy's pairwise/BLAS): rounding only.
    np.testing.assert_allclose(res.states, xs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.outputs, ys, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.loss, loss, rtol=1e-12)


def test_skipped_last_update_keeps_the_noise_stream(rng):
    """Read-before models skip the unobserved last update when the states are not wanted (loss_and_grad,
    train) but still draw its noise: with two chunks of trials (20 > 16), a skipped draw would shift the second
    chunk's noise. forward() computes every state, so its loss must equal the first loss of train() (the same
    stream: stream 0 of the seed) bit for bit, and so must the second epoch's."""
    model = rnn.Model(N=9, rank="full", readout="linear", read="before", n_in=1, noise_std=0.3, x0="random", x0_std=0.2)
    task = tasks.dmts(1, 1, 2, samples_per_class=5)
    params = _random_params(model, rng)
    fwd = rnn.forward(model, params, task, seed=11)
    res = rnn.train(model, task, 1e-3, 2, params=params, seed=11)
    assert fwd.loss == res.loss[0]
    assert rnn.forward(model, params, task, seed=12).loss != fwd.loss  # the noise matters at this scale


def test_random_x0_and_noise_stream(rng):
    """Random x0 = tanh(x0_std z) with z the first N normals of the run's stream; the noise is reproducible
    per seed and differs between seeds."""
    model = rnn.Model(N=6, rank="full", readout="linear", read="before", n_in=1, x0="random", x0_std=0.7)
    task = tasks.dcdt(1, 1, 1)
    params = _random_params(model, rng)
    res = rnn.forward(model, params, task, seed=5)
    assert np.all(np.abs(res.states[:, 0]) < 1)
    assert not np.allclose(res.states[0, 0], res.states[1, 0])  # drawn per trial
    np.testing.assert_array_equal(rnn.forward(model, params, task, seed=5).states, res.states)
    assert not np.allclose(rnn.forward(model, params, task, seed=6).states, res.states)
    # With the random x0 taken from the engine, the deterministic recurrence matches the reference.
    ys, xs, loss = reference_forward(model, params, task, res.states[:, 0])
    np.testing.assert_allclose(res.states, xs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.loss, loss, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 40, 123])
def test_rank_one_spec_init_plateau(seed):
    """Spec §3.1: at the init (m, n ~ N(0, 1/N), b = 0, c = 10, x0 = -0.3) the output is ~sigmoid(-10)
    for all 40 steps, so L0 = (20 * (1 - 4.5e-5)^2 + 20 * (4.5e-5)^2) / 20 = 0.99991, gradient norm ~1e-3."""
    model = rnn.Model(N=100, rank=1)
    params = rnn.init_params(model, seed)
    loss, grads = rnn.loss_and_grad(model, params, tasks.delayed_activation(20))
    assert abs(loss - 0.9999) < 1e-4
    gnorm = np.sqrt(sum(float(np.sum(g**2)) for g in grads.values() if g.shape != ()))
    assert 1e-4 < gnorm < 1e-2


def test_init_params_presets_and_determinism():
    m = rnn.Model(N=200, rank=1)
    p = rnn.init_params(m, 3)
    for k, v in rnn.init_params(m, 3).items():
        np.testing.assert_array_equal(v, p[k])
    assert not np.array_equal(rnn.init_params(m, 4)["m"], p["m"])
    np.testing.assert_array_equal(p["b"], 0.0)
    assert float(p["c"]) == 10.0
    # std 1/sqrt(N) within sampling error (200 samples: relative std error ~5%)
    assert abs(p["m"].std() * np.sqrt(200) - 1) < 0.2
    full = rnn.Model(N=100, rank="full", readout="linear", output="tanh", read="before", n_in=1)
    q = rnn.init_params(full, 0)
    assert np.max(np.abs(q["W"])) <= np.sqrt(6 / 200) and np.max(np.abs(q["W"])) > 0.9 * np.sqrt(6 / 200)
    assert np.max(np.abs(q["w_in"])) <= np.sqrt(6 / 101)
    assert np.max(np.abs(q["b"])) <= 1.0 and np.max(np.abs(q["b"])) > 0.9
    assert np.max(np.abs(q["b_out"])) <= 0.1
    low = rnn.Model(N=100, rank=2, readout="latent_linear", output="tanh", read="before", n_in=1)
    r = rnn.init_params(low, 0)
    assert r["w_out"].shape == (1, 2) and np.max(np.abs(r["w_out"])) <= np.sqrt(6 / 3)
    assert abs(r["m"].std() - 1) < 0.15 and abs(r["n"].std() * 10 - 1) < 0.15
    custom = rnn.init_params(m, 0, scheme={"b": ("constant", 0.25)})
    np.testing.assert_array_equal(custom["b"], 0.25)


# ---------------------------------------------------------------------------------------------------------
# Bad input


def test_model_validation_errors():
    with pytest.raises(ValueError, match="rank"):
        rnn.Model(N=5, rank=6)
    with pytest.raises(ValueError, match="rank"):
        rnn.Model(N=5, rank="half")
    with pytest.raises(ValueError, match="alpha"):
        rnn.Model(N=5, alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        rnn.Model(N=5, alpha=0.0)
    with pytest.raises(ValueError, match="noise_std"):
        rnn.Model(N=5, noise_std=-0.1)
    with pytest.raises(ValueError, match="readout"):
        rnn.Model(N=5, readout="softmax")
    with pytest.raises(ValueError, match="output"):
        rnn.Model(N=5, readout="linear", output="relu")
    with pytest.raises(ValueError, match="readout"):
        rnn.Model(N=5, rank="full", readout="latent")
    with pytest.raises(ValueError, match="x0"):
        rnn.Model(N=5, x0=np.zeros(4))
    with pytest.raises(ValueError, match="trainable"):
        rnn.Model(N=5, trainable={"W"})
    with pytest.raises(TypeError, match="N"):
        rnn.Model(N=5.5)


def test_params_and_task_validation_errors():
    model = rnn.Model(N=5)
    task = tasks.delayed_activation(3)
    good = rnn.init_params(model, 0)
    with pytest.raises(ValueError, match="keys"):
        rnn.loss_and_grad(model, {**good, "W": np.zeros((5, 5))}, task)
    with pytest.raises(ValueError, match="keys"):
        rnn.loss_and_grad(model, {k: v for k, v in good.items() if k != "b"}, task)
    with pytest.raises(ValueError, match=r"params\['m'\]"):
        rnn.loss_and_grad(model, {**good, "m": np.zeros((4, 1))}, task)
    with pytest.raises(ValueError, match=r"params\['n'\].*finite"):
        rnn.loss_and_grad(model, {**good, "n": np.full((1, 5), np.nan)}, task)
    with pytest.raises(ValueError, match="n_in"):
        rnn.loss_and_grad(model, good, tasks.dcdt(1, 1, 1))
    with pytest.raises(ValueError, match="lr"):
        rnn.train(model, task, lr=-0.1, epochs=3, params=good)
    with pytest.raises(ValueError, match="epochs"):
        rnn.train(model, task, lr=0.1, epochs=-1, params=good)
    with pytest.raises(ValueError, match="record_every"):
        rnn.train(model, task, lr=0.1, epochs=3, params=good, record_every=0)
    with pytest.raises(ValueError, match="optimizer"):
        rnn.train(model, task, lr=0.1, epochs=3, params=good, optimizer="rmsprop")
    with pytest.raises(TypeError, match="model"):
        rnn.train("model", task, lr=0.1, epochs=3)
    with pytest.raises(TypeError, match="task"):
        rnn.train(model, "task", lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="fixed_point_grid"):
        rnn.train(rnn.Model(N=5, rank=2), task, lr=0.1, epochs=3, fixed_point_grid=np.linspace(-1, 1, 5), seed=0)


def test_seed_key_matches_train_stream():
    # train(seed=s) keys its stream with seed_key(s): the entropy recorded is that of SeedSequence(s).
    model = rnn.Model(N=5)
    res = rnn.train(model, tasks.delayed_activation(3), lr=0.0, epochs=1, seed=7)
    assert res.seed_entropy == seed_key(7).entropy


def test_engine_tanh_is_accurate_to_a_few_ulp(rng):
    """The engine's vectorised tanh (exp-based, rnn_kernels.hpp) against numpy's: measured max error 5 ulp
    over all scales; 8 ulp allowed. BPTT uses 1 - h^2 of the computed h, consistent to ~1e-16."""
    from ghostfast import _core

    for scale in (1e-300, 1e-12, 1e-3, 0.1, 0.17, 0.35, 1.0, 3.0, 10.0, 30.0, 1e300):
        x = rng.standard_normal(20000) * scale
        ref = np.tanh(x)
        err = np.abs(_core.rnn_tanh(x) - ref)
        assert np.all(err <= 8 * np.spacing(np.abs(ref))), f"scale {scale}"
    x = np.linspace(-25, 25, 200001)
    assert np.all(np.abs(_core.rnn_tanh(x) - np.tanh(x)) <= 8 * np.spacing(np.abs(np.tanh(x))))
    special = np.array([0.0, -0.0, np.inf, -np.inf, 20.0, -40.0])
    np.testing.assert_array_equal(_core.rnn_tanh(special), np.tanh(special))
    assert np.signbit(_core.rnn_tanh(np.array([-0.0]))[0])
    assert np.isnan(_core.rnn_tanh(np.array([np.nan]))[0])


def test_noise_normals_are_standard_normal():
    """The ziggurat normals (rnn_noise.hpp) behind the noise and random x0: moments, tails and the
    Kolmogorov-Smirnov distance against the normal CDF, each within ~5 sampling standard errors."""
    import math

    from ghostfast import _core

    n = 400_000
    z = _core.rnn_normals(1, 3, [n])
    np.testing.assert_array_equal(z, _core.rnn_normals(1, 3, [n]))  # deterministic per stream
    assert not np.array_equal(z[:100], _core.rnn_normals(1, 4, [100]))
    assert not np.array_equal(z[:100], _core.rnn_normals(2, 3, [100]))
    # a fill of n values consumes ceil(n / 8) rounds of the eight lanes: fills of 8 continue one stream
    np.testing.assert_array_equal(_core.rnn_normals(1, 3, [8] * 50), z[:400])
    se = 1 / np.sqrt(n)
    assert abs(z.mean()) < 5 * se
    assert abs(z.var() - 1) < 5 * np.sqrt(2) * se
    assert abs(np.mean(z**3)) < 5 * np.sqrt(15) * se  # skewness, var(z^3) = 15
    assert abs(np.mean(z**4) - 3) < 5 * np.sqrt(96) * se  # kurtosis, var(z^4) = 105 - 9
    for tail in (1.0, 2.0, 3.442619855899, 4.0):  # 3.44: the ziggurat's tail start
        p = math.erfc(tail / math.sqrt(2))
        assert abs(np.mean(np.abs(z) > tail) - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-6
    zs = np.sort(z[:100_000])
    cdf = 0.5 * (1 + np.vectorize(math.erf)(zs / math.sqrt(2)))
    ks = np.max(np.abs(cdf - np.arange(1, zs.size + 1) / zs.size))
    assert ks < 1.63 / np.sqrt(zs.size) * 1.3  # 1% KS critical value (1.63/sqrt(n)) with margin


def test_documented_draw_order_of_x0_and_noise():
    """x0 and noise follow the documented order: each pass takes one key from Rng(seed key, stream 0); trials
    are split into chunks (18 trials: two of 12 and 6); chunk c draws from BulkNormals(key, c): x0 (N per trial,
    one fill), then per step the noise (N per trial, one fill). With W = 0, b = 0, w_in = 0:
    x_{t+1} = (1 - a) x_t + a tanh(noise_t), so the states expose the draws."""
    from ghostfast import _core

    N, S, alpha, sx, sn = 3, 2, 0.5, 0.4, 0.2
    model = rnn.Model(
        N=N, rank="full", readout="linear", read="before", n_in=1, alpha=alpha, noise_std=sn, x0="random", x0_std=sx
    )
    task = tasks.dcdt(1, 0, 1, samples_per_class=9)  # 18 trials: chunks of 12 and 6
    params = {g: np.zeros(s) for g, s in rnn.param_shapes(model).items()}
    key = seed_key(17)
    res = rnn.forward(model, params, task, seed=17)
    (pass_key,) = _core.rnn_pass_keys(key.key0, key.key1, 0, 1)
    expected = np.zeros((18, S + 1, N))
    for c, (start, size) in enumerate(((0, 12), (12, 6))):
        z = _core.rnn_normals(int(pass_key), c, [size * N] * (S + 1)).reshape(S + 1, size, N)
        expected[start : start + size, 0] = np.tanh(sx * z[0])
        for t in range(S):
            expected[start : start + size, t + 1] = (1 - alpha) * expected[start : start + size, t] + alpha * np.tanh(
                sn * z[t + 1]
            )
    # engine tanh within a few ulp of numpy's: agreement to ~1e-15 relative
    np.testing.assert_allclose(res.states, expected, rtol=1e-13, atol=1e-15)
