"""Leaky-tanh RNNs of the paper (Figs. 3-8) with hand-written BPTT, SGD/Adam, all epochs in C++.

Conventions
-----------
* **Column vectors.** ``x_{t+1} = (1 - alpha) x_t + alpha tanh(W x_t + w_in u_t + b + xi_t)`` with ``W = m @ n``
  for rank K (``m``: (N, K), ``n``: (K, N)) or a full ``W``: (N, N). Latents ``kappa = n @ x`` (K-vector). For rank
  one this is the paper's Fig. 3 network exactly (``kappa = n.x``, pre-activation ``m kappa + b``) and the latent flow is
  ``f(kappa) = -kappa + n.tanh(m kappa + b)``. The paper's PyTorch code uses row vectors (``x @ W_paper``), so
  ``W_ours = W_paper.T``; for its rank-K code (``x @ m_paper @ n_paper``) ``m_ours = n_paper.T``, ``n_ours = m_paper.T``.
  There is ONE bias inside the tanh, ``b`` (the paper code's ``b_in`` of its task RNNs, Figs. 4, 5, 7, 8C).
* **Parameters** are a dict of arrays of the model's ``dtype`` (float64, or float32: then every pass and
  optimizer step runs in float32 and the histories stay float64): ``m`` (N, K), ``n`` (K, N), ``W`` (N, N), ``b`` (N,), ``w_in``
  (N, n_in), ``w_out`` (n_out, N) [(n_out, K) for ``readout="latent_linear"``], ``b_out`` (n_out,), ``c`` shape ()
  (the confidence of ``readout="latent"``). Only the groups the model uses are present.
* **Readouts.** ``"latent"``: ``y = sigmoid(c (kappa_0 - threshold))``, ``kappa_0 = n[0] @ x``; ``"linear"``:
  ``y = g(w_out @ x + b_out)``; ``"latent_linear"``: ``y = g(w_out @ kappa + b_out)``, g = ``output`` in
  {"sigmoid", "tanh", "identity"}. ``read="after"``: ``y_t`` from ``x_{t+1}`` (S outputs for S updates, §3.1-3.3);
  ``read="before"``: ``y_t`` from ``x_t`` before the update that absorbs ``u_t`` (§3.4).
* **Initial state / noise.** ``x0`` is a float (every unit), an (N,) array or ``"random"``: ``x0 = tanh(x0_std z)``,
  ``z ~ N(0, I)``. Noise ``xi ~ N(0, noise_std^2)`` per unit, step, trial and epoch. Each pass of a stochastic
  model takes one 64-bit key from the run's stream ``Rng(key0, key1, stream)`` (``train``: the seed's key, stream
  0). The engine splits the B trials into ``ceil(B / 16)`` chunks of ``ceil(B / n_chunks)`` trials rounded up to
  a multiple of 4 (18 trials: 12 + 6); chunk c draws its normals from eight xoshiro256** lanes seeded by (key, c)
  through a 128-layer ziggurat (Doornik 2005): x0's N normals for each of its trials in order (if random), then
  for each step t the N noise normals of each of its trials in order (if ``noise_std > 0``). A deterministic
  model draws no random numbers.
* **Loss** ``= task.loss_scale * sum_{b,t,o} mask (y - y*)^2``; accuracy by the task's rule (see ``ghostfast.tasks``).
* **Training** is full batch. Epoch e: [snapshot] -> [``readout_l1_cap`` rescaling] -> forward + BPTT on the current
  parameters -> record (if ``e % record_every == 0``, e the absolute epoch index) the loss of THAT pass, gradient
  norms, weight norm, accuracy -> stop if the loss or a gradient is NaN/inf (``diverged``) -> optimizer step on the
  trainable groups. SGD: ``p -= lr g``. Adam: PyTorch's formula (bias corrected, ``eps`` added to
  ``sqrt(v_hat)``, no amsgrad/weight decay). ``snapshots[e]`` are the parameters at the START of epoch e (before
  its cap rescaling and update); ``e == final epoch`` gives the final parameters.
* **Initialisation** (``init_params``) uses ``numpy.random.default_rng(seed)`` (PCG64 from a SeedSequence),
  drawing groups in the order m, n, W, b, w_in, w_out, b_out (the paper's Fig. 3 code: m then n). Presets: ``"delayed"``
  (the delayed-activation networks of Figs. 3, 6 and 8B: m, n or W ~ N(0, 1/N), b = 0, w_out, b_out ~ N(0, 1/N), c = confidence) and ``"task"`` (the task RNNs of Figs. 4, 5, 7, 8C:
  xavier-uniform W, w_in, w_out; b ~ U(+-1/sqrt(n_in)); b_out ~ U(+-1/sqrt(fan_in)); low rank: n ~ N(0, 1/N),
  m ~ N(0, 1), b ~ N(0, 0.1^2)). ``init="auto"`` picks "task" when the model has inputs, else "delayed".
  ``scheme="torch"`` reproduces the paper scripts' draws after ``torch.manual_seed(seed)`` to within a few float32
  ulp: seed 40 gives the paper's Fig. 3 network, seed 0 its Fig. 4A-D rank-2 network.
* **Threads and determinism.** A single run (``train``) spreads its trial chunks over ``n_threads`` threads
  (worth it from a few hundred trials on); several runs (``train_many``, sweeps) run in parallel, one thread
  each. The chunk gradients are summed in chunk order, so a run's results depend only on its job (parameters,
  task, lr, keys): bit-identical for any ``n_threads`` and for the portable/AVX2/AVX-512 code paths (fixed
  summation orders; fused multiply-adds only where the source writes them, in the dense products and the tanh).

Examples
--------
>>> from ghostfast import rnn, tasks
>>> model = rnn.Model(N=100, rank=1)
>>> params = rnn.init_params(model, seed=0)
>>> res = rnn.train(model, tasks.delayed_activation(20), lr=0.01, epochs=100, params=params, seed=0)
>>> res.loss.shape
(100,)
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from . import __version__, _core
from ._optional import require
from ._progress import run_with_control
from ._seeding import SeedLike, seed_key
from ._validation import (
    DEFAULT_MAX_MEMORY,
    INT64_MAX,
    as_float_array,
    check_bool,
    check_choice,
    check_int,
    check_memory,
    check_real,
    check_seed,
    check_threads,
)
from .tasks import Task

__all__ = [
    "Model",
    "GROUPS",
    "param_shapes",
    "init_params",
    "check_params",
    "forward",
    "ForwardResult",
    "LossAndGrad",
    "loss_and_grad",
    "TrainState",
    "TrainJob",
    "TrainResult",
    "train",
    "train_many",
]

#: Parameter groups in the order of the core's flat layout (defined by the engine).
GROUPS: tuple[str, ...] = tuple(_core.rnn_groups)
# The engine's readouts, outputs and optimizers by name (its enums are the one definition).
_READOUTS = tuple(_core.RnnReadout.__members__)
_OUTPUTS = tuple(_core.RnnOutput.__members__)
_OPTIMIZERS = tuple(_core.RnnOptimizer.__members__)
_DTYPES = tuple(_core.RnnDtype.__members__)
_SCHEMES = ("delayed", "task", "torch")


@dataclass(frozen=True)
class Model:
    """An RNN configuration (validated; see the module docstring for the conventions).

    Parameters
    ----------
    N : int >= 1, number of units.
    rank : int K in [1, N] (W = m @ n) or "full".
    alpha : float in (0, 1], leak (dt / tau).
    readout : "latent" | "linear" | "latent_linear".
    output : "sigmoid" | "tanh" | "identity" (linear readouts; the latent readout is a sigmoid).
    confidence : initial value of ``c`` (latent readout).
    threshold : kappa threshold of the latent readout.
    train_confidence : train ``c`` (Fig 8B); otherwise it stays fixed.
    read : "after" | "before".
    n_in, n_out : input channels (>= 0) and outputs (>= 1; 1 for the latent readout).
    noise_std : >= 0, std of the noise inside the tanh.
    x0 : float, (N,) array or "random"; x0_std : >= 0, used with "random".
    trainable : None (all present groups; ``c`` only with train_confidence) or a set of group names.
    readout_l1_cap : None or > 0 (Fig 8C): before each forward, w_out and b_out are divided by
        ``||w_out||_1 / cap`` in place.
    init : "auto" | "delayed" | "task", the default initialisation preset.
    dtype : "float64" | "float32", the precision of the parameters and of every operation of the passes and
        optimizer steps (float32 is the paper's PyTorch precision). Parameters, gradients, outputs and states
        come back in this dtype; histories (loss, norms, accuracy) are float64 either way.

    Examples
    --------
    >>> Model(N=100, rank="full", readout="linear", output="tanh", read="before", n_in=1,
    ...       noise_std=0.01, x0="random", x0_std=0.1).groups
    ('W', 'b', 'w_in', 'w_out', 'b_out')
    """

    N: int
    rank: Union[int, str] = 1
    alpha: float = 0.5
    readout: str = "latent"
    output: str = "sigmoid"
    confidence: float = 10.0
    threshold: float = 1.0
    train_confidence: bool = False
    read: str = "after"
    n_in: int = 0
    n_out: int = 1
    noise_std: float = 0.0
    x0: Any = -0.3
    x0_std: float = 0.0
    trainable: Any = None
    readout_l1_cap: float | None = None
    init: str = "auto"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        N = check_int(self.N, "N", minimum=1, maximum=2**31 - 1)
        if isinstance(self.rank, str):
            if self.rank != "full":
                raise ValueError(f"rank must be an int in [1, N] or 'full', got {self.rank!r}")
        else:
            K = check_int(self.rank, "rank", minimum=1)
            if K > N:
                raise ValueError(f"rank must be <= N = {N}, got {K}")
        alpha = check_real(self.alpha, "alpha")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        check_choice(self.readout, "readout", _READOUTS)
        check_choice(self.output, "output", _OUTPUTS)
        check_choice(self.read, "read", ("after", "before"))
        check_choice(self.init, "init", ("auto",) + _SCHEMES)
        check_choice(self.dtype, "dtype", _DTYPES)
        check_real(self.confidence, "confidence")
        check_real(self.threshold, "threshold")
        check_bool(self.train_confidence, "train_confidence")
        check_int(self.n_in, "n_in", minimum=0, maximum=2**31 - 1)
        check_int(self.n_out, "n_out", minimum=1, maximum=2**31 - 1)
        check_real(self.noise_std, "noise_std", nonnegative=True)
        check_real(self.x0_std, "x0_std", nonnegative=True)
        if self.rank == "full" and self.readout != "linear":
            raise ValueError(f"readout={self.readout!r} reads the latents and needs a low-rank model (rank='full')")
        if self.readout == "latent" and self.n_out != 1:
            raise ValueError(f"n_out must be 1 for readout='latent', got {self.n_out}")
        if self.train_confidence and self.readout != "latent":
            raise ValueError("train_confidence=True needs readout='latent' (the confidence c)")
        if self.readout_l1_cap is not None:
            check_real(self.readout_l1_cap, "readout_l1_cap", positive=True)
            if self.readout == "latent":
                raise ValueError("readout_l1_cap needs a readout with w_out (readout='linear' or 'latent_linear')")
        # x0: a float, "random" or an (N,) array stored as a tuple (keeps the Model hashable)
        if isinstance(self.x0, str):
            if self.x0 != "random":
                raise ValueError(f"x0 must be a float, an (N,) array or 'random', got {self.x0!r}")
        elif isinstance(self.x0, numbers.Real) and not isinstance(self.x0, bool):
            object.__setattr__(self, "x0", check_real(self.x0, "x0"))
        else:
            arr = as_float_array(self.x0, "x0", shape=(N,))
            object.__setattr__(self, "x0", tuple(float(v) for v in arr))
        groups = self.groups
        if self.trainable is None:
            train = frozenset(g for g in groups if g != "c" or self.train_confidence)
        else:
            if isinstance(self.trainable, str) or not all(isinstance(g, str) for g in self.trainable):
                raise TypeError("trainable must be None or a set of group names")
            train = frozenset(self.trainable)
            unknown = sorted(train - set(groups))
            if unknown:
                raise ValueError(f"trainable names groups the model does not have: {unknown}; groups: {list(groups)}")
            if self.train_confidence:
                train = train | {"c"}
        object.__setattr__(self, "trainable", train)

    @property
    def K(self) -> int | None:
        """The rank K, or None for a full-rank model."""
        return None if self.rank == "full" else int(self.rank)

    @property
    def groups(self) -> tuple[str, ...]:
        """The parameter groups this model uses, in layout order."""
        g = ["W"] if self.rank == "full" else ["m", "n"]
        g.append("b")
        if self.n_in > 0:
            g.append("w_in")
        if self.readout == "latent":
            g.append("c")
        else:
            g += ["w_out", "b_out"]
        return tuple(x for x in GROUPS if x in g)

    @property
    def np_dtype(self) -> np.dtype:
        """The numpy dtype of this model's parameters (``numpy.float64`` or ``numpy.float32``)."""
        return np.dtype(self.dtype)

    @property
    def stochastic(self) -> bool:
        """True when a forward pass draws random numbers (noise or a random x0)."""
        return self.noise_std > 0 or self.x0 == "random"

    def _core_spec(self) -> Any:
        """The engine's view of this model (``_core.RnnModelSpec``), checked by the engine too."""
        spec = _core.RnnModelSpec()
        spec.N, spec.K, spec.full_rank = self.N, self.K or 0, self.rank == "full"
        spec.alpha, spec.threshold = float(self.alpha), float(self.threshold)
        spec.readout = _core.RnnReadout.__members__[self.readout]
        spec.output = _core.RnnOutput.__members__[self.output]
        spec.read_before = self.read == "before"
        spec.n_in, spec.n_out = self.n_in, self.n_out
        spec.noise_std, spec.x0_std = float(self.noise_std), float(self.x0_std)
        spec.x0_random = self.x0 == "random"
        if self.x0 == "random":
            spec.x0 = []
        elif isinstance(self.x0, float):
            spec.x0 = [self.x0] * self.N
        else:
            spec.x0 = list(self.x0)
        spec.trainable = [g in self.trainable for g in GROUPS]
        spec.readout_l1_cap = float(self.readout_l1_cap or 0.0)
        spec.dtype = _core.RnnDtype.__members__[self.dtype]
        spec.check()
        return spec


def param_shapes(model: Model) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter group of ``model``, in the flat layout's order.

    Parameters
    ----------
    model : Model

    Returns
    -------
    dict
        Group name -> shape tuple (``c`` has shape ()).

    Examples
    --------
    >>> param_shapes(Model(N=10, rank=2))
    {'m': (10, 2), 'n': (2, 10), 'b': (10,), 'c': ()}
    """
    model = _check_model(model)
    N, K = model.N, model.K
    shapes = {
        "m": (N, K),
        "n": (K, N),
        "W": (N, N),
        "b": (N,),
        "w_in": (N, model.n_in),
        "w_out": (model.n_out, K if model.readout == "latent_linear" else N),
        "b_out": (model.n_out,),
        "c": (),
    }
    return {g: shapes[g] for g in model.groups}  # type: ignore[misc]


def _check_model(model: Any) -> Model:
    if not isinstance(model, Model):
        raise TypeError(f"model must be a ghostfast.rnn.Model, got {type(model).__name__}")
    return model


def _check_task(task: Any, model: Model) -> Task:
    if not isinstance(task, Task):
        raise TypeError(f"task must be a ghostfast.tasks.Task, got {type(task).__name__}")
    if task.n_in != model.n_in:
        raise ValueError(f"task has {task.n_in} input channels but model.n_in = {model.n_in}")
    if task.n_out != model.n_out:
        raise ValueError(f"task has {task.n_out} outputs but model.n_out = {model.n_out}")
    return task


def check_params(model: Model, params: Mapping[str, Any], name: str = "params") -> dict[str, np.ndarray]:
    """Validated copy of a parameter dict in the model's dtype: exactly the model's groups, right shapes, finite
    values (a float32 model's values are rounded to float32 and must stay finite).

    A latent-readout model's ``c`` (the readout confidence) may be left out: it then defaults to
    ``model.confidence``.

    Parameters
    ----------
    model : Model
    params : mapping
        Group name -> array_like.
    name : str
        The argument's name in error messages.

    Returns
    -------
    dict
        Group name -> C-contiguous array of ``model.dtype`` (a copy).

    Raises
    ------
    ValueError
        A group is missing, unknown, of the wrong shape or not finite (the message names it).

    Examples
    --------
    >>> m = Model(N=4)
    >>> p = check_params(m, {"m": [[1.0]] * 4, "n": [[0.5] * 4], "b": [0.0] * 4, "c": 10.0})
    >>> p["n"].dtype, p["n"].shape
    (dtype('float64'), (1, 4))
    """
    model = _check_model(model)
    if not isinstance(params, Mapping):
        raise TypeError(f"{name} must be a dict of arrays, got {type(params).__name__}")
    if not all(isinstance(k, str) for k in params):
        raise TypeError(f"{name} must have string keys (group names), got {sorted(map(repr, params))}")
    shapes = param_shapes(model)
    if "c" in shapes and "c" not in params:
        params = {**params, "c": np.array(float(model.confidence))}
    missing = [g for g in shapes if g not in params]
    extra = [g for g in params if g not in shapes]
    if missing or extra:
        raise ValueError(f"{name} must have exactly the keys {list(shapes)}; missing {missing}, unexpected {extra}")
    return {g: _check_group(params[g], f"{name}[{g!r}]", shape, model.np_dtype) for g, shape in shapes.items()}


def _check_group(value: Any, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if shape == ():  # np.ascontiguousarray would turn a 0-d array into shape (1,)
        arr = np.asarray(value)
        if arr.shape != ():
            raise ValueError(f"{name} must be a scalar (shape ()), got shape {arr.shape}")
        arr = as_float_array(arr.reshape(1), name).reshape(())
    else:
        arr = as_float_array(value, name, shape=shape)
    with np.errstate(over="ignore"):
        out = arr.astype(dtype)  # a copy
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} overflows {dtype} (|value| > {np.finfo(dtype).max:.4g})")
    return out


def _flatten(model: Model, params: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(params[g], dtype=np.float64).ravel() for g in model.groups])


def _unflatten(model: Model, flat: np.ndarray) -> dict[str, np.ndarray]:
    """The engine's flat float64 vector as a dict of arrays in the model's dtype (exact: a float32 model's
    values are floats)."""
    out, off = {}, 0
    for g, shape in param_shapes(model).items():
        size = int(np.prod(shape, dtype=np.int64))
        out[g] = flat[off : off + size].reshape(shape).astype(model.np_dtype)
        off += size
    return out


def init_params(
    model: Model, seed: SeedLike = None, scheme: str | Mapping[str, Any] | None = None
) -> dict[str, np.ndarray]:
    """Initial parameters from the paper code's initialisers (see the module docstring), deterministic per seed.

    Parameters
    ----------
    model : Model
    seed : int >= 0, numpy.random.SeedSequence or None
        Feeds ``numpy.random.default_rng`` (None: fresh entropy).
    scheme : None, {"delayed", "task", "torch"} or dict
        None: ``model.init``. A dict {group: spec} overrides groups of the model's preset, spec one of
        ("normal", std), ("uniform", bound), ("constant", value). "torch" (int seed < 2**32; the rank-one model
        of Figs. 3, 6A, 8B, and the rank-K task model of Fig. 4A-D: ``readout="latent_linear"``, ``n_in >= 1``,
        one output): the paper's PyTorch draws after ``torch.manual_seed(seed)`` in its scripts' order (mt19937,
        PyTorch's 24-bit uniforms and 16-wide Box-Muller). Uniforms are exact; normals are within 1-3 float32
        ulp of PyTorch's (its log/sin/cos are SLEEF's). So seed 40 gives the paper's Fig 3 network and seed 0
        its Fig 4A-D network.

    Returns
    -------
    dict
        Group name -> array of ``model.dtype`` (see :func:`param_shapes`); a float32 model gets the float64
        draws rounded, so its network is the float64 one to within float32 rounding.

    Examples
    --------
    >>> p = init_params(Model(N=100), seed=40)
    >>> sorted(p), p["m"].shape, float(p["c"])
    (['b', 'c', 'm', 'n'], (100, 1), 10.0)
    """
    model = _check_model(model)
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence))):
        raise TypeError(f"seed must be an int >= 0, a numpy SeedSequence or None, got {type(seed).__name__}")
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    overrides: dict[str, Any] = {}
    preset = model.init
    if isinstance(scheme, str):
        preset = check_choice(scheme, "scheme", ("auto",) + _SCHEMES)
    elif isinstance(scheme, Mapping):
        overrides = dict(scheme)
        unknown = [g for g in overrides if g not in model.groups]
        if unknown:
            raise ValueError(f"scheme names groups the model does not have: {unknown}")
    elif scheme is not None:
        raise TypeError("scheme must be None, a preset name or a dict {group: spec}")
    if preset == "auto":
        preset = "task" if model.n_in > 0 else "delayed"
    if preset == "torch":
        return {g: v.astype(model.np_dtype) for g, v in _torch_init(model, seed, overrides).items()}
    N, K, n_in, n_out = model.N, model.K, model.n_in, model.n_out
    shapes = param_shapes(model)
    if preset == "delayed":
        std = 1.0 / np.sqrt(N)
        specs = {
            "m": ("normal", std),
            "n": ("normal", std),
            "W": ("normal", std),
            "b": ("constant", 0.0),
            "w_in": ("uniform", np.sqrt(6.0 / (N + max(n_in, 1)))),
            "w_out": ("normal", std),
            "b_out": ("normal", std),
            "c": ("constant", float(model.confidence)),
        }
    else:
        fan = N if model.readout != "latent_linear" or K is None else K
        low_rank = model.rank != "full"
        specs = {
            "m": ("normal", 1.0),
            "n": ("normal", 1.0 / np.sqrt(N)),
            "W": ("uniform", np.sqrt(6.0 / (2 * N))),
            "b": ("normal", 0.1) if low_rank else ("uniform", 1.0 / np.sqrt(max(n_in, 1))),
            "w_in": ("uniform", np.sqrt(6.0 / (N + n_in))),
            "w_out": ("uniform", np.sqrt(6.0 / (fan + n_out))),
            "b_out": ("uniform", 1.0 / np.sqrt(fan)),
            "c": ("constant", float(model.confidence)),
        }
    specs.update(overrides)
    gen = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for g in model.groups:
        spec, shape = specs[g], shapes[g]
        if not (isinstance(spec, tuple) and len(spec) == 2 and spec[0] in ("normal", "uniform", "constant")):
            raise ValueError(f"scheme[{g!r}] must be ('normal', std), ('uniform', bound) or ('constant', value)")
        kind, value = spec[0], check_real(spec[1], f"scheme[{g!r}] value")
        if kind == "normal":
            params[g] = gen.standard_normal(shape) * value
        elif kind == "uniform":
            params[g] = gen.uniform(-value, value, shape)
        else:
            params[g] = np.full(shape, value, dtype=np.float64)
    return {g: v.astype(model.np_dtype) for g, v in params.items()}


def _torch_uniform24(rs: np.random.RandomState, n: int) -> np.ndarray:
    """PyTorch's CPU float uniforms: the low 24 bits of each mt19937 output / 2^24."""
    raw = rs.randint(0, 2**32, size=n, dtype=np.uint64)
    return ((raw & 0xFFFFFF).astype(np.float64) / 2**24).astype(np.float32)


def _torch_normal_fill_16(u: np.ndarray) -> np.ndarray:
    """PyTorch's Box-Muller on blocks of 16 float32 uniforms [..., 16]: u1 = 1 - u[:8], u2 = u[8:]."""
    f32 = np.float32
    u1, u2 = f32(1) - u[..., :8], u[..., 8:]
    radius = np.sqrt(f32(-2) * np.log(u1.astype(np.float64)).astype(f32))
    theta = (f32(2 * np.pi) * u2).astype(f32)
    out = np.empty(u.shape, dtype=f32)
    out[..., :8] = radius * np.cos(theta.astype(np.float64)).astype(f32)
    out[..., 8:] = radius * np.sin(theta.astype(np.float64)).astype(f32)
    return out


def _torch_randn(rs: np.random.RandomState, n: int) -> np.ndarray:
    """``torch.randn(n)`` (float32, CPU, n >= 16) from the mt19937 stream ``rs``: n uniforms, Box-Muller on
    blocks of 16, and when n % 16 != 0 the last 16 values are recomputed from 16 fresh uniforms (PyTorch's vectorised
    CPU path).
    PyTorch evaluates log/sin/cos with SLEEF in float32; here they are correctly rounded, so ~15% of the
    values differ from PyTorch's by one float32 ulp."""
    u = _torch_uniform24(rs, n)
    out = u.copy()
    full = (n // 16) * 16
    out[:full] = _torch_normal_fill_16(u[:full].reshape(-1, 16)).reshape(-1)
    if n % 16:
        out[n - 16 :] = _torch_normal_fill_16(_torch_uniform24(rs, 16))
    return out


def _torch_uniform(rs: np.random.RandomState, n: int, bound: float) -> np.ndarray:
    """``tensor.uniform_(-bound, bound)`` (float32, CPU): one mt19937 output per value, its low 24 bits / 2^24
    scaled in double precision, rounded to float32."""
    lo, hi = np.float32(-bound), np.float32(bound)
    u = _torch_uniform24(rs, n).astype(np.float64)
    return (u * float(hi - lo) + float(lo)).astype(np.float32)


def _torch_normal(rs: np.random.RandomState, n: int, std: float) -> np.ndarray:
    """``tensor.normal_(0, std)`` (float32, CPU, n >= 16): PyTorch's 16-wide Box-Muller times std."""
    return (_torch_randn(rs, n) * np.float32(std)).astype(np.float32)


def _torch_task_init(model: Model, seed: int) -> dict[str, np.ndarray]:
    """The rank-K task model of paper Fig 4A-D as its script draws it after ``torch.manual_seed(seed)``:
    W_in = nn.Linear(n_in, N) (default init, overwritten below), S_l = randn(N, K), S_r = randn(K, N),
    S_l.normal_(0, 1/sqrt(N)), S_r.normal_(0, 1), W_out = nn.Linear(K, 1) (its bias kept: uniform
    +-1/sqrt(K)), xavier_uniform_(W_in.weight), xavier_uniform_(W_out.weight), W_in.bias.normal_(0, 0.1).
    In the package's row convention m = S_r^T, n = S_l^T."""
    N, n_in = model.N, model.n_in
    K = int(model.rank)  # low rank: _torch_init admits no full-rank model here
    rs = np.random.RandomState(int(seed))  # legacy seeding = mt19937 init_genrand, as torch.manual_seed
    _torch_uniform(rs, N * n_in, 1.0 / np.sqrt(n_in))  # nn.Linear(n_in, N).weight (kaiming, overwritten)
    _torch_uniform(rs, N, 1.0 / np.sqrt(n_in))  # its bias (overwritten)
    _torch_randn(rs, N * K)  # S_l = randn(N, K), then overwritten by normal_
    _torch_randn(rs, K * N)  # S_r = randn(K, N)
    s_l = _torch_normal(rs, N * K, 1.0 / np.sqrt(N)).reshape(N, K)
    s_r = _torch_normal(rs, K * N, 1.0).reshape(K, N)
    _torch_uniform(rs, K, 1.0 / np.sqrt(K))  # nn.Linear(K, 1).weight (overwritten by xavier)
    b_out = _torch_uniform(rs, 1, 1.0 / np.sqrt(K))
    w_in = _torch_uniform(rs, N * n_in, np.sqrt(6.0 / (n_in + N))).reshape(N, n_in)
    w_out = _torch_uniform(rs, K, np.sqrt(6.0 / (K + 1))).reshape(1, K)
    b = _torch_normal(rs, N, 0.1)
    f64 = np.float64
    return {
        "m": s_r.T.astype(f64),
        "n": s_l.T.astype(f64),
        "b": b.astype(f64),
        "w_in": w_in.astype(f64),
        "w_out": w_out.astype(f64),
        "b_out": b_out.astype(f64),
    }


def _torch_init(model: Model, seed: Any, overrides: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Spec §3.1 init as the paper's PyTorch code draws it: torch.manual_seed(seed); m = randn(N)/sqrt(N);
    n = randn(N)/sqrt(N) (float32); b = 0; c = confidence. The rank-K task model of Fig 4A-D: see
    :func:`_torch_task_init`."""
    fig3 = model.rank == 1 and model.readout == "latent" and model.n_in == 0
    fig4 = model.rank != "full" and model.readout == "latent_linear" and model.n_in >= 1 and model.n_out == 1
    if not (fig3 or fig4):
        raise ValueError(
            "scheme='torch' reproduces the paper's rank-one model of Figs. 3, 6A and 8B (rank=1, readout='latent', "
            "n_in=0) and the rank-K task model of Fig 4A-D (readout='latent_linear', n_in >= 1, n_out=1)"
        )
    if overrides:
        raise ValueError("scheme='torch' takes no per-group overrides")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"scheme='torch' needs an int seed in [0, 2**32), got {seed!r}")
    N = model.N
    if N < 16:
        raise ValueError("scheme='torch' reproduces PyTorch's vectorised randn path, which needs N >= 16")
    if fig4:
        return _torch_task_init(model, int(seed))
    rs = np.random.RandomState(int(seed))  # legacy seeding = mt19937 init_genrand, as torch.manual_seed
    scale = np.float32(np.sqrt(N))
    m = (_torch_randn(rs, N) / scale).astype(np.float64)
    n = (_torch_randn(rs, N) / scale).astype(np.float64)
    return {"m": m.reshape(N, 1), "n": n.reshape(1, N), "b": np.zeros(N), "c": np.array(float(model.confidence))}


def _core_job(
    model: Model,
    task: Task,
    flat_params: np.ndarray,
    *,
    optimizer: str = "sgd",
    lr: float = 0.0,
    epochs: int = 0,
    key0: int = 0,
    key1: int = 0,
    stream: int = 0,
    record_every: int = 1,
    snapshot_epochs: Sequence[int] = (),
    state: dict | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fixed_point_grid: np.ndarray | None = None,
    model_dict: Any = None,
) -> Any:
    """The engine's view of one run (``_core.RnnJob``) from already validated values."""
    job = _core.RnnJob()
    job.model = model_dict if model_dict is not None else model._core_spec()
    job.task = task.core_task()
    job.params = flat_params
    job.optimizer = _core.RnnOptimizer.__members__[optimizer]
    job.lr, job.epochs, job.beta1, job.beta2, job.eps = lr, epochs, betas[0], betas[1], eps
    job.key0, job.key1, job.stream = key0, key1, stream
    job.record_every = record_every
    job.snapshot_epochs = list(snapshot_epochs)
    job.state = state
    job.fixed_point_grid = fixed_point_grid
    return job


@dataclass(frozen=True, eq=False)
class ForwardResult:
    """One forward pass: ``outputs`` [B, S, n_out], ``states`` [B, S+1, N] (x_0 .. x_S) in the model's dtype,
    and the ``loss``."""

    outputs: np.ndarray
    states: np.ndarray
    loss: float
    #: True when the pass was not finite (NaN/inf loss, outputs or states), e.g. on extreme parameters.
    diverged: bool = False


class LossAndGrad(tuple):
    """``(loss, grads)`` as returned by :func:`loss_and_grad` (unpacks as a pair), with ``diverged``: True
    when the loss or a gradient is NaN/inf (the same test as ``train``'s divergence flag)."""

    diverged: bool

    def __new__(cls, loss: float, grads: dict[str, np.ndarray]) -> LossAndGrad:
        self = super().__new__(cls, (loss, grads))
        self.diverged = not (np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values()))
        return self

    def __getnewargs__(self) -> tuple:  # pickling (e.g. to dask workers) rebuilds it from (loss, grads)
        return (self[0], self[1])

    @property
    def loss(self) -> float:
        return self[0]

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self[1]


def _evaluate(model: Model, params: Mapping[str, Any], task: Task, seed: SeedLike, with_grad: bool):
    model = _check_model(model)
    task = _check_task(task, model)
    p = check_params(model, params)
    check_seed(seed)
    key = seed_key(seed) if model.stochastic else seed_key(0)
    job = _core_job(model, task, _flatten(model, p), key0=key.key0, key1=key.key1, stream=0)
    return _core.rnn_evaluate(job, with_grad)


def forward(model: Model, params: Mapping[str, Any], task: Task, seed: SeedLike = None) -> ForwardResult:
    """Run the model on every trial of ``task`` (noise / random x0 from stream 0 of ``seed``).

    Parameters
    ----------
    model : Model
    params : mapping
        Parameter dict (see :func:`init_params`).
    task : Task
        Sizes must match the model (inputs, outputs).
    seed : int, numpy.random.SeedSequence or None
        Keys the noise and random-x0 stream when the model is stochastic.

    Returns
    -------
    ForwardResult
        ``outputs`` (B, S, n_out), ``states`` (B, S + 1, N) from x_0 to x_S, and the ``loss``.

    Examples
    --------
    >>> from ghostfast import tasks
    >>> m = Model(N=20)
    >>> forward(m, init_params(m, 0), tasks.delayed_activation(5)).outputs.shape
    (1, 10, 1)
    """
    loss, _, ys, xs = _evaluate(model, params, task, seed, False)
    diverged = not (np.isfinite(loss) and np.all(np.isfinite(ys)) and np.all(np.isfinite(xs)))
    dtype = model.np_dtype  # the engine's float64 copies of the pass's values (exact)
    return ForwardResult(ys.astype(dtype, copy=False), xs.astype(dtype, copy=False), float(loss), bool(diverged))


def loss_and_grad(model: Model, params: Mapping[str, Any], task: Task, seed: SeedLike = None) -> LossAndGrad:
    """Loss and its gradient w.r.t. every parameter group (frozen groups included), by BPTT.

    Noise and a random x0 are drawn from stream 0 of ``seed`` when the model is stochastic. The result
    unpacks as ``loss, grads``; its ``diverged`` attribute is True when the loss or a gradient is NaN/inf.

    Parameters
    ----------
    model : Model
    params : mapping
        Parameter dict (see :func:`init_params`).
    task : Task
    seed : int, numpy.random.SeedSequence or None
        Keys the noise and random-x0 stream.

    Returns
    -------
    loss : float
    grads : dict
        Group name -> gradient array, shaped like the parameters.

    Examples
    --------
    >>> from ghostfast import tasks
    >>> m = Model(N=100)
    >>> loss, grads = loss_and_grad(m, init_params(m, 40), tasks.delayed_activation(20))
    >>> round(loss, 3), sorted(grads)
    (1.0, ['b', 'c', 'm', 'n'])
    """
    loss, grad, _, _ = _evaluate(model, params, task, seed, True)
    return LossAndGrad(float(loss), _unflatten(model, grad))


@dataclass(frozen=True, eq=False)
class TrainState:
    """Everything needed to continue a training run exactly (pass as ``state=``).

    ``params``: current parameters; ``adam_m``/``adam_v``: Adam moments (None for SGD); ``adam_step``;
    ``rng``: the run's Rng state (6 uint64); ``epoch``: epochs done (absolute index of the next epoch).
    """

    params: dict[str, np.ndarray]
    adam_m: dict[str, np.ndarray] | None
    adam_v: dict[str, np.ndarray] | None
    adam_step: int
    rng: np.ndarray
    epoch: int
    optimizer: str

    def core_dict(self, model: Model) -> dict[str, Any]:
        empty = np.zeros(0)
        return {
            "params": _flatten(model, self.params),
            "adam_m": empty if self.adam_m is None else _flatten(model, self.adam_m),
            "adam_v": empty if self.adam_v is None else _flatten(model, self.adam_v),
            "adam_step": int(self.adam_step),
            "rng": [int(w) for w in self.rng],
            "epoch": int(self.epoch),
        }


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Histories (one entry per recorded epoch, NaN after a divergence) and the final parameters.

    Attributes
    ----------
    loss, grad_norm (L2 over trainable params), weight_norm (||W||_F or ||m @ n||_F), accuracy : (n_rec,)
    grad_norm_groups : dict group -> (n_rec,) L2 norm of that group's gradient (every group).
    epochs : (n_rec,) absolute indices of the recorded epochs.
    params : final parameters; state : TrainState to continue; snapshots : {epoch: params at its start}.
    diverged, diverged_epoch : a NaN/inf loss or gradient stopped the run at that epoch (else -1).
    fixed_point_count : (n_rec,) sign changes of f(kappa) on fixed_point_grid, or None.
    interrupted : stopped by Ctrl-C: the histories cover the epochs done (``state.epoch`` of them in all)
        and ``state`` continues the run exactly.
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    grad_norm_groups: dict[str, np.ndarray]
    weight_norm: np.ndarray
    accuracy: np.ndarray
    epochs: np.ndarray
    params: dict[str, np.ndarray]
    state: TrainState
    snapshots: dict[int, dict[str, np.ndarray]]
    diverged: bool
    diverged_epoch: int
    fixed_point_count: np.ndarray | None
    model: Model
    seed_entropy: int | None = None
    version: str = __version__
    interrupted: bool = False

    def _summary_rows(self) -> list[tuple[str, str]]:
        from . import _display

        m = self.model
        rows = [
            ("model", f"N={m.N}, rank={m.rank}, readout={m.readout!r}"),
            ("records", f"{self.epochs.size} ({_display.fmt_epochs(self.epochs)})"),
        ]
        if self.loss.size:
            rows.append(
                (
                    "loss",
                    f"{self.loss[0]:.4g} -> {self.loss[-1]:.4g} (min {np.nanmin(self.loss):.4g})"
                    if np.isfinite(self.loss).any()
                    else "NaN",
                )
            )
            rows.append(("accuracy", f"{self.accuracy[0]:.3g} -> {self.accuracy[-1]:.3g}"))
            rows.append(("grad norm", f"{self.grad_norm[0]:.3g} -> {self.grad_norm[-1]:.3g}"))
        rows.append(("diverged", f"at epoch {self.diverged_epoch}" if self.diverged else "no"))
        rows.append(("params", ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.params.items())))
        if self.snapshots:
            rows.append(("snapshots", f"{len(self.snapshots)} at epochs {_display.fmt_values(sorted(self.snapshots))}"))
        return rows

    def __repr__(self) -> str:
        """A short summary (model, records, first/last loss); the arrays are attributes (``res.loss`` ...)."""
        return "TrainResult:\n" + "\n".join(f"  {k}: {v}" for k, v in self._summary_rows())

    def _repr_html_(self) -> str:
        """HTML summary for Jupyter (bounded size: no arrays)."""
        from . import _display

        return (
            "<div><b>TrainResult</b>"
            + _display.html_table(["", ""], self._summary_rows())
            + f"<small>ghostfast {self.version}</small></div>"
        )

    def to_xarray(self) -> Any:
        """The histories as an ``xarray.Dataset`` indexed by ``epoch`` (needs ``pip install ghostfast[io]``).

        Variables ``loss``, ``grad_norm``, ``weight_norm``, ``accuracy``, ``grad_norm_<group>`` per parameter
        group and ``fixed_point_count`` (when counted), each with ``long_name`` and ``units`` attributes, as
        in :meth:`ghostfast.sweep.SweepResult.to_xarray`.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> from ghostfast import tasks
        >>> ds = train(Model(N=20), tasks.delayed_activation(5), 0.01, 10, seed=0).to_xarray()
        >>> list(ds.data_vars)[:3]
        ['loss', 'grad_norm', 'weight_norm']
        >>> ds["epoch"].attrs["units"]
        'epoch'
        """
        from ._display import variable_attrs

        xr = require("xarray", "io", "TrainResult.to_xarray")
        data = {
            name: ("epoch", getattr(self, name), variable_attrs(name))
            for name in ("loss", "grad_norm", "weight_norm", "accuracy")
        }
        for g, hist in self.grad_norm_groups.items():
            data[f"grad_norm_{g}"] = ("epoch", hist, variable_attrs(f"grad_norm_{g}"))
        if self.fixed_point_count is not None:
            data["fixed_point_count"] = ("epoch", self.fixed_point_count, variable_attrs("fixed_point_count"))
        attrs = {
            "diverged": int(self.diverged),
            "diverged_epoch": int(self.diverged_epoch),
            "seed_entropy": "" if self.seed_entropy is None else str(self.seed_entropy),
            "version": self.version,
            "model": repr(self.model),
        }
        return xr.Dataset(data, coords={"epoch": ("epoch", self.epochs, variable_attrs("epoch"))}, attrs=attrs)


@dataclass(frozen=True, eq=False)
class TrainJob:
    """One training run for :func:`train_many` (initial ``params``; Rng(key0, key1, stream) for noise/x0)."""

    model: Model
    task: Task
    lr: float
    epochs: int
    params: dict[str, np.ndarray]
    optimizer: str = "sgd"
    key0: int = 0
    key1: int = 0
    stream: int = 0
    record_every: int = 1
    snapshot_epochs: tuple[int, ...] = ()
    state: TrainState | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    fixed_point_grid: np.ndarray | None = None


_U64 = 2**64


def _job_to_core(job: Any, i: int, model_cache: dict) -> Any:
    where = f"jobs[{i}]"
    if not isinstance(job, TrainJob):
        raise TypeError(f"{where} must be a TrainJob, got {type(job).__name__}")
    model = _check_model(job.model)
    task = _check_task(job.task, model)
    lr = check_real(job.lr, f"{where}.lr", nonnegative=True)
    epochs = check_int(job.epochs, f"{where}.epochs", minimum=0, maximum=INT64_MAX // 2)
    optimizer = check_choice(job.optimizer, f"{where}.optimizer", _OPTIMIZERS)
    record_every = check_int(job.record_every, f"{where}.record_every", minimum=1, maximum=INT64_MAX)
    for name in ("key0", "key1", "stream"):
        v = check_int(getattr(job, name), f"{where}.{name}", minimum=0)
        if v >= _U64:
            raise ValueError(f"{where}.{name} must be < 2**64")
    if isinstance(job.snapshot_epochs, (str, bytes)) or not isinstance(job.snapshot_epochs, Iterable):
        raise TypeError(f"{where}.snapshot_epochs must be a sequence of ints, got {type(job.snapshot_epochs).__name__}")
    snaps = tuple(check_int(e, f"{where}.snapshot_epochs", minimum=0, maximum=INT64_MAX) for e in job.snapshot_epochs)
    if isinstance(job.betas, (str, bytes)) or not isinstance(job.betas, Iterable):
        raise TypeError(f"{where}.betas must be a pair (beta1, beta2), got {type(job.betas).__name__}")
    betas = tuple(job.betas)
    if len(betas) != 2:
        raise ValueError(f"{where}.betas must be a pair (beta1, beta2)")
    for k, beta in enumerate(betas):
        beta = check_real(beta, f"{where}.betas[{k}]")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{where}.betas[{k}] must be in [0, 1), got {beta}")
    eps = check_real(job.eps, f"{where}.eps", positive=True)
    grid = None
    if job.fixed_point_grid is not None:
        if model.rank != 1:
            raise ValueError(f"{where}.fixed_point_grid needs a rank-one model")
        grid = as_float_array(job.fixed_point_grid, f"{where}.fixed_point_grid", ndim=1)
        if grid.size < 2:
            raise ValueError(f"{where}.fixed_point_grid needs at least 2 points")
    state = None
    if job.state is not None:
        if not isinstance(job.state, TrainState):
            raise TypeError(f"{where}.state must be a TrainState, got {type(job.state).__name__}")
        if job.state.optimizer != optimizer:
            raise ValueError(f"{where}.state comes from optimizer {job.state.optimizer!r}, not {optimizer!r}")
        check_params(model, job.state.params, f"{where}.state.params")
        state = job.state.core_dict(model)
        flat = state["params"]
    else:
        flat = _flatten(model, check_params(model, job.params, f"{where}.params"))
    key = id(model)
    if key not in model_cache:
        model_cache[key] = (model, model._core_spec())
    return _core_job(
        model,
        task,
        flat,
        optimizer=optimizer,
        lr=lr,
        epochs=epochs,
        key0=int(job.key0),
        key1=int(job.key1),
        stream=int(job.stream),
        record_every=record_every,
        snapshot_epochs=snaps,
        state=state,
        betas=(float(betas[0]), float(betas[1])),
        eps=eps,
        fixed_point_grid=grid,
        model_dict=model_cache[key][1],
    )


def _result_from_core(job: TrainJob, d: Any) -> TrainResult:
    model = job.model
    st = d.state
    adam = job.optimizer == "adam"
    state = TrainState(
        params=_unflatten(model, st["params"]),
        adam_m=_unflatten(model, st["adam_m"]) if adam else None,
        adam_v=_unflatten(model, st["adam_v"]) if adam else None,
        adam_step=int(st["adam_step"]),
        rng=np.asarray(st["rng"], dtype=np.uint64),
        epoch=int(st["epoch"]),
        optimizer=job.optimizer,
    )
    group_norms = d.group_norms
    return TrainResult(
        loss=d.loss,
        grad_norm=d.grad_norm,
        grad_norm_groups={g: group_norms[GROUPS.index(g)].copy() for g in model.groups},
        weight_norm=d.weight_norm,
        accuracy=d.accuracy,
        epochs=d.epochs,
        params=_unflatten(model, st["params"]),
        state=state,
        snapshots={int(e): _unflatten(model, p) for e, p in d.snapshots},
        diverged=bool(d.diverged),
        diverged_epoch=int(d.diverged_epoch),
        fixed_point_count=d.fixed_point_count,
        model=model,
        interrupted=bool(d.cancelled),
    )


# Bytes per recorded epoch of one run, held at once when the results come back: the engine's histories (epoch,
# loss, grad_norm, weight_norm, accuracy, fixed-point count, 8 group norms = 14 numbers), their numpy copies, and
# the per-group copies of TrainResult.grad_norm_groups.
_BYTES_PER_RECORD = 8 * (14 + 14 + 8)


def estimate_train_memory(jobs: Sequence[TrainJob]) -> int:
    """Bytes that training ``jobs`` allocates for its results (histories, snapshots, states), an upper bound
    used by :func:`train` and :func:`train_many` to refuse a request above ``max_memory`` before any work."""
    total = 0
    for job in jobs:
        start = int(job.state.epoch) if isinstance(job.state, TrainState) else 0
        epochs, every = int(job.epochs), int(job.record_every)
        n_rec = (start + epochs - 1) // every - (start - 1) // every if epochs > 0 else 0
        n_params = sum(int(np.prod(s, dtype=np.int64)) for s in param_shapes(job.model).values())
        total += n_rec * _BYTES_PER_RECORD + (len(job.snapshot_epochs) + 8) * n_params * 8 * 3
    return int(total)


def _train_jobs(
    jobs: list,
    threads: int,
    control: Any,
    progress: bool | None,
    max_memory: float,
    desc: str,
    names: str,
    lanes: bool = True,
) -> tuple[list, bool]:
    """Validate, check memory, run (interruptibly unless the caller brings its own control), convert."""
    cache: dict = {}
    core_jobs = [_job_to_core(job, i, cache) for i, job in enumerate(jobs)]
    check_memory(
        estimate_train_memory(jobs),
        max_memory,
        f"{desc}'s results",
        f"raise {names}record_every, train fewer epochs per call (continue with state=), or raise max_memory",
    )
    if control is not None:
        out = _core.rnn_train_many(core_jobs, threads, control, lanes)
        return [None if d is None or d.cancelled else _result_from_core(job, d) for job, d in zip(jobs, out)], False
    total = sum(int(j.epochs) for j in core_jobs)
    out, interrupted = run_with_control(
        lambda c: _core.rnn_train_many(core_jobs, threads, c, lanes),
        total=total,
        progress=progress,
        desc=desc,
        unit="epoch",
        counter="epochs",
    )
    return [None if d is None else _result_from_core(job, d) for job, d in zip(jobs, out)], interrupted


def train_many(
    jobs: Sequence[TrainJob],
    *,
    n_threads: int | None = None,
    control: Any = None,
    progress: bool | None = None,
    max_memory: float = DEFAULT_MAX_MEMORY,
    lanes: bool = True,
) -> list[TrainResult | None]:
    """Train independent jobs in ONE C++ call, OpenMP-parallel over jobs, GIL released.

    Jobs of one small shape (low rank up to 15, at most 8 trials, no noise, no readout cap or fixed-point grid;
    the same model, task, optimizer and epoch schedule) are trained together, one network per SIMD lane
    (4-16 networks per vector, by precision and CPU); the others one by one. Each result depends only on its
    job: bit-identical for any ``n_threads``, grouping or ``lanes``. All jobs are validated, and the
    memory their results need is checked against ``max_memory`` (bytes; ValueError above it), before any work
    starts. ``progress``: a tqdm bar over epochs (None: only in an interactive terminal or a notebook).

    Ctrl-C stops the call within about one epoch of each running job: finished jobs come back complete, jobs
    stopped mid-run come back with ``interrupted=True`` (histories so far, a ``state`` to continue), jobs never
    started come back as None, and a RuntimeWarning says how many finished. With your own ``control``
    (``ghostfast._core.Control``) nothing catches Ctrl-C: ``control.done`` counts finished jobs,
    ``control.epochs`` the epochs done, and ``control.cancel()`` makes every unfinished job come back as None.

    Parameters
    ----------
    jobs : sequence of TrainJob
    n_threads : int or None
        OpenMP threads (None: ``OMP_NUM_THREADS`` or all cores).
    control : ghostfast._core.Control or None
        Progress counter and cancel flag shared with the running call.
    progress : bool or None
        A progress bar over epochs (None: only in an interactive terminal or a notebook).
    max_memory : float
        Bytes the results may take (ValueError above it).
    lanes : bool
        Train jobs of one small shape together in SIMD lanes (default). False trains every job alone: the
        same numbers, for comparisons.

    Returns
    -------
    list of TrainResult or None
        One result per job, in order (None for jobs cancelled before they ran).

    Examples
    --------
    >>> from ghostfast import tasks
    >>> m = Model(N=50)
    >>> jobs = [TrainJob(m, tasks.delayed_activation(20), lr, 10, init_params(m, 0)) for lr in (0.003, 0.01)]
    >>> [r.loss.shape for r in train_many(jobs, n_threads=2)]
    [(10,), (10,)]
    """
    if isinstance(jobs, (str, bytes, Mapping)) or not isinstance(jobs, (Sequence, Iterable)):
        raise TypeError(f"jobs must be a sequence of TrainJob, got {type(jobs).__name__}")
    jobs = list(jobs)
    threads = check_threads(n_threads)
    if control is not None and not isinstance(control, _core.Control):
        raise TypeError(f"control must be a ghostfast._core.Control or None, got {type(control).__name__}")
    if progress is not None:
        check_bool(progress, "progress")
    max_memory = check_real(max_memory, "max_memory", positive=True, finite=False)
    lanes = check_bool(lanes, "lanes")
    results, interrupted = _train_jobs(jobs, threads, control, progress, max_memory, "rnn.train_many", "jobs' ", lanes)
    if interrupted:
        n_done = sum(1 for r in results if r is not None and not r.interrupted)
        n_part = sum(1 for r in results if r is not None and r.interrupted)
        warnings.warn(
            f"rnn.train_many interrupted: {n_done} of {len(jobs)} jobs finished, {n_part} stopped mid-run "
            "(interrupted=True, continue with their state), the others never started (None)",
            RuntimeWarning,
            stacklevel=2,
        )
    return results


def train(
    model: Model,
    task: Task,
    lr: float,
    epochs: int,
    optimizer: str = "sgd",
    seed: SeedLike = None,
    params: Mapping[str, Any] | None = None,
    record_every: int = 1,
    snapshot_epochs: Sequence[int] = (),
    state: TrainState | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fixed_point_grid: Any = None,
    n_threads: int | None = None,
    progress: bool | None = None,
    max_memory: float = DEFAULT_MAX_MEMORY,
) -> TrainResult:
    """Train one network full-batch for ``epochs`` epochs (all in C++; see the module docstring).

    Parameters
    ----------
    model : Model
    task : Task
        Sizes must match the model.
    lr : float
        Learning rate (>= 0).
    epochs : int
        Number of epochs (full-batch updates, >= 0).
    optimizer : {"sgd", "adam"}
    seed : int, numpy.random.SeedSequence or None
        Keys the noise/x0 stream (stream 0) and, when ``params`` is None, the initialisation
        ``init_params(model, seed)``.
    params : mapping, optional
        Initial parameters (default ``init_params(model, seed)``); ignored when ``state`` is given.
    record_every : int
        Record the epochs whose absolute index is a multiple of this.
    snapshot_epochs : sequence of int
        Absolute epochs whose starting parameters are kept in ``result.snapshots``.
    state : TrainState, optional
        A previous result's ``state``: continue exactly (same seed stream, moments, epoch counter).
    betas : tuple of float
        Adam's moment decay rates.
    eps : float
        Adam's epsilon.
    fixed_point_grid : array_like, optional
        A kappa grid (rank one): count the fixed points of f(kappa) at every recorded epoch
        (``result.fixed_point_count``).
    n_threads : int or None
        Threads for the run's trial chunks (None: all cores; worth it from a few hundred trials on). The
        results do not depend on it.
    progress : bool or None
        A tqdm bar over epochs (None: only in an interactive terminal or a notebook).
    max_memory : float
        Bytes the results may take (histories, snapshots); above it a ValueError is raised before any work
        (``record_every`` reduces it).

    Returns
    -------
    TrainResult
        Histories per recorded epoch (loss, gradient norms, weight norm, accuracy), the final parameters,
        the ``state`` to continue, and the snapshots.

    Notes
    -----
    Ctrl-C stops the run within an epoch and returns what it has: the histories of the epochs done, with
    ``interrupted=True`` and a ``state`` that continues the run exactly (a RuntimeWarning says so).

    Examples
    --------
    >>> from ghostfast import tasks
    >>> r = train(Model(N=100), tasks.delayed_activation(20), lr=0.01, epochs=2000, seed=0, record_every=100)
    >>> r.epochs[:3].tolist()
    [0, 100, 200]
    """
    model = _check_model(model)
    task = _check_task(task, model)
    check_seed(seed)
    lr = check_real(lr, "lr", nonnegative=True)
    epochs = check_int(epochs, "epochs", minimum=0, maximum=INT64_MAX // 2)
    optimizer = check_choice(optimizer, "optimizer", _OPTIMIZERS)
    record_every = check_int(record_every, "record_every", minimum=1, maximum=INT64_MAX)
    if isinstance(snapshot_epochs, (str, bytes)) or not isinstance(snapshot_epochs, Iterable):
        raise TypeError(f"snapshot_epochs must be a sequence of ints, got {type(snapshot_epochs).__name__}")
    snapshot_epochs = tuple(check_int(e, "snapshot_epochs", minimum=0, maximum=INT64_MAX) for e in snapshot_epochs)
    if isinstance(betas, (str, bytes)) or not isinstance(betas, Iterable) or len(tuple(betas)) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for k, beta in enumerate(tuple(betas)):
        if not 0.0 <= check_real(beta, f"betas[{k}]") < 1.0:
            raise ValueError(f"betas[{k}] must be in [0, 1), got {beta}")
    eps = check_real(eps, "eps", positive=True)
    if state is not None:
        if not isinstance(state, TrainState):
            raise TypeError(f"state must be a TrainState (a previous result's .state), got {type(state).__name__}")
        if state.optimizer != optimizer:
            raise ValueError(f"state comes from optimizer {state.optimizer!r}, not {optimizer!r}")
    if fixed_point_grid is not None and model.rank != 1:
        raise ValueError("fixed_point_grid needs a rank-one model")
    if progress is not None:
        check_bool(progress, "progress")
    max_memory = check_real(max_memory, "max_memory", positive=True, finite=False)
    threads = check_threads(n_threads)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    key = seed_key(ss)
    if params is None and state is None:
        params = init_params(model, ss if seed is None else seed)
    elif params is None:
        params = state.params if isinstance(state, TrainState) else {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    job = TrainJob(
        model=model,
        task=task,
        lr=lr,
        epochs=epochs,
        params=dict(params),
        optimizer=optimizer,
        key0=key.key0,
        key1=key.key1,
        stream=0,
        record_every=record_every,
        snapshot_epochs=tuple(snapshot_epochs),
        state=state,
        betas=betas,
        eps=eps,
        fixed_point_grid=fixed_point_grid,
    )
    results, interrupted = _train_jobs([job], threads, None, progress, max_memory, "rnn.train", "")
    result = results[0]
    if result is None:  # Ctrl-C before the first epoch: nothing done, the state is the starting point
        raise KeyboardInterrupt
    if interrupted:
        warnings.warn(
            f"rnn.train interrupted after {len(result.loss)} recorded epochs (epoch {result.state.epoch} "
            f"of {(state.epoch if state is not None else 0) + epochs}): result.interrupted is True; "
            "continue with train(..., state=result.state)",
            RuntimeWarning,
            stacklevel=2,
        )
    return replace(result, seed_entropy=key.entropy)
