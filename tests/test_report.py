"""``ghostfast reproduce all`` / ``--list`` and the report (ghostfast._report): the plan with time estimates,
resumable runs, REPORT.md / report.json with the same checks the figure tests assert."""

import io
import json
import re
import os

import numpy as np
import pytest

from ghostfast import _report, cli, figures

# a fixed calibration (seconds per run-epoch of every shape): the tests do not time anything
CAL = {k: 1e-5 for k in _report._shapes()}
CAL["threads"] = 2.0


def test_estimates_cover_every_figure_and_grow_with_scale():
    for name in figures.FIGURES:
        q, d, p = (_report.estimate(name, s, CAL)[0] for s in ("quick", "default", "paper"))
        assert 0 < q <= d <= p, name
    # the heavy paper-scale figures really are heavier: Fig 6B's 9 ranks x 10 lrs x 10 seeds x 500 000 epochs
    sec, re = _report.estimate("fig6b", "paper", CAL)
    assert re > 5e8 and sec > 100 * _report.estimate("fig6b", "quick", CAL)[0]
    with pytest.raises(ValueError, match="unknown figure"):
        _report.estimate("fig99", "quick", CAL)


def test_calibration_measures_every_shape():
    cal = _report.calibrate(1)
    assert set(cal) == set(_report._shapes()) | {"threads", "speedup"}
    assert cal["threads"] == 1.0 and cal["speedup"] == 1.0
    assert all(0 < v < 0.1 for k, v in cal.items() if k not in ("threads", "speedup"))
    assert cal["full_da"] > cal["rank1_da"]  # O(N^2) vs O(N) per step


def test_calibration_times_each_shape_on_one_thread_and_measures_the_parallel_speedup(monkeypatch):
    from ghostfast import rnn

    train_threads, many_threads = [], []
    real_train, real_many = rnn.train, rnn.train_many

    def train(*args, **kwargs):
        train_threads.append(kwargs.get("n_threads"))
        return real_train(*args, **kwargs)

    def train_many(jobs, **kwargs):
        many_threads.append((len(jobs), kwargs.get("n_threads")))
        return real_many(jobs, **kwargs)

    monkeypatch.setattr(rnn, "train", train)
    monkeypatch.setattr(rnn, "train_many", train_many)
    cal = _report.calibrate(2)
    # a run split over threads that other processes want waits at every pass: the costs are one run, one thread
    assert train_threads and set(train_threads) == {1}
    assert many_threads == [(2, 2), (2, 2)]  # two runs on two threads, timed twice
    assert cal["threads"] == 2.0 and 1.0 <= cal["speedup"] <= 2.0


def test_estimates_divide_parallel_work_by_the_measured_speedup():
    ideal, none = dict(CAL, speedup=2.0), dict(CAL, speedup=1.0)
    half = dict(CAL, speedup=1.5)
    for name in ("fig7_dmts", "fig8c"):  # sweeps of hundreds of runs
        other = _report._work(name, "paper")[1]
        t_ideal, t_none, t_half = (_report.estimate(name, "paper", c)[0] - other for c in (ideal, none, half))
        assert t_none == pytest.approx(2 * t_ideal) and t_half == pytest.approx(t_none / 1.5)
    # one run of 10 trials per class cannot be split; at paper scale Fig 4's 500 per class can
    assert _report.estimate("fig4_dcdt", "quick", ideal) == _report.estimate("fig4_dcdt", "quick", none)
    other = _report._work("fig4_dcdt", "paper")[1]
    t_ideal, t_none = (_report.estimate("fig4_dcdt", "paper", c)[0] - other for c in (ideal, none))
    assert t_none == pytest.approx(2 * t_ideal)
    # without a measured speedup (an older calibration) the division is ideal
    assert _report.estimate("fig8c", "paper", CAL) == _report.estimate("fig8c", "paper", ideal)


def test_reproduce_all_writes_report_and_resumes(tmp_path, capsys):
    out = tmp_path / "rep"
    names = ["fig1", "fig2_loss"]
    code = _report.reproduce_all("quick", out, n_threads=2, names=names, calibration=CAL)
    text = capsys.readouterr().out
    assert code == 0
    assert "2 figures, 0 already done" in text and "[1/2] fig1: PASS" in text and "[2/2] fig2_loss: PASS" in text
    assert "measured speedup 2.00x of 2 threads over one" in text  # CAL has none: the ideal division
    for n in names:
        assert (out / f"{n}.png").stat().st_size > 1000 and (out / f"{n}.npz").exists()
        rec = json.loads((out / f"{n}.check.json").read_text())
        assert rec["passed"] is True and rec["scale"] == "quick" and rec["wall_time_s"] > 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["summary"]["passed"] == 2 and rep["summary"]["failed"] == 0
    assert [f["figure"] for f in rep["figures"]] == names
    assert rep["figures"][1]["claim"] == _report.CLAIMS["fig2_loss"]
    assert rep["figures"][1]["conditions"][0]["check"].startswith("sharp limit")
    assert rep["meta"]["cpus"] >= 1 and "host" in rep["meta"]
    assert set(rep["meta"]["calibration_s_per_run_epoch"]) == set(_report._shapes())
    md = (out / "REPORT.md").read_text()
    assert "2 of 2 figures pass" in md and "![fig1](fig1.png)" in md and _report.CLAIMS["fig1"] in md
    assert re.search(r"\*Result:\* PASS \(wall time [0-9.]+ s, estimated [0-9.]+ s\)\. Checks:", md)
    # a rerun skips what is finished (the records are not rewritten) ...
    mtime = os.path.getmtime(out / "fig1.check.json")
    code = _report.reproduce_all("quick", out, n_threads=2, names=names, calibration=CAL)
    text = capsys.readouterr().out
    assert code == 0 and "2 already done" in text and "done (skipped)" in text and "running" not in text
    assert os.path.getmtime(out / "fig1.check.json") == mtime
    # ... unless forced, and another scale is another run
    assert _report.load_done(out, names, "default") == {}
    assert _report.reproduce_all("quick", out, names=["fig1"], force=True, calibration=CAL) == 0
    assert "[1/1] fig1: running" in capsys.readouterr().out


def test_reproduce_all_interrupted_then_continued(tmp_path, capsys, monkeypatch):
    out = tmp_path / "rep"
    real = _report.run_figure

    def interrupt_second(name, *args):
        if name == "fig2_loss":
            raise KeyboardInterrupt
        return real(name, *args)

    monkeypatch.setattr(_report, "run_figure", interrupt_second)
    code = _report.reproduce_all("quick", out, names=["fig1", "fig2_loss"], calibration=CAL)
    assert code == 130 and "interrupted" in capsys.readouterr().out
    assert (out / "fig1.check.json").exists() and not (out / "fig2_loss.check.json").exists()
    rep = json.loads((out / "report.json").read_text())
    assert rep["summary"]["run"] == 1 and rep["figures"][1]["not_run"] is True
    monkeypatch.setattr(_report, "run_figure", real)
    code = _report.reproduce_all("quick", out, names=["fig1", "fig2_loss"], calibration=CAL)
    text = capsys.readouterr().out
    assert code == 0 and "1 already done" in text and "[1/1] fig2_loss: PASS" in text


def test_a_rerun_judges_finished_figures_by_the_current_check(tmp_path, capsys, monkeypatch):
    """A finished figure is not recomputed, but its saved data is checked again by today's check (a check fixed
    after hours of paper-scale training applies to the report without retraining); its record is updated."""
    out = tmp_path / "rep"
    assert _report.reproduce_all("quick", out, names=["fig1"], calibration=CAL) == 0
    before = json.loads((out / "fig1.check.json").read_text())
    assert before["passed"] is True and "rechecked" not in before

    def stricter(d, p, c):
        c(d["x"].size > 10**9, "a condition the saved data does not meet")
        return {"n_x": int(d["x"].size)}

    monkeypatch.setitem(_report._IMPL, "fig1", stricter)
    monkeypatch.setattr(_report, "run_figure", lambda *a: pytest.fail("a finished figure was recomputed"))
    code = _report.reproduce_all("quick", out, names=["fig1"], calibration=CAL)
    assert code == 1 and "1 already done" in capsys.readouterr().out
    after = json.loads((out / "fig1.check.json").read_text())
    assert after["passed"] is False and after["numbers"] == {"n_x": before_size(out)}
    assert after["conditions"] == [{"passed": False, "check": "a condition the saved data does not meet"}]
    assert after["wall_time_s"] == before["wall_time_s"] and "rechecked" in after
    assert "0 of 1 figures pass" in (out / "REPORT.md").read_text()


def test_data_older_than_the_check_keeps_its_verdict_marked_stale(tmp_path, capsys, monkeypatch):
    """A check that reads a key the saved data lacks (the figure's data changed since it was run) does not turn
    a finished figure into a failure it never had: the record keeps its verdict, marked stale, and the report
    says so."""
    out = tmp_path / "rep"
    assert _report.reproduce_all("quick", out, names=["fig1"], calibration=CAL) == 0

    def newer(d, p, c):
        c(bool(d["a_key_added_later"]), "reads data the old run did not save")
        return {}

    monkeypatch.setitem(_report._IMPL, "fig1", newer)
    monkeypatch.setattr(_report, "run_figure", lambda *a: pytest.fail("a finished figure was recomputed"))
    assert _report.reproduce_all("quick", out, names=["fig1"], calibration=CAL) == 0
    rec = json.loads((out / "fig1.check.json").read_text())
    assert rec["passed"] is True and "a_key_added_later" in rec["stale"] and "--force" in rec["stale"]
    text = (out / "REPORT.md").read_text()
    assert "PASS** (stale)" in text and "*Stale:*" in text


def before_size(out) -> int:
    with np.load(out / "fig1.npz") as z:
        return int(z["x"].size)


def test_a_failed_check_is_reported(tmp_path, capsys, monkeypatch):
    def failing(d, p, c):
        c(True, "a condition that holds")
        c(np.float64(1.0) > 2.0, "a condition that does not")
        return {"x": 1.0}

    monkeypatch.setitem(_report._IMPL, "fig1", failing)
    code = _report.reproduce_all("quick", tmp_path, names=["fig1"], calibration=CAL)
    text = capsys.readouterr().out
    assert code == 1 and "fig1: FAIL: a condition that does not" in text
    md = (tmp_path / "REPORT.md").read_text()
    assert "0 of 1 figures pass" in md and "- [ ] a condition that does not" in md and "- [x] a condition" in md


def test_cli_list_dry_run_and_single_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_report, "calibrate", lambda n_threads=None: dict(CAL))
    assert cli.main(["reproduce", "--list"]) == 0
    text = capsys.readouterr().out
    assert all(n in text for n in figures.FIGURES) and "paper" in text and _report.CLAIMS["fig6b"] in text
    assert cli.main(["reproduce", "all", "--scale", "paper", "--dry-run", "--out", str(tmp_path / "d")]) == 0
    text = capsys.readouterr().out
    assert "--scale paper: 18 figures" in text and "fig6b" in text and " h " in text
    assert os.listdir(tmp_path / "d") == []  # a dry run writes nothing
    assert cli.main(["reproduce", "fig1", "--scale", "quick", "--out", str(tmp_path)]) == 0
    assert "fig1: PASS" in capsys.readouterr().out
    # one figure redone alone writes its record too: `reproduce all` in the same folder then sees this run, at
    # this scale, and never an older run's record beside the new data
    assert set(_report.load_done(tmp_path, ["fig1"], "quick")) == {"fig1"}
    assert cli.main(["reproduce", "fig1", "--scale", "default", "--out", str(tmp_path)]) == 0
    assert _report.load_done(tmp_path, ["fig1"], "quick") == {}
    done = _report.load_done(tmp_path, ["fig1"], "default")
    assert done["fig1"]["estimate_s"] is None  # no plan, no estimate
    md, _ = _report.write_report(tmp_path, ["fig1"], "default", done, dict(_report.machine(), threads=1, finished="-"))
    with open(md) as fh:
        text = fh.read()
    assert re.search(r"\*Result:\* PASS \(wall time [0-9.]+ s\)\. Checks:", text) and "estimated" not in text
    with pytest.raises(SystemExit, match="--list"):
        cli.main(["reproduce"])


@pytest.mark.parametrize(
    ("call", "name", "message"),
    [
        ("sweep.sweep", "fig6a", "sweep interrupted: 3 of 12 runs finished (the others are NaN)"),
        ("rnn.train", "fig3_small_lr", "rnn.train interrupted after 2063 recorded epochs (epoch 2063 of 3500)"),
        ("rnn.train_many", "fig8c", "rnn.train_many interrupted: 1 of 3 jobs finished, 1 stopped mid-run"),
    ],
)
def test_a_training_call_stopped_by_ctrl_c_stops_the_figure(tmp_path, capsys, monkeypatch, call, name, message):
    """sweep.sweep, rnn.train and rnn.train_many answer Ctrl-C by returning their partial work with a warning;
    a figure must not be drawn or checked from it (Fig 4 once went on to search snapshots its interrupted run
    never made). The figure function itself raises KeyboardInterrupt (so does a call from a notebook),
    reproduce all records nothing, so a rerun redoes the figure, and the single-figure command writes nothing
    and exits 130."""
    import warnings

    from ghostfast import cli, rnn, sweep

    module, attr = call.split(".")

    def interrupted(*args, **kwargs):
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        raise AssertionError("not reached: the warning stops the figure")

    monkeypatch.setattr({"sweep": sweep, "rnn": rnn}[module], attr, interrupted)
    with pytest.raises(KeyboardInterrupt, match="interrupted"):
        figures.FIGURES[name](scale="quick")
    code = _report.reproduce_all("quick", tmp_path, names=[name], calibration=CAL)
    assert code == 130 and "interrupted" in capsys.readouterr().out
    assert not (tmp_path / f"{name}.check.json").exists()
    assert cli.main(["reproduce", name, "--scale", "quick", "--out", str(tmp_path / "one")]) == 130
    assert "interrupted" in capsys.readouterr().err and not (tmp_path / "one").exists()


@pytest.mark.parametrize("call", ["train", "train_many"])
def test_ctrl_c_during_the_calibration_stops_it(tmp_path, monkeypatch, call):
    """reproduce all / --list time short runs before the plan: one cut short by Ctrl-C gives no timing."""
    import warnings

    from ghostfast import rnn

    real = getattr(rnn, call)

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)
        warnings.warn(f"rnn.{call} interrupted: (simulated)", RuntimeWarning, stacklevel=2)

    monkeypatch.setattr(rnn, call, interrupted)
    with pytest.raises(KeyboardInterrupt, match="interrupted"):
        _report.calibrate(2)
    # the commands that calibrate exit 130 with a line, before any figure starts
    out = io.StringIO()
    assert _report.reproduce_all("quick", tmp_path, names=["fig1"], out=out) == 130
    assert "no figure was started" in out.getvalue() and not (tmp_path / "fig1.png").exists()
    assert _report.list_figures(out=out, n_threads=2) == 130


def test_other_runtime_warnings_do_not_stop_a_figure():
    import warnings

    from ghostfast._figures_base import stops_on_interrupt

    @stops_on_interrupt
    def figure():
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
        return "drawn"

    with pytest.warns(RuntimeWarning, match="overflow"):
        assert figure() == "drawn"


def _same_data(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_sweep_figure_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    """A figure trained by sweeps keeps their finished runs in ``checkpoint`` and, called again after some were
    lost (as after Ctrl-C), trains only those: the same numbers as one uninterrupted call, whatever the
    chunking and thread count. Fig 6A quick: a rank-one sweep (12 runs) and a full-rank one (14)."""
    whole = figures.fig6a("quick", n_threads=2)
    ck = tmp_path / "fig6a.runs"
    first = figures.fig6a("quick", n_threads=1, checkpoint=ck)
    _same_data(whole.data, first.data)
    assert _report.kept_runs(tmp_path, "fig6a") == 12 + 14
    kept = sorted((ck / "one").glob("chunk-*.npz"))
    stamps = {p: p.stat().st_mtime_ns for p in kept}
    for p in (ck / "full").glob("chunk-*.npz"):
        p.unlink()
    assert _report.kept_runs(tmp_path, "fig6a") == 12
    resumed = figures.fig6a("quick", n_threads=2, checkpoint=ck)
    _same_data(whole.data, resumed.data)
    assert {p: p.stat().st_mtime_ns for p in kept} == stamps  # the kept runs were read, not retrained
    assert _report.kept_runs(tmp_path, "fig6a") == 12 + 14


def test_fig8c_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    """Fig 8C trains with ``rnn.train_many`` (phase 1, then five branches continued from its states): each
    phase keeps its finished chunks, and a rerun continues phase 2 from phase 1's stored states with the bits
    of one uninterrupted call. Chunks of another configuration are discarded, not reused."""
    whole = figures.fig8c("quick", n_threads=2)
    ck = tmp_path / "fig8c.runs"
    first = figures.fig8c("quick", n_threads=1, checkpoint=ck)
    _same_data(whole.data, first.data)
    assert _report.kept_runs(tmp_path, "fig8c") == 2 + 2 * 5
    phase1 = sorted((ck / "phase1").glob("chunk-*.npz"))
    phase2 = sorted((ck / "phase2").glob("chunk-*.npz"))
    assert len(phase1) == 1 and len(phase2) == 5
    stamps = {p: p.stat().st_mtime_ns for p in phase1 + phase2[:-1]}
    phase2[-1].unlink()  # as Ctrl-C in the last chunk of phase 2 leaves it
    assert _report.kept_runs(tmp_path, "fig8c") == 2 + 2 * 4
    resumed = figures.fig8c("quick", n_threads=2, checkpoint=ck)
    _same_data(whole.data, resumed.data)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # read, not retrained
    stale = ck / "phase2" / "chunk-000000000-2-00000000.npz"
    stale.write_bytes(b"another configuration's runs")
    _same_data(whole.data, figures.fig8c("quick", n_threads=2, checkpoint=ck).data)
    assert not stale.exists()


def test_reproduce_keeps_an_interrupted_figures_finished_runs_and_continues_from_them(tmp_path, capsys, monkeypatch):
    """Ctrl-C in a figure's second sweep keeps the first sweep's runs (hours at paper scale): the message says
    where, the next plan says the figure resumes, and the rerun trains the rest, removes the directory once
    the figure is saved, and saves the data of an uninterrupted run."""
    import warnings

    from ghostfast import sweep

    real = sweep.sweep

    def interrupted_in_the_full_rank_sweep(*args, **kwargs):
        result = real(*args, **kwargs)
        if os.path.basename(kwargs["out"]) != "full":
            return result
        for name in os.listdir(kwargs["out"]):
            if name.startswith("chunk-"):
                os.unlink(os.path.join(kwargs["out"], name))
        warnings.warn("sweep interrupted: 0 of 14 runs finished (simulated)", RuntimeWarning, stacklevel=2)

    out = tmp_path / "rep"
    monkeypatch.setattr(sweep, "sweep", interrupted_in_the_full_rank_sweep)
    assert _report.reproduce_all("quick", out, names=["fig6a"], calibration=CAL) == 130
    text = capsys.readouterr().out
    assert f"fig6a: interrupted; its 12 finished runs are kept in {out / 'fig6a.runs'}" in text
    assert not (out / "fig6a.check.json").exists()
    monkeypatch.setattr(sweep, "sweep", real)
    assert _report.reproduce_all("quick", out, names=["fig6a"], calibration=CAL, dry_run=True) == 0
    assert "resumes from 12 finished runs" in capsys.readouterr().out
    assert cli.main(["reproduce", "fig6a", "--scale", "quick", "--out", str(out)]) == 0
    assert not (out / "fig6a.runs").exists() and (out / "fig6a.check.json").exists()
    with np.load(out / "fig6a.npz") as saved:
        _same_data({k: saved[k] for k in saved.files if k != "params_json"}, figures.fig6a("quick").data)


def test_ctrl_c_before_any_run_finished_leaves_no_directory(tmp_path, capsys, monkeypatch):
    import warnings

    from ghostfast import sweep

    def interrupted_at_once(*args, **kwargs):
        os.makedirs(kwargs["out"], exist_ok=True)  # as sweep's store does before its first run finishes
        warnings.warn("sweep interrupted: 0 of 10 runs finished (simulated)", RuntimeWarning, stacklevel=2)

    monkeypatch.setattr(sweep, "sweep", interrupted_at_once)
    assert cli.main(["reproduce", "fig7_dcdt", "--scale", "quick", "--out", str(tmp_path / "new")]) == 130
    assert "fig7_dcdt: interrupted; nothing written" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_every_figure_that_takes_a_checkpoint_keeps_each_of_its_sweeps_there(tmp_path, monkeypatch):
    from ghostfast import sweep

    class Stop(Exception):
        pass

    outs = []

    def record_out(*args, **kwargs):
        outs.append(kwargs.get("out"))
        raise Stop

    monkeypatch.setattr(sweep, "sweep", record_out)
    resumable = [n for n in figures.FIGURES if _report.checkpoint_dir(tmp_path, n) is not None]
    assert {"fig6a", "fig6b", "fig7_dcdt", "fig7_dmts", "fig8b_ablation", "fig8c"} <= set(resumable)
    for name in set(resumable) - {"fig8c"}:  # Fig 8C trains with rnn.train_many: its own test above
        outs.clear()
        with pytest.raises(Stop):
            figures.FIGURES[name]("quick", checkpoint=_report.checkpoint_dir(tmp_path, name))
        assert outs and os.path.dirname(outs[0]) == _report.checkpoint_dir(tmp_path, name), name
