"""Property-based fuzzing of the public API (Hypothesis): called as a careless user would call it, every public
function returns or raises TypeError/ValueError naming one of its arguments (or MemoryError from numpy, which
refuses an impossible allocation before making it) -- never a crash, a hang or an unclear error.

Each call starts from small valid arguments and replaces one or two of them with a nasty value: wrong types,
None, bools where numbers belong, NaN/inf, huge and negative ints, empty / 0-d / wrong-shape arrays, strings,
complex and object arrays, and float32 / big-endian / Fortran-ordered / non-contiguous versions of the valid
arrays (which must be accepted like the originals).

Arguments that set an amount of work (``WORK_ARGS``: epochs, iterations, sizes) are fuzzed without feasible but
huge values, which are long computations (interruptible with Ctrl-C), not hangs.

Bounded in time: ``GHOSTFAST_FUZZ_EXAMPLES`` calls per function (default 12, about 30-60 s in all); the long
setting used for the hardening report is ``GHOSTFAST_FUZZ_EXAMPLES=200`` (>= 10 000 calls), which prints the
counts when ``GHOSTFAST_FUZZ_REPORT`` names a file to write them to.
"""

from __future__ import annotations

import faulthandler
import inspect
import json
import math
import os
import time
import warnings
from typing import Any, Callable, Dict, List

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ghostfast import analysis, canonical, plotting, rnn, sweep, tasks  # noqa: E402
from ghostfast import _stats  # noqa: E402

EXAMPLES = int(os.environ.get("GHOSTFAST_FUZZ_EXAMPLES", "12"))
REPORT = os.environ.get("GHOSTFAST_FUZZ_REPORT")
HANG_SECONDS = 10.0  # a call slower than this counts as a hang
WATCHDOG_SECONDS = 120.0  # a call slower than this aborts the run with every thread's traceback

# ------------------------------------------------------------------------------------------ valid arguments
M1 = rnn.Model(N=8, rank=1)
M_FULL = rnn.Model(
    N=6, rank="full", readout="linear", output="tanh", read="before", n_in=1, noise_std=0.01, x0="random", x0_std=0.1
)
TASK = tasks.delayed_activation(3)
TASK_IN = tasks.dcdt(1, 2, 2)
P1 = rnn.init_params(M1, 0)
P_FULL = rnn.init_params(M_FULL, 0)
RNG = np.random.default_rng(0)
W6 = RNG.standard_normal((6, 6)) / np.sqrt(6)
B6 = np.zeros(6)
STARTS6 = RNG.standard_normal((3, 6))
RED = analysis.latent_reduction({"W": W6, "b": B6}, rank=2)
GRID = np.linspace(-2.0, 2.0, 21)
LOSS = np.abs(RNG.standard_normal((2, 30))) + 0.01
GRAD = np.abs(RNG.standard_normal((2, 30)))
SNAPSHOTS = {0: P1, 1: P1}
STATES = RNG.standard_normal((2, 5, 6))
JOB = rnn.TrainJob(M1, TASK, 0.01, 3, P1)


def _sp() -> Any:
    return analysis.find_slow_points({"W": W6, "b": B6}, starts=STARTS6)


#: name -> (function, valid keyword arguments, names that may be mutated)
CASES: Dict[str, tuple] = {
    "canonical.optimal_r": (canonical.optimal_r, dict(T=100.0)),
    "canonical.no_learning_boundary": (canonical.no_learning_boundary, dict(T=100.0)),
    "canonical.escape_time": (canonical.escape_time, dict(r=[1e-3, 2e-3])),
    "canonical.loss": (canonical.loss, dict(r=[1e-3, 2e-3], T=100.0)),
    "canonical.loss_grad": (canonical.loss_grad, dict(r=1e-3, T=100.0, normalized=True)),
    "canonical.critical_lr": (canonical.critical_lr, dict(T=100.0, normalized=False)),
    "canonical.simulate": (
        canonical.simulate,
        dict(r=[1e-3, 3e-3], T=5.0, confidence=10.0, threshold=10.0, dt=0.1, n_threads=1),
    ),
    "canonical.train": (
        canonical.train,
        dict(
            r0=[1e-2, 2e-2],
            lr=1e-4,
            T=5.0,
            epochs=20,
            normalized=True,
            confidence=None,
            seed=0,
            n_threads=1,
            record_every=5,
            threshold=10.0,
            dt=0.1,
            progress=False,
            record_epochs=None,
            max_memory=2**30,
        ),
    ),
    "canonical.lr_sweep": (
        canonical.lr_sweep,
        dict(
            T=10.0,
            lrs=[1e-5, 1e-4],
            n_seeds=2,
            epochs=20,
            normalized=True,
            seed=0,
            record_epochs=[10, 20],
            seeding="modern",
            r0_mean=10.0,
            r0_std=0.1,
            n_threads=1,
            progress=False,
        ),
    ),
    "canonical.empirical_critical_lr": (
        canonical.empirical_critical_lr,
        dict(
            T=10.0,
            normalized=False,
            n_seeds=2,
            epochs=30,
            seed=0,
            r0_mean=10.0,
            r0_std=1.0,
            grid=(0.5, 1.0, 2.0),
            rtol=0.1,
            n_threads=1,
        ),
    ),
    "canonical.fit_critical_lr_scaling": (
        canonical.fit_critical_lr_scaling,
        dict(
            Ts=(10.0, 20.0),
            normalized=False,
            n_seeds=2,
            epochs=30,
            seed=0,
            common_random_numbers=True,
            n_threads=1,
            rtol=0.2,
        ),
    ),
    "tasks.delayed_activation": (tasks.delayed_activation, dict(T=5)),
    "tasks.dcdt": (tasks.dcdt, dict(n_in=1, n_delay=2, n_react=2, samples_per_class=1)),
    "tasks.dmts": (tasks.dmts, dict(n_in=1, n_delay=2, n_react=2, samples_per_class=1)),
    "tasks.dcdt_config": (tasks.dcdt_config, dict(name="A")),
    "tasks.dmts_config": (tasks.dmts_config, dict(name="A")),
    "rnn.Model": (
        rnn.Model,
        dict(
            N=8,
            rank=1,
            alpha=0.5,
            readout="latent",
            output="sigmoid",
            confidence=10.0,
            threshold=1.0,
            train_confidence=False,
            read="after",
            n_in=0,
            n_out=1,
            noise_std=0.0,
            x0=-0.3,
            x0_std=0.0,
            trainable=None,
            readout_l1_cap=None,
            init="auto",
        ),
    ),
    "rnn.param_shapes": (rnn.param_shapes, dict(model=M1)),
    "rnn.init_params": (rnn.init_params, dict(model=M1, seed=0, scheme=None)),
    "rnn.check_params": (rnn.check_params, dict(model=M1, params=P1)),
    "rnn.forward": (rnn.forward, dict(model=M1, params=P1, task=TASK, seed=0)),
    "rnn.forward_full": (rnn.forward, dict(model=M_FULL, params=P_FULL, task=TASK_IN, seed=0)),
    "rnn.loss_and_grad": (rnn.loss_and_grad, dict(model=M1, params=P1, task=TASK, seed=0)),
    "rnn.train": (
        rnn.train,
        dict(
            model=M1,
            task=TASK,
            lr=0.01,
            epochs=5,
            optimizer="sgd",
            seed=0,
            params=P1,
            record_every=1,
            snapshot_epochs=(0,),
            state=None,
            betas=(0.9, 0.999),
            eps=1e-8,
            fixed_point_grid=None,
            n_threads=1,
            progress=False,
            max_memory=2**30,
        ),
    ),
    "rnn.train_many": (rnn.train_many, dict(jobs=[JOB], n_threads=1, control=None, progress=False, max_memory=2**30)),
    "rnn.TrainJob": (
        lambda **kw: rnn.train_many([rnn.TrainJob(**kw)], n_threads=1),
        dict(
            model=M1,
            task=TASK,
            lr=0.01,
            epochs=3,
            params=P1,
            optimizer="adam",
            key0=1,
            key1=2,
            stream=0,
            record_every=1,
            snapshot_epochs=(),
            state=None,
            betas=(0.9, 0.999),
            eps=1e-8,
            fixed_point_grid=None,
        ),
    ),
    "sweep.sweep": (
        sweep.sweep,
        dict(
            model=M1,
            task=TASK,
            epochs=4,
            lr=[0.01, 0.02],
            seed=(0,),
            n_threads=1,
            progress=False,
            record_every=1,
            optimizer="sgd",
        ),
    ),
    "sweep.drop_epochs": (sweep.drop_epochs, dict(loss=LOSS, record_epochs=np.arange(30), fraction=0.5)),
    "sweep.trapped_mask": (sweep.trapped_mask, dict(loss=LOSS, grad_norm=GRAD, loss_fraction=0.5, grad_tol=1e-6)),
    "sweep.critical_lr": (
        sweep.critical_lr,
        dict(model=M1, task=TASK, epochs=4, seeds=range(2), lr_bounds=(1e-3, 1e-1), n_grid=3, n_threads=1),
    ),
    "stats.power_law_fit": (_stats.power_law_fit, dict(x=[1.0, 2.0, 4.0], y=[1.0, 0.25, 0.0625])),
    "stats.student_t_cdf": (_stats.student_t_cdf, dict(t=1.0, df=3.0)),
    "stats.student_t_ppf": (_stats.student_t_ppf, dict(q=0.975, df=3.0)),
    "analysis.rank_one_vectors": (analysis.rank_one_vectors, dict(params=P1)),
    "analysis.stack_rank_one": (analysis.stack_rank_one, dict(snapshots=SNAPSHOTS)),
    "analysis.flow_map_1d": (analysis.flow_map_1d, dict(params=P1, kappa_grid=GRID, n_threads=1)),
    "analysis.flow_maps_1d": (
        analysis.flow_maps_1d,
        dict(m=P1["m"][None, :, 0], n=P1["n"], b=P1["b"][None], kappa_grid=GRID, n_threads=1),
    ),
    "analysis.count_fixed_points_1d": (
        analysis.count_fixed_points_1d,
        dict(m=P1["m"][None, :, 0], n=P1["n"], b=P1["b"][None], kappa_grid=GRID, n_threads=1),
    ),
    "analysis.fixed_points_1d": (analysis.fixed_points_1d, dict(params=P1, kappa_grid=GRID, tol=1e-12)),
    "analysis.ghosts_1d": (analysis.ghosts_1d, dict(params=P1, kappa_grid=GRID, max_speed=np.inf, tol=1e-12)),
    "analysis.default_kappa_grid": (analysis.default_kappa_grid, dict(n=P1["n"][0], points=101)),
    "analysis.latent_reduction": (analysis.latent_reduction, dict(params={"W": W6, "b": B6}, rank=2, basis="svd")),
    "analysis.latent_flow": (analysis.latent_flow, dict(reduction=RED, kappa=np.zeros(2))),
    "analysis.latent_jacobian": (analysis.latent_jacobian, dict(reduction=RED, kappa=np.zeros((3, 2)))),
    "analysis.speed_field_2d": (
        analysis.speed_field_2d,
        dict(reduction=RED, grid_x=GRID[:7], grid_y=GRID[:5], n_threads=1),
    ),
    "analysis.slow_point_candidates_2d": (
        analysis.slow_point_candidates_2d,
        dict(speed=np.abs(RNG.standard_normal((5, 7))), grid_x=GRID[:7], grid_y=GRID[:5]),
    ),
    "analysis.slow_points_2d": (
        analysis.slow_points_2d,
        dict(reduction=RED, grid_x=GRID[:7], grid_y=GRID[:5], starts=None, n_threads=1),
    ),
    "analysis.full_flow": (analysis.full_flow, dict(W=W6, b=B6, x=STARTS6)),
    "analysis.full_jacobian": (analysis.full_jacobian, dict(W=W6, b=B6, x=STARTS6)),
    "analysis.find_slow_points": (
        analysis.find_slow_points,
        dict(
            params={"W": W6},
            b=B6,
            starts=STARTS6,
            tol_fixed=1e-8,
            ghost_eig_tol=0.05,
            dedup_tol=1e-6,
            max_iter=20,
            deduplicate=True,
            n_threads=1,
            progress=False,
        ),
    ),
    "analysis.adam_slow_points": (
        analysis.adam_slow_points,
        dict(params={"W": W6}, b=B6, starts=STARTS6, lr=1e-2, iterations=50, n_threads=1, progress=False),
    ),
    "analysis.learning_metrics": (
        analysis.learning_metrics,
        dict(loss=LOSS, grad_norm=GRAD, plateau_fraction=0.9, window=5, smooth=1),
    ),
    "plotting.plot_flow_1d": (plotting.plot_flow_1d, dict(params=P1, kappa_grid=GRID)),
    "plotting.plot_speed_2d": (plotting.plot_speed_2d, dict(reduction=RED, grid_x=GRID[:7], grid_y=GRID[:5])),
    "plotting.plot_pca_3d": (plotting.plot_pca_3d, dict(states=STATES, slow_points=None)),
    "plotting.plot_history": (plotting.plot_history, dict(loss=LOSS[0], grad_norm=GRAD[0], epochs=None)),
}

# ------------------------------------------------------------------------------------------ nasty values
NAN, INF = float("nan"), float("inf")
FIXED = [
    None,
    True,
    False,
    0,
    -1,
    1,
    3,
    2**31,
    2**63,
    10**30,
    -(10**30),
    100_000,
    0.0,
    -0.0,
    0.5,
    1e-300,
    1e308,
    -1e308,
    NAN,
    INF,
    -INF,
    "",
    "abc",
    "full",
    b"x",
    [],
    [1, 2],
    [[1], [2, 3]],
    [None],
    {},
    {"a": 1},
    (),
    (1.0, "a"),
    object(),
    1j,
    np.float32(1.5),
    np.int64(3),
    np.bool_(True),
    np.uint64(2**64 - 1),
    np.array(5.0),
    np.array([]),
    np.zeros((0, 3)),
    np.full(3, NAN),
    np.array(["a", "b"]),
    np.array([1 + 1j]),
    np.array([None, 1], dtype=object),
    np.ones((2, 2, 2)),
    np.arange(5),
    np.array([True, False]),
    range(3),
    range(0),
    slice(1),
    float,
    rnn.Model,
]


def _variants(value: Any) -> List[Any]:
    """Layouts and dtypes of a valid array that must be accepted (or cleanly refused)."""
    if not isinstance(value, np.ndarray) or value.size == 0:
        return []
    out: List[Any] = [
        value.astype(np.float32),
        value.astype(">f8"),
        np.asfortranarray(value),
        value.tolist(),
        np.where(np.arange(value.size).reshape(value.shape) == 0, NAN, value),
        value.ravel(),
        value[..., None],
        value[:0],
    ]
    if value.ndim >= 1:
        big = np.repeat(value, 2, axis=-1)
        out.append(big[..., ::2])  # non-contiguous, same shape
        out.append(np.moveaxis(value, -1, 0).copy())
    if value.ndim >= 2:
        out.append(value.T)
    if np.issubdtype(value.dtype, np.floating):
        out.append(value.astype(np.int64))
        out.append(value * 1e300)
    return out


#: Arguments that set an amount of work (epochs, iterations, sizes): a feasible but large value (2**31 epochs) is
#: a long computation, not a hang, so these get only small positive ints, or ints too large for the core's int64
#: (which must be refused), next to every other nasty value.
WORK_ARGS = {
    "epochs",
    "iterations",
    "max_iter",
    "n_seeds",
    "n_grid",
    "n_bisect",
    "samples_per_class",
    "n_delay",
    "n_react",
    "n_in",
    "T",
    "points",
}
_WORK_FIXED = [v for v in FIXED if not (isinstance(v, int) and not isinstance(v, bool) and 10**4 < v < 2**63)]


def _nasty(valid: Any, name: str = "") -> st.SearchStrategy:
    if name in WORK_ARGS:
        ints = st.one_of(
            st.integers(min_value=-(2**70), max_value=10**4), st.integers(min_value=2**63, max_value=2**70)
        )
        base = [st.sampled_from(_WORK_FIXED), ints]
    else:
        base = [st.sampled_from(FIXED), st.integers(min_value=-(2**70), max_value=2**70)]
    base += [st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4)]
    var = _variants(valid)
    if isinstance(valid, Mapping_types):
        keys = list(valid)
        base.append(st.builds(lambda k, v: {**valid, k: v}, st.sampled_from(keys), st.sampled_from(FIXED)))
        base.append(st.builds(lambda k: {kk: vv for kk, vv in valid.items() if kk != k}, st.sampled_from(keys)))
    if var:
        base.append(st.sampled_from(var))
    return st.one_of(*base)


Mapping_types = (dict,)

COUNTS: Dict[str, int] = {
    "calls": 0,
    "returned": 0,
    "clear_errors": 0,
    "memory_errors": 0,
    "crashes": 0,
    "hangs": 0,
    "unclear_errors": 0,
    "warnings": 0,
}
UNCLEAR: List[str] = []


def _names_in(message: str, names: List[str]) -> bool:
    low = message.lower()
    return any(n.lower() in low for n in names)


def _call(name: str, fn: Callable, kwargs: Dict[str, Any], mutated: List[str]) -> None:
    COUNTS["calls"] += 1
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    t0 = time.monotonic()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(**kwargs)
        COUNTS["warnings"] += len(caught)
        COUNTS["returned"] += 1
    except (TypeError, ValueError) as err:
        params = list(inspect.signature(fn).parameters) if not name.startswith("rnn.TrainJob") else list(kwargs)
        if _names_in(str(err), mutated + params):
            COUNTS["clear_errors"] += 1
        else:
            COUNTS["unclear_errors"] += 1
            UNCLEAR.append(f"{name}({', '.join(mutated)}): {type(err).__name__}: {err}")
    except MemoryError:
        COUNTS["memory_errors"] += 1
    except Exception as err:  # noqa: BLE001 - what the fuzzer is looking for
        COUNTS["unclear_errors"] += 1
        UNCLEAR.append(
            f"{name}({', '.join(mutated)}={[_short(kwargs[m]) for m in mutated]}): {type(err).__name__}: {err}"
        )
    finally:
        faulthandler.cancel_dump_traceback_later()
        plt.close("all")
    if time.monotonic() - t0 > HANG_SECONDS:
        COUNTS["hangs"] += 1
        UNCLEAR.append(
            f"{name}({', '.join(mutated)}={[_short(kwargs[m]) for m in mutated]}): took {time.monotonic() - t0:.1f} s"
        )


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) < 60 else r[:57] + "..."


@pytest.mark.parametrize("name", sorted(CASES))
def test_fuzz_public_api(name: str) -> None:
    fn, valid = CASES[name]
    keys = sorted(valid)
    UNCLEAR.clear()

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(data=st.data())
    def run(data: Any) -> None:
        n_mut = data.draw(st.integers(1, min(2, len(keys))), label="n_mutated")
        mutated = data.draw(
            st.lists(st.sampled_from(keys), min_size=n_mut, max_size=n_mut, unique=True), label="mutated"
        )
        kwargs = dict(valid)
        for k in mutated:
            kwargs[k] = data.draw(_nasty(valid[k], k), label=k)
        _call(name, fn, kwargs, mutated)

    run()
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"case": name, "counts": dict(COUNTS), "unclear": UNCLEAR[:20]}) + "\n")
    assert not UNCLEAR, "\n".join(UNCLEAR[:15])


def test_fuzz_valid_calls_return() -> None:
    """The fuzzer's starting points are valid calls: each returns (so the mutations test what they claim)."""
    for _name, (fn, valid) in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(**valid)
        plt.close("all")
    assert math.isfinite(canonical.optimal_r(100.0))
