"""What each figure of the paper claims, and the quantitative check of that claim on a figure's own data.

ONE implementation per check: ``tests/test_figures.py`` asserts ``check(result).passed`` at ``--scale quick``,
and ``ghostfast reproduce all`` writes the same checks into ``REPORT.md`` / ``report.json``.

A check is a list of conditions, each a boolean with the sentence it tests and the numbers behind it; the
figure passes when every condition holds. Claims are the paper's (abstract-level where the paper text was
not available to us; see each figure's docstring in :mod:`ghostfast.figures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from . import metrics
from ._figures_base import stops_on_interrupt

__all__ = ["Check", "CLAIMS", "check", "CHECKS"]


@dataclass(frozen=True)
class Check:
    """The outcome of one figure's check.

    ``figure``: the figure's name; ``claim``: the paper's claim in one sentence; ``conditions``: (passed,
    sentence) pairs; ``numbers``: the key numbers (plain floats/ints/lists); ``passed``: all conditions hold."""

    figure: str
    claim: str
    conditions: Tuple[Tuple[bool, str], ...]
    numbers: Dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.conditions)

    def explain(self) -> str:
        """One line per condition, marked PASS/FAIL, then the key numbers."""
        lines = [f"{self.figure}: {'PASS' if self.passed else 'FAIL'} - {self.claim}"]
        lines += [f"  [{'PASS' if ok else 'FAIL'}] {text}" for ok, text in self.conditions]
        lines += [f"  {k} = {v}" for k, v in self.numbers.items()]
        return "\n".join(lines)

    @classmethod
    def from_dict(cls, rec: Dict[str, Any]) -> Check:
        """The check of a record written by :meth:`to_dict` (e.g. a figure's ``.check.json``)."""
        conditions = tuple((bool(c["passed"]), str(c["check"])) for c in rec["conditions"])
        return cls(rec["figure"], rec["claim"], conditions, dict(rec.get("numbers", {})))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "figure": self.figure,
            "claim": self.claim,
            "passed": self.passed,
            "conditions": [{"passed": ok, "check": text} for ok, text in self.conditions],
            "numbers": _plain(self.numbers),
        }


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


class _Conds:
    """Collects (condition, sentence) pairs; each condition is evaluated to a plain bool."""

    def __init__(self) -> None:
        self.items: List[Tuple[bool, str]] = []

    def __call__(self, ok: Any, text: str) -> bool:
        ok = bool(np.all(ok))
        self.items.append((ok, text))
        return ok


def _f(x: Any, digits: int = 3) -> float:
    return float(f"{float(x):.{digits}g}")


#: Figure name -> the paper's claim in one sentence.
CLAIMS: Dict[str, str] = {
    "fig1": "A saddle-node pair of fixed points (r < 0) disappears at r = 0 and leaves a ghost (r > 0): no fixed "
    "point, but a slow passage near x = 0.",
    "fig2_loss": "The canonical model's loss has its minimum at r* = pi^2/(4T^2) and a no-learning zone r <= r*/4 "
    "where L = 1 with zero gradient; a lower output confidence smooths it.",
    "fig2_dynamics": "Below the critical learning rate gradient descent plateaus, arrives abruptly and oscillates "
    "around the cusp-shaped minimum; above it, it overshoots into the no-learning zone and stays.",
    "fig2d": "Learning fails abruptly above a critical learning rate 3 pi^4/(32 T^5): every run ends trapped at "
    "L = 1 there, none below.",
    "fig3_small_lr": "At a small learning rate the rank-one RNN shows a long plateau with a tiny gradient, a gradient "
    "spike and an abrupt drop, without any bifurcation (one fixed point throughout), and learning "
    "leaves a ghost between kappa0 and the threshold.",
    "fig3_large_lr": "Above the critical learning rate the rank-one RNN drops abruptly when its fixed point passes "
    "the readout threshold, and then does not converge (oscillates or falls back into the zone).",
    "fig4_dcdt": "In a rank-2 RNN learning DCDT, a ghost (a slow point that is not a fixed point, with a near-zero "
    "Jacobian eigenvalue) lies in the trajectories' range just before the abrupt transition of the loss.",
    "fig4_dmts": "In a rank-2 RNN learning DMTS, a ghost (a slow point that is not a fixed point, with a near-zero "
    "Jacobian eigenvalue) lies in the trajectories' range just before the abrupt transition of the loss.",
    "fig5_dcdt": "A full-rank RNN learns DCDT abruptly, and just before its accuracy jump a ghost or slow point (not "
    "a fixed point) lies near the trajectories.",
    "fig5_dmts": "A full-rank RNN learns DMTS abruptly after a long plateau, and just before its accuracy jump a "
    "ghost or slow point (not a fixed point) lies near the trajectories.",
    "fig6a": "The rank-one RNN learns only in a window of learning rates with a hard wall above (all runs trapped); "
    "the full-rank RNN, with more trainable dimensions, learns at learning rates far beyond that wall.",
    "fig6b": "More trainable rank stabilises learning: networks of higher rank K learn where rank one fails.",
    "fig7_dcdt": "Full-rank RNNs on DCDT: beyond a critical learning rate the time-averaged loss rises while the "
    "time-averaged gradient collapses (the no-learning zone).",
    "fig7_dmts": "Full-rank RNNs on DMTS: beyond a critical learning rate the time-averaged loss rises while the "
    "time-averaged gradient collapses (the no-learning zone).",
    "fig8a": "Lowering the output confidence a restores a usable gradient inside the no-learning zone, by orders "
    "of magnitude.",
    "fig8b_ablation": "Rank-one networks trapped in the no-learning zone escape only after their output confidence "
    "is lowered; at c = 10 they stay trapped.",
    "fig8b_learnable": "With a learnable output confidence the rank-one RNN converges, also after the confidence is "
    "reset to 1.",
    "fig8c": "Capping the readout norm (lower confidence) of full-rank DCDT networks raises their late accuracy "
    "relative to no cap.",
}


# ---------------------------------------------------------------------------------------------------
# the checks, one per figure; each takes the FigureResult's data and params
# ---------------------------------------------------------------------------------------------------
def _fig1(d: dict, p: dict, c: _Conds) -> dict:
    neg, pos = d["flow"]
    c(np.count_nonzero(np.diff(np.sign(neg))) == 2, "r = -0.5: the flow has exactly two zeros (fixed points)")
    c(np.all(pos > 0), "r = +0.5: the flow has no zero (no fixed point)")
    xmin = float(d["x"][np.argmin(pos)])
    c(abs(xmin) < 0.02, "r = +0.5: the flow is slowest within one grid step (0.02) of x = 0 (the ghost)")
    return {"slowest_x": _f(xmin), "min_speed_r_pos": _f(pos.min())}


def _fig2_loss(d: dict, p: dict, c: _Conds) -> dict:
    r, L, r_star = d["r_analytic"], d["loss_analytic"], float(d["r_star"])
    zone = r <= d["r_zone"]
    c(np.all(L[zone] == 1.0) and np.all(L[~zone] < 1.0), "sharp limit: L = 1 exactly on r <= r*/4 and < 1 above")
    c(abs(r[np.argmin(L)] - r_star) <= 1e-12 * r_star and L.min() < 1e-12, "sharp limit: L = 0 exactly at r*")
    step = d["r"][1] - d["r"][0]
    sim_min = [float(d["r"][np.argmin(d["loss_simulated"][k])]) for k in range(d["loss_simulated"].shape[0])]
    c(all(abs(m - r_star) <= 1.01 * step for m in sim_min), "simulated: each minimum within one grid step of r*")
    conf = list(d["confidences"])
    if 0.1 in conf and 1.0 in conf:
        lo, hi = conf.index(0.1), conf.index(1.0)
        deep = d["r"] < 0
        c(np.all(d["loss_simulated"][hi, deep] > 0.99), "a = 1: stuck at L > 0.99 inside the zone (r < 0)")
        c(np.all(d["loss_simulated"][lo, deep] < 0.9), "a = 0.1: L < 0.9 inside the zone (a smoothed landscape)")
        c(d["loss_simulated"][hi].min() < d["loss_simulated"][lo].min(), "the sharper readout reaches a lower minimum")
    return {
        "r_star": _f(r_star, 6),
        "min_loss_simulated": [_f(x) for x in d["loss_simulated"].min(axis=1)],
        "confidences": conf,
    }


def _fig2_dynamics(d: dict, p: dict, c: _Conds) -> dict:
    r_star, r_zone = float(d["r_star"]), float(d["r_zone"])
    c(d["lrs"][0] < d["critical_lr"] < d["lrs"][1], "the two learning rates straddle the analytic critical rate")
    slow_r, slow_L = d["r"][0], d["loss"][0]
    arrival = int(d["arrival_epoch"][0])
    c(
        500 < arrival < 3000 and slow_L[max(arrival // 2, 0)] > 0.5,
        "below: a plateau (L > 0.5 half-way), then arrival at r* between epochs 500 and 3000",
    )
    crossings = int(np.count_nonzero(np.diff(np.sign(slow_r[max(arrival, 0) :] - r_star))))
    c(
        slow_L[-100:].max() < 0.1 and crossings > 20 and not d["trapped"][0],
        "below: after arrival L < 0.1 and r oscillates across r* (> 20 crossings), not trapped",
    )
    fast_r, fast_L = d["r"][1], d["loss"][1]
    c(
        d["trapped"][1]
        and fast_r[-1] < r_zone
        and np.all(fast_L[-500:] == 1.0)
        and np.all(fast_r[-500:] == fast_r[-1]),
        "above: ends below r*/4 with L = 1 and r frozen (zero gradient) for the last 500 epochs",
    )
    return {
        "arrival_epoch_below": arrival,
        "crossings_of_r_star": crossings,
        "final_r_above_over_r_star": _f(fast_r[-1] / r_star),
        "critical_lr": _f(d["critical_lr"], 4),
    }


def _fig2d(d: dict, p: dict, c: _Conds) -> dict:
    lrs, lr_c, tf = d["lrs"], float(d["critical_lr"]), d["trapped_fraction"]
    c(
        np.all(tf[lrs >= 1.0e-9] == 1.0) and np.all(d["mean_loss"][lrs >= 1.0e-9, -1] == 1.0),
        "every run with lr >= 1e-9 (1.1 x critical) ends trapped at L = 1",
    )
    c(np.all(tf[lrs <= 0.85 * lr_c] == 0.0), "no run with lr <= 0.85 x critical is trapped")
    above = lrs[tf >= 0.5]
    return {
        "critical_lr_analytic": _f(lr_c, 4),
        "smallest_lr_half_trapped": _f(above.min(), 4) if above.size else None,
        "best_final_mean_loss": _f(d["mean_loss"][:, -1].min()),
    }


def _fig3_small_lr(d: dict, p: dict, c: _Conds) -> dict:
    L, G, E = d["loss"], d["grad_norm"], d["epochs"]
    drop_i = int(metrics.drop_epoch(L))
    e90, e10 = E[np.argmax(L < 0.9)], E[np.argmax(L < 0.1)]
    # "long" relative to the fall, not to the run: the paper trains 15 times past its drop (500 000 epochs)
    fall = max(int(e10 - e90), int(E[1] - E[0]) if E.size > 1 else 1)
    c(
        L[0] > 0.999
        and drop_i > 0
        and np.all(L[: int(0.9 * drop_i)] > 0.99)
        and (L < 0.1).any()
        and E[drop_i] >= 20 * fall,
        "a long plateau: L0 > 0.999, L > 0.99 until 90 % of the drop epoch, and the drop epoch at least 20 x the "
        "fall from 0.9 to 0.1 (at least one record interval)",
    )
    c(L[-1] < 0.05, "learned: final loss < 0.05")
    c((L < 0.1).any() and e10 - e90 < 0.01 * E[-1], "abrupt: from 0.9 to 0.1 within 1 % of training")
    spike = G[max(drop_i - 5, 0) : drop_i + 5].max() if drop_i >= 0 else 0.0
    c(spike > 100 * G[0], "a gradient spike at the drop: > 100 x the initial gradient norm")
    c(np.all(d["fixed_point_count"] == 1), "no bifurcation: exactly one fixed point at every recorded epoch")
    kappa, f_end, k0 = d["kappa"], d["flow"][-1], d["kappa0"][-1]
    inner = np.flatnonzero((kappa > k0) & (kappa < 1.0))
    minima = inner[(f_end[inner] < f_end[inner - 1]) & (f_end[inner] < f_end[inner + 1])]
    c(
        np.all(f_end[inner] > 0) and minima.size >= 1 and f_end[minima].min() < 1.0,
        "after learning f > 0 on (kappa0, 1) with a local minimum of f below 1 there: the ghost",
    )
    f0 = d["flow"][0]
    c(
        np.count_nonzero(np.diff(np.sign(f0))) == 1 and kappa[np.argmax(f0 < 0)] < 1.0,
        "at the start the only fixed point lies below the threshold kappa = 1",
    )
    return {
        "drop_epoch": int(E[drop_i]) if drop_i >= 0 else -1,
        "plateau_over_fall": _f(E[drop_i] / fall) if drop_i >= 0 else None,
        "final_loss": _f(L[-1]),
        "grad_spike_over_initial": _f(spike / G[0]),
        "max_fixed_points": int(d["fixed_point_count"].max()),
        "ghost_speed": _f(f_end[minima].min()) if minima.size else None,
    }


def _fig3_large_lr(d: dict, p: dict, c: _Conds) -> dict:
    L = d["loss"]
    drop = int(d["drop_epoch"])
    c(4000 < drop < 6000 and np.all(L[:4000] > 0.99), "a plateau (L > 0.99 for 4000 epochs), then a drop")
    after = L[max(drop, 0) :]
    c(after.min() < 0.1, "the drop reaches L < 0.1")
    oscillating = np.count_nonzero(np.diff(np.sign(np.diff(after)))) > 50
    fell_back = after[-100:].min() > 0.9
    c(
        (oscillating or fell_back) and not (after[-100:].max() < 0.05 and np.all(np.diff(after[-100:]) <= 0)),
        "no monotone convergence after the drop: it oscillates (> 50 turns) or falls back (L > 0.9 at the end)",
    )
    we, fp = d["window_epochs"], d["fixed_point_kappa"]
    above = np.flatnonzero(fp > 1.0)
    cross = int(we[above[0]]) if above.size else -1
    c(
        above.size > 0 and fp[0] < 1.0 and abs(cross - drop) <= 10,
        "the fixed point kappa* passes the threshold kappa = 1 within 10 epochs of the drop",
    )
    return {
        "drop_epoch": drop,
        "fixed_point_crosses_threshold": cross,
        "min_loss_after_drop": _f(after.min()),
        "outcome": "oscillates" if oscillating else ("falls back" if fell_back else "other"),
    }


def _fig4(d: dict, p: dict, c: _Conds) -> dict:
    L, E = d["loss"], d["epochs"]
    # the abrupt transition by the package's one definition (the loss's largest fall on log-log axes)
    trans, pre = int(metrics.transition_epoch(L, E)), int(d["pre_transition_epoch"])
    c(
        trans > 0 and pre >= 0 and trans == int(d["transition_epoch"]) and np.all(d["searched_epochs"] < trans),
        "the loss makes an abrupt transition (metrics.transition_epoch: its largest fall across 12 % of the epoch "
        "on each side, on log-log axes), and only snapshots before it are searched",
    )
    ghost = d["pre_transition_ghost"]
    found = bool(d["pre_transition_has_ghost"])
    c(
        found,
        "in the last snapshots before the transition a refined slow point with |F| >= 1e-3 (not a fixed point) "
        "and an eigenvalue |Re lambda| < 0.05 lies in the trajectories' range (bounding box + 10 %)",
    )
    c(float(d["final_accuracy"]) > float(d["accuracy"][0]) + 0.05, "accuracy rises over training")
    at = min(int(np.searchsorted(E, max(pre, 0))), L.size - 1)
    w = 10 ** (1 / metrics.TRANSITION_BINS_PER_DECADE)  # the windows transition_epoch compares
    return {
        "transition_epoch": trans,
        "mean_loss_before_after_transition": [
            _f(L[(E >= trans / w) & (E < trans)].mean()),
            _f(L[(E >= trans) & (E < trans * w)].mean()),
        ]
        if trans > 0
        else None,
        "drop_epoch_half_plateau": int(d["drop_epoch"]),
        "ghost_epoch": pre if found else None,
        "epochs_before_transition": trans - pre if found else None,
        "ghost_speed": _f(ghost[2]) if found else None,
        "ghost_min_abs_re_eig": _f(ghost[3]) if found else None,
        "ghost_kappa": [_f(ghost[0]), _f(ghost[1])] if found else None,
        "loss_at_ghost": _f(L[at]) if found else None,
        "first_ghost_after_transition_epoch": int(d["post_transition_ghost_epoch"])
        if int(d["post_transition_ghost_epoch"]) >= 0
        else None,
        "loss_initial": _f(L[0]),
        "loss_final": _f(L[-1]),
        "final_accuracy": _f(d["final_accuracy"]),
    }


def _fig5(d: dict, p: dict, c: _Conds) -> dict:
    from ._figures_tasks import NEAR_TRAJECTORIES, moving_points_near

    acc = d["accuracy"]
    n = max(1, acc.size // 30)
    c(
        acc[-n:].mean() > 0.95 and acc[-n:].mean() > acc[:n].mean() + 0.05,
        "the network learns: accuracy > 0.95 at the end, and at least 0.05 above the start (means over 1/30 of "
        "training)",
    )
    snaps = list(d["snapshot_epochs"])
    c(set(np.unique(d["slow_epoch"]).tolist()) == set(snaps), "slow/fixed points are found at every snapshot")
    kinds = [
        tuple(
            int(np.count_nonzero((d["slow_epoch"] == e) & (d["slow_kind"] == k)))
            for k in ("fixed point", "ghost", "slow point")
        )
        for e in snaps
    ]
    jump, pre = int(d["accuracy_jump_epoch"]), int(d["pre_jump_epoch"])
    c(
        bool(d["pre_jump_has_slow_point"]),
        "before the accuracy jump (the last 10 snapshots before it, 2 % of training) a ghost or slow point, not a "
        "fixed point, lies within 25 % of the trajectories' extent of a visited state",
    )
    pre_kinds, dist = d["pre_jump_slow_kind"], d["pre_jump_slow_distance"]
    nearest = moving_points_near(pre_kinds, dist, float(d["pre_jump_extent"]))
    near = [
        bool(np.any(d["slow_distance"][d["slow_epoch"] == e] <= NEAR_TRAJECTORIES * ext))
        for e, ext in zip(snaps, d["trajectory_extent"])
    ]
    c(
        all(near),
        "at every snapshot a slow or fixed point lies within 25 % of the trajectories' extent of a visited state",
    )
    return {
        "accuracy_start": _f(acc[:n].mean()),
        "accuracy_end": _f(acc[-n:].mean()),
        "counts_fixed_ghost_slow": {int(e): list(k) for e, k in zip(snaps, kinds)},
        "accuracy_jump_epoch": jump if jump > 0 else None,
        "slow_point_epoch": pre if bool(d["pre_jump_has_slow_point"]) else None,
        "epochs_before_jump": jump - pre if bool(d["pre_jump_has_slow_point"]) else None,
        "slow_point_kind": str(pre_kinds[nearest[0]]) if nearest.size else None,
        "slow_point_speed": _f(d["pre_jump_slow_speed"][nearest[0]]) if nearest.size else None,
        "slow_point_distance_over_extent": _f(dist[nearest[0]] / d["pre_jump_extent"]) if nearest.size else None,
    }


def _fig6a(d: dict, p: dict, c: _Conds) -> dict:
    lrs, mean = d["one_lrs"], d["one_mean_loss"]
    last = mean[:, -1]
    c(
        last[0] > 0.9 and last.min() < 0.05,
        "rank one: the smallest lr is still on the plateau (> 0.9), a window learns (< 0.05)",
    )
    wall = lrs >= 0.03
    c(
        wall.any() and np.all(d["one_trapped_fraction"][wall] == 1.0) and np.all(last[wall] > 0.99),
        "rank one: a wall, every run with lr >= 0.03 trapped at L ~ 1",
    )
    learned = (mean < 0.5).sum(axis=0)
    c(
        np.all(np.diff(learned) >= 0) and learned[-1] > learned[0],
        "rank one: the window widens to the left with more epochs",
    )
    first_wall = (
        float(lrs[np.argmax(d["one_trapped_fraction"] == 1.0)])
        if (d["one_trapped_fraction"] == 1.0).any()
        else float("nan")
    )
    fl, fm = d["full_lrs"], d["full_mean_loss"][:, -1]
    beyond = fl >= 3.0 * first_wall
    c(np.any(fm[beyond] < 0.05), "full rank: learns (mean final loss < 0.05) at an lr >= 3 x the rank-one wall")
    ok_full = fl[fm < 0.05]
    return {
        "rank_one_wall_lr": _f(first_wall),
        "rank_one_best_final_loss": _f(last.min()),
        "full_rank_largest_learning_lr": _f(ok_full.max()) if ok_full.size else None,
        "full_rank_trapped_fraction": [_f(x) for x in d["full_trapped_fraction"]],
    }


def _fig6b(d: dict, p: dict, c: _Conds) -> dict:
    rel = d["relative_final_loss"]  # (lr, seed, rank)
    frac = d["fraction_learned"]
    ranks = list(d["ranks"])
    hi = len(ranks) - 1
    better = np.all(rel[..., hi] < 0.5 * rel[..., 0], axis=1)  # per lr: every seed
    c(better.any(), f"at some lr every seed of rank {ranks[hi]} ends below half rank 1's final/initial loss")
    c(np.all(np.diff(frac, axis=1) >= -0.2), "the fraction learned does not fall with K (up to 0.2 seed noise)")
    big = [k for k, K in enumerate(ranks) if K >= 10]
    k1_fails_big_learns = [float(lr) for lr, f in zip(d["lrs"], frac) if f[0] < 0.5 and big and f[big].min() >= 0.5]
    return {
        "ranks": ranks,
        "lrs": [_f(x) for x in d["lrs"]],
        "fraction_learned": frac.round(3).tolist(),
        "median_relative_final_loss_by_rank": [_f(np.median(rel[..., k])) for k in range(len(ranks))],
        "lrs_where_rank1_fails_and_rank10plus_learns": k1_fails_big_learns,
    }


def _fig7(d: dict, p: dict, c: _Conds) -> dict:
    loss = np.nanmedian(d["mean_loss"], axis=1)
    grad = np.nanmedian(d["mean_grad_norm"], axis=1)
    best = int(np.argmin(loss))
    c(0 < best < loss.size - 1, "the seed-median time-averaged loss is non-monotone in lr (best lr inside the grid)")
    c(loss[-1] > 1.1 * loss[best], "at the largest lr the time-averaged loss is > 1.1 x the best (it rises) ...")
    c(grad[-1] < 0.2 * grad[best], "... while the time-averaged gradient norm is < 0.2 x that at the best lr")
    return {
        "best_lr": _f(d["lrs"][best]),
        "loss_rise_largest_over_best": _f(loss[-1] / loss[best]),
        "grad_fall_largest_over_best": _f(grad[-1] / grad[best]),
        "median_mean_loss": [_f(x) for x in loss],
        "median_mean_grad_norm": [_f(x) for x in grad],
    }


def _fig8a(d: dict, p: dict, c: _Conds) -> dict:
    conf, rel0 = d["confidences"], d["relative_grad_at_zero"]
    order = conf >= 0.1
    c(np.all(np.diff(rel0[order]) < 0), "for a >= 0.1 the relative gradient at r = 0 falls as a rises")
    c(rel0[order][0] > 1e5 * rel0[order][-1], "by more than 5 orders of magnitude from the lowest to the highest a")
    c(np.all(d["grad_analytic_relative"][d["r"] < d["r_zone"]] == 0.0), "sharp limit: exactly 0 inside the zone")
    return {"confidences": conf.tolist(), "relative_grad_at_r0": [float(f"{x:.3g}") for x in rel0]}


def _fig8b_ablation(d: dict, p: dict, c: _Conds) -> dict:
    # the paper's selection window: a run is kept if its accuracy stays <= 0.5 over epochs 5950-5999 (earlier
    # in the plotted window some kept runs have not fallen yet: at paper scale the mean is 0.515 at 5888)
    window = (d["epochs"] >= 5950) & (d["epochs"] < 6000)
    c(int(d["n_selected"]) >= 3, "at least 3 runs learned and then fell into the zone")
    c(
        window.any() and np.all(d["accuracy_mean"][:, window] <= 0.5),
        "in the selection window before the switch (epochs 5950-5999) their mean accuracy is <= 0.5",
    )
    small, c10 = d["c_values"] <= 0.2, np.isclose(d["c_values"], 10.0)
    c(np.all(d["final_accuracy"][small] > 0.5), "after 100 epochs at c <= 0.2 the mean accuracy exceeds 0.5")
    c(np.all(d["final_accuracy"][c10] <= 0.5), "at c = 10 it stays <= 0.5")
    return {
        "n_selected": int(d["n_selected"]),
        "final_accuracy_by_c": {f"{cv:.3g}": _f(a) for cv, a in zip(d["c_values"], d["final_accuracy"])},
    }


def _fig8b_learnable(d: dict, p: dict, c: _Conds) -> dict:
    c(d["loss"][0] > 0.99, "starts on the plateau (L0 > 0.99)")
    c(d["loss"][-100:].max() < 0.1, "converges after the reset to c = 1 (L < 0.1 over the last 100 epochs)")
    c(d["c_end"][1] != 1.0, "c was trained in phase 2")
    return {"c_end_of_phases": [_f(x) for x in d["c_end"]], "final_loss": _f(d["loss"][-1])}


def _fig8c(d: dict, p: dict, c: _Conds) -> dict:
    late = d["late_accuracy"].mean(axis=1)
    caps = list(d["caps"])
    unc = late[-1]
    for cv in (0.5, 1.0, 3.0):
        c(late[caps.index(cv)] > unc, f"late accuracy at c = {cv:g} exceeds that without a cap")
    return {"late_accuracy_by_cap": {("inf" if np.isinf(cv) else f"{cv:g}"): _f(a) for cv, a in zip(caps, late)}}


_IMPL: Dict[str, Callable[[dict, dict, _Conds], dict]] = {
    "fig1": _fig1,
    "fig2_loss": _fig2_loss,
    "fig2_dynamics": _fig2_dynamics,
    "fig2d": _fig2d,
    "fig3_small_lr": _fig3_small_lr,
    "fig3_large_lr": _fig3_large_lr,
    "fig4_dcdt": _fig4,
    "fig4_dmts": _fig4,
    "fig5_dcdt": _fig5,
    "fig5_dmts": _fig5,
    "fig6a": _fig6a,
    "fig6b": _fig6b,
    "fig7_dcdt": _fig7,
    "fig7_dmts": _fig7,
    "fig8a": _fig8a,
    "fig8b_ablation": _fig8b_ablation,
    "fig8b_learnable": _fig8b_learnable,
    "fig8c": _fig8c,
}
#: The figures that have a check (:func:`check`), in the paper's order.
CHECKS = tuple(_IMPL)


def check(result: Any) -> Check:
    """Check a :class:`ghostfast.figures.FigureResult` against its figure's claim (see :data:`CLAIMS`)."""
    return _check(result, missing_key_fails=True)


def _check(result: Any, *, missing_key_fails: bool) -> Check:
    """:func:`check`; with ``missing_key_fails=False`` data that lack a key the check reads raise ``KeyError``
    (saved by an older version of the figure, see :func:`_recheck`) instead of failing the check."""
    name = result.name
    if name not in _IMPL:
        raise ValueError(f"no check for figure {name!r}; known: {sorted(_IMPL)}")
    conds = _Conds()
    try:
        numbers = _IMPL[name](result.data, result.params, conds)
    except (KeyError, IndexError, ValueError) as err:  # data too short or malformed: a failed check, not a crash
        if isinstance(err, KeyError) and not missing_key_fails:
            raise
        conds(False, f"the check could not be evaluated on this data: {type(err).__name__}: {err}")
        numbers = {}
    return Check(figure=name, claim=CLAIMS[name], conditions=tuple(conds.items), numbers=numbers)


# ---------------------------------------------------------------------------------------------------
# time estimates: the work of each figure in run-epochs, priced by a measured cost per trial-step
# ---------------------------------------------------------------------------------------------------
def _shapes() -> Dict[str, Tuple[Any, Any, int, str]]:
    """Work kind -> (model, task, calibration epochs, optimizer): every (network, task) shape the figures train.
    Costs per epoch depend on the batch (trials) as well as on the network, so each shape is timed."""
    from . import rnn, tasks

    da = tasks.delayed_activation(20)

    def full(output: str, noise: float, x0_std: float) -> Any:
        return rnn.Model(
            N=100,
            rank="full",
            alpha=0.5,
            readout="linear",
            output=output,
            read="before",
            n_in=1,
            noise_std=noise,
            x0="random" if x0_std > 0 else 0.0,
            x0_std=x0_std,
        )

    def low(output: str, noise: float) -> Any:
        return rnn.Model(
            N=100,
            rank=2,
            readout="latent_linear",
            output=output,
            read="before",
            n_in=1,
            noise_std=noise,
            x0="random",
            x0_std=0.3,
        )

    return {
        "rank1_da": (
            rnn.Model(
                N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3
            ),
            da,
            4000,
            "sgd",
        ),
        "rank10_da": (
            rnn.Model(N=100, rank=10, alpha=0.5, readout="linear", output="sigmoid", read="after", x0=-0.3),
            da,
            1500,
            "sgd",
        ),
        "rank2_dcdt_10": (low("tanh", 0.0), tasks.dcdt(*tasks.dcdt_config("A"), samples_per_class=10), 200, "adam"),
        "rank2_dmts_10": (low("sigmoid", 0.01), tasks.dmts(*tasks.dmts_config("A"), samples_per_class=10), 100, "adam"),
        "full_da": (
            rnn.Model(N=100, rank="full", alpha=0.5, readout="linear", output="sigmoid", read="after", x0=-0.3),
            da,
            300,
            "sgd",
        ),
        "full_dcdtA": (full("tanh", 0.01, 0.1), tasks.dcdt(*tasks.dcdt_config("A")), 500, "sgd"),
        "full_dmtsB": (full("sigmoid", 0.01, 0.1), tasks.dmts(*tasks.dmts_config("B")), 300, "sgd"),
        "full_dcdtB": (full("tanh", 0.0, 0.0), tasks.dcdt(*tasks.dcdt_config("B")), 400, "sgd"),
        "full_dmtsA": (full("sigmoid", 0.0, 0.0), tasks.dmts(*tasks.dmts_config("A")), 300, "sgd"),
        "full_dcdtA_10": (
            full("tanh", 1e-3, 0.1),
            tasks.dcdt(*tasks.dcdt_config("A"), samples_per_class=10),
            100,
            "adam",
        ),
    }


@stops_on_interrupt  # a timing of a run cut short by Ctrl-C would be wrong: stop, as a figure does
def calibrate(n_threads: Any = None) -> Dict[str, float]:
    """What :func:`estimate` needs, measured now on this machine (~2 s in all):

    * for every (network, task) shape the figures train, its seconds per run-epoch for one run on one thread
      (the faster of two timings). One thread, because a run whose trials are split over threads waits for the
      slowest of them at every pass: where other processes want the same cores, that wait, not the work, sets
      the time of a small run, and its estimate would be many times too long;
    * ``threads``: the thread count parallel work is divided among;
    * ``speedup``: how much faster ``threads`` threads get through independent runs than one thread (at most
      ``threads``; less on SMT siblings, with shared memory bandwidth or on a loaded machine)."""
    import time

    from . import default_threads, rnn
    from ._figures_base import threads as _threads

    def fastest_of_two(call: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
        best = np.inf
        for _ in range(2):  # the faster of two timings: less sensitive to other processes' bursts
            t0 = time.perf_counter()
            call(*args, **kwargs)
            best = min(best, time.perf_counter() - t0)
        return float(best)

    shapes = _shapes()
    out: Dict[str, float] = {}
    for kind, (model, task, epochs, optimizer) in shapes.items():
        p = rnn.init_params(model, 0)
        rnn.train(model, task, 1e-3, 10, optimizer=optimizer, params=p, seed=0, n_threads=1)  # warm-up
        n = epochs // 2
        run = dict(optimizer=optimizer, params=p, seed=0, record_every=n, n_threads=1)
        out[kind] = fastest_of_two(rnn.train, model, task, 1e-3, n, **run) / n
    nt = _threads(n_threads)
    threads = int(nt if nt else default_threads())
    out["threads"] = float(threads)
    out["speedup"] = 1.0
    if threads > 1:
        # `threads` runs of a shape train_many trains one by one (full rank), one per thread, against one run
        model, task, epochs, optimizer = shapes["full_dcdtA_10"]
        n = epochs // 2
        job = rnn.TrainJob(model, task, 1e-3, n, params=rnn.init_params(model, 0), optimizer=optimizer, record_every=n)
        parallel = fastest_of_two(rnn.train_many, [job] * threads, n_threads=threads, progress=False)
        out["speedup"] = float(np.clip(threads * out["full_dcdtA_10"] * n / parallel, 1.0, threads))
    return out


def _work(name: str, scale: str) -> Tuple[List[Tuple[str, float, int]], float]:
    """The figure's training work at ``scale`` as (kind, run-epochs in units of the calibrated shape, runs or
    trial blocks that can go in parallel) items, and the seconds of other work (analysis, drawing; measured at
    quick scale on 2 loaded cores). The sizes are those of the figure functions' scale tables
    (``ghostfast.figures``)."""
    from ._figures_base import pick
    from ._figures_lowrank import _FIG4
    from ._figures_tasks import _FIG5

    if name in ("fig1", "fig2_loss", "fig2_dynamics", "fig8a"):
        return [], 1.0
    if name == "fig2d":
        return [], pick(scale, 1.0, 1.5, 1.5)
    if name == "fig3_small_lr":
        return [("rank1_da", pick(scale, 20000, 100000, 500000), 1)], 1.5
    if name == "fig3_large_lr":
        return [("rank1_da", 6000 + 5200, 1)], 2.0
    if name in ("fig4_dcdt", "fig4_dmts"):
        task = name[-4:]
        spc, _, _, E, _ = pick(scale, *_FIG4[task][3])
        # one run whose trials the threads split: parallel work in blocks of the calibrated shape's batch
        return [(f"rank2_{task}_10", E * spc / 10.0, spc // 10)], 4.0 + 2e-4 * E  # slow points; snapshot copies
    if name in ("fig5_dcdt", "fig5_dmts"):
        task = name[-4:]
        return [("full_dcdtA" if task == "dcdt" else "full_dmtsB", pick(scale, *_FIG5[task][2]), 1)], 3.0
    if name == "fig6a":
        one = pick(scale, (6 * 2, 15001), (9 * 3, 20001), (30 * 10, 200001))
        full = pick(scale, (7 * 2, 1001), (9 * 3, 5001), (30 * 10, 200001))
        return [("rank1_da", one[0] * one[1], one[0]), ("full_da", full[0] * full[1], full[0])], 2.0
    if name == "fig6b":
        ranks, n_lr, seeds, E = pick(
            scale,
            ((1, 30), 1, 3, 3000),
            ((1, 3, 10, 30), 2, 3, 10000),
            ((1, 2, 3, 4, 5, 10, 30, 50, 100), 10, 10, 500000),
        )
        # cost of rank K relative to rank 10 ~ (1 + K/4) / 3.5 (measured: ranks 1, 10, 100 at 33 us, 0.15 ms,
        # 0.86 ms per run-epoch)
        return [("rank10_da", n_lr * seeds * E * (1 + 0.25 * K) / 3.5, n_lr * seeds * len(ranks)) for K in ranks], 2.0
    if name in ("fig7_dcdt", "fig7_dmts"):
        n_lr, seeds, E = pick(scale, (5, 2, 200), (9, 4, 1000), (20, 20, 20000))
        return [("full_dcdtB" if name == "fig7_dcdt" else "full_dmtsA", n_lr * seeds * E, n_lr * seeds)], 2.0
    if name == "fig8b_ablation":
        seeds, n_c = pick(scale, (12, 10), (40, 30), (100, 30))
        return [("rank1_da", seeds * 6000, seeds), ("rank1_da", 0.6 * seeds * n_c * 100, seeds * n_c)], 1.5
    if name == "fig8b_learnable":
        return [("rank1_da", 20000, 1)], 1.0
    if name == "fig8c":
        seeds, E1, E2 = pick(scale, (2, 200, 200), (3, 1000, 1000), (100, 10000, 10000))
        return [("full_dcdtA_10", seeds * E1, seeds), ("full_dcdtA_10", 5 * seeds * E2, 5 * seeds)], 2.0
    raise ValueError(f"unknown figure {name!r}")


def _threads_and_speedup(cal: Dict[str, float]) -> Tuple[float, float]:
    """The calibration's thread count and parallel speedup (within [1, threads]; a calibration that did not
    measure one, as older ones, is taken as ideal: the thread count)."""
    threads = max(1.0, cal.get("threads", 1.0))
    return threads, min(threads, max(1.0, cal.get("speedup", threads)))


def estimate(name: str, scale: str, cal: Dict[str, float]) -> Tuple[float, float]:
    """(estimated seconds, run-epochs) of one figure at ``scale`` with the costs ``cal`` of :func:`calibrate`:
    each shape's run-epochs times its measured cost, work of p parallel runs (or trial blocks) divided among
    min(threads, p) threads at the measured ``speedup`` (interpolated linearly between one thread and all)."""
    items, other = _work(name, scale)
    threads, speedup = _threads_and_speedup(cal)
    seconds, run_epochs = other, 0.0
    for kind, work, parallel in items:
        used = min(threads, max(1, parallel))
        gain = 1.0 if threads == 1 else 1.0 + (speedup - 1.0) * (used - 1.0) / (threads - 1.0)
        seconds += work * cal[kind] / gain
        run_epochs += work
    return seconds, run_epochs


# ---------------------------------------------------------------------------------------------------
# ghostfast reproduce all: plan, run (resumable), report
# ---------------------------------------------------------------------------------------------------
def _fmt_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 9.5 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def machine() -> Dict[str, Any]:
    """Where a report was made: host, platform, CPU count, load average, ghostfast version."""
    import os
    import platform

    from . import __version__, has_openmp

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Windows
        load = None
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15_min": load,
        "ghostfast": __version__,
        "openmp": bool(has_openmp),
    }


def plan(names: List[str], scale: str, cal: Dict[str, float]) -> List[Dict[str, Any]]:
    """One row per figure: name, estimated seconds, work in calibrated run-epochs."""
    rows = []
    for n in names:
        sec, re = estimate(n, scale, cal)
        rows.append({"figure": n, "estimate_s": sec, "run_epochs": re})
    return rows


def _speedup_text(cal: Dict[str, float]) -> str:
    threads, speedup = _threads_and_speedup(cal)
    return f"measured speedup {speedup:.2f}x of {threads:.0f} threads over one"


def print_plan(
    rows: List[Dict[str, Any]],
    scale: str,
    cal: Dict[str, float],
    done: Dict[str, Any],
    out: Any,
    kept: Optional[Dict[str, int]] = None,
) -> None:
    """The plan's table. ``kept``: figure -> finished runs an interrupted run left (:func:`kept_runs`)."""
    kept = {} if kept is None else kept
    total = sum(r["estimate_s"] for r in rows if r["figure"] not in done)
    print(
        f"ghostfast reproduce all --scale {scale}: {len(rows)} figures, {len(done)} already done; "
        f"estimated {_fmt_time(total)} on {cal['threads']:.0f} threads",
        file=out,
    )
    print(
        "(estimates: each figure's run-epochs x the cost per run-epoch measured just now for its network and "
        f"task on one thread, parallel runs divided among the threads at the {_speedup_text(cal)}, plus its "
        "analysis and drawing time; a loaded machine runs slower)",
        file=out,
    )
    print(f"  {'#':>2}  {'figure':<16} {'run-epochs':>12}  {'estimate':>9}  status", file=out)
    for i, r in enumerate(rows, 1):
        status = "done (skipped)" if r["figure"] in done else ""
        if not status and kept.get(r["figure"]):
            status = f"resumes from {kept[r['figure']]} finished runs"
        re = f"{r['run_epochs']:.3g}" if r["run_epochs"] else "-"
        print(f"  {i:>2}  {r['figure']:<16} {re:>12}  {_fmt_time(r['estimate_s']):>9}  {status}", file=out)


def _record_path(out_dir: Any, name: str) -> Any:
    import os

    return os.path.join(os.fspath(out_dir), f"{name}.check.json")


def load_done(out_dir: Any, names: List[str], scale: str) -> Dict[str, Dict[str, Any]]:
    """Figures already finished in ``out_dir`` at this scale (their record and PNG exist)."""
    import json
    import os

    done = {}
    for n in names:
        path = _record_path(out_dir, n)
        if os.path.exists(path) and os.path.exists(os.path.join(os.fspath(out_dir), f"{n}.png")):
            try:
                with open(path) as fh:
                    rec = json.load(fh)
            except (OSError, ValueError):
                continue
            if rec.get("scale") == scale:
                done[n] = _recheck(out_dir, n, rec)
    return done


def _recheck(out_dir: Any, name: str, rec: Dict[str, Any]) -> Dict[str, Any]:
    """A finished figure's record with its check evaluated again on its saved data (``<name>.npz``) by the
    current check, so a rerun reports today's checks without recomputing hours of training; the record file
    is updated. A record without its data is kept as it was; one whose data lack what the current check reads
    (saved by an older version of the figure) keeps its verdict, marked ``stale``."""
    import json
    import os
    from types import SimpleNamespace

    path = os.path.join(os.fspath(out_dir), str(rec.get("npz", f"{name}.npz")))
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return rec
    try:
        judged = _check(SimpleNamespace(name=name, data=data, params=rec.get("params", {})), missing_key_fails=False)
    except KeyError as err:
        # Data saved by an older version of the figure, which the current check cannot read: keep the verdict
        # the record was given and say so; ``--force`` recomputes the figure.
        stale = f"its data predate the current check (no {err} in {os.path.basename(path)}); rerun with --force"
        if rec.get("stale") != stale:
            rec = dict(rec, stale=stale)
            _write_record(out_dir, name, rec)
        return rec
    # through JSON, as the record was: tuples become lists, numbers plain
    fresh = json.loads(json.dumps(judged.to_dict()))
    if all(rec.get(k) == v for k, v in fresh.items()):
        return rec
    new = dict(fresh, **{k: v for k, v in rec.items() if k not in fresh}, rechecked=_now())
    _write_record(out_dir, name, new)
    return new


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def _write_record(out_dir: Any, name: str, rec: Dict[str, Any]) -> None:
    """Write ``<name>.check.json`` atomically (a temporary file, then a rename)."""
    import json
    import os

    tmp = _record_path(out_dir, name) + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(rec, fh, indent=1)  # insertion order: the key numbers in the order the check lists them
    os.replace(tmp, _record_path(out_dir, name))


def checkpoint_dir(out_dir: Any, name: str) -> Optional[str]:
    """Where :func:`run_figure` keeps a figure's finished runs until the figure is saved, so that a rerun after
    Ctrl-C trains only the rest (None: the figure takes no ``checkpoint``: it trains one run, or in seconds)."""
    import inspect
    import os

    from . import figures

    if "checkpoint" not in inspect.signature(figures.FIGURES[name]).parameters:
        return None
    return os.path.join(os.fspath(out_dir), f"{name}.runs")


def kept_runs(out_dir: Any, name: str) -> int:
    """The finished runs an interrupted figure left in its :func:`checkpoint_dir` (0: none)."""
    import os

    from ._sweep_store import stored_run_count

    path = checkpoint_dir(out_dir, name)
    return stored_run_count(path) if path is not None and os.path.isdir(path) else 0


def interrupted_text(out_dir: Any, name: str) -> str:
    """What Ctrl-C left of a figure: nothing, or the finished runs a rerun continues from."""
    n = kept_runs(out_dir, name)
    if n == 0:
        return f"{name}: interrupted; nothing written"
    return (
        f"{name}: interrupted; its {n} finished runs are kept in {checkpoint_dir(out_dir, name)} and a rerun "
        "continues from them"
    )


def run_figure(
    name: str, scale: str, out_dir: Any, n_threads: Any, estimate_s: Optional[float] = None
) -> Dict[str, Any]:
    """Compute, save (PNG, npz) and check one figure; write its record ``<name>.check.json`` last (so an
    interrupted figure is redone on the next run). ``estimate_s``: the plan's estimate, if there was a plan
    (``reproduce all``). Returns the record. Both ``reproduce all`` and ``reproduce FIG`` call it, so a figure
    redone alone never leaves an older run's record beside its new data. A figure that takes a ``checkpoint``
    keeps its finished runs in :func:`checkpoint_dir` as they finish: an interrupted figure resumes from them,
    and the directory is removed once the record is written."""
    import os
    import shutil
    import time

    from . import figures

    t0 = time.perf_counter()
    runs_dir = checkpoint_dir(out_dir, name)
    kwargs = {} if runs_dir is None else {"checkpoint": runs_dir}
    out_dir_existed = os.path.isdir(out_dir)
    try:
        # a training call stopped by Ctrl-C stops the figure (KeyboardInterrupt): nothing partial is recorded
        result = figures.FIGURES[name](scale=scale, n_threads=n_threads, **kwargs)
    except KeyboardInterrupt:
        if runs_dir is not None and kept_runs(out_dir, name) == 0:  # stopped before a run finished
            shutil.rmtree(runs_dir, ignore_errors=True)
            if not out_dir_existed and os.path.isdir(out_dir) and not os.listdir(out_dir):
                os.rmdir(out_dir)
        raise
    compute = time.perf_counter() - t0
    png, npz = result.save(out_dir)
    wall = time.perf_counter() - t0
    c = check(result)
    rec = dict(
        c.to_dict(),
        scale=scale,
        wall_time_s=round(wall, 2),
        compute_time_s=round(compute, 2),
        estimate_s=None if estimate_s is None else round(estimate_s, 2),
        png=os.path.basename(png),
        npz=os.path.basename(npz),
        params=_plain(result.params),
        finished=_now(),
    )
    _write_record(out_dir, name, rec)
    if runs_dir is not None:
        shutil.rmtree(runs_dir, ignore_errors=True)  # the figure's npz holds what it shows
    import matplotlib.pyplot as plt  # the figures are not attached to pyplot; this frees nothing else

    plt.close("all")
    return rec


def write_report(
    out_dir: Any,
    names: List[str],
    scale: str,
    records: Dict[str, Dict[str, Any]],
    meta: Dict[str, Any],
    images: Any = None,
    note: str = "",
) -> Tuple[str, str]:
    """Write ``REPORT.md`` and ``report.json`` from the figures' records (missing ones are listed as not run).

    ``images``: None links every figure's PNG next to the report; a dict {figure: path} links only those (the
    others are named, e.g. for a committed copy without its images). ``note``: a paragraph added at the top."""
    import json
    import os

    out_dir = os.fspath(out_dir)
    figs = [
        records[n]
        if n in records
        else {"figure": n, "claim": CLAIMS[n], "passed": None, "conditions": [], "numbers": {}, "not_run": True}
        for n in names
    ]
    n_pass = sum(1 for f in figs if f.get("passed") is True)
    n_run = sum(1 for f in figs if not f.get("not_run"))
    wall = sum(f.get("wall_time_s", 0.0) for f in figs)
    summary = {
        "scale": scale,
        "figures": len(names),
        "run": n_run,
        "passed": n_pass,
        "failed": n_run - n_pass,
        "total_wall_time_s": round(wall, 1),
    }
    with open(os.path.join(out_dir, "report.json"), "w") as fh:
        json.dump({"summary": summary, "meta": _plain(meta), "figures": figs}, fh, indent=1)
    L = [
        f"# ghostfast: reproduction report of the paper's figures (--scale {scale})",
        "",
        f"Dinc et al., *A ghost mechanism: An analytical model of abrupt learning in recurrent networks*, "
        f"arXiv 2501.02378. Made with `ghostfast reproduce all --scale {scale}`.",
        "",
        f"- **{n_pass} of {n_run} figures pass their check**"
        + (f" ({len(names) - n_run} not run)" if n_run < len(names) else "")
        + ".",
        f"- Wall time: {_fmt_time(wall)} in total (the figures' own times; a rerun skips finished figures).",
        f"- Made: {meta.get('finished', '?')} on `{meta.get('host', '?')}` ({meta.get('platform', '?')}, "
        f"{meta.get('cpus', '?')} CPUs, load average {meta.get('load_average_1_5_15_min')} at the end, "
        f"{meta.get('threads', '?')} threads), ghostfast {meta.get('ghostfast', '?')}.",
        "- Each check is the one the figure's test asserts at `--scale quick` (`ghostfast._report.check`). "
        "At reduced scales the runs are shorter than the paper's (see each figure's docstring).",
        "",
    ]
    if note:
        L += [note, ""]
    L += ["| figure | the paper's claim | result | key numbers | time | image |", "|---|---|---|---|---|---|"]
    for f in figs:
        res = "not run" if f.get("not_run") else ("**PASS**" if f["passed"] else "**FAIL**")
        res += " (stale)" if f.get("stale") else ""
        nums = "; ".join(f"{k} = {_short(v)}" for k, v in list(f.get("numbers", {}).items())[:4])
        t = _fmt_time(f["wall_time_s"]) if "wall_time_s" in f else ""
        link = None if "png" not in f else (f["png"] if images is None else images.get(f["figure"]))
        img = f"[{f['png']}]({link})" if link else (f"`{f['png']}`" if "png" in f else "")
        L.append(f"| `{f['figure']}` | {f['claim']} | {res} | {nums} | {t} | {img} |")
    L.append("")
    for f in figs:
        L.append(f"## {f['figure']}")
        L.append("")
        L.append(f"*Claim:* {f['claim']}")
        L.append("")
        if f.get("not_run"):
            L += ["Not run.", ""]
            continue
        L.append(
            f"*Result:* {'PASS' if f['passed'] else 'FAIL'} (wall time {_fmt_time(f['wall_time_s'])}"
            + (f", estimated {_fmt_time(f['estimate_s'])}" if f.get("estimate_s") is not None else "")
            + "). Checks:"
        )
        L.append("")
        if f.get("stale"):
            L += [f"*Stale:* judged by an earlier check: {f['stale']}.", ""]
        L += [f"- [{'x' if c['passed'] else ' '}] {c['check']}" for c in f["conditions"]]
        L.append("")
        if f.get("numbers"):
            L.append("Key numbers: " + "; ".join(f"`{k}` = {_short(v)}" for k, v in f["numbers"].items()) + ".")
            L.append("")
        link = f["png"] if images is None else images.get(f["figure"])
        L += [f"![{f['figure']}]({link})" if link else f"Image: `{f['png']}` in the output folder.", ""]
    md = os.path.join(out_dir, "REPORT.md")
    with open(md, "w") as fh:
        fh.write("\n".join(L))
    return md, os.path.join(out_dir, "report.json")


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def reproduce_all(
    scale: str,
    out_dir: Any,
    *,
    n_threads: Any = None,
    force: bool = False,
    dry_run: bool = False,
    names: Any = None,
    out: Any = None,
    calibration: Any = None,
) -> int:
    """``ghostfast reproduce all``: print the plan with time estimates, run every figure not yet finished in
    ``out_dir`` (``force``: all of them), print progress, write ``REPORT.md`` and ``report.json``. Ctrl-C stops
    after the current figure's partial work is discarded; rerunning the same command continues. Returns the exit
    code: 0 all passed, 1 some check failed, 130 interrupted. ``names`` restricts the run to some figures;
    ``calibration`` (a :func:`calibrate` dict) skips the timing runs."""
    import os
    import sys
    import time

    from . import figures

    out = sys.stdout if out is None else out
    names = list(figures.FIGURES) if names is None else list(names)
    os.makedirs(out_dir, exist_ok=True)
    try:
        cal = calibrate(n_threads) if calibration is None else dict(calibration)
    except KeyboardInterrupt:
        print("interrupted while timing the shapes for the plan; no figure was started", file=out)
        return 130
    done = {} if force else load_done(out_dir, names, scale)
    rows = plan(names, scale, cal)
    print_plan(rows, scale, cal, done, out, {n: kept_runs(out_dir, n) for n in names if n not in done})
    if dry_run:
        return 0
    records = dict(done)
    todo = [r for r in rows if r["figure"] not in done]
    t_start = time.perf_counter()
    left = sum(r["estimate_s"] for r in todo)
    code = 0
    name = ""
    try:
        for i, r in enumerate(todo, 1):
            name = r["figure"]
            print(
                f"[{i}/{len(todo)}] {name}: running (estimate {_fmt_time(r['estimate_s'])}, about "
                f"{_fmt_time(left)} left) ...",
                file=out,
                flush=True,
            )
            rec = run_figure(name, scale, out_dir, n_threads, r["estimate_s"])
            records[name] = rec
            left -= r["estimate_s"]
            verdict = (
                "PASS"
                if rec["passed"]
                else "FAIL: " + "; ".join(c["check"] for c in rec["conditions"] if not c["passed"])
            )
            print(
                f"[{i}/{len(todo)}] {name}: {verdict} in {_fmt_time(rec['wall_time_s'])} -> "
                f"{os.path.join(os.fspath(out_dir), rec['png'])}",
                file=out,
                flush=True,
            )
    except KeyboardInterrupt:
        if name:  # a figure had started
            print(interrupted_text(out_dir, name), file=out)
        print("interrupted: the finished figures are kept; rerun the same command to continue", file=out)
        code = 130
    meta = dict(
        machine(),
        threads=int(cal["threads"]),
        calibration_s_per_run_epoch={k: v for k, v in cal.items() if k not in ("threads", "speedup")},
        calibration_speedup=cal.get("speedup"),
        finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        this_session_wall_time_s=round(time.perf_counter() - t_start, 1),
    )
    md, js = write_report(out_dir, names, scale, records, meta)
    n_fail = sum(1 for n in names if n in records and not records[n]["passed"])
    print(
        f"{sum(1 for n in names if n in records)} of {len(names)} figures done, {n_fail} failed their check; "
        f"this session {_fmt_time(time.perf_counter() - t_start)}. Report: {md} and {js}",
        file=out,
    )
    if code == 0 and (n_fail or len(records) < len(names)):
        code = 1
    return code


def list_figures(out: Any = None, n_threads: Any = None) -> int:
    """``ghostfast reproduce --list``: every figure with its claim and estimated time at each scale."""
    import sys

    from . import figures

    out = sys.stdout if out is None else out
    try:
        cal = calibrate(n_threads)
    except KeyboardInterrupt:
        print("interrupted while timing the shapes for the estimates", file=out)
        return 130
    print(f"{'figure':<16} {'quick':>8} {'default':>8} {'paper':>8}  the paper's claim", file=out)
    for n in figures.FIGURES:
        t = [_fmt_time(estimate(n, s, cal)[0]) for s in ("quick", "default", "paper")]
        print(f"{n:<16} {t[0]:>8} {t[1]:>8} {t[2]:>8}  {CLAIMS[n]}", file=out)
    print(
        f"(estimated from the cost per run-epoch measured just now on one thread, and the {_speedup_text(cal)})",
        file=out,
    )
    return 0
