"""Intervals that a verdict can rest on: a bootstrap over photos and seeds, and the verdict.

Values come as an array ``(seeds, units)``, a unit being one independent test photo. Each
replicate resamples photos, and the seeds within each fold, with replacement; the interval is the
percentile interval of the replicates. :func:`decide` turns an interval into a verdict.
``docs/metrics.md`` describes the procedure.

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = 0.8 + 0.02 * rng.standard_normal((3, 24))   # 3 seeds x 24 photos
    >>> mean, lo, hi = bootstrap_ci(a - (a - 0.05))      # the other model is worse on every photo
    >>> round(mean, 3), lo > 0, decide(lo, hi, claimed=">"), decide(-0.01, 0.02, claimed=">")
    (0.05, True, 'reproduced', 'inconclusive')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd

__all__ = ["N_BOOT", "LEVEL", "Interval", "resampling", "per_unit", "bootstrap", "expanded_tail", "bootstrap_ci",
           "weighted_mean", "decide", "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE"]

#: Bootstrap replicates; enough for a stable 95 % percentile interval.
N_BOOT = 2000
#: Coverage of the intervals.
LEVEL = 0.95
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"

Interval = tuple[float, float, float]
"""``(mean, low, high)``."""

_RESAMPLING = {"n_boot": N_BOOT, "seed": 0}


@contextmanager
def resampling(*, n_boot: int | None = None, seed: int | None = None) -> Iterator[None]:
    """Use other bootstrap replicates or another resampling seed inside the block, where none is given.

    :func:`colorlab.claims.judge` decides every claim a second time with another seed, and again on
    ten times the replicates when the two disagree: a verdict never rests on the draws.

    Args:
        n_boot: the replicates.
        seed: the seed of the resampling.

    Example:
        >>> with resampling(n_boot=100, seed=3):
        ...     _, lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
        >>> lo < hi
        True
    """
    before = dict(_RESAMPLING)
    _RESAMPLING.update({k: v for k, v in (("n_boot", n_boot), ("seed", seed)) if v is not None})
    try:
        yield
    finally:
        _RESAMPLING.update(before)


def per_unit(per_image: pd.DataFrame, units: Sequence[object], column: str) -> pd.Series:
    """Average a column over the rows (tiles) of each unit (photo).

    The tiles of one photo are not independent evidence; aggregate them to their photo first.

    Args:
        per_image: one row per tile.
        units: each row's unit (photo).
        column: the column to average.

    Returns:
        The means, indexed by unit in order of first appearance.

    Raises:
        ValueError: if there are not as many unit labels as rows.
        KeyError: if there is no such column.

    Example:
        >>> t = pd.DataFrame({"auc": [0.8, 0.9, 0.5]})
        >>> per_unit(t, ["cat", "cat", "dog"], "auc").round(2).to_dict()
        {'cat': 0.85, 'dog': 0.5}
    """
    if len(units) != len(per_image):
        raise ValueError(f"per_unit: {len(units)} unit labels for {len(per_image)} rows")
    if column not in per_image:
        raise KeyError(f"per_unit: no column {column!r}; columns: {', '.join(map(str, per_image.columns))}")
    return per_image[column].astype(float).groupby(pd.Index(list(units), name="unit"), sort=False).mean()


def _as_matrix(values: np.ndarray | Sequence[float] | Sequence[Sequence[float]], name: str = "values") -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"bootstrap: {name} must be (seeds, units) and not empty; got shape {v.shape}")
    return v


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted mean ``Σ w v / Σ w`` over the last axis, NaN values left out with their weights.

    Args:
        values: ``(..., n)``, NaN where there is no value.
        weights: of the same shape.

    Returns:
        ``(...)``.

    Example:
        >>> float(weighted_mean(np.array([1.0, 3.0, np.nan]), np.array([3.0, 1.0, 5.0])))
        1.5
    """
    ok = ~np.isnan(values)
    w = np.where(ok, weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(ok, values, 0.0) * w).sum(-1) / w.sum(-1)


def bootstrap(stat: Callable[..., np.ndarray], *arrays: np.ndarray | Sequence[Sequence[float]],
              n_boot: int | None = None, level: float = LEVEL, seed: int | None = None,
              groups: Sequence[object] | None = None) -> Interval:
    """A statistic of several arrays with its bootstrap interval over seeds and units.

    The arrays are resampled together. Every replicate draws ``units`` units (photos) with
    replacement, and for each group of units (a fold: the photos the same models scored) ``seeds``
    rows with replacement, independently per group; ``stat`` gets the arrays flattened to
    ``(n_boot, seeds * units)``. Without ``groups`` all units are one group: the seeds are drawn
    once per replicate. NaN cells (a photo not tested under a seed) are for ``stat`` to leave out;
    a replicate with only NaN cells is left out of the interval. The interval is the expanded
    percentile interval of the replicates (:func:`expanded_tail`), which keeps its coverage with
    few photos.

    Args:
        stat: reduces the last axis of each of its arguments, e.g. :func:`weighted_mean`.
        arrays: ``(seeds, units)`` each, of one shape (or ``(units,)``: one seed).
        n_boot: the number of replicates (``None``: :func:`resampling`'s, :data:`N_BOOT` by default).
        level: the coverage of the interval, in (0, 1).
        seed: the seed of the resampling (``None``: :func:`resampling`'s, 0 by default).
        groups: each unit's group (its fold), ``units`` long; ``None``: one group.

    Returns:
        ``(estimate, low, high)``: ``stat`` of the arrays as they are, and the expanded
        percentile interval of the replicates (NaN bounds when every replicate is NaN).

    Raises:
        ValueError: for ``level`` outside (0, 1), no arrays, arrays of different shapes, or
            ``groups`` of another length than the units.

    Example:
        >>> v, w = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 1.0, 2.0]])
        >>> est, lo, hi = bootstrap(weighted_mean, v, w)
        >>> est, 1.0 <= lo <= est <= hi <= 3.0
        (2.25, True)
        >>> two_folds = np.array([[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 4.0, 4.0]])  # 2 seeds x 4 photos
        >>> bootstrap(_nanmean, two_folds, groups=[0, 0, 1, 1])[0]
        2.5
    """
    if not 0 < level < 1:
        raise ValueError(f"bootstrap: level must be in (0, 1); got {level}")
    n_boot = _RESAMPLING["n_boot"] if n_boot is None else n_boot
    seed = _RESAMPLING["seed"] if seed is None else seed
    ms = [_as_matrix(a) for a in arrays]
    if not ms or any(m.shape != ms[0].shape for m in ms):
        raise ValueError(f"bootstrap: arrays must share one (seeds, units) shape; got {[m.shape for m in ms]}")
    s, u = ms[0].shape
    if groups is not None and len(groups) != u:
        raise ValueError(f"bootstrap: {len(groups)} groups for {u} units")
    group = np.unique(np.asarray(list(groups), dtype=object).astype(str), return_inverse=True)[1].reshape(-1) \
        if groups is not None else np.zeros(u, dtype=int)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, s, (n_boot, int(group.max()) + 1, s))  # seeds drawn per group (fold)
    units = rng.integers(0, u, (n_boot, u))
    picked = rows[np.arange(n_boot)[:, None], group[units]]  # (n_boot, units, seeds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replicate with only empty cells is NaN
        draws = [m[picked, units[:, :, None]].transpose(0, 2, 1).reshape(n_boot, -1) for m in ms]
        reps = np.asarray(stat(*draws), dtype=float)
        estimate = float(np.asarray(stat(*(m.reshape(1, -1) for m in ms)), dtype=float).reshape(-1)[0])
        if np.isnan(reps).all():
            return estimate, float("nan"), float("nan")
        tail = expanded_tail(level, u)
        lo, hi = np.nanquantile(reps, [tail, 1 - tail])
    return estimate, float(lo), float(hi)


def expanded_tail(level: float, n: int) -> float:
    """The tail each side of the expanded percentile interval for ``n`` units (Hesterberg 2015).

    A percentile interval from ``n`` resampled units is too narrow by about ``sqrt((n - 1) / n)``
    and by the normal's tails against Student's; the expanded interval takes the replicates'
    quantiles at ``Φ(-sqrt(n / (n - 1)) t_{n-1})`` instead of ``(1 - level) / 2``.

    Args:
        level: the coverage asked for, in (0, 1).
        n: the number of units (photos) resampled.

    Returns:
        The tail probability each side; ``(1 - level) / 2`` for fewer than 2 units.

    Example:
        >>> round(expanded_tail(0.95, 40), 4), round(expanded_tail(0.95, 8), 4), round(expanded_tail(0.95, 1), 4)
        (0.0203, 0.0057, 0.025)
    """
    if n < 2:
        return (1 - level) / 2
    from scipy.stats import norm, t

    return float(norm.cdf(-math.sqrt(n / (n - 1)) * t.ppf(1 - (1 - level) / 2, n - 1)))


def _nanmean(v: np.ndarray) -> np.ndarray:
    return np.nanmean(v, axis=-1)


def bootstrap_ci(values: np.ndarray | Sequence[float], *, n_boot: int | None = None, level: float = LEVEL,
                 seed: int | None = None, groups: Sequence[object] | None = None) -> Interval:
    """The mean of ``values`` with its bootstrap interval over seeds and units.

    Args:
        values: ``(seeds, units)``, or ``(units,)`` for one seed; NaN entries (a photo without
            chroma, or not tested under a seed) are left out of each mean.
        n_boot: the number of replicates.
        level: the coverage of the interval.
        seed: the seed of the resampling.
        groups: each unit's group (its fold), for seeds drawn per group (:func:`bootstrap`).

    Returns:
        ``(mean, low, high)``; all NaN when every value is.

    Raises:
        ValueError: for an empty array or one of more than two dimensions.

    Example:
        >>> mean, lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
        >>> mean, lo <= 2.5 <= hi, 1.0 <= lo and hi <= 4.0
        (2.5, True, True)
        >>> bootstrap_ci([[1.0], [3.0]])   # two seeds, one photo: the seeds make the interval
        (2.0, 1.0, 3.0)
    """
    v = _as_matrix(values)
    if np.isnan(v).all():
        return (float("nan"),) * 3
    return bootstrap(_nanmean, v, n_boot=n_boot, level=level, seed=seed, groups=groups)


def decide(low: float, high: float, claimed: str = ">", margin: float = 0.0) -> str:
    """The verdict of an interval of a difference whose sign is claimed, with the smallest effect that counts.

    Reproduced when the whole interval lies beyond ``margin`` on the claimed side. Not reproduced
    when it lies entirely on the other side of zero, or wholly inside ``±margin`` (no effect worth
    the name). Inconclusive otherwise, NaN bounds included.

    Args:
        low: the interval's lower bound.
        high: its upper bound.
        claimed: ``">"`` (the difference is positive) or ``"<"`` (negative).
        margin: the smallest effect that counts, ``>= 0``, in the difference's unit.

    Returns:
        :data:`REPRODUCED`, :data:`NOT_REPRODUCED` or :data:`INCONCLUSIVE`.

    Raises:
        ValueError: for a ``claimed`` other than ``">"`` or ``"<"``, a negative margin, or ``low > high``.

    Example:
        >>> decide(0.01, 0.03), decide(-0.03, -0.01), decide(-0.01, 0.01), decide(0.01, 0.03, "<")
        ('reproduced', 'not reproduced', 'inconclusive', 'not reproduced')
        >>> decide(0.01, 0.03, margin=0.02), decide(-0.01, 0.01, margin=0.02), decide(0.03, 0.05, margin=0.02)
        ('inconclusive', 'not reproduced', 'reproduced')
    """
    if claimed not in (">", "<"):
        raise ValueError(f"decide: claimed must be '>' or '<'; got {claimed!r}")
    if not margin >= 0:
        raise ValueError(f"decide: margin must be >= 0; got {margin}")
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE
    if low > high:
        raise ValueError(f"decide: low {low} is above high {high}")
    if claimed == "<":
        low, high = -high, -low
    if low > margin:
        return REPRODUCED
    if high < 0 or (margin > 0 and -margin < low and high < margin):
        return NOT_REPRODUCED
    return INCONCLUSIVE
