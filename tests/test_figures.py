"""ghostfast.figures: every figure runs at "quick" scale, returns a FigureResult with the expected Axes and
arrays, and passes its claim's check (``ghostfast._report.check``: the same check ``ghostfast reproduce all``
writes into REPORT.md); ``ghostfast reproduce`` writes the files.

The numeric reproduction targets (r*, critical lr, confidence table, sweep thresholds) are tested in
test_canonical / test_rnn / test_sweep; here the checks are about what each figure shows.
"""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ghostfast import _report, canonical, cli, figures


def _fig4_shapes(records: int, latents: tuple) -> dict:
    """The data of a Fig 4 run: ``records`` epochs of history, trajectories of shape ``latents``."""
    history = {k: (records,) for k in ("epochs", "loss", "grad_norm", "accuracy")}
    scalars = {k: () for k in ("drop_epoch", "transition_epoch", "pre_transition_epoch", "pre_transition_has_ghost")}
    return dict(
        history,
        **scalars,
        checkpoints=(4,),
        pre_transition_ghost=(4,),
        post_transition_ghost_epoch=(),
        post_transition_ghost=(4,),
        final_accuracy=(),
        grid=(201,),
        latents=latents,
    )


# name -> (number of Axes, {data key: shape})
EXPECTED = {
    "fig1": (1, {"x": (100,), "r": (2,), "flow": (2, 100), "fixed_points": (2,), "ghost": (1,)}),
    "fig2_loss": (
        1,
        {
            "r_analytic": (1201,),
            "loss_analytic": (1201,),
            "r": (40,),
            "confidences": (2,),
            "loss_simulated": (2, 40),
            "r_star": (),
            "r_zone": (),
        },
    ),
    "fig2_dynamics": (
        2,
        {
            "epochs": (3001,),
            "lrs": (2,),
            "r": (2, 3001),
            "loss": (2, 3001),
            "arrival_epoch": (2,),
            "trapped": (2,),
            "r_star": (),
            "r_zone": (),
            "critical_lr": (),
        },
    ),
    "fig2d": (
        2,
        {
            "lrs": (30,),
            "record_epochs": (3,),
            "mean_loss": (30, 3),
            "sem_loss": (30, 3),
            "loss": (30, 5, 3),
            "trapped_fraction": (30,),
            "critical_lr": (),
        },
    ),
    "fig3_small_lr": (
        4,
        {
            "epochs": (2000,),
            "loss": (2000,),
            "grad_norm": (2000,),
            "fixed_point_count": (2000,),
            "flow_epochs": (3,),
            "kappa": (600,),
            "flow": (3, 600),
            "kappa0": (3,),
        },
    ),
    "fig3_large_lr": (
        5,
        {
            "epochs": (6000,),
            "loss": (6000,),
            "grad_norm": (6000,),
            "accuracy": (6000,),
            "drop_epoch": (),
            "flow_epochs": (3,),
            "kappa": (600,),
            "flow": (3, 600),
            "kappa0": (3,),
            "window_epochs": (201,),
            "fixed_point_kappa": (201,),
        },
    ),
    "fig4_dcdt": (
        7,
        _fig4_shapes(3500, (4, 20, 23, 2)),
    ),
    "fig4_dmts": (
        7,
        _fig4_shapes(8000, (4, 40, 39, 2)),
    ),
    "fig5_dcdt": (
        8,
        {
            "epochs": (3001,),
            "loss": (3001,),
            "grad_norm_W": (3001,),
            "accuracy": (3001,),
            "snapshot_epochs": (4,),
            "states": (4, 2, 23, 100),
            "trajectory_extent": (4,),
            "searched_epochs": (10,),
            "pre_jump_states": (2, 23, 100),
        },
    ),
    "fig5_dmts": (
        8,
        {
            "epochs": (5001,),
            "loss": (5001,),
            "grad_norm_W": (5001,),
            "accuracy": (5001,),
            "snapshot_epochs": (4,),
            "states": (4, 4, 45, 100),
            "trajectory_extent": (4,),
            "searched_epochs": (10,),
            "pre_jump_states": (4, 45, 100),
        },
    ),
    "fig6a": (
        4,
        {
            "lrs": (6,),
            "seeds": (2,),
            "epochs_shown": (3,),
            "loss": (6, 2, 3),
            "mean_loss": (6, 3),
            "sem_loss": (6, 3),
            "trapped_fraction": (6,),
            "grad_norm_final": (6, 2),
            "one_lrs": (6,),
            "full_lrs": (7,),
            "full_mean_loss": (7, 3),
            "full_trapped_fraction": (7,),
            "full_learned": (7, 2),
        },
    ),
    "fig6b": (
        2,
        {
            "ranks": (2,),
            "lrs": (1,),
            "seeds": (3,),
            "fraction_learned": (1, 2),
            "relative_final_loss": (1, 3, 2),
            "record_epochs": (300,),
            "curve_lr": (),
            "curves": (2, 300),
        },
    ),
    "fig7_dcdt": (
        6,
        {
            "lrs": (5,),
            "seeds": (2,),
            "mean_loss": (5, 2),
            "mean_grad_norm": (5, 2),
            "mean_weight_norm": (5, 2),
            "example_lr": (),
            "example_seeds": (2,),
            "example_epochs": (200,),
            "example_loss": (2, 200),
            "example_grad_norm": (2, 200),
            "example_weight_norm": (2, 200),
        },
    ),
    "fig7_dmts": (
        6,
        {
            "lrs": (5,),
            "seeds": (2,),
            "mean_loss": (5, 2),
            "mean_grad_norm": (5, 2),
            "mean_weight_norm": (5, 2),
            "example_lr": (),
            "example_seeds": (2,),
            "example_epochs": (200,),
            "example_loss": (2, 200),
            "example_grad_norm": (2, 200),
            "example_weight_norm": (2, 200),
        },
    ),
    "fig8a": (
        1,
        {
            "r": (40,),
            "confidences": (5,),
            "grad_simulated": (5, 40),
            "grad_relative": (5, 40),
            "grad_analytic": (40,),
            "grad_analytic_relative": (40,),
            "relative_grad_at_zero": (5,),
            "r_star": (),
            "r_zone": (),
        },
    ),
    "fig8b_ablation": (
        2,
        {
            "epochs": (300,),
            "c_values": (10,),
            "c_plotted": (10,),
            "accuracy_mean": (10, 300),
            "accuracy_sem": (10, 300),
            "grad_mean": (10, 300),
            "grad_sem": (10, 300),
            "final_accuracy": (10,),
            "n_selected": (),
        },
    ),
    "fig8b_learnable": (
        2,
        {"epochs": (20000,), "loss": (20000,), "grad_norm": (20000,), "c_end": (2,), "switch_epoch": ()},
    ),
    "fig8c": (
        2,
        {
            "epochs": (40,),
            "caps": (5,),
            "accuracy_mean": (5, 40),
            "accuracy_sem": (5, 40),
            "loss_mean": (5, 40),
            "loss_sem": (5, 40),
            "late_accuracy": (5, 2),
            "switch_epoch": (),
        },
    ),
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


# Known failure of the quick-scale data, measured with the package's one transition definition
# (metrics.transition_epoch; see the figure's docstring):
# - fig4_dcdt: the loss leaves its plateau at epoch 2063 and its abrupt transition is at 2172. Before 2063 the
#   only slow point is a stable fixed point that becomes a saddle between two new attractors (a near-pitchfork);
#   the first ghost in the trajectories' range is at 2536, after the transition. The paper's own seed-0 network
#   at paper scale does the same: its ghosts appear at epochs 8000-8250, after its transition at ~7550. Over
#   seeds 0-9 at this scale a ghost precedes the transition in 4 of the 8 runs that learn; the seed is not
#   chosen to make the test pass.
_QUICK_CLAIM_FAILS = {
    "fig4_dcdt": "no ghost before the transition (epoch 2172) at quick scale: the first ghost comes after it (2536)",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=_QUICK_CLAIM_FAILS[n], strict=True))
        if n in _QUICK_CLAIM_FAILS
        else n
        for n in EXPECTED
    ],
)
def test_quick_claim(quick, name):
    """The figure's claim holds on its quick-scale data: the same check ``reproduce all`` reports."""
    res = quick(name)
    c = _report.check(res)
    assert c.figure == name and c.claim == _report.CLAIMS[name] and len(c.conditions) >= 2
    assert c.passed, c.explain()
    assert isinstance(c.to_dict()["numbers"], dict)


def test_every_figure_has_a_claim_and_a_check():
    assert set(_report.CLAIMS) == set(figures.FIGURES) == set(_report.CHECKS)


def test_checks_can_fail(quick):
    """The checks test the data: the same figure with its claim broken fails, with the failing condition named."""
    res = quick("fig2d")
    d = dict(res.data)
    d["trapped_fraction"] = np.zeros_like(d["trapped_fraction"])  # no wall
    c = _report.check(dataclasses.replace(res, data=d))
    assert not c.passed and any(not ok and "trapped" in text for ok, text in c.conditions)
    res4 = quick("fig4_dmts")
    d4 = dict(res4.data, pre_transition_has_ghost=np.array(False))
    assert not _report.check(dataclasses.replace(res4, data=d4)).passed
    # malformed data: a failed check that says why, not a crash
    bad = _report.check(dataclasses.replace(res, data={}))
    assert not bad.passed and "could not be evaluated" in bad.conditions[-1][1]


def test_figure_display_details(quick):
    """What a reader sees: the axis conventions the paper uses, distinguishable panels, fitted limits."""
    assert quick("fig1").figure.axes[0].get_ylim() == (-1.0, 2.0)
    xs = [line.get_xdata()[0] for line in quick("fig2_loss").figure.axes[0].get_lines()]
    assert 1.0 in xs and 0.25 in xs  # the vertical lines at r* and r*/4 (in units of r*)
    assert quick("fig2_dynamics").figure.axes[1].get_yscale() == "log"
    ax = quick("fig2d").figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # Fig 3C/D: the three flow maps in one panel, in three different colours, plus a close-up
    d3 = quick("fig3_large_lr").data
    assert list(d3["flow_epochs"]) == [int(d3["drop_epoch"]) - 7, int(d3["drop_epoch"]), int(d3["drop_epoch"]) + 3]
    ax_all, ax_zoom = quick("fig3_large_lr").figure.axes[0:2]  # bottom row first (created first)
    assert ax_all.get_ylim() == (-1.0, 3.0)
    colors = {ln.get_color() for ln in ax_all.get_lines() if ln.get_label().startswith("epoch")}
    assert len(colors) == 3
    assert ax_zoom.get_xlim()[1] - ax_zoom.get_xlim()[0] < 0.5 * (ax_all.get_xlim()[1] - ax_all.get_xlim()[0])
    # Fig 6A: the y range fits the data (no empty decades below it); both networks drawn
    for ax in quick("fig6a").figure.axes[:2]:
        lo = ax.get_ylim()[0]
        data_min = min(
            np.nanmin(ln.get_ydata()[ln.get_ydata() > 0]) for ln in ax.get_lines() if len(ln.get_ydata()) > 2
        )
        assert data_min / 30 < lo < data_min
    # Fig 8A: the analytic curve is drawn on top of the finite-confidence curves (and dashed)
    lines = quick("fig8a").figure.axes[0].get_lines()
    analytic = [ln for ln in lines if ln.get_label().startswith("analytic")][0]
    others = [ln for ln in lines if ln.get_label().startswith("a = ")]
    assert analytic.get_zorder() > max(ln.get_zorder() for ln in others) and analytic.get_linestyle() == "--"
    # Fig 5: ONE shared colour bar for the row of 3-D panels, markers by class, counts spelled right
    for name in ("fig5_dcdt", "fig5_dmts"):
        fig = quick(name).figure
        three_d = [a for a in fig.axes if a.name == "3d"]
        assert len(three_d) == 5 and len(fig.axes) == 8  # the paper's four epochs and the one before the jump
        for a in three_d:
            assert "slow/fixed points" not in a.get_title() and "1 fixed points" not in a.get_title()
    # Fig 4: four latent speed maps sharing one colour bar
    for name in ("fig4_dcdt", "fig4_dmts"):
        fig = quick(name).figure
        assert sum(1 for a in fig.axes if a.get_xlabel() == "kappa 1") == 4
        # one legend, and it names every kind of slow point the four maps show
        legends = [a.get_legend() for a in fig.axes if a.get_xlabel() == "kappa 1" and a.get_legend() is not None]
        kinds = {str(k).replace("_", " ") for k in quick(name).data["slow_kind"]}
        assert len(legends) == 1, name
        labels = " ".join(t.get_text() for t in legends[0].get_texts())
        assert all(k in labels for k in kinds), (name, kinds, labels)
        # the histories on log epochs: the plateau and the transition are not squeezed against the left edge
        assert [a.get_xscale() for a in fig.axes[:2]] == ["log", "log"]
    assert quick("fig8b_ablation").figure.axes[0].get_xlim() == (5800.0, 6100.0)
    assert quick("fig8a").figure.axes[0].get_yscale() == "log"
    # Fig 7's example runs: y limits fit the values inside the x limits, log only where they span > 2x
    for name in ("fig7_dcdt", "fig7_dmts"):
        res = quick(name)
        x = np.maximum(res.data["example_epochs"], 1)
        for ax, key in zip(res.figure.axes[3:], ("example_loss", "example_grad_norm", "example_weight_norm")):
            shown = res.data[key][:, (x >= ax.get_xlim()[0]) & (x <= ax.get_xlim()[1])]
            lo, hi = ax.get_ylim()
            assert lo <= shown.min() and shown.max() <= hi, (name, key)
            wide = shown.max() > 2 * shown.min()
            assert ax.get_yscale() == ("log" if wide else "linear"), (name, key)
            span = np.log10(hi / lo) / np.log10(shown.max() / shown.min()) if wide else (hi - lo) / np.ptp(shown)
            assert span < 1.2, (name, key)  # no empty band beside the data


def test_fit_y_ignores_values_outside_the_x_limits():
    from ghostfast._figures_base import fit_y, new_figure

    x = np.arange(1.0, 1001.0)
    narrow = 10.0 + 0.05 * np.exp(-x / 100)
    narrow[:9] = 30.0  # epochs 1-9, outside the x limits below
    _, axes = new_figure()
    fit_y(axes[0, 0], x, narrow, (10.0, 1000.0))
    assert axes[0, 0].get_yscale() == "linear" and axes[0, 0].get_ylim()[1] < 10.1
    fit_y(axes[0, 0], x, np.exp(-x / 100), (1.0, 1000.0))
    assert axes[0, 0].get_yscale() == "log" and axes[0, 0].get_ylim()[0] < np.exp(-10.0)


def test_fig6b_learning_criterion_is_the_metrics_one(quick):
    from ghostfast import metrics

    d = quick("fig6b").data
    np.testing.assert_array_equal(
        d["fraction_learned"], (d["relative_final_loss"] < metrics.LEARNED_RATIO).mean(axis=1)
    )


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


def test_doctests():
    import doctest

    from ghostfast import _figures_canonical, _figures_rnn, metrics

    for mod in (figures, _figures_canonical, _figures_rnn, metrics):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_fig8a_paper_gradient_option():
    res = figures.fig8a(scale="quick", gradient="paper")
    rel0 = res.data["relative_grad_at_zero"]
    assert np.all(np.diff(rel0[res.data["confidences"] >= 0.1]) < 0)
    assert res.params["gradient"] == "paper"
    with pytest.raises(ValueError, match="gradient"):
        figures.fig8a(scale="quick", gradient="central")


def test_fig8c_is_drawn_from_its_data_and_its_title_fits_the_figure():
    """The paper-scale Fig 8C title ran past the right edge; the drawing needs only the saved data."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ghostfast import _figures_tasks

    res = figures.fig8c(scale="quick")
    # the paper-scale title: 100 seeds, switch at epoch 10000
    paper = dict(res.data, late_accuracy=np.zeros((5, 100)), switch_epoch=np.array(10000))
    drawn = [_figures_tasks._draw_fig8c(d, lr=res.params["lr"]) for d in (res.data, paper)]
    assert "100 seeds" in drawn[1].axes[0].get_title() and "epoch 10000" in drawn[1].axes[0].get_title()
    for fig in (res.figure, *drawn):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        title = fig.axes[0].title.get_window_extent(canvas.get_renderer())
        width, height = fig.bbox.width, fig.bbox.height
        assert 0 <= title.x0 and title.x1 <= width and title.y1 <= height, (title, width, height)
    assert "2 seeds" in res.figure.axes[0].get_title()
