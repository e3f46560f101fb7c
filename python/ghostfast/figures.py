"""The paper's figures (paper Figs 1-8), computed and drawn by the package.

One function per figure (or panel group). Each takes ``scale`` in {"quick", "default", "paper"}
(``ghostfast reproduce --list`` estimates each figure's time at each scale on your machine):

* ``"paper"``: the authors' exact parameters (their code for each figure);
* ``"default"``: a scaled-down run that still shows the figure's claim;
* ``"quick"``: the smallest run (smoke tests and the examples of this reference);

and returns a :class:`FigureResult`: the matplotlib ``figure`` (never shown; the figure is created without
pyplot, so nothing accumulates in pyplot's figure manager), the plotted numpy arrays in ``data`` (so users
can re-plot), and ``params`` (what was run). ``result.save(out_dir)`` writes ``<name>.png`` and
``<name>.npz``; ``ghostfast reproduce FIG`` does the same from the command line.

Everything heavy runs in the package's parallel C++ paths (``canonical.simulate``/``train``/``lr_sweep``,
``rnn.train``/``train_many``, ``sweep.sweep``, ``analysis.flow_maps_1d``); no Python loop over epochs.

Precision note: the figures run in float64 (``rnn.Model(dtype="float32")`` is the paper's float32, for your
own runs), the paper in float32 (PyTorch). Below the critical learning
rate the two agree statistically; above it (e.g. the rank-one network at lr 0.02, Figs 3C/D and 8B) a single
update after the abrupt drop decides whether a run oscillates or falls into the no-learning zone, and that
outcome depends on rounding, so individual runs can differ from the paper's.

Figures
-------
=====================  =====================================================================================
``fig1``               saddle-node vs ghost: the vector field x^2 + r for r = -0.5 and +0.5
``fig2_loss``          canonical loss landscape L(r): analytic (sharp) and simulated (a = 0.1, 1)
``fig2_dynamics``      gradient descent on r at lr 1e-10 (arrives, oscillates) and 1e-9 (trapped)
``fig2d``              final loss vs learning rate at several epochs (canonical model, Fig 2D)
``fig3_small_lr``      rank-one RNN at lr 0.003: plateau, gradient spike, abrupt drop; flow maps
``fig3_large_lr``      rank-one RNN at lr 0.02: drop, then post-drop instability; flow maps at the drop
``fig4_dcdt``          rank-2 RNN learning DCDT: 2-D latent speed maps, slow points, ghosts around the transition
``fig4_dmts``          the same on DMTS (``fig4(task=...)``)
``fig5_dcdt``          full-rank RNN learning DCDT: loss, accuracy, PCA trajectories with slow points
``fig5_dmts``          the same on DMTS (``fig5(task=...)``)
``fig6a``              rank-one and full-rank RNNs: final loss vs lr at several epochs (window, wall)
``fig6b``              rank-K RNN: fraction of learned networks vs rank K, one curve per lr
``fig7_dcdt``          full-rank RNN on DCDT: time-averaged loss / gradient / ||W|| vs lr (box plots)
``fig7_dmts``          the same on DMTS (``fig7(task=...)``)
``fig8a``              canonical gradient profile |dL/dr| vs r for several confidences a
``fig8b_ablation``     trapped rank-one networks: lowering the confidence c lets them leave the zone
``fig8b_learnable``    rank-one RNN with a learnable confidence, reset to c = 1 after 10 000 epochs
``fig8c``              full-rank DCDT: capping the readout L1 norm (confidence) after 10 000 epochs
=====================  =====================================================================================

Examples
--------
>>> from ghostfast import figures
>>> res = figures.fig2_loss(scale="quick")
>>> sorted(res.data)[:3]
['confidences', 'loss_analytic', 'loss_simulated']
"""

from __future__ import annotations

from typing import Callable, Dict

from ._figures_base import SCALES, FigureResult
from ._figures_canonical import fig1, fig2_dynamics, fig2_loss, fig2d, fig8a
from ._figures_rnn import fig3_large_lr, fig3_small_lr, fig6a, fig6b, fig8b_ablation, fig8b_learnable
from ._figures_lowrank import fig4, fig4_dcdt, fig4_dmts
from ._figures_tasks import fig5, fig5_dcdt, fig5_dmts, fig7, fig7_dcdt, fig7_dmts, fig8c

__all__ = [
    "SCALES",
    "FigureResult",
    "FIGURES",
    "fig1",
    "fig2_loss",
    "fig2_dynamics",
    "fig2d",
    "fig3_small_lr",
    "fig3_large_lr",
    "fig4",
    "fig4_dcdt",
    "fig4_dmts",
    "fig5",
    "fig5_dcdt",
    "fig5_dmts",
    "fig6a",
    "fig6b",
    "fig7",
    "fig7_dcdt",
    "fig7_dmts",
    "fig8a",
    "fig8b_ablation",
    "fig8b_learnable",
    "fig8c",
]

#: Figure name -> function, in the paper's order (the choices of ``ghostfast reproduce``).
FIGURES: Dict[str, Callable[..., FigureResult]] = {
    "fig1": fig1,
    "fig2_loss": fig2_loss,
    "fig2_dynamics": fig2_dynamics,
    "fig2d": fig2d,
    "fig3_small_lr": fig3_small_lr,
    "fig3_large_lr": fig3_large_lr,
    "fig4_dcdt": fig4_dcdt,
    "fig4_dmts": fig4_dmts,
    "fig5_dcdt": fig5_dcdt,
    "fig5_dmts": fig5_dmts,
    "fig6a": fig6a,
    "fig6b": fig6b,
    "fig7_dcdt": fig7_dcdt,
    "fig7_dmts": fig7_dmts,
    "fig8a": fig8a,
    "fig8b_ablation": fig8b_ablation,
    "fig8b_learnable": fig8b_learnable,
    "fig8c": fig8c,
}
