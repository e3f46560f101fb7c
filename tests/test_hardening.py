"""Hardening checks that are not Ctrl-C (tests/test_interrupt.py) or fuzzing (tests/test_fuzz.py): the progress
bar under a Jupyter kernel, run_with_control with a real in-process SIGINT, thread-count clamping, memory
pre-checks, flags on non-finite passes, and messages that name the user's arguments."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types

import numpy as np
import pytest

import ghostfast
from ghostfast import _core, _progress, analysis, canonical, rnn, tasks


# ------------------------------------------------------------------------------------------ notebooks
class _FakeShell:
    kernel = object()  # what ipykernel's ZMQInteractiveShell has and a terminal IPython does not


@pytest.fixture
def fake_kernel(monkeypatch):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: _FakeShell()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.delenv("CI", raising=False)
    return fake


def test_jupyter_kernel_detected_and_bar_shown(fake_kernel, monkeypatch):
    class NotATty:
        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stderr", NotATty())
    assert _progress.in_jupyter_kernel()
    assert _progress.progress_default()  # stderr is not a TTY in a kernel, the bar is on all the same
    cls = _progress.bar_class()
    try:
        import ipywidgets  # noqa: F401

        assert cls.__module__ == "tqdm.notebook"
    except ImportError:
        assert cls.__module__ == "tqdm.std"


def test_terminal_ipython_and_plain_python_are_not_kernels(monkeypatch):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace()  # type: ignore[attr-defined]  # terminal IPython
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not _progress.in_jupyter_kernel()
    fake.get_ipython = lambda: None  # type: ignore[attr-defined]  # IPython imported, no shell running
    assert not _progress.in_jupyter_kernel()
    monkeypatch.delitem(sys.modules, "IPython")
    assert not _progress.in_jupyter_kernel()


def test_ci_turns_bars_off_even_in_a_kernel(fake_kernel, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not _progress.progress_default()


# ------------------------------------------------------------------------------------------ run_with_control
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_run_with_control_real_sigint_in_process():
    """Two real SIGINTs (the second while the call stops) give one partial result, no KeyboardInterrupt, and
    the previous SIGINT handler back."""
    before = signal.getsignal(signal.SIGINT)
    stopped = threading.Event()

    def call(control):
        while not control.cancelled:
            time.sleep(0.005)
        time.sleep(0.5)  # a slow stop: the second SIGINT lands in it
        stopped.set()
        return 42

    def send():
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=send)
    sender.start()
    value, interrupted = _progress.run_with_control(call, total=1, progress=False)
    sender.join()
    assert (value, interrupted) == (42, True)
    assert stopped.is_set()  # returned only after the worker had finished
    assert signal.getsignal(signal.SIGINT) is before


def test_run_with_control_reraises_and_reports_no_interrupt():
    def boom(control):
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        _progress.run_with_control(boom, total=1, progress=False)
    assert _progress.run_with_control(lambda c: "x", total=1, progress=False) == ("x", False)


def test_rnn_train_partial_result_continues_exactly():
    """The cancel path of the engine: a control cancelled mid-run gives histories truncated to the epochs done
    and a state that continues the run bit for bit."""
    model, task = rnn.Model(N=30), tasks.delayed_activation(10)
    job = rnn.TrainJob(model, task, 0.01, 10**7, rnn.init_params(model, 1), record_every=7, key0=3)
    control = _core.Control()
    threading.Timer(0.3, control.cancel).start()
    out = _core.rnn_train_many([rnn._job_to_core(job, 0, {})], 1, control)
    d = out[0]
    assert d.cancelled and 0 < d.state["epoch"] < 10**7
    done = int(d.state["epoch"])
    assert d.loss.size == -(-done // 7) == d.group_norms.shape[1]
    assert control.epochs == done
    part = rnn._result_from_core(job, d)
    assert part.interrupted
    rest = rnn.train(model, task, 0.01, 50, params=None, state=part.state, seed=0, record_every=7)
    ref = rnn.train_many(
        [rnn.TrainJob(model, task, 0.01, done + 50, rnn.init_params(model, 1), record_every=7, key0=3)]
    )[0]
    np.testing.assert_array_equal(np.concatenate([part.loss, rest.loss]), ref.loss)
    np.testing.assert_array_equal(
        np.concatenate([part.grad_norm_groups["m"], rest.grad_norm_groups["m"]]), ref.grad_norm_groups["m"]
    )


# ------------------------------------------------------------------------------------------ threads
def test_huge_thread_counts_are_clamped_not_crashing():
    limit = _core.max_threads()
    assert limit >= ghostfast.default_threads() >= 1
    p = rnn.init_params(rnn.Model(N=10), 0)
    r = canonical.train([1e-2, 2e-2], 1e-4, 5.0, 10, n_threads=100_000, seed=0)
    assert r.n_threads == limit
    analysis.flow_map_1d(p, np.linspace(-1, 1, 5), n_threads=2**40)
    rnn.train(rnn.Model(N=10), tasks.delayed_activation(3), 0.01, 3, seed=0, n_threads=10**6)


# ------------------------------------------------------------------------------------------ memory pre-checks
def test_memory_prechecks_refuse_before_allocating():
    m, t = rnn.Model(N=10), tasks.delayed_activation(3)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="max_memory"):
        rnn.train(m, t, 0.01, 400_000_000, seed=0)
    with pytest.raises(ValueError, match="max_memory"):
        rnn.train_many([rnn.TrainJob(m, t, 0.01, 10**9, rnn.init_params(m, 0))])
    with pytest.raises(ValueError, match="max_memory"):
        canonical.train([1e-2] * 1000, 1e-4, 5.0, 10**9)
    with pytest.raises(ValueError, match="max_memory"):
        rnn.train(m, t, 0.01, 1000, seed=0, max_memory=1000)
    assert time.perf_counter() - t0 < 1.0


# ------------------------------------------------------------------------------------------ non-finite passes
def test_forward_and_loss_and_grad_flag_non_finite_passes():
    m, t = rnn.Model(N=10), tasks.delayed_activation(3)
    p = rnn.init_params(m, 0)
    ok = rnn.loss_and_grad(m, p, t)
    loss, grads = ok  # still unpacks as a pair
    assert not ok.diverged and ok.loss == loss and ok.grads is grads
    import pickle

    back = pickle.loads(pickle.dumps(ok))
    assert back.loss == ok.loss and back.diverged is False and isinstance(back, rnn.LossAndGrad)
    assert not rnn.forward(m, p, t).diverged
    # finite parameters whose pass overflows: an identity readout with huge weights gives inf outputs and loss
    lin = rnn.Model(N=10, rank="full", readout="linear", output="identity")
    q = rnn.init_params(lin, 0)
    q["w_out"] = np.full_like(q["w_out"], 1e308)
    q["W"] = np.eye(10) * 5.0
    res = rnn.loss_and_grad(lin, q, t)
    assert not np.isfinite(res[0]) and res.diverged
    fw = rnn.forward(lin, q, t)
    assert fw.diverged and not np.all(np.isfinite(fw.outputs))


# ------------------------------------------------------------------------------------------ messages
def test_rnn_train_names_its_own_arguments():
    m, t = rnn.Model(N=10), tasks.delayed_activation(3)
    for kwargs, name in [
        (dict(lr=-1.0), "lr"),
        (dict(lr="x"), "lr"),
        (dict(epochs=-1), "epochs"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(record_every=0), "record_every"),
        (dict(betas=(0.9,)), "betas"),
        (dict(eps=0.0), "eps"),
    ]:
        args = dict(lr=0.01, epochs=3)
        args.update(kwargs)
        with pytest.raises((TypeError, ValueError)) as err:
            rnn.train(m, t, seed=0, **args)
        assert name in str(err.value) and "jobs[0]" not in str(err.value), str(err.value)


def test_latent_params_without_c_default_to_model_confidence():
    m = rnn.Model(N=10, confidence=7.5)
    p = rnn.init_params(m, 0)
    without_c = {k: v for k, v in p.items() if k != "c"}
    assert float(rnn.check_params(m, without_c)["c"]) == 7.5
    np.testing.assert_array_equal(
        rnn.loss_and_grad(m, without_c, tasks.delayed_activation(3))[1]["m"],
        rnn.loss_and_grad(m, dict(p, c=np.array(7.5)), tasks.delayed_activation(3))[1]["m"],
    )


def test_student_t_terminates_on_bad_input():
    from ghostfast import _stats

    for q in (np.inf, 1.0, 1.5, 0.2, np.nan):
        with pytest.raises(ValueError, match="q"):
            _stats.student_t_ppf(q, 3)
    with pytest.raises(ValueError, match="df"):
        _stats.student_t_cdf(1.0, np.nan)
    with pytest.raises(ValueError, match="df"):
        _stats.student_t_cdf(0.0, 0)
    assert _stats.student_t_cdf(1.0, np.inf) == pytest.approx(0.8413447460685429, rel=1e-15)
    assert round(_stats.student_t_ppf(0.975, 10), 4) == 2.2281


def test_optimal_r_refuses_unrepresentable_T():
    with pytest.raises(ValueError, match="T must be within"):
        canonical.optimal_r(1e-300)
    with pytest.raises(ValueError, match="T must be within"):
        canonical.critical_lr(1e100)
