"""What a new user meets first: short notebook summaries of results, DataFrame/xarray export with units, and a
command line that answers bad input with one line (exit code 2) instead of a traceback."""

import re
import textwrap

import numpy as np
import pytest

import ghostfast
from ghostfast import cli, rnn, sweep, tasks


def rank_one(**kw):
    base = dict(N=20, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3)
    base.update(kw)
    return rnn.Model(**base)


@pytest.fixture(scope="module")
def small():
    # lr 1.0 is far above the critical rate: some runs end trapped (loss ~1, zero gradient), so the summaries
    # have a non-trivial trapped fraction to report.
    return sweep.sweep(
        rank_one(),
        tasks.delayed_activation(T=5),
        epochs=200,
        lr=[1e-2, 2e-2, 1.0],
        seed=range(3),
        record_every=10,
        confidence=[1.0, 10.0],
        n_threads=2,
    )


@pytest.fixture(scope="module")
def big():
    # a long lr axis: the summaries must stay small whatever the grid (the arrays here are 1000 x 2 x 2)
    return sweep.sweep(
        rank_one(N=10),
        tasks.delayed_activation(T=3),
        epochs=2,
        lr=np.geomspace(1e-3, 1.0, 1000),
        seed=range(2),
        n_threads=2,
    )


def test_sweep_repr_is_a_bounded_summary(small, big):
    text = repr(small)
    assert text.startswith("SweepResult: lr[3] x seed[3] x confidence[2] = 18 runs, 20 records")
    assert "epochs 0..190 every 10" in text
    n_trapped = int(small.trapped.sum())
    assert f"trapped {n_trapped} (" in text
    lr, _, frac = small.per_lr()
    assert "fraction trapped per lr: " + ", ".join(f"{round(float(t), 3):g}" for t in frac) in text
    # 150 kB of raw arrays before; now well under 1 kB for either grid, and no array dump
    assert len(text) < 1000 and len(repr(big)) < 1000
    assert "array(" not in repr(big) and "..." in repr(big)  # the 1000 lrs are cut to first/last values


def test_sweep_html_summary_is_bounded_and_escaped(small, big):
    page = small._repr_html_()
    assert page.startswith("<div>") and page.endswith("</div>")
    assert "per lr, averaged over seed, confidence" in page
    assert page.count("<tr>") == 1 + 3 + 1 + 1 + 1 + 3  # axes (head + 3), flags (head + 1), per lr (head + 3)
    page_big = big._repr_html_()
    assert len(page_big) < 6000 and "more ..." in page_big  # the per-lr table of 1000 rows is cut to 12 + 1


def test_per_lr_matches_the_arrays(small):
    lr, mean, frac = small.per_lr()
    np.testing.assert_array_equal(lr, small.coords["lr"])
    np.testing.assert_allclose(mean, small.final_loss.reshape(3, -1).mean(axis=1), rtol=1e-15)
    np.testing.assert_array_equal(frac, small.trapped.reshape(3, -1).mean(axis=1))


def test_to_dataframe_rows_follow_the_grid(small):
    pytest.importorskip("pandas")
    df = small.to_dataframe()
    assert list(df.index.names) == ["lr", "seed", "confidence"] and len(df) == small.n_runs
    assert list(df.columns) == ["final_loss", "drop_epoch", "trapped", "diverged", "diverged_epoch", "done"]
    # C order: the row of (lr index 2, seed 1, confidence index 0) is that entry of the arrays
    row = df.loc[(1.0, 1, 1.0)]
    assert row["final_loss"] == small.final_loss[2, 1, 0] and row["trapped"] == small.trapped[2, 1, 0]
    np.testing.assert_array_equal(df.groupby("lr").trapped.mean().to_numpy(), small.per_lr()[2])
    hist = small.to_dataframe(histories=True)
    assert list(hist.index.names) == ["lr", "seed", "confidence", "epoch"]
    assert len(hist) == small.n_runs * small.record_epochs.size
    assert hist.loc[(2e-2, 0, 10.0, 190), "loss"] == small.loss[1, 0, 1, -1]


def test_xarray_output_is_epoch_indexed_with_units(small):
    pytest.importorskip("xarray")
    ds = small.to_xarray()
    assert ds["loss"].dims == ("lr", "seed", "confidence", "epoch")
    np.testing.assert_array_equal(ds.sel(epoch=100)["loss"].values, small.loss[..., 10])  # failed before
    for name in ("loss", "grad_norm", "accuracy", "weight_norm", "final_loss", "trapped", "drop_epoch"):
        assert ds[name].attrs["long_name"] and "units" in ds[name].attrs
    assert ds["epoch"].attrs["units"] == "epoch" and ds["lr"].attrs["long_name"] == "learning rate"
    res = rnn.train(rank_one(), tasks.delayed_activation(4), 0.01, 12, seed=3, record_every=4)
    tr = res.to_xarray()
    assert tr["loss"].dims == ("epoch",) and tr["epoch"].attrs == ds["epoch"].attrs  # one convention for both
    assert tr["loss"].attrs == ds["loss"].attrs and "'m'" in tr["grad_norm_m"].attrs["long_name"]
    np.testing.assert_array_equal(tr.sel(epoch=8)["loss"].values, res.loss[2])


def test_train_result_repr_is_short():
    res = rnn.train(rank_one(N=100), tasks.delayed_activation(20), 0.003, 2000, seed=40, snapshot_epochs=[0, 1000])
    text = repr(res)
    assert text.startswith("TrainResult:\n  model: N=100, rank=1, readout='latent'")
    assert f"{res.loss[0]:.4g} -> {res.loss[-1]:.4g}" in text and "snapshots: 2 at epochs 0, 1000" in text
    assert len(text) < 600 and "array(" not in text  # was 14 kB
    page = res._repr_html_()
    assert len(page) < 2000 and "<table>" in page


def test_cli_version_and_help_are_plain(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"ghostfast {ghostfast.__version__}"
    for argv in (["--help"], ["sweep", "--help"], ["reproduce", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = capsys.readouterr().out
        assert "``" not in out and ":func:" not in out and not re.search(r"::\n", out), argv


@pytest.mark.parametrize(
    "argv", [["demo", "--threads", "0"], ["reproduce", "fig1", "--threads", "-2"], ["demo", "--threads", "two"]]
)
def test_cli_bad_threads_is_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and "--threads" in err


def test_cli_config_errors_are_one_line(tmp_path, capsys):
    cases = {
        "[sweep]\nepochs = 3\nlr = [0.01]\nbogus = 1\n": "bogus",  # unknown key
        "[sweep]\nepochs = 3\nlr = [0.01]\n[model]\nN = -4\n": "N",  # a bad Model value
        "[sweep\nepochs = 3\n": "",  # TOML syntax error
        '[sweep]\nepochs = 3\nlr = [0.01]\n[task]\nfactory = "nope"\n': "nope",  # unknown factory
    }
    for i, (text, word) in enumerate(cases.items()):
        path = tmp_path / f"c{i}.toml"
        path.write_text(text)
        with pytest.raises(SystemExit) as exc:
            cli.main(["sweep", str(path), "--no-progress"])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.startswith("ghostfast sweep: error: ") and word in err, text
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["sweep", str(tmp_path / "missing.toml")])
    assert exc.value.code == 2 and "missing.toml" in capsys.readouterr().err


def test_cli_info_names_the_kernel_path(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    name = ghostfast.vector_kernel()
    assert name in ("portable", "avx2", "avx512")
    assert f"RNN kernels: {cli.KERNEL_NAMES[name]}" in out and "OpenMP: " in out


def test_cli_sweep_summary_says_what_it_averages(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        textwrap.dedent("""
        [model]
        N = 10
        x0 = -0.3
        [task]
        factory = "delayed_activation"
        [sweep]
        epochs = 4
        lr = [0.01, 0.02]
        seed = [0, 1]
        [grid]
        T = [3, 4]
    """)
    )
    assert cli.main(["sweep", str(cfg), "--threads", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "per lr, averaged over seed (2 values) x T (2 values); the extra grid axes T are averaged too" in out
