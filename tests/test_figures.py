"""ghostfast.figures: every figure runs at "quick" scale, returns a FigureResult with the expected Axes and
arrays, and its data shows the figure's qualitative claim; ``ghostfast reproduce`` writes the files.

The numeric reproduction targets (r*, critical lr, confidence table, sweep thresholds) are tested in
test_canonical / test_rnn / test_sweep; here the checks are about what each figure shows.
"""
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ghostfast import canonical, cli, figures

# name -> (number of Axes, {data key: shape})
EXPECTED = {
    "fig1": (1, {"x": (100,), "r": (2,), "flow": (2, 100), "fixed_points": (2,), "ghost": (1,)}),
    "fig2_loss": (1, {"r_analytic": (1201,), "loss_analytic": (1201,), "r": (40,), "confidences": (2,),
                      "loss_simulated": (2, 40), "r_star": (), "r_zone": ()}),
    "fig2_dynamics": (2, {"epochs": (3001,), "lrs": (2,), "r": (2, 3001), "loss": (2, 3001),
                          "arrival_epoch": (2,), "trapped": (2,), "r_star": (), "r_zone": (), "critical_lr": ()}),
    "fig2d": (2, {"lrs": (30,), "record_epochs": (3,), "mean_loss": (30, 3), "sem_loss": (30, 3),
                  "loss": (30, 5, 3), "trapped_fraction": (30,), "critical_lr": ()}),
    "fig3_small_lr": (4, {"epochs": (2000,), "loss": (2000,), "grad_norm": (2000,), "fixed_point_count": (2000,),
                          "flow_epochs": (3,), "kappa": (600,), "flow": (3, 600), "kappa0": (3,)}),
    "fig3_large_lr": (5, {"epochs": (6000,), "loss": (6000,), "grad_norm": (6000,), "accuracy": (6000,),
                          "drop_epoch": (), "flow_epochs": (3,), "kappa": (600,), "flow": (3, 600),
                          "kappa0": (3,)}),
    "fig5_dcdt": (None, {"epochs": (3001,), "loss": (3001,), "grad_norm_W": (3001,), "accuracy": (3001,),
                         "snapshot_epochs": (4,), "states": (4, 2, 23, 100)}),
    "fig6a": (2, {"lrs": (6,), "seeds": (2,), "epochs_shown": (3,), "loss": (6, 2, 3), "mean_loss": (6, 3),
                  "sem_loss": (6, 3), "trapped_fraction": (6,), "grad_norm_final": (6, 2)}),
    "fig6b": (2, {"ranks": (2,), "lrs": (1,), "seeds": (3,), "fraction_learned": (1, 2),
                  "relative_final_loss": (1, 3, 2), "record_epochs": (300,), "curve_lr": (), "curves": (2, 300)}),
    "fig7_dcdt": (6, {"lrs": (5,), "seeds": (2,), "mean_loss": (5, 2), "mean_grad_norm": (5, 2),
                      "mean_weight_norm": (5, 2), "example_lr": (), "example_seeds": (2,), "example_epochs": (200,),
                      "example_loss": (2, 200), "example_grad_norm": (2, 200), "example_weight_norm": (2, 200)}),
    "fig7_dmts": (6, {"lrs": (5,), "seeds": (2,), "mean_loss": (5, 2), "mean_grad_norm": (5, 2),
                      "mean_weight_norm": (5, 2), "example_lr": (), "example_seeds": (2,), "example_epochs": (200,),
                      "example_loss": (2, 200), "example_grad_norm": (2, 200), "example_weight_norm": (2, 200)}),
    "fig8a": (1, {"r": (40,), "confidences": (5,), "grad_simulated": (5, 40), "grad_relative": (5, 40),
                  "grad_analytic": (40,), "grad_analytic_relative": (40,), "relative_grad_at_zero": (5,),
                  "r_star": (), "r_zone": ()}),
    "fig8b_ablation": (2, {"epochs": (300,), "c_values": (10,), "c_plotted": (10,), "accuracy_mean": (10, 300),
                           "accuracy_sem": (10, 300), "grad_mean": (10, 300), "grad_sem": (10, 300),
                           "final_accuracy": (10,), "n_selected": ()}),
    "fig8b_learnable": (2, {"epochs": (20000,), "loss": (20000,), "grad_norm": (20000,), "c_end": (2,),
                            "switch_epoch": ()}),
    "fig8c": (2, {"epochs": (40,), "caps": (5,), "accuracy_mean": (5, 40), "accuracy_sem": (5, 40),
                  "loss_mean": (5, 40), "loss_sem": (5, 40), "late_accuracy": (5, 2), "switch_epoch": ()}),
}


@pytest.fixture(scope="module")
def quick():
    """Each figure computed once at "quick" scale (2 threads), shared by the tests of this module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = figures.FIGURES[name](scale="quick", n_threads=2)
        return cache[name]

    yield get
    plt.close("all")


def test_registry_lists_every_expected_figure():
    assert list(figures.FIGURES) == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_quick_structure(quick, name):
    res = quick(name)
    n_axes, shapes = EXPECTED[name]
    if n_axes is None:  # fig5: 2 + 4 3-D panels + one colour bar per panel with slow points
        n_axes = 6 + np.unique(res.data["slow_epoch"]).size
    assert isinstance(res, figures.FigureResult)
    assert res.name == name
    assert res.params["scale"] == "quick"
    assert len(res.figure.axes) == n_axes
    for key, shape in shapes.items():
        assert key in res.data, key
        assert np.shape(res.data[key]) == shape, (key, np.shape(res.data[key]))
    for key, value in res.data.items():
        assert isinstance(value, np.ndarray), key
    # Every Axes shows something, and the figure is never attached to pyplot (nothing opens or accumulates).
    for ax in res.figure.axes:
        assert ax.has_data()
    assert plt.get_fignums() == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.name = "other"


def test_fig1_fixed_points_vs_ghost(quick):
    d = quick("fig1").data
    neg, pos = d["flow"]
    # r = -0.5: two sign changes (the fixed points +-sqrt(0.5)); r = +0.5: no zero, slowest at x = 0.
    assert np.count_nonzero(np.diff(np.sign(neg))) == 2
    assert np.all(pos > 0)
    assert abs(d["x"][np.argmin(pos)]) < 0.02  # grid spacing 2/99
    assert quick("fig1").figure.axes[0].get_ylim() == (-1.0, 2.0)


def test_fig2_loss_landscape(quick):
    d = quick("fig2_loss").data
    r, L, r_star = d["r_analytic"], d["loss_analytic"], float(d["r_star"])
    zone = r <= d["r_zone"]
    assert np.all(L[zone] == 1.0)  # exact plateau: the no-learning zone
    assert np.all(L[~zone] < 1.0)
    assert r[np.argmin(L)] == pytest.approx(r_star, rel=1e-12)
    assert L.min() == pytest.approx(0.0, abs=1e-12)
    # Simulated: the minimum lies within one grid step of r* for both confidences; inside the zone the
    # confident readout (a = 1) is stuck at L ~ 1 while a = 0.1 is not.
    step = d["r"][1] - d["r"][0]
    for k in range(2):
        assert abs(d["r"][np.argmin(d["loss_simulated"][k])] - r_star) <= 1.01 * step
    deep = d["r"] < 0
    assert np.all(d["loss_simulated"][1, deep] > 0.99)
    assert np.all(d["loss_simulated"][0, deep] < 0.9)
    assert d["loss_simulated"][1].min() < d["loss_simulated"][0].min()  # sharper readout, lower minimum
    xs = [line.get_xdata()[0] for line in quick("fig2_loss").figure.axes[0].get_lines()]
    assert 1.0 in xs and 0.25 in xs  # the vertical lines at r* and r*/4 (in units of r*)


def test_fig2_dynamics_arrives_then_oscillates_or_traps(quick):
    d = quick("fig2_dynamics").data
    r_star, r_zone = float(d["r_star"]), float(d["r_zone"])
    assert d["lrs"][0] < d["critical_lr"] < d["lrs"][1]
    slow_r, slow_L = d["r"][0], d["loss"][0]
    arrival = int(d["arrival_epoch"][0])
    # lr 1e-10: a plateau (loss still > 0.5 half-way to arrival), arrival, then oscillation across the cusp.
    assert 500 < arrival < 3000
    assert slow_L[arrival // 2] > 0.5
    assert slow_L[-100:].max() < 0.1
    crossings = np.count_nonzero(np.diff(np.sign(slow_r[arrival:] - r_star)))
    assert crossings > 20
    assert not d["trapped"][0]
    # lr 1e-9: trapped below r*/4 with L = 1 and r frozen (zero gradient).
    fast_r, fast_L = d["r"][1], d["loss"][1]
    assert d["trapped"][1]
    assert fast_r[-1] < r_zone
    assert np.all(fast_L[-500:] == 1.0)
    assert np.all(fast_r[-500:] == fast_r[-1])
    assert quick("fig2_dynamics").figure.axes[1].get_yscale() == "log"


def test_fig2d_sharp_failure_edge(quick):
    d = quick("fig2d").data
    lrs, lr_c = d["lrs"], float(d["critical_lr"])
    assert np.all(d["trapped_fraction"][lrs >= 1.0e-9] == 1.0)
    assert np.all(d["mean_loss"][lrs >= 1.0e-9, -1] == 1.0)
    assert np.all(d["trapped_fraction"][lrs <= 0.85 * lr_c] == 0.0)
    ax = quick("fig2d").figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_fig3_small_lr_plateau_spike_drop_and_ghost(quick):
    d = quick("fig3_small_lr").data
    L, G, E = d["loss"], d["grad_norm"], d["epochs"]
    assert L[0] > 0.999
    drop = int(np.argmax(L < 0.5))
    assert drop > 0.3 * L.size  # a long plateau first
    assert np.all(L[: int(0.9 * drop)] > 0.99)
    assert L[-1] < 0.05
    # Abrupt: from 0.9 L0 to 0.1 L0 within 1 % of training; the gradient spikes at the drop.
    e90, e10 = E[np.argmax(L < 0.9)], E[np.argmax(L < 0.1)]
    assert e10 - e90 < 0.01 * E[-1]
    assert G[drop - 5: drop + 5].max() > 100 * G[0]
    # One fixed point throughout (no bifurcation), and after learning a ghost between kappa0 and 1.
    assert np.all(d["fixed_point_count"] == 1)
    kappa, f_end, k0 = d["kappa"], d["flow"][-1], d["kappa0"][-1]
    inner = np.flatnonzero((kappa > k0) & (kappa < 1.0))
    assert np.all(f_end[inner] > 0)  # the flow carries kappa from kappa0 past the threshold
    minima = inner[(f_end[inner] < f_end[inner - 1]) & (f_end[inner] < f_end[inner + 1])]
    assert minima.size >= 1 and f_end[minima].min() < 1.0
    # At the start the only fixed point lies below the threshold: the readout can never turn on.
    f0 = d["flow"][0]
    assert np.count_nonzero(np.diff(np.sign(f0))) == 1 and kappa[np.argmax(f0 < 0)] < 1.0


def test_fig3_large_lr_plateau_drop_then_no_convergence(quick):
    d = quick("fig3_large_lr").data
    L = d["loss"]
    drop = int(d["drop_epoch"])
    assert 4000 < drop < 6000
    assert np.all(L[:4000] > 0.99)
    after = L[drop:]
    assert after.min() < 0.1
    # lr 0.02 is above the critical rate: what follows the drop is oscillation OR a fall back into the
    # no-learning zone, and which one depends on rounding (paper Fig. 3C/D), so the test asserts the claim
    # "no monotone convergence" in either form rather than pinning this build's outcome.
    oscillating = np.count_nonzero(np.diff(np.sign(np.diff(after)))) > 50
    fell_back = after[-100:].min() > 0.9
    assert oscillating or fell_back
    assert not (after[-100:].max() < 0.05 and np.all(np.diff(after[-100:]) <= 0))  # not converging quietly
    assert list(d["flow_epochs"]) == [drop - 7, drop, drop + 3]
    assert quick("fig3_large_lr").figure.axes[2].get_ylim() == (-1.0, 3.0)


def test_fig6a_window_then_wall(quick):
    d = quick("fig6a").data
    lrs, mean = d["lrs"], d["mean_loss"]
    last = mean[:, -1]
    assert last[0] > 0.9  # too small an lr: still on the plateau
    assert last.min() < 0.05  # a window of successful learning
    wall = lrs >= 0.03
    assert wall.any() and np.all(d["trapped_fraction"][wall] == 1.0) and np.all(last[wall] > 0.99)
    # The window widens to the left with more epochs: the number of lrs with loss < 0.5 never shrinks.
    learned = (mean < 0.5).sum(axis=0)
    assert np.all(np.diff(learned) >= 0) and learned[-1] > learned[0]
    ax = quick("fig6a").figure.axes[0]
    assert ax.get_ylim() == pytest.approx((1e-7, 3.0))


def test_fig6b_higher_rank_learns(quick):
    d = quick("fig6b").data
    assert list(d["ranks"]) == [1, 30]
    # At quick scale (3000 epochs, lr 0.01) few runs pass the paper's 1e-2 "learned" cut, so test the claim on
    # the loss itself: more trainable rank, lower final/initial loss, for every seed. lr 0.01 is in the smooth
    # regime (measured: rank 1 gives 0.10-0.33, rank 30 0.03-0.04), so rounding-level changes in the engine
    # cannot flip it, unlike the chaotic lr 0.1 used before.
    rel = d["relative_final_loss"][0]  # (seeds, ranks)
    assert np.all(rel[:, 1] < 0.5 * rel[:, 0])
    assert np.all(np.diff(d["fraction_learned"][0]) >= 0)


def test_fig8a_gradient_grows_as_confidence_falls(quick):
    d = quick("fig8a").data
    conf, rel0 = d["confidences"], d["relative_grad_at_zero"]
    order = conf >= 0.1
    assert np.all(np.diff(rel0[order]) < 0)  # a = 0.1, 0.5, 1, 2: smaller confidence, larger gradient at r = 0
    assert np.all(d["grad_analytic_relative"][d["r"] < d["r_zone"]] == 0.0)
    assert np.all(d["grad_relative"] <= 1.0 + 1e-12)
    assert quick("fig8a").figure.axes[0].get_yscale() == "log"


def test_fig8b_ablation_lower_confidence_escapes(quick):
    d = quick("fig8b_ablation").data
    assert int(d["n_selected"]) >= 3
    pre = d["epochs"] < 6000
    assert np.all(d["accuracy_mean"][:, pre] <= 0.5)  # trapped before the switch
    small, c10 = d["c_values"] <= 0.2, np.isclose(d["c_values"], 10.0)
    assert np.all(d["final_accuracy"][small] > 0.5)
    assert np.all(d["final_accuracy"][c10] <= 0.5)
    assert quick("fig8b_ablation").figure.axes[0].get_xlim() == (5800.0, 6100.0)


def test_fig8b_learnable_confidence_learns(quick):
    d = quick("fig8b_learnable").data
    assert d["loss"][0] > 0.99
    assert d["loss"][-100:].max() < 0.1  # converges after the reset to c = 1
    assert d["c_end"][1] != 1.0  # c was trained in phase 2


def test_save_writes_png_and_npz(quick, tmp_path):
    res = quick("fig2_dynamics")
    png, npz = res.save(tmp_path)
    assert (tmp_path / "fig2_dynamics.png").stat().st_size > 1000
    with np.load(npz) as z:
        np.testing.assert_array_equal(z["r"], res.data["r"])  # stored exactly
        assert '"scale": "quick"' in str(z["params_json"])


def test_bad_scale_and_threads():
    with pytest.raises(ValueError, match="scale"):
        figures.fig1(scale="huge")
    with pytest.raises(TypeError, match="scale"):
        figures.fig2_loss(scale=1)
    with pytest.raises(ValueError, match="n_threads"):
        figures.fig2d(scale="quick", n_threads=-1)


def test_fig2d_thread_count_does_not_change_data():
    a = figures.fig2d(scale="quick", n_threads=1).data
    b = figures.fig2d(scale="quick", n_threads=2).data
    np.testing.assert_array_equal(a["loss"], b["loss"])


def test_cli_reproduce(tmp_path, capsys):
    code = cli.main(["reproduce", "fig2_loss", "--scale", "quick", "--out", str(tmp_path), "--threads", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "fig2_loss.png").stat().st_size > 1000
    assert (tmp_path / "fig2_loss.npz").exists()
    assert str(tmp_path / "fig2_loss.png") in out and " s" in out


def test_cli_rejects_unknown_figure(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["reproduce", "fig99"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'fig99'" in err and "fig2d" in err and "all" in err


def test_canonical_constants_drawn(quick):
    d = quick("fig2_dynamics").data
    assert float(d["critical_lr"]) == canonical.critical_lr(100.0, normalized=False)


def test_fig5_learns_and_finds_slow_points(quick):
    d = quick("fig5_dcdt").data
    assert d["accuracy"][0] < 0.6 and d["accuracy"][-100:].mean() > 0.9  # the network learns the task
    U = d["slow_speed"].size
    for key in ("slow_x", "slow_distance", "slow_min_abs_eig", "slow_epoch", "slow_kind"):
        assert len(d[key]) == U
    assert set(np.unique(d["slow_epoch"])) == set(d["snapshot_epochs"])  # points found at every snapshot
    assert np.all(d["slow_speed"] >= 0)
    assert set(d["slow_kind"]) <= {"fixed point", "ghost", "slow point"}


def test_fig7_dcdt_no_learning_zone_at_large_lr(quick):
    d = quick("fig7_dcdt").data
    loss = np.median(d["mean_loss"], axis=1)
    grad = np.median(d["mean_grad_norm"], axis=1)
    best = int(np.argmin(loss))
    assert 0 < best < loss.size - 1  # non-monotone in lr
    assert loss[-1] > 2 * loss[best]  # the largest lr: loss saturates high ...
    assert grad[-1] < 0.2 * grad[best]  # ... while the gradient collapses (no-learning zone)


def test_doctests():
    import doctest

    from ghostfast import _figures_canonical, _figures_rnn

    for mod in (figures, _figures_canonical, _figures_rnn):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_fig8c_capped_confidence_beats_no_cap(quick):
    d = quick("fig8c").data
    assert np.isinf(d["caps"][-1])
    late = d["late_accuracy"].mean(axis=1)  # mean over seeds of the late phase-2 accuracy, per cap
    uncapped = late[-1]
    for c in (0.5, 1.0, 3.0):
        assert late[np.flatnonzero(d["caps"] == c)[0]] > uncapped
    # Before the switch all branches are the same runs.
    pre = d["epochs"] < d["switch_epoch"]
    np.testing.assert_array_equal(d["accuracy_mean"][:, pre], np.broadcast_to(d["accuracy_mean"][:1, pre],
                                                                              d["accuracy_mean"][:, pre].shape))


def test_fig8a_paper_gradient_option():
    res = figures.fig8a(scale="quick", gradient="paper")
    rel0 = res.data["relative_grad_at_zero"]
    assert np.all(np.diff(rel0[res.data["confidences"] >= 0.1]) < 0)
    assert res.params["gradient"] == "paper"
    with pytest.raises(ValueError, match="gradient"):
        figures.fig8a(scale="quick", gradient="central")
