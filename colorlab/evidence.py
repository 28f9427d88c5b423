"""Per-photo rows, and the estimates with intervals that tables and verdicts rest on.

Each run's test set is scored per tile, and the tiles are gathered to their photo
(:func:`unit_rows`): the *units* table has one row per model row, seed and photo. From it come a
model row's mean and interval (:func:`estimate`), the paired difference of two rows
(:func:`difference`) and the summary table (:func:`summary`). ``docs/metrics.md`` says how.

Example:
    >>> units = pd.DataFrame({"method": "m", "variant": ["a"] * 4 + ["b"] * 4, "decode": "direct",
    ...                       "seed": [0, 0, 1, 1] * 2, "unit": ["x", "y"] * 4,
    ...                       "auc": [0.9, 0.8, 0.9, 0.85, 0.8, 0.7, 0.8, 0.75]})
    >>> est, lo, hi = difference(units, "auc", {"variant": "a"}, {"variant": "b"})
    >>> round(est, 3), round(lo, 3), round(hi, 3)
    (0.1, 0.1, 0.1)
    >>> summary(units)[["variant", "auc", "auc_lo", "n_seeds", "n_photos"]].values.tolist()
    [['a', 0.8625, 0.8, 2, 2], ['b', 0.7625, 0.7, 2, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .metrics import AUC_PRIOR_MIXES, AUC_PRIOR_UNIFORM_MIX, mix_suffix, summarize
from .stats import Interval, bootstrap, bootstrap_ci, weighted_mean

__all__ = ["ROW_KEYS", "RUN_KEYS", "INTERVAL_METRICS", "MIX_SUFFIXES", "unit_rows", "select", "matrix", "folds_of",
           "pack_seeds", "estimate", "difference", "eff_pixels_per_run", "SPREAD_METRICS", "spreads", "seeds_per_photo",
           "summary", "fmt"]

#: The columns that name a model row (one line of a results table).
ROW_KEYS = ("method", "variant", "decode")
#: The columns that name one run of a row and one of its test photos.
RUN_KEYS = ("seed", "unit")
#: The metrics whose interval the summary shows (``<metric>_lo``, ``<metric>_hi``).
INTERVAL_METRICS = ("auc", "auc_rebal", "psnr", "ssim", "rmse", "colorfulness", "colorfulness_gap", "chroma_ratio",
                    "ab_roughness", "hist_intersection", "hist_kl")
#: The metrics whose photo-to-photo and seed-to-seed spreads the summary shows (:func:`spreads`).
SPREAD_METRICS = ("auc", "psnr")
#: Suffixes of the rebalanced AuC computed with each uniform mix ("" is the protocol's).
MIX_SUFFIXES = tuple("" if m == AUC_PRIOR_UNIFORM_MIX else mix_suffix(m) for m in AUC_PRIOR_MIXES)
_SUMS = tuple(f"rebal_weight{s}" for s in MIX_SUFFIXES) + tuple(f"rebal_weight_sq{s}" for s in MIX_SUFFIXES)
#: Per-photo metric columns (everything :func:`colorlab.metrics.evaluate` gives, and the tile count).
_METRIC_PREFIXES = ("psnr", "ssim", "rmse", "auc", "colorfulness", "chroma", "ab_roughness", "tone_", "hist_",
                    "rebal_weight", "n_tiles")


def _is_metric(col: str) -> bool:
    return col.startswith(_METRIC_PREFIXES)


def unit_rows(per_image: pd.DataFrame, units: Sequence[object], **labels: Any) -> list[dict[str, Any]]:
    """Gather a per-tile table to one row per photo.

    Each photo's row is :func:`colorlab.metrics.summarize` over its tiles, so its rebalanced AuC is
    pooled over its pixels and its chroma ratio is a ratio of mean chromas. The photo's sums of
    rebalancing weights are kept, for pooling across photos.

    Args:
        per_image: one row per tile (:func:`colorlab.metrics.evaluate`).
        units: each tile's photo.
        labels: columns added to every row (``method``, ``variant``, ``seed``, ...).

    Returns:
        One dict per photo, in order of first appearance: the ``labels``, ``unit``, the metrics
        and ``n_tiles``.

    Raises:
        ValueError: if there are not as many unit labels as tiles.

    Example:
        >>> t = pd.DataFrame({"auc": [0.8, 0.9, 0.5], "chroma": [1.0, 3.0, 2.0], "chroma_gt": [2.0, 2.0, 4.0]})
        >>> [(r["unit"], round(r["auc"], 2), r["chroma_ratio"], r["n_tiles"]) for r in unit_rows(t, ["a", "a", "b"])]
        [('a', 0.85, 1.0, 2), ('b', 0.5, 0.5, 1)]
    """
    if len(units) != len(per_image):
        raise ValueError(f"unit_rows: {len(units)} unit labels for {len(per_image)} tiles")
    out = []
    for unit, idx in pd.Series(range(len(units))).groupby(pd.Index(list(units)), sort=False):
        tiles = per_image.iloc[idx.to_numpy()]
        row = summarize(tiles)
        row["n_tiles"] = row.pop("n_images")
        for col in _SUMS:
            if col in tiles:
                row[col] = float(tiles[col].astype(float).sum())
        out.append({**labels, "unit": unit, **row})
    return out


def select(units: pd.DataFrame, **match: object) -> pd.DataFrame:
    """The rows whose columns equal the given values, compared as strings.

    Args:
        units: the table.
        match: column -> value; a missing column matches nothing.

    Returns:
        The matching rows.

    Example:
        >>> select(pd.DataFrame({"variant": ["a", "b"], "x": [1, 2]}), variant="b")["x"].tolist()
        [2]
    """
    sel = units
    for col, value in match.items():
        if col not in sel:
            return sel.iloc[0:0]
        sel = sel[sel[col].astype(str) == str(value)]
    return sel


def matrix(rows: pd.DataFrame, metric: str, seeds: Sequence[object] | None = None,
           photos: Sequence[object] | None = None) -> np.ndarray:
    """One model row's values of a metric as a ``(seeds, photos)`` array.

    Args:
        rows: the units of one model row.
        metric: the column.
        seeds: the seeds, in order (``None``: as they appear).
        photos: the photos, in order (``None``: as they appear).

    Returns:
        ``(seeds, photos)``, NaN where a photo was not scored under a seed.

    Raises:
        KeyError: if there is no such column.
        ValueError: if there are several rows per seed and photo (several model rows).

    Example:
        >>> rows = pd.DataFrame({"seed": [0, 1], "unit": ["x", "y"], "auc": [0.8, 0.9]})
        >>> matrix(rows, "auc").tolist()
        [[0.8, nan], [nan, 0.9]]
    """
    if metric not in rows:
        raise KeyError(f"no column {metric!r} in the rows")
    if rows.duplicated(list(RUN_KEYS)).any():
        raise ValueError(f"several rows per seed and photo: select one model row first ({', '.join(ROW_KEYS)})")
    table = rows.pivot(index="seed", columns="unit", values=metric)
    seeds = list(dict.fromkeys(rows["seed"])) if seeds is None else list(seeds)
    photos = list(dict.fromkeys(rows["unit"])) if photos is None else list(photos)
    return table.reindex(index=seeds, columns=photos).to_numpy(dtype=float)


def folds_of(rows: pd.DataFrame, photos: Sequence[object]) -> list[object] | None:
    """Each photo's fold (the group of photos that the same models scored), or ``None`` without folds.

    Args:
        rows: units of one or more model rows, with a ``fold`` column where the runs held out folds.
        photos: the photos, in order.

    Returns:
        The fold of each photo; ``None`` when the rows have no folds (one fixed test set).

    Example:
        >>> folds_of(pd.DataFrame({"unit": ["x", "y", "x"], "fold": [0, 1, 0]}), ["y", "x"])
        [1, 0]
    """
    if "fold" not in rows or rows["fold"].isna().all():
        return None
    first = rows.drop_duplicates("unit")
    fold = dict(zip(first["unit"].tolist(), first["fold"].tolist(), strict=True))
    return [fold.get(p) for p in photos]


def pack_seeds(*arrays: np.ndarray) -> list[np.ndarray]:
    """Move each photo's scored seeds to the top rows, in seed order, for a bootstrap nested in folds.

    With folds that one seed each replicates, each photo has one scored seed: one row is left.
    A photo's row ``r`` is then the ``r``-th model that scored it, so resampling rows within a fold
    resamples that fold's models (:func:`colorlab.stats.bootstrap` with ``groups``).

    Args:
        arrays: ``(seeds, photos)`` each; the first array's NaN cells say which seeds did not
            score a photo (the others follow it).

    Returns:
        The arrays packed to ``(most seeds of a photo, photos)``, NaN below a photo's last seed.

    Example:
        >>> nan = float("nan")
        >>> pack_seeds(np.array([[1.0, nan], [nan, 2.0], [3.0, nan]]))[0].tolist()
        [[1.0, 2.0], [3.0, nan]]
    """
    scored = ~np.isnan(arrays[0])
    order = np.argsort(~scored, axis=0, kind="stable")  # scored rows first, in seed order
    keep = max(1, int(scored.sum(0).max()))
    return [np.where(np.take_along_axis(scored, order, 0), np.take_along_axis(a, order, 0), np.nan)[:keep]
            for a in arrays]


def _weight(metric: str) -> str | None:
    """The weight column of a pooled metric (the rebalanced AuC), else ``None``."""
    if metric.startswith("auc_rebal"):
        return "rebal_weight" + metric[len("auc_rebal"):]
    return None


def estimate(units: pd.DataFrame, metric: str, **match: object) -> Interval:
    """A model row's mean of a metric over seeds and photos, with its bootstrap interval.

    The rebalanced AuC is pooled: each photo weighted by its rebalancing weight.

    Args:
        units: the units table.
        metric: the column.
        match: the columns that pick the model row (:func:`select`).

    Returns:
        ``(mean, low, high)``.

    Raises:
        KeyError: if no row matches, or there is no such column.

    Example:
        >>> units = pd.DataFrame({"variant": "a", "seed": [0, 0], "unit": ["x", "y"], "auc": [0.8, 0.9]})
        >>> round(estimate(units, "auc", variant="a")[0], 2)
        0.85
    """
    rows = select(units, **match)
    if rows.empty:
        raise KeyError(f"no rows match {match}")
    photos = list(dict.fromkeys(rows["unit"]))
    folds = folds_of(rows, photos)
    w = _weight(metric)
    if w is not None and w in rows:
        packed = pack_seeds(matrix(rows, metric, photos=photos), matrix(rows, w, photos=photos))
        return bootstrap(weighted_mean, *packed, groups=folds)
    return bootstrap_ci(pack_seeds(matrix(rows, metric, photos=photos))[0], groups=folds)


def difference(units: pd.DataFrame, metric: str, a: Mapping[str, object], b: Mapping[str, object]) -> Interval:
    """The paired difference of a metric between two model rows, with its bootstrap interval.

    The rows are paired on the seeds and photos both were scored on. For a pooled metric (the
    rebalanced AuC) it is the difference of the pooled values, resampled together.

    Args:
        units: the units table.
        metric: the column.
        a: the columns that pick the first row.
        b: the columns that pick the second row.

    Returns:
        ``(mean, low, high)`` of ``a`` minus ``b``.

    Raises:
        KeyError: if no row matches ``a`` or ``b``.
        ValueError: if they share no seed and photo.
    """
    ra, rb = select(units, **a), select(units, **b)
    if ra.empty or rb.empty:
        raise KeyError(f"no rows match {dict(a) if ra.empty else dict(b)}")
    seeds = [s for s in dict.fromkeys(ra["seed"]) if s in set(rb["seed"])]
    photos = [u for u in dict.fromkeys(ra["unit"]) if u in set(rb["unit"])]
    if not seeds or not photos:
        raise ValueError(f"rows {dict(a)} and {dict(b)} share no seed and photo")
    va, vb = matrix(ra, metric, seeds, photos), matrix(rb, metric, seeds, photos)
    folds = folds_of(ra, photos)
    w = _weight(metric)
    if w is not None and w in ra and w in rb:
        wa, wb = matrix(ra, w, seeds, photos), matrix(rb, w, seeds, photos)
        both = np.where(np.isnan(va) | np.isnan(vb), np.nan, 0.0)  # the seeds that scored a photo in both rows
        return bootstrap(lambda _, x, y, p, q: weighted_mean(x, y) - weighted_mean(p, q),
                         *pack_seeds(both, va, wa, vb, wb), groups=folds)
    return bootstrap_ci(pack_seeds(va - vb)[0], groups=folds)


def eff_pixels_per_run(rows: pd.DataFrame, sfx: str = "") -> pd.Series:
    """The effective number of pixels ``(Σw)² / Σw²`` behind a pooled rebalanced AuC, per seed.

    Args:
        rows: the units of one model row.
        sfx: the suffix of the prior's uniform mix (``""``: the protocol's).

    Returns:
        The effective pixels by seed; empty without rebalancing weights.

    Example:
        >>> rows = pd.DataFrame({"seed": [0, 0, 1], "rebal_weight": [1.0, 1.0, 2.0],
        ...                      "rebal_weight_sq": [1.0, 1.0, 4.0]})
        >>> eff_pixels_per_run(rows).tolist()
        [2.0, 1.0]
    """
    w, w2 = f"rebal_weight{sfx}", f"rebal_weight_sq{sfx}"
    if w not in rows or rows[w].isna().all():
        return pd.Series(dtype=float)
    per_seed = rows.groupby("seed")[[w, w2]].sum()
    return per_seed[w] ** 2 / per_seed[w2]


def seeds_per_photo(rows: pd.DataFrame) -> int:
    """The fewest seeds (independently trained models) that scored any one photo of a model row.

    With folds that several seeds replicate, the seeds per fold; with one seed per fold, 1.

    Example:
        >>> seeds_per_photo(pd.DataFrame({"seed": [0, 1, 0, 1, 2], "unit": ["x", "x", "y", "y", "z"]}))
        1
    """
    return int(rows.groupby("unit")["seed"].nunique().min()) if len(rows) else 0


def spreads(rows: pd.DataFrame, metric: str) -> tuple[float, float]:
    """The photo-to-photo and the seed-to-seed standard deviation of a model row's metric.

    The photo spread is that of the photos' means over their seeds; the seed spread is the root
    mean square of each photo's spread over the seeds that scored it (NaN with one seed a photo).

    Args:
        rows: the units of one model row.
        metric: the column.

    Returns:
        ``(photo sd, seed sd)``.

    Example:
        >>> rows = pd.DataFrame({"seed": [0, 1, 0, 1], "unit": ["x", "x", "y", "y"], "auc": [0.8, 0.9, 0.6, 0.7]})
        >>> [round(v, 3) for v in spreads(rows, "auc")]
        [0.141, 0.071]
    """
    by_photo = rows.groupby("unit")[metric]
    photo_sd = float(by_photo.mean().std(ddof=1)) if by_photo.ngroups > 1 else float("nan")
    seed_var = by_photo.var(ddof=1).dropna()
    return photo_sd, float(np.sqrt(seed_var.mean())) if len(seed_var) else float("nan")


def summary(units: pd.DataFrame) -> pd.DataFrame:
    """Summarise the units table: one row per model row, with intervals.

    Args:
        units: the units table.

    Returns:
        One row per model row (:data:`ROW_KEYS`, in order of appearance): its labels, the mean of
        every metric over seeds and photos (the rebalanced AuC pooled), ``<metric>_lo`` and
        ``<metric>_hi`` for :data:`INTERVAL_METRICS`, ``auc_rebal_eff_pixels`` (the mean over
        runs), ``<metric>_sd_photos`` and ``<metric>_sd_seeds`` for :data:`SPREAD_METRICS`
        (:func:`spreads`), ``seeds``, ``n_seeds``, ``n_photos``, ``seeds_per_photo`` and ``n_tiles``.
        Empty for an empty table.
    """
    if units.empty:
        return pd.DataFrame()
    keys = [k for k in ROW_KEYS if k in units]
    out = []
    for _, rows in units.groupby([units[k].astype(object).fillna("").astype(str) for k in keys], sort=False,
                                 dropna=False):
        row: dict[str, Any] = {}
        for col in rows.columns:
            if col in RUN_KEYS or col in _SUMS or col in ("fold", "folds"):
                continue
            v = rows[col]
            if _is_metric(col) or (col in ("train_seconds", "images_per_second")
                                   and pd.api.types.is_numeric_dtype(v)):
                row[col] = float(v.astype(float).mean()) if v.notna().any() else float("nan")
            else:
                row[col] = v.iloc[0]
        for metric in [m for m in rows.columns if m.startswith("auc_rebal") and _weight(m) in rows]:
            row[metric] = float(weighted_mean(rows[metric].to_numpy(float), rows[_weight(metric)].to_numpy(float)))
            eff = eff_pixels_per_run(rows, metric[len("auc_rebal"):])
            row["auc_rebal_eff_pixels" + metric[len("auc_rebal"):]] = float(eff.mean()) if len(eff) else float("nan")
        for metric in INTERVAL_METRICS:
            if metric in rows and rows[metric].notna().any():
                _, row[f"{metric}_lo"], row[f"{metric}_hi"] = estimate(rows, metric)
        for metric in SPREAD_METRICS:
            if metric in rows and rows[metric].notna().any():
                row[f"{metric}_sd_photos"], row[f"{metric}_sd_seeds"] = spreads(rows, metric)
        row["n_tiles"] = int(rows["n_tiles"].sum()) if "n_tiles" in rows else len(rows)
        seeds = list(dict.fromkeys(rows["seed"]))
        row |= {"seeds": ",".join(map(str, seeds)), "n_seeds": len(seeds), "n_photos": int(rows["unit"].nunique()),
                "seeds_per_photo": seeds_per_photo(rows)}
        out.append(row)
    return pd.DataFrame(out)


def fmt(interval: Interval, digits: int = 3) -> str:
    """Format an interval as ``"mean [low, high]"``.

    Args:
        interval: ``(mean, low, high)``.
        digits: the digits after the decimal point.

    Returns:
        The text, e.g. ``"0.123 [0.100, 0.140]"``.

    Example:
        >>> fmt((0.1234, 0.1, 0.14), 2)
        '0.12 [0.10, 0.14]'
    """
    m, lo, hi = interval
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
