"""Zhang et al.'s claims and Table 1, and the rows and figure that test them (notebook 03).

:data:`CLAIMS` holds three claims, each with a rule over notebook 03's rows: rebalancing, the
annealed mean, and classification against L2 regression. :data:`PUBLISHED` is the paper's Table 1.
:func:`table1` puts our rows in its shape; :func:`temperature_sweep` and :func:`temperature_plot`
show the annealed mean at the paper's temperatures. The claims, the table and where its values come
from: ``docs/methods/zhang.md``.

Example:
    >>> [p.label for p in PUBLISHED][:3]
    ['ground truth', 'gray', 'random']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from torch import Tensor

from .. import viz
from ..claims import (
    INCONCLUSIVE,
    MIN_EFF_PIXELS,
    Claim,
    Published,
    Verdict,
    combine,
    difference_of,
    interval_of,
    margins_for,
    missing,
    verdict_of,
)
from ..evidence import MIX_SUFFIXES, eff_pixels_per_run, fmt, select
from ..methods.zhang.recipe import ANNEALED_T
from ..results import find_row
from .base import Paper, SourceNetwork

__all__ = ["CLAIMS", "PAPER", "PUBLISHED", "TABLE1_COLUMNS", "table1", "temperature_sweep", "temperature_plot"]

_SOURCE = "Zhang et al. 2016, Table 1"
_MEASURED_ON = "ImageNet val, trained on 1.3M ImageNet images, 176-256 px, full-width VGG-style net"
_PERCENT = {"auc": 100.0, "auc_rebal": 100.0}


def _table1_row(label: str, auc: float, rebal: float, match: Mapping[str, str]) -> Published:
    return Published(_SOURCE, label, {"auc": auc, "auc_rebal": rebal}, "03", dict(match), _MEASURED_ON, _PERCENT)


#: Table 1 of the paper: (label, AuC %, rebalanced AuC %) and the columns of our matching row. Its
#: "full" row is there twice: beside our trained ``full`` and beside the authors' released weights.
PUBLISHED: tuple[Published, ...] = (
    _table1_row("ground truth", 100.0, 100.0, {"method": "reference", "variant": "ground_truth"}),
    _table1_row("gray", 89.1, 58.0, {"method": "reference", "variant": "gray"}),
    _table1_row("random", 84.2, 57.3, {"method": "reference", "variant": "random"}),
    _table1_row("Zhang L2", 91.2, 64.4, {"method": "zhang", "variant": "l2"}),
    _table1_row("Zhang class", 91.6, 65.1, {"method": "zhang", "variant": "class", "decode": "annealed"}),
    _table1_row("Zhang full (class + rebalancing)", 89.5, 67.3,
                {"method": "zhang", "variant": "full", "decode": "annealed"}),
    _table1_row("Zhang full, the released weights", 89.5, 67.3,
                {"method": "zhang", "variant": "zhang2016-released", "decode": "annealed"}),
)


# ------------------------------------------------------------------------------------ claims


def _eff_pixels(df: pd.DataFrame, match: dict[str, str]) -> float:
    """The fewest effective pixels per run behind a row's pooled rebalanced AuC."""
    eff = eff_pixels_per_run(select(df, **match))
    return float(eff.min()) if len(eff) else float("nan")


def rebalanced_auc_verdict(df: pd.DataFrame, a: dict[str, str], b: dict[str, str],
                           margin: float) -> tuple[str, str, str]:
    """Judge "row ``a`` has a higher rebalanced AuC than row ``b``" on the paired pooled difference.

    Reproduced when the difference's interval clears ``margin`` (:func:`~colorlab.claims.verdict_of`).
    Inconclusive below :data:`~colorlab.claims.MIN_EFF_PIXELS` effective pixels per run, or when
    the difference changes sign with the prior's uniform mix (:data:`colorlab.metrics.AUC_PRIOR_MIXES`).

    Args:
        df: per-photo result rows.
        a: the columns that find row ``a``.
        b: the columns that find row ``b``.
        margin: the smallest rebalanced AuC gain that counts (the claim's ``auc_rebal``).

    Returns:
        ``(verdict, evidence, interval)``, in words.
    """
    diff = difference_of(df, "auc_rebal", a, b)
    by_mix = {sfx or "_1e-03": difference_of(df, f"auc_rebal{sfx}", a, b)[0]
              for sfx in MIX_SUFFIXES if f"auc_rebal{sfx}" in df}
    eff = min(_eff_pixels(df, a), _eff_pixels(df, b))
    signs = {v > 0 for v in by_mix.values()}
    text = (f"rebalanced AuC difference {fmt(diff)} (margin {margin:g}) on {eff:,.0f} effective pixels per run "
            f"(floor {MIN_EFF_PIXELS:,}); by the prior's uniform mix: "
            + ", ".join(f"{k[1:]} {v:+.3f}" for k, v in by_mix.items()))
    verdict = verdict_of(diff, ">", margin)
    if not eff >= MIN_EFF_PIXELS:
        verdict, text = INCONCLUSIVE, text + " (too few effective pixels: no verdict rests on it)"
    elif len(signs) > 1:
        verdict, text = INCONCLUSIVE, text + " (the sign depends on the mix: no verdict rests on it)"
    return verdict, text, f"rebalanced AuC {fmt(diff)}"


def rebalancing_is_more_vivid(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether class rebalancing gives more vivid colours and a higher rebalanced AuC.

    Full (rebalanced) minus plain classification, both decoded by the annealed mean, paired on
    seeds and photos: colourfulness rises by more than the colourfulness margin, and the rebalanced
    AuC by more than its margin (:func:`rebalanced_auc_verdict`). The raw AuC is shown; the paper
    reports that it falls.

    Args:
        df: notebook 03's per-photo result rows.
        margins: the claim's (``colorfulness``, ``auc_rebal``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> rebalancing_is_more_vivid(rows, margins_for("colorfulness", "auc_rebal")).evidence
        'rows missing: zhang/full/annealed, zhang/class/annealed'
    """
    full = {"method": "zhang", "variant": "full", "decode": "annealed"}
    cls = {"method": "zhang", "variant": "class", "decode": "annealed"}
    if select(df, **full).empty or select(df, **cls).empty:
        return missing("zhang/full/annealed", "zhang/class/annealed")
    vivid = difference_of(df, "colorfulness", full, cls)
    raw = difference_of(df, "auc", full, cls)
    rebal, rebal_text, rebal_interval = rebalanced_auc_verdict(df, full, cls, margins["auc_rebal"])
    evidence = (f"rebalanced minus plain classification: colourfulness {fmt(vivid, 1)} (margin "
                f"{margins['colorfulness']:g}); {rebal_text}; raw AuC {fmt(raw)}")
    return Verdict(evidence, combine(verdict_of(vivid, ">", margins["colorfulness"]), rebal),
                   f"colourfulness {fmt(vivid, 1)} | {rebal_interval}")


def annealed_mean_in_between(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the annealed mean keeps the mode's vividness and the mean's smoothness.

    On the ``full`` model, paired on seeds and photos: the annealed mean is more colourful than the
    mean (colourfulness annealed − mean clears the colourfulness margin) and smoother than the mode
    (ab roughness mode − annealed clears the roughness margin). The evidence says where it lies on
    each scale (0: the mean, 1: the mode).

    Args:
        df: notebook 03's per-photo result rows.
        margins: the claim's (``colorfulness``, ``ab_roughness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> annealed_mean_in_between(rows, margins_for("colorfulness", "ab_roughness")).evidence
        'rows missing: zhang/full/mode, zhang/full/annealed, zhang/full/mean'
    """
    rows = {d: {"method": "zhang", "variant": "full", "decode": d} for d in ("mode", "annealed", "mean")}
    absent = [f"zhang/full/{d}" for d, m in rows.items() if select(df, **m).empty]
    if absent:
        return missing(*absent)
    vivid = difference_of(df, "colorfulness", rows["annealed"], rows["mean"])
    smooth = difference_of(df, "ab_roughness", rows["mode"], rows["annealed"])
    cf = {d: interval_of(df, "colorfulness", **m)[0] for d, m in rows.items()}
    rough = {d: interval_of(df, "ab_roughness", **m)[0] for d, m in rows.items()}

    def position(x: dict[str, float]) -> str:
        span = x["mode"] - x["mean"]
        return f"{(x['annealed'] - x['mean']) / span:.2f}" if abs(span) > 1e-9 else "n/a"

    T = select(df, **rows["annealed"]).get("temperature", pd.Series([float("nan")])).iloc[0]
    evidence = (f"annealed (T = {float(T):g}) minus mean: colourfulness {fmt(vivid, 1)} (margin "
                f"{margins['colorfulness']:g}); mode minus annealed: ab roughness {fmt(smooth, 2)} (margin "
                f"{margins['ab_roughness']:g}); colourfulness mode {cf['mode']:.1f}, annealed {cf['annealed']:.1f}, "
                f"mean {cf['mean']:.1f} (position {position(cf)} from mean to mode); roughness mode "
                f"{rough['mode']:.2f}, annealed {rough['annealed']:.2f}, mean {rough['mean']:.2f} "
                f"(position {position(rough)})")
    return Verdict(evidence, combine(verdict_of(vivid, ">", margins["colorfulness"]),
                                     verdict_of(smooth, ">", margins["ab_roughness"])),
        f"colourfulness {fmt(vivid, 1)} | roughness {fmt(smooth, 2)}")


def classification_beats_regression_on_colour(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether rebalanced classification is more colourful than L2 regression with the same network.

    The rebalanced class head (``full``, annealed mean) minus the L2 head, paired on seeds and
    photos: colourfulness rises by more than the colourfulness margin. The chroma ratio's difference
    is shown, and the plain class head's (``class``, annealed mean) difference beside it, not judged:
    it says how much of the gain is the classification's and how much the rebalancing's.

    Args:
        df: notebook 03's per-photo result rows.
        margins: the claim's (``colorfulness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    l2 = {"method": "zhang", "variant": "l2"}
    full = {"method": "zhang", "variant": "full", "decode": "annealed"}
    if select(df, **l2).empty or select(df, **full).empty:
        return missing("zhang/l2", "zhang/full/annealed")
    vivid = difference_of(df, "colorfulness", full, l2)
    ratio = difference_of(df, "chroma_ratio", full, l2)
    plain = {"method": "zhang", "variant": "class", "decode": "annealed"}
    shown = ("" if select(df, **plain).empty else
             f"; the plain class head minus L2, not judged: colourfulness "
             f"{fmt(difference_of(df, 'colorfulness', plain, l2), 1)}")
    return Verdict(f"rebalanced classification minus L2: colourfulness {fmt(vivid, 1)} (reproduced when it clears "
                   f"{margins['colorfulness']:g}), chroma ratio {fmt(ratio, 2)}{shown}",
                   verdict_of(vivid, ">", margins["colorfulness"]), f"colourfulness {fmt(vivid, 1)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("rebalancing", "000", "03",
          "class rebalancing gives more vivid colours and a higher rebalanced AuC", rebalancing_is_more_vivid,
          margins=margins_for("colorfulness", "auc_rebal"), rule_version=2),
    Claim("annealed_mean", "000", "03",
          "the annealed mean (T = 0.38) lies between the mode's vividness and the mean's smoothness",
          annealed_mean_in_between, margins=margins_for("colorfulness", "ab_roughness"), rule_version=2),
    Claim("classification_vs_l2", "000", "03",
          "classification with class rebalancing (the full head, annealed mean) gives more colourful results than "
          "L2 regression with the same network",
          classification_beats_regression_on_colour, margins=margins_for("colorfulness"), rule_version=2),
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
    """Put our rows in the shape of the paper's Table 1.

    Args:
        table: the notebook's results table (one row per model and decoding).
        digits: decimals to round to.

    Returns:
        One row per :data:`PUBLISHED` row we have (ground truth, gray, random, L2, class, full and
        the released weights; the classification rows decoded by the annealed mean), indexed by
        its label. Columns (:data:`TABLE1_COLUMNS`): AuC and rebalanced AuC, pooled over the test
        set, in percent; colourfulness, its gap to the truth's, and PSNR. Missing rows are left
        out; missing columns are NaN.

    Example:
        >>> table1(pd.DataFrame([{"method": "reference", "variant": "gray", "auc": 0.9}]))["AuC %"].to_dict()
        {'gray': 90.0}
    """
    out = []
    for p in PUBLISHED:
        r = find_row(table, **p.match)
        if r is None:
            continue
        out.append({"method": p.label, **{name: float(r[c]) * scale if c in r else float("nan")
                                          for c, (name, scale) in TABLE1_COLUMNS.items()}})
    return pd.DataFrame(out).set_index("method").round(digits)


def temperature_sweep(study: Any, run: Any, trained: Any, temperatures: Iterable[float], *, prior: Tensor | None = None,
                      bins: Tensor | None = None, variant: str = "full") -> pd.DataFrame:
    """Score a trained class-head model decoded by the annealed mean at each temperature.

    Each temperature is scored on ``run`` by :meth:`colorlab.study.Study.evaluate`, so the rows
    are kept per photo with the run's others.

    Args:
        study: the notebook's :class:`colorlab.study.Study`.
        run: the run to score on.
        trained: the trained model (a ``zhang`` class head).
        temperatures: the temperatures (the paper's: :data:`~colorlab.methods.zhang.PAPER_TEMPERATURES`).
        prior: the training prior, for the rebalanced AuC.
        bins: the prior's bins.
        variant: the model's label in the rows.

    Returns:
        The run's rows, labelled ``method='zhang_temperature_sweep'`` and ``decode='T=...'``, with
        a ``temperature`` column.

    Example:
        >>> import tempfile
        >>> from colorlab import study as st
        >>> from colorlab.methods import Trained, build
        >>> params = dict(profile="smoke", data_spec="samples", device="cpu", crop=16, image_size=48, max_tiles=1)
        >>> s = st.start("03_x", params, root=tempfile.mkdtemp())
        >>> run = s.datasets("lab")  # doctest: +ELLIPSIS
        samples ...
        >>> trained = Trained(build("zhang", "class", width=0.125), pd.DataFrame())
        >>> rows = temperature_sweep(s, run, trained, [1.0, 0.38], variant="class")
        >>> rows[["method", "decode", "temperature"]].values.tolist()
        [['zhang_temperature_sweep', 'T=1', 1.0], ['zhang_temperature_sweep', 'T=0.38', 0.38]]
    """
    rows = [study.evaluate(run, {variant: trained}, decodings=["annealed"], options={"temperature": float(T)},
                           prior=prior, bins=bins, references=False,
                           labels={"method": "zhang_temperature_sweep", "decode": f"T={float(T):g}"}).table
            for T in temperatures]
    return pd.concat(rows, ignore_index=True)


def temperature_plot(
    sweep: pd.DataFrame,
    ys: Sequence[str] = ("colorfulness", "auc", "auc_rebal"),
    *,
    mode: Mapping[str, float] | None = None,
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """Plot the annealed-mean sweep: each metric against the temperature.

    The paper's ``T = 0.38`` is a dotted line, and the mean at ``T = 1`` is labelled.

    Args:
        sweep: rows with a ``temperature`` column (:func:`temperature_sweep`, or their summary).
        ys: the metrics, one panel each.
        mode: the mode's value (``T → 0``) of each metric, drawn at 0.
        reference: the ground truth's value of each metric.

    Returns:
        The figure.

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


PAPER = Paper(
    name="zhang", notebook="03",
    title="Zhang, Isola and Efros 2016, classification over ab bins with class rebalancing",
    source="000_197132e167817555.txt", methods=("zhang",), claims=CLAIMS, published=PUBLISHED,
    network=SourceNetwork("zhang", args={"width": 1.0}, crop=176),  # the 32M-parameter network of the paper
)
