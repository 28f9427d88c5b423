"""Intervals that a verdict can rest on: bootstrap over photos and seeds.

A colourisation result varies with the photos it is measured on and with the seed its model was
trained from. Both are resampled here: values come as an array ``(seeds, units)``, a unit being
one independent test photo (the tiles of one photo are not independent; aggregate them to their
photo first with :func:`per_unit`). Each bootstrap replicate draws ``units`` photos with
replacement and, independently, ``seeds`` seeds with replacement, and takes the mean; the
interval is the percentile interval of the replicates. With a single seed the seed dimension
contributes nothing, and the interval says so by being only as wide as the photos make it.

A paired comparison (two models on the same photos and seeds) resamples the per-unit
*differences*, which is what makes it sensitive. :func:`decide` turns an interval into a verdict:
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

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["N_BOOT", "LEVEL", "Interval", "per_unit", "bootstrap_ci", "decide", "REPRODUCED", "NOT_REPRODUCED",
           "INCONCLUSIVE"]

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
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"bootstrap_ci: values must be (seeds, units) and not empty; got shape {v.shape}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_ci: level must be in (0, 1); got {level}")
    if np.isnan(v).all():
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    s, u = v.shape
    seeds = rng.integers(0, s, (n_boot, s))
    units = rng.integers(0, u, (n_boot, u))
    draws = v[seeds[:, :, None], units[:, None, :]]  # (n_boot, s, u)
    means = np.nanmean(draws.reshape(n_boot, -1), axis=1)
    tail = (1 - level) / 2
    lo, hi = np.nanquantile(means, [tail, 1 - tail])
    return float(np.nanmean(v)), float(lo), float(hi)


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
