"""What Zhang et al. (2016) claim and publish, and the rows, table and figure that test it.

* :data:`CLAIMS`: rebalancing gives more vivid colours and a higher rebalanced AuC; the annealed
  mean lies between the mode's vividness and the mean's smoothness; classification gives more
  colourful results than L2 regression. Each has a rule over notebook 03's rows.
* :data:`TABLE1`: the paper's Table 1 (AuC of the ab-error CDF over thresholds 0..150, raw and
  class-rebalanced, percent, ImageNet validation images, models trained on 1.3M ImageNet
  images), as recorded in ``shared/reference/published.md`` (recalled, not re-read from the PDF).
* :func:`table1`: our rows in its shape; :func:`temperature_sweep` and :func:`temperature_plot`:
  the annealed mean at the paper's temperatures.

Example:
    >>> [p.label for p in TABLE1][:3]
    ['ground truth', 'gray', 'random']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from torch import Tensor

from ... import evaluate, viz
from ...claims import (
    AUC_TOL,
    COLORFULNESS_TOL,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    Published,
    Verdict,
    compare,
    missing,
)
from ...results import find_row
from .recipe import ANNEALED_T

__all__ = ["CLAIMS", "TABLE1", "TABLE1_COLUMNS", "table1", "temperature_sweep", "temperature_plot"]

_SOURCE = "Zhang et al. 2016, Table 1"
_MEASURED_ON = "ImageNet val, trained on 1.3M ImageNet images, 176-256 px, full-width VGG-style net"
_PERCENT = {"auc": 100.0, "auc_rebal": 100.0}


def _table1_row(label: str, auc: float, rebal: float, match: Mapping[str, str]) -> Published:
    return Published(_SOURCE, label, {"auc": auc, "auc_rebal": rebal}, "03", dict(match), _MEASURED_ON, _PERCENT)


#: Table 1 of the paper: (label, AuC %, rebalanced AuC %) and the columns of our matching row.
TABLE1: tuple[Published, ...] = (
    _table1_row("ground truth", 100.0, 100.0, {"method": "reference", "variant": "ground_truth"}),
    _table1_row("gray", 89.1, 58.0, {"method": "reference", "variant": "gray"}),
    _table1_row("random", 84.2, 57.3, {"method": "reference", "variant": "random"}),
    _table1_row("Zhang L2", 91.2, 64.4, {"method": "zhang", "variant": "l2"}),
    _table1_row("Zhang class", 91.6, 65.1, {"method": "zhang", "variant": "class", "decode": "annealed"}),
    _table1_row("Zhang full (class + rebalancing)", 89.5, 67.3, {"method": "zhang", "variant": "full", "decode": "annealed"}),
)


# ------------------------------------------------------------------------------------ claims


def rebalancing_is_more_vivid(df: pd.DataFrame) -> Verdict:
    full = find_row(df, method="zhang", variant="full", decode="annealed")
    cls = find_row(df, method="zhang", variant="class", decode="annealed")
    if full is None or cls is None:
        return missing("zhang/full/annealed", "zhang/class/annealed")
    rebal = compare(float(full["auc_rebal"]), float(cls["auc_rebal"]), AUC_TOL)
    vivid = compare(float(full["colorfulness"]), float(cls["colorfulness"]), COLORFULNESS_TOL)
    raw = compare(float(full["auc"]), float(cls["auc"]), AUC_TOL)
    evidence = (
        f"rebalanced vs plain classification: rebalanced AuC {full['auc_rebal']:.3f} vs {cls['auc_rebal']:.3f}, "
        f"colourfulness {full['colorfulness']:.1f} vs {cls['colorfulness']:.1f}, raw AuC {full['auc']:.3f} vs {cls['auc']:.3f}"
        + (" (raw AuC lower, as the paper reports)" if raw < 0 else "")
    )
    if rebal > 0 and vivid > 0:
        return evidence, REPRODUCED
    if rebal < 0 and vivid < 0:
        return evidence, NOT_REPRODUCED
    return evidence, INCONCLUSIVE


def annealed_mean_in_between(df: pd.DataFrame) -> Verdict:
    rows = {d: find_row(df, method="zhang", variant="full", decode=d) for d in ("mode", "annealed", "mean")}
    if any(r is None for r in rows.values()):
        return missing(*(f"zhang/full/{d}" for d, r in rows.items() if r is None))
    cf = {d: float(r["colorfulness"]) for d, r in rows.items()}
    T = float(rows["annealed"].get("temperature", float("nan")))
    evidence = f"colourfulness mode {cf['mode']:.1f}, annealed (T = {T:g}) {cf['annealed']:.1f}, mean {cf['mean']:.1f}"
    spread = compare(cf["mode"], cf["mean"], COLORFULNESS_TOL)
    above_mean = compare(cf["annealed"], cf["mean"], COLORFULNESS_TOL)
    below_mode = compare(cf["mode"], cf["annealed"], COLORFULNESS_TOL)
    if spread < 0 or above_mean < 0 or below_mode < 0:  # mean more vivid than mode, or annealed outside
        return evidence, NOT_REPRODUCED
    if spread > 0:
        return evidence, REPRODUCED
    return evidence, INCONCLUSIVE  # mode and mean alike: nothing to lie between


def classification_beats_regression_on_colour(df: pd.DataFrame) -> Verdict:
    l2 = find_row(df, method="zhang", variant="l2")
    full = find_row(df, method="zhang", variant="full", decode="annealed")
    if l2 is None or full is None:
        return missing("zhang/l2", "zhang/full/annealed")
    vivid = compare(float(full["colorfulness"]), float(l2["colorfulness"]), COLORFULNESS_TOL)
    evidence = (
        f"colourfulness full {full['colorfulness']:.1f} vs L2 {l2['colorfulness']:.1f}; chroma ratio "
        f"{full['chroma_ratio']:.2f} vs {l2['chroma_ratio']:.2f}"
    )
    return evidence, {1: REPRODUCED, -1: NOT_REPRODUCED, 0: INCONCLUSIVE}[vivid]



CLAIMS: tuple[Claim, ...] = (
    Claim("rebalancing", "000", "03",
          "class rebalancing gives more vivid colours and a higher rebalanced AuC", rebalancing_is_more_vivid),
    Claim("annealed_mean", "000", "03",
          "the annealed mean (T = 0.38) lies between the mode's vividness and the mean's smoothness",
          annealed_mean_in_between),
    Claim("classification_vs_l2", "000", "03",
          "classification gives more colourful results than L2 regression with the same network",
          classification_beats_regression_on_colour),
)


# ---------------------------------------------------------------------------- tables, figures


#: Table 1's columns: ours -> (shown name, scale).
TABLE1_COLUMNS: dict[str, tuple[str, float]] = {
    "auc": ("AuC %", 100.0),
    "auc_rebal": ("rebalanced AuC %", 100.0),
    "colorfulness": ("colourfulness", 1.0),
    "colorfulness_gap": ("colourfulness gap", 1.0),
    "psnr": ("PSNR dB", 1.0),
}


def table1(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Our rows in the shape of the paper's Table 1: rows ground truth, gray, random, L2, class,
    full (both classification rows decoded by the annealed mean), columns AuC and rebalanced AuC
    (pooled over the test set) in percent, colourfulness, its gap to
    the truth and PSNR. Missing rows are left out, missing columns are NaN.

    Example:
        >>> table1(pd.DataFrame([{"method": "reference", "variant": "gray", "auc": 0.9}]))["AuC %"].to_dict()
        {'gray': 90.0}
    """
    out = []
    for p in TABLE1:
        r = find_row(table, **p.match)
        if r is None:
            continue
        out.append({"method": p.label, **{name: float(r[c]) * scale if c in r else float("nan")
                                          for c, (name, scale) in TABLE1_COLUMNS.items()}})
    return pd.DataFrame(out).set_index("method").round(digits)


def temperature_sweep(
    trained: Any,
    loader: Iterable[Mapping[str, Any]],
    temperatures: Iterable[float],
    *,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
    device: str = "auto",
    **labels: Any,
) -> pd.DataFrame:
    """A trained class-head model decoded by the annealed mean at each temperature and scored
    (:func:`colorlab.evaluate.score_method`), one row per temperature labelled
    ``method='zhang_temperature_sweep'``, ``decode='T=...'`` and ``labels``.

    Example:
        >>> from colorlab import data
        >>> from colorlab.methods import Trained, build
        >>> test = data.load_dataset("samples", "test", crop=16, image_size=48, max_tiles=1)
        >>> trained = Trained(build("zhang", "class", width=0.125), pd.DataFrame())
        >>> rows = temperature_sweep(trained, data.make_loader(test, 8, train=False), [1.0, 0.38])
        >>> rows[["method", "decode", "temperature"]].values.tolist()
        [['zhang_temperature_sweep', 'T=1', 1.0], ['zhang_temperature_sweep', 'T=0.38', 0.38]]
    """
    rows = []
    for T in temperatures:
        row, _, _ = evaluate.score_method(
            trained, loader, decode="annealed", options={"temperature": T}, prior=prior, bins=bins, device=device,
            labels={"method": "zhang_temperature_sweep", "decode": f"T={T:g}", **labels})
        rows.append(row)
    return pd.DataFrame(rows)


def temperature_plot(
    sweep: pd.DataFrame,
    ys: Sequence[str] = ("colorfulness", "auc", "auc_rebal"),
    *,
    mode: Mapping[str, float] | None = None,
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """The annealed-mean sweep: each metric in ``ys`` against the temperature (rows of ``sweep``
    with a ``temperature`` column), the mode (``T → 0``) drawn at 0 when given, the paper's
    ``T = 0.38`` as a dotted line and the mean at ``T = 1`` labelled; ``reference`` draws the
    ground truth's values.

    Example:
        >>> sweep = pd.DataFrame({"temperature": [1.0, 0.38], "colorfulness": [5.0, 9.0]})
        >>> fig = temperature_plot(sweep, ("colorfulness",), mode={"colorfulness": 12.0})
    """
    fig = viz.sweep_plot(sweep, "temperature", tuple(ys), reference=dict(reference) if reference else None)
    for ax, y in zip(fig.axes, ys, strict=True):
        if mode is not None and y in mode:
            ax.scatter([0.0], [mode[y]], marker="x", color="black", zorder=3, label="mode (T → 0)")
        ax.axvline(ANNEALED_T, color="tab:red", ls=":", lw=1, label=f"T = {ANNEALED_T:g} (paper)")
        at_one = sweep[sweep["temperature"].astype(float) == 1.0]
        if not at_one.empty:
            ax.annotate("mean", (1.0, float(at_one[y].iloc[0])), fontsize=7, xytext=(-8, 6),
                        textcoords="offset points")
    fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig

