"""Intervals that a verdict can rest on: bootstrap over photos and seeds.

A colourisation result varies with the photos it is measured on and with the seed its model was
trained from. Both are resampled here: values come as an array ``(seeds, units)``, a unit being
one independent test photo (the tiles of one photo are not independent; aggregate them to their
photo first with :func:`per_unit`). Each bootstrap replicate draws ``units`` photos with
replacement and, independently, ``seeds`` seeds with replacement, and takes the mean; the
interval is the percentile interval of the replicates. With a single seed the seed dimension
contributes nothing, and the interval says so by being only as wide as the photos make it.

A paired comparison (two models on the same photos and seeds) resamples the per-unit
*differences*, which is what makes it sensitive. :func:`bootstrap` takes any statistic of several
such arrays resampled together (a weighted mean, a difference of weighted means); a cell may be
NaN where a photo was not tested under a seed (cross-fitting: each seed holds out its own fold of
photos), and NaN cells are left out of each replicate. :func:`decide` turns an interval into a verdict:
reproduced when it excludes zero on the claimed side, not reproduced when it excludes zero on the
other side, inconclusive when it straddles zero.

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = 0.8 + 0.02 * rng.standard_normal((3, 24))   # 3 seeds x 24 photos
    >>> b = a - 0.05                                     # b is worse on every photo
    >>> mean, lo, hi = bootstrap_ci(a - b)
    >>> round(mean, 3), lo > 0
    (0.05, True)
    >>> decide(lo, hi, claimed=">")
    'reproduced'
    >>> decide(-0.01, 0.02, claimed=">")
    'inconclusive'
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["N_BOOT", "LEVEL", "Interval", "per_unit", "bootstrap", "bootstrap_ci", "weighted_mean", "decide",
           "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE"]

#: Bootstrap replicates; enough for a stable 95 % percentile interval.
N_BOOT = 2000
#: Coverage of the intervals.
LEVEL = 0.95
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"

Interval = tuple[float, float, float]
"""``(mean, low, high)``."""


def per_unit(per_image: pd.DataFrame, units: Sequence[object], column: str) -> pd.Series:
    """The mean of ``column`` over the rows (tiles) of each unit (photo), indexed by unit, in
    order of first appearance.

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
    """``Σ w v / Σ w`` over the last axis, NaN values left out (with their weights).

    Example:
        >>> float(weighted_mean(np.array([1.0, 3.0, np.nan]), np.array([3.0, 1.0, 5.0])))
        1.5
    """
    ok = ~np.isnan(values)
    w = np.where(ok, weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(ok, values, 0.0) * w).sum(-1) / w.sum(-1)


def bootstrap(stat: Callable[..., np.ndarray], *arrays: np.ndarray | Sequence[Sequence[float]],
              n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> Interval:
    """``(estimate, low, high)`` of ``stat`` over ``arrays``, each ``(seeds, units)`` of one shape,
    resampled together: every replicate draws ``seeds`` seeds and ``units`` units with replacement
    (independently) and applies ``stat`` to the arrays flattened to ``(n_boot, seeds * units)``;
    ``stat`` reduces the last axis. The estimate is ``stat`` of the arrays as they are.

    Example (a weighted mean):
        >>> v, w = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 1.0, 2.0]])
        >>> est, lo, hi = bootstrap(weighted_mean, v, w)
        >>> est, 1.0 <= lo <= est <= hi <= 3.0
        (2.25, True)
    """
    if not 0 < level < 1:
        raise ValueError(f"bootstrap: level must be in (0, 1); got {level}")
    ms = [_as_matrix(a) for a in arrays]
    if not ms or any(m.shape != ms[0].shape for m in ms):
        raise ValueError(f"bootstrap: arrays must share one (seeds, units) shape; got {[m.shape for m in ms]}")
    s, u = ms[0].shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, s, (n_boot, s))
    units = rng.integers(0, u, (n_boot, u))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replicate with only empty cells is NaN
        draws = [m[seeds[:, :, None], units[:, None, :]].reshape(n_boot, -1) for m in ms]
        reps = np.asarray(stat(*draws), dtype=float)
        estimate = float(np.asarray(stat(*(m.reshape(1, -1) for m in ms)), dtype=float).reshape(-1)[0])
        if np.isnan(reps).all():
            return estimate, float("nan"), float("nan")
        tail = (1 - level) / 2
        lo, hi = np.nanquantile(reps, [tail, 1 - tail])
    return estimate, float(lo), float(hi)


def _nanmean(v: np.ndarray) -> np.ndarray:
    return np.nanmean(v, axis=-1)


def bootstrap_ci(values: np.ndarray | Sequence[float], *, n_boot: int = N_BOOT, level: float = LEVEL,
                 seed: int = 0) -> Interval:
    """``(mean, low, high)`` of ``values`` ``(seeds, units)`` (or ``(units,)``: one seed), the
    bounds the percentile interval of a bootstrap that resamples units and seeds independently.
    NaN entries (a photo without chroma) are left out of each mean.

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
    return bootstrap(_nanmean, v, n_boot=n_boot, level=level, seed=seed)


def decide(low: float, high: float, claimed: str = ">", margin: float = 0.0) -> str:
    """The verdict of an interval ``[low, high]`` of a difference whose claimed sign is ``claimed``
    (``">"``: positive, ``"<"``: negative): reproduced when the whole interval lies beyond
    ``margin`` on the claimed side, not reproduced when it lies entirely on the other side of
    zero, inconclusive otherwise (NaN bounds included).

    Example:
        >>> decide(0.01, 0.03), decide(-0.03, -0.01), decide(-0.01, 0.01), decide(0.01, 0.03, "<")
        ('reproduced', 'not reproduced', 'inconclusive', 'not reproduced')
    """
    if claimed not in (">", "<"):
        raise ValueError(f"decide: claimed must be '>' or '<'; got {claimed!r}")
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE
    if low > high:
        raise ValueError(f"decide: low {low} is above high {high}")
    if claimed == "<":
        low, high = -high, -low
    if low > margin:
        return REPRODUCED
    if high < 0:
        return NOT_REPRODUCED
    return INCONCLUSIVE
