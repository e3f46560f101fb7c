"""The ``out=`` checkpoints of a sweep: every chunk file carries the sweep's config hash and its run range,
checked on load. A chunk of another sweep, a truncated / corrupted file or a renamed one is set aside (moved to
``rejected/``, with a RuntimeWarning naming it) and its runs recomputed, never merged."""

from __future__ import annotations

import glob
import json
import os
import shutil

import numpy as np
import pytest

from ghostfast import rnn, sweep, tasks

MODEL = rnn.Model(N=20, rank=1)
TASK = tasks.delayed_activation(5)
LRS = [0.01, 0.02, 0.03, 0.04]


def _run(out, lrs=LRS, **kw):
    return sweep.sweep(MODEL, TASK, 20, lr=lrs, seed=(0, 1), out=str(out), progress=False, chunk_size=2, **kw)


@pytest.fixture(scope="module")
def reference():
    return sweep.sweep(MODEL, TASK, 20, lr=LRS, seed=(0, 1), progress=False)


def _chunks(d):
    return sorted(glob.glob(os.path.join(str(d), "chunk-*.npz")))


def _rerun_sets_aside(out, reference, reason):
    with pytest.warns(RuntimeWarning, match=reason) as rec:
        again = _run(out)
    assert any("rejected" in str(w.message) for w in rec)
    assert os.listdir(os.path.join(str(out), "rejected"))
    np.testing.assert_array_equal(again.loss, reference.loss)  # recomputed: the same bits as a fresh sweep
    assert again.done.all()
    return again


def test_chunks_carry_hash_and_run_range(tmp_path, reference):
    res = _run(tmp_path)
    np.testing.assert_array_equal(res.loss, reference.loss)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for path in _chunks(tmp_path):
        with np.load(path) as data:
            assert str(data["meta__config_hash"][()]) == manifest["config_hash"]
            first, count = data["meta__run_range"]
            assert int(data["runs"].min()) == first and data["runs"].size == count


def test_foreign_chunk_is_set_aside(tmp_path, reference):
    a, b = tmp_path / "a", tmp_path / "b"
    _run(a)
    _run(b, lrs=[0.05, 0.06, 0.07, 0.08])  # another sweep: same grid shape, other learning rates
    for path in _chunks(a):
        os.unlink(path)
    shutil.copy(_chunks(b)[0], str(a))  # a chunk of sweep b in sweep a's folder
    _rerun_sets_aside(a, reference, "another sweep")


def test_corrupted_chunk_is_set_aside(tmp_path, reference):
    _run(tmp_path)
    path = _chunks(tmp_path)[1]
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])  # truncated
    _rerun_sets_aside(tmp_path, reference, "unreadable")


def test_renamed_chunk_is_set_aside(tmp_path, reference):
    _run(tmp_path)
    path = _chunks(tmp_path)[0]
    os.replace(path, os.path.join(str(tmp_path), "chunk-000000005-2-0123abcd.npz"))
    _rerun_sets_aside(tmp_path, reference, "run range")


def test_unreadable_manifest_is_a_clear_error(tmp_path):
    _run(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="manifest"):
        _run(tmp_path)
