"""Least-squares power-law fits with Student-t intervals, without scipy (shared by canonical and sweep)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["PowerLawFit", "power_law_fit", "student_t_cdf", "student_t_ppf"]


def _betacf(a: float, b: float, x: float) -> float:
    # Continued fraction of the regularised incomplete beta function (Lentz's method).
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def _check_df(df: float) -> float:
    from ._validation import check_real

    return check_real(df, "df", positive=True, finite=False)


def student_t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution (regularised incomplete beta; no scipy).

    Parameters
    ----------
    t : float
        The point (+-inf allowed).
    df : float
        Degrees of freedom (> 0; inf gives the normal distribution's CDF).

    Returns
    -------
    float
        P(T <= t).

    Examples
    --------
    >>> student_t_cdf(0.0, 5)
    0.5
    >>> round(student_t_cdf(2.015048, 5), 4)            # the 95 % one-sided quantile at 5 degrees of freedom
    0.95
    """
    from ._validation import check_real

    t = check_real(t, "t", finite=False)
    df = _check_df(df)
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    x = df / (df + t * t)
    tail = 0.5 * _betainc(0.5 * df, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def student_t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t distribution for 0.5 <= q < 1 (bisection on the CDF, bounded iterations).

    Parameters
    ----------
    q : float
        Probability, 0.5 <= q < 1.
    df : float
        Degrees of freedom (> 0).

    Returns
    -------
    float
        t such that P(T <= t) = q.

    Examples
    --------
    >>> round(student_t_ppf(0.975, 10), 4)             # the two-sided 95 % factor at 10 degrees of freedom
    2.2281
    """
    from ._validation import check_real

    q = check_real(q, "q")
    df = _check_df(df)
    if not 0.5 <= q < 1.0:
        raise ValueError(f"q must be in [0.5, 1), got {q}")
    lo, hi = 0.0, 1.0
    # The t quantile grows at most like (1 - q)^(-1/df); doubling 2100 times passes any float64 (2^1024):
    # a bound on the loop even where the CDF cannot reach q (df tiny, q within rounding of 1).
    for _ in range(2100):
        if student_t_cdf(hi, df) >= q or math.isinf(hi):
            break
        hi *= 2.0
    if math.isinf(hi):
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class PowerLawFit:
    """``y = prefactor * x ** exponent`` by least squares in log-log (natural log).

    ``exponent_se`` / ``log_prefactor_se`` are the usual OLS standard errors; the 95 % intervals use
    Student's t with n - 2 degrees of freedom (NaN when n < 3)."""

    exponent: float
    prefactor: float
    exponent_se: float
    log_prefactor_se: float
    exponent_ci95: Tuple[float, float]
    prefactor_ci95: Tuple[float, float]
    n: int


def power_law_fit(x: ArrayLike, y: ArrayLike) -> PowerLawFit:
    """Fit ``y = a x^p`` by ordinary least squares on ``(log x, log y)``.

    Parameters
    ----------
    x, y : array_like, shape ``(n,)``
        Positive, finite values; at least 2 points (3 for standard errors).

    Returns
    -------
    PowerLawFit
        ``exponent`` p, ``prefactor`` a, their standard errors and 95 % (Student t) intervals, and ``n``.

    Examples
    --------
    >>> fit = power_law_fit([10, 20, 40], [3.0 * 10**-4, 3.0 * 20**-4, 3.0 * 40**-4])
    >>> round(fit.exponent, 6), round(fit.prefactor, 6)
    (-4.0, 3.0)
    """
    from ._validation import as_float_array

    x = as_float_array(x, "x", finite=False)
    y = as_float_array(y, "y", finite=False)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError(f"x: a power-law fit needs at least 2 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("x must be finite and > 0")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("y must be finite and > 0")
    lx, ly = np.log(x), np.log(y)
    n = x.size
    mx, my = lx.mean(), ly.mean()
    sxx = float(np.sum((lx - mx) ** 2))
    if sxx == 0:
        raise ValueError("x: all values are equal; the exponent is undefined")
    slope = float(np.sum((lx - mx) * (ly - my)) / sxx)
    intercept = float(my - slope * mx)
    if n > 2:
        resid = ly - (intercept + slope * lx)
        s2 = float(np.sum(resid**2) / (n - 2))
        se_slope = math.sqrt(s2 / sxx)
        se_icpt = math.sqrt(s2 * (1.0 / n + mx**2 / sxx))
        tq = student_t_ppf(0.975, n - 2)
        ci_slope = (slope - tq * se_slope, slope + tq * se_slope)
        ci_pref = (math.exp(intercept - tq * se_icpt), math.exp(intercept + tq * se_icpt))
    else:
        se_slope = se_icpt = float("nan")
        ci_slope = ci_pref = (float("nan"), float("nan"))
    return PowerLawFit(
        exponent=slope,
        prefactor=math.exp(intercept),
        exponent_se=se_slope,
        log_prefactor_se=se_icpt,
        exponent_ci95=ci_slope,
        prefactor_ci95=ci_pref,
        n=int(n),
    )
