"""Source 002's claims, the rules that test them, and the figure of the tone (notebook 05).

:data:`CLAIMS` holds five claims: the "dull brown tone" without global features, U, V output
against R, G, B, a homogeneous subset, and the fusion layer with each global branch.
:func:`tone_of` and :func:`tone_spread` measure a row's overall tone and how it varies from photo
to photo; :func:`tone_plot` draws it on the ab plane. The source publishes no numbers, so there are
no published rows. The rules in words and what "brown" means: ``docs/methods/fusion.md``.

Example:
    >>> [c.key for c in CLAIMS]  # doctest: +NORMALIZE_WHITESPACE
    ['fusion_dull_brown', 'fusion_uv_beats_rgb', 'fusion_homogeneous_easier', 'fusion_improves',
     'fusion_resnet_improves']
    >>> BROWN_HUES
    (45.0, 85.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Wedge

from ..claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    Verdict,
    combine,
    difference_of,
    interval_of,
    margins_for,
    missing,
    pretrained,
    shift,
    verdict_of,
)
from ..evidence import fmt, matrix, select
from ..stats import Interval, bootstrap, bootstrap_ci
from .base import Paper, SourceNetwork

__all__ = ["CLAIMS", "PAPER", "BROWN_HUES", "MAIN_ROWS", "SUBSET_ROWS", "hue_interval", "tone_of", "cast_of",
           "tone_spread", "tone_plot"]

_SOURCE = "002"
_NOTEBOOK = "05"
#: Lab hue angles (degrees) called brown: sienna (51°), saddle brown and chocolate (57°), brown (61°),
#: sepia (65°), peru (66°), tan (78°), khaki (84°); brown is a dark, dull orange, so the hue alone
#: cannot tell it from orange (73°): the "dull" is the chroma ratio's.
BROWN_HUES = (45.0, 85.0)
#: The homogeneous comparison's rows: the U, V network trained on the whole set and on the subset,
#: both tested on the subset's held-out images.
SUBSET_ROWS = ("uv_whole", "uv_subset")
_M = "fusion"
#: The main comparison's rows (every seed's fold of held-out photos), for the claims' "measured on".
MAIN_ROWS = ("rgb", "uv", "uv_fusion", "uv_fusion_resnet")
_MAIN, _SUBSET = {"variant": MAIN_ROWS}, {"variant": SUBSET_ROWS}


def _row(variant: str, decode: str = "direct") -> dict[str, str]:
    return {"method": _M, "variant": variant, "decode": decode}


def _has(df: pd.DataFrame, *rows: dict[str, str]) -> list[str]:
    return [f"{r['variant']}/{r['decode']}" for r in rows if select(df, **r).empty]


# ---------------------------------------------------------------------------------- the tone


def _wrap(deg: np.ndarray | float) -> np.ndarray:
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def hue_interval(df: pd.DataFrame, centre: float, *, truth: bool = False, **match: object) -> Interval:
    """Measure the hue angle of a row's mean ab over seeds and photos, as an offset from ``centre``.

    Args:
        df: per-photo result rows with ``tone_a`` and ``tone_b`` (and ``_gt`` for the truth).
        centre: the angle, in degrees, the offset is measured from.
        truth: measure the row's ground truth instead.
        **match: the columns that find the row.

    Returns:
        ``(mean, low, high)`` in degrees, wrapped to ``[-180, 180)``, with its bootstrap interval.
    """
    rows = select(df, **match)
    sfx = "_gt" if truth else ""
    a, b = matrix(rows, "tone_a" + sfx), matrix(rows, "tone_b" + sfx)
    return bootstrap(lambda x, y: _wrap(np.degrees(np.arctan2(np.nanmean(y, -1), np.nanmean(x, -1))) - centre),
                     a, b)


def tone_of(df: pd.DataFrame, *, truth: bool = False, **match: object) -> dict[str, Interval]:
    """Measure a row's overall tone, with bootstrap intervals over seeds and photos.

    Args:
        df: per-photo result rows with the ``tone_*`` columns (and ``_gt`` for the truth).
        truth: measure the row's ground truth instead.
        **match: the columns that find the row.

    Returns:
        ``{"hue", "chroma", "concentration"}``, each ``(mean, low, high)``: the hue of the mean ab
        in degrees, the chroma of the mean ab in Lab units, and the mean per photo of
        ``|mean ab| / mean |ab|``.
    """
    rows = select(df, **match)
    sfx = "_gt" if truth else ""
    centre = sum(BROWN_HUES) / 2
    hue = tuple(v + centre for v in hue_interval(df, centre, truth=truth, **match))
    chroma = bootstrap(lambda x, y: np.hypot(np.nanmean(x, -1), np.nanmean(y, -1)),
                       matrix(rows, "tone_a" + sfx), matrix(rows, "tone_b" + sfx))
    conc = bootstrap_ci(matrix(rows, "tone_concentration" + sfx))
    return {"hue": hue, "chroma": chroma, "concentration": conc}  # type: ignore[dict-item]


def cast_of(df: pd.DataFrame, **match: object) -> dict[str, Interval]:
    """A row's colour cast relative to the truth's own tone: the mean of each photo's mean ab minus its truth's.

    Zero for a network that keeps every photo's average colour, whatever that colour is.

    Args:
        df: per-photo result rows with the ``tone_*`` columns and their ``_gt``.
        **match: the columns that find the row.

    Returns:
        ``{"hue", "chroma"}``: the cast's hue in degrees and chroma in Lab units, each ``(mean, low, high)``.
    """
    relative = df.assign(tone_a=df["tone_a"] - df["tone_a_gt"], tone_b=df["tone_b"] - df["tone_b_gt"])
    t = tone_of(relative.assign(tone_concentration=0.0), **match)
    return {"hue": t["hue"], "chroma": t["chroma"]}


def _shown(t: dict[str, Interval]) -> str:
    return (f"hue {t['hue'][0]:.0f}° [{t['hue'][1]:.0f}, {t['hue'][2]:.0f}], chroma {t['chroma'][0]:.1f}, "
            f"concentration {t['concentration'][0]:.2f}")


# ------------------------------------------------------------------------------------ claims


def tone_spread(df: pd.DataFrame, **match: object) -> Interval:
    """Measure how much a row's overall colour varies from photo to photo, against the truth's.

    The spread is the root of the summed variances of the per-photo mean a and b. Below 1, the row
    gives the photos more nearly one and the same tone than they have.

    Args:
        df: per-photo result rows with ``tone_a``, ``tone_b``, ``tone_a_gt`` and ``tone_b_gt``.
        **match: the columns that find the row.

    Returns:
        ``(mean, low, high)``: the row's spread over the truth's, with its bootstrap interval.
    """
    rows = select(df, **match)
    cols = [matrix(rows, c) for c in ("tone_a", "tone_b", "tone_a_gt", "tone_b_gt")]

    def ratio(a: np.ndarray, b: np.ndarray, ag: np.ndarray, bg: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(np.nanvar(a, -1) + np.nanvar(b, -1)) / np.sqrt(np.nanvar(ag, -1) + np.nanvar(bg, -1))

    return bootstrap(ratio, *cols)


def dull_brown(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the first network colours "mostly in a dull brown tone".

    The first network is R, G, B out with no global features, its colours read as they are, as the
    source showed them. *Dull*: its chroma ratio's interval is below 1 - the chroma-ratio margin.
    *Mostly one tone*: its overall colour varies less from photo to photo than the truth's
    (:func:`tone_spread` below 1 - the tone-spread margin). *Brown* (rule v3): a brown cast relative
    to the truth's own tone (:func:`cast_of`): the mean of prediction minus truth has a chroma beyond
    the ``cast_chroma`` margin and a hue within :data:`BROWN_HUES`; not brown when its chroma lies
    within the margin (the network keeps the truth's average colour, brownish or not) or its hue
    outside. Reproduced when all three hold. The truth's own tone is shown.

    Args:
        df: notebook 05's per-photo result rows.
        margins: the claim's (``chroma_ratio``, ``tone_spread``, ``cast_chroma``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> dull_brown(rows, margins_for("chroma_ratio", "tone_spread", "cast_chroma")).evidence
        'rows missing: fusion/rgb/rgb'
    """
    row = _row("rgb", "rgb")
    if absent := _has(df, row):
        return missing(*(f"fusion/{a}" for a in absent))
    dull = shift(interval_of(df, "chroma_ratio", **row), 1.0)
    spread = shift(tone_spread(df, **row), 1.0)
    centre, half = sum(BROWN_HUES) / 2, (BROWN_HUES[1] - BROWN_HUES[0]) / 2
    pred, truth, cast = tone_of(df, **row), tone_of(df, truth=True, **row), cast_of(df, **row)
    off = [h - centre for h in cast["hue"]]  # tone_of's hue is the offset from this centre, put back
    weak = cast["chroma"][2] < margins["cast_chroma"]  # no cast worth the name
    inside = cast["chroma"][1] > margins["cast_chroma"] and abs(off[1]) < half and abs(off[2]) < half
    brown = REPRODUCED if inside else NOT_REPRODUCED if weak or off[2] < -half or off[1] > half else INCONCLUSIVE
    verdict = combine(verdict_of(dull, "<", margins["chroma_ratio"]), verdict_of(spread, "<", margins["tone_spread"]),
                      brown)
    evidence = (f"RGB network's colours: chroma ratio {fmt(shift(dull, -1.0), 2)} (dull below "
                f"{1 - margins['chroma_ratio']:g}); photo-to-photo spread of the mean colour over the truth's "
                f"{fmt(shift(spread, -1.0), 2)} (one tone below {1 - margins['tone_spread']:g}); cast against the "
                f"truth: hue {cast['hue'][0]:.0f}° [{cast['hue'][1]:.0f}, {cast['hue'][2]:.0f}], chroma "
                f"{fmt(cast['chroma'], 1)} (brown: {BROWN_HUES[0]:.0f}-{BROWN_HUES[1]:.0f}°, chroma beyond "
                f"{margins['cast_chroma']:g}); its tone {_shown(pred)}; the truth's tone {_shown(truth)}")
    return Verdict(evidence, verdict, f"cast hue {cast['hue'][0]:.0f}° [{cast['hue'][1]:.0f}, "
                   f"{cast['hue'][2]:.0f}], chroma {fmt(cast['chroma'], 1)}")


def uv_beats_rgb(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether predicting U, V is easier than predicting R, G, B.

    The U, V network minus the R, G, B network (same budget, seeds and photos), on AuC and PSNR,
    against the RGB network's colours read both ways: its U, V with the input's Y (``chroma``) and
    its RGB as it is (``rgb``). Reproduced when U, V is better on all four, each difference
    clearing its margin.

    Args:
        df: notebook 05's per-photo result rows.
        margins: the claim's (``auc``, ``psnr``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    uv, c, r = _row("uv"), _row("rgb", "chroma"), _row("rgb", "rgb")
    if absent := _has(df, uv, c, r):
        return missing(*(f"fusion/{a}" for a in absent))
    tests, parts = [], []
    for other, label in ((c, "its U, V with the input's Y"), (r, "its RGB as it is")):
        auc, psnr = difference_of(df, "auc", uv, other), difference_of(df, "psnr", uv, other)
        tests += [(verdict_of(auc, ">", margins["auc"]), f"AuC vs {other['decode']} {fmt(auc)}"),
                  (verdict_of(psnr, ">", margins["psnr"]), f"PSNR vs {other['decode']} {fmt(psnr, 2)}")]
        parts.append(f"vs the RGB network, {label}: AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB")
    verdict = combine(*(v for v, _ in tests))
    return Verdict("U, V network minus R, G, B network: " + "; ".join(parts)
                   + f" (each must clear its margin: AuC {margins['auc']:g}, PSNR {margins['psnr']:g} dB)", verdict,
                   next(t for v, t in tests if v == verdict))


def homogeneous_easier(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether a homogeneous subset is an easier problem.

    On the subset's held-out images, the U, V network trained on the subset alone minus the same
    network trained on the whole set (same budget and seeds): AuC and PSNR higher. Reproduced when
    both clear their margins, not reproduced when either is lower or lies wholly inside its margin.

    Args:
        df: notebook 05's per-photo result rows, with the subset rows (:data:`SUBSET_ROWS`).
        margins: the claim's (``auc``, ``psnr``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    sub, whole = _row(SUBSET_ROWS[1]), _row(SUBSET_ROWS[0])
    if absent := _has(df, sub, whole):
        return missing(*(f"fusion/{a} (the homogeneous subset was not run)" for a in absent))
    auc, psnr = difference_of(df, "auc", sub, whole), difference_of(df, "psnr", sub, whole)
    rows = select(df, **sub)
    what = rows["tested_on"].iloc[0] if "tested_on" in rows else "the subset"
    split = rows["subset_split"].iloc[0] if "subset_split" in rows else "?"
    verdict = combine(verdict_of(auc, ">", margins["auc"]), verdict_of(psnr, ">", margins["psnr"]))
    evidence = (f"trained on the subset minus trained on the whole set, tested on {what} (held out by {split}): "
                f"AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB (each must clear its margin: AuC {margins['auc']:g}, "
                f"PSNR {margins['psnr']:g} dB)")
    return Verdict(evidence, verdict, f"AuC difference {fmt(auc)}")


def _fusion_vs_none(df: pd.DataFrame, variant: str, margins: Mapping[str, float]) -> Verdict:
    fused, plain = _row(variant), _row("uv")
    if absent := _has(df, fused, plain):
        return missing(*(f"fusion/{a}" for a in absent))
    auc = difference_of(df, "auc", fused, plain)
    cf = difference_of(df, "colorfulness", fused, plain)
    gap = difference_of(df.assign(abs_gap=df["colorfulness_gap"].abs()), "abs_gap", fused, plain)
    verdict = combine(verdict_of(auc, ">", margins["auc"]), verdict_of(cf, ">", margins["colorfulness"]))
    evidence = (f"{variant} minus uv (no fusion): AuC {fmt(auc)}, colourfulness {fmt(cf, 1)} (each must clear its "
                f"margin: AuC {margins['auc']:g}, colourfulness {margins['colorfulness']:g}; |gap to the truth's "
                f"colourfulness| {fmt(gap, 1)}: below zero is closer)")
    return Verdict(evidence, verdict, f"AuC {fmt(auc)} | colourfulness {fmt(cf, 1)}")


def fusion_improves(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether a fusion layer with a jointly trained global network improves the U, V network.

    With the fusion layer minus without, paired: AuC and colourfulness higher. Reproduced when both
    clear their margins. The gap to the truth's colourfulness is shown.

    Args:
        df: notebook 05's per-photo result rows.
        margins: the claim's (``auc``, ``colorfulness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    return _fusion_vs_none(df, "uv_fusion", margins)


def fusion_resnet_improves(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge as :func:`fusion_improves` does, with ResNet-50's features (the source's).

    The source's green grass and blue sky come from ImageNet semantics: when the ResNet-50 was not
    ImageNet-pretrained, the rule's outcome is shown and the verdict is inconclusive.

    Args:
        df: notebook 05's per-photo result rows.
        margins: the claim's (``auc``, ``colorfulness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    out = _fusion_vs_none(df, "uv_fusion_resnet", margins)
    if _has(df, _row("uv_fusion_resnet"), _row("uv")):  # rows missing: nothing to qualify
        return out
    evidence, verdict, interval = out.evidence, out.outcome, out.interval
    semantic, seen = pretrained(select(df, **_row("uv_fusion_resnet")), "backbone_weights")
    if not semantic:
        return Verdict(f"{evidence}. The rule alone would say {verdict.upper()}, but the ResNet-50 was not ImageNet-"
                f"pretrained ({seen}): no verdict", INCONCLUSIVE, interval)
    return Verdict(evidence + f" (ResNet-50: {seen})", verdict, interval)


CLAIMS: tuple[Claim, ...] = (
    Claim("fusion_dull_brown", _SOURCE, _NOTEBOOK,
          "without global features the CNN colours mostly in a dull brown tone (desaturated, the same tone "
          "for every photo, brown)",
          dull_brown, _MAIN, margins=margins_for("chroma_ratio", "tone_spread", "cast_chroma"), rule_version=3),
    Claim("fusion_uv_beats_rgb", _SOURCE, _NOTEBOOK,
          "predicting U, V from Y is easier than predicting R, G, B: higher AuC and PSNR", uv_beats_rgb, _MAIN,
          margins=margins_for("auc", "psnr"), rule_version=2),
    Claim("fusion_homogeneous_easier", _SOURCE, _NOTEBOOK,
          "a homogeneous subset is an easier problem: a model trained on it alone colours its held-out images "
          "better than one trained on the whole set", homogeneous_easier, _SUBSET,
          margins=margins_for("auc", "psnr"), rule_version=2),
    Claim("fusion_improves", _SOURCE, _NOTEBOOK,
          "a fusion layer with global features improves accuracy and colourfulness (a global network trained "
          "jointly, Iizuka et al.)", fusion_improves, _MAIN, margins=margins_for("auc", "colorfulness"),
          rule_version=2),
    Claim("fusion_resnet_improves", _SOURCE, _NOTEBOOK,
          "a fusion layer with a pretrained ResNet-50's global features improves accuracy and colourfulness "
          "(the source's; needs ImageNet weights)", fusion_resnet_improves, _MAIN,
          margins=margins_for("auc", "colorfulness"), rule_version=2),
)


# ------------------------------------------------------------------------------------ figure


def tone_plot(df: pd.DataFrame, rows: Sequence[tuple[str, str]], title: str | None = None) -> Figure:
    """Plot each row's mean predicted ab per seed and photo on the ab plane.

    The truth's of the same photos are drawn in black, each row's overall tone as a large marker,
    and the brown hues (:data:`BROWN_HUES`) shaded.

    Args:
        df: per-photo result rows with the ``tone_*`` columns.
        rows: the rows to draw, as ``(variant, decode)``.
        title: the figure's title.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    lim = 10.0
    for i, (variant, decode) in enumerate(rows):
        r = select(df, **_row(variant, decode))
        if r.empty:
            continue
        if i == 0:
            ax.scatter(r["tone_a_gt"], r["tone_b_gt"], s=18, c="black", marker="x", label="truth (per photo)")
        ax.scatter(r["tone_a"], r["tone_b"], s=14, alpha=0.6, color=f"C{i}")
        t = tone_of(df, **_row(variant, decode))
        h, c = math.radians(t["hue"][0]), t["chroma"][0]
        ax.scatter([c * math.cos(h)], [c * math.sin(h)], s=120, color=f"C{i}", edgecolor="black",
                   label=f"{variant}{'' if decode == 'direct' else '/' + decode}: {t['hue'][0]:.0f}°, {c:.1f}")
        lim = max(lim,
                  float(np.nanmax(np.abs(r[["tone_a", "tone_b", "tone_a_gt", "tone_b_gt"]].to_numpy()))) * 1.15)
    ax.add_patch(Wedge((0, 0), lim, BROWN_HUES[0], BROWN_HUES[1], color="saddlebrown", alpha=0.15,
                       label=f"brown hues {BROWN_HUES[0]:.0f}-{BROWN_HUES[1]:.0f}°"))
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="mean a", ylabel="mean b", aspect="equal",
           title=title or "overall tone per photo (mean ab)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


PAPER = Paper(
    name="fusion", notebook=_NOTEBOOK,
    title="Source 002's CNN: RGB vs UV output, global features fused into the middle layer",
    source="002_489bed13d13660ea.txt", methods=("fusion",), claims=CLAIMS,
    network=SourceNetwork("fusion", variant="uv_fusion_resnet"),  # the source's: ResNet-50 features fused
)
