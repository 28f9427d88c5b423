"""Source 000 on boosting saturation afterwards (notebook 02).

One claim: boosting closes the colourfulness gap of a desaturated result without adding
information. The method is :mod:`colorlab.methods.saturation_boost`, applied to notebook 01's L1
models. The rule in words: ``docs/methods/saturation_boost.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['boosting']
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    Verdict,
    difference_of,
    interval_of,
    margins_for,
    missing,
    shift,
    verdict_of,
)
from ..evidence import fmt, select
from .base import Paper, SourceNetwork

__all__ = ["CLAIMS", "PAPER", "boosting_adds_no_information"]


def boosting_adds_no_information(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether boosting closes the colourfulness gap without adding accuracy.

    For the smallest boost above 1 in each space, paired with the unboosted output on the same
    seeds and photos: the size of the gap to the truth's colourfulness, ``|gap|``, falls (its
    interval clears the ``abs_gap`` margin) while neither AuC nor PSNR rises beyond its margin (the
    claim's ``auc`` and ``psnr``: the whole interval below it). Not reproduced when ``|gap|`` grows
    (boosting overshoots) or changes by less than its margin, or accuracy rises beyond its margin.
    The colourfulness difference is shown. The precondition is a desaturated unboosted output (chroma ratio
    interval below 1 - the chroma-ratio margin); otherwise there is nothing to compensate, and the
    claim is inconclusive unless a space's part is not reproduced.

    Args:
        df: notebook 02's per-photo result rows, with ``boost`` and ``space`` columns.
        margins: the claim's (``abs_gap``, ``auc``, ``psnr``, ``chroma_ratio``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant"])
        >>> boosting_adds_no_information(rows, margins_for("abs_gap", "auc", "psnr", "chroma_ratio")).evidence
        'rows missing: saturation_boost rows with a boost column'
    """
    if "colorfulness_gap" in df:
        df = df.assign(abs_gap=df["colorfulness_gap"].abs())
    d = select(df, method="saturation_boost")
    if d.empty or "boost" not in d:
        return missing("saturation_boost rows with a boost column")
    d = d.assign(boost=d["boost"].astype(float))
    base = d[d["boost"] == 1.0]
    if base.empty or d[d["boost"] > 1.0].empty:
        return missing("boost 1.0 and boosts > 1.0")
    unboosted = {"method": "saturation_boost", "variant": str(base["variant"].iloc[0])}
    ratio = interval_of(df, "chroma_ratio", **unboosted)
    parts, verdicts, decisive = [f"unboosted chroma ratio {fmt(ratio, 2)}"], [], []
    for _, g in d[d["boost"] > 1.0].groupby("space", sort=False):
        variant = str(g.loc[g["boost"].idxmin(), "variant"])
        boosted = {"method": "saturation_boost", "variant": variant}
        colour = difference_of(df, "colorfulness", boosted, unboosted)
        gap = difference_of(df, "abs_gap", boosted, unboosted)
        auc = difference_of(df, "auc", boosted, unboosted)
        psnr = difference_of(df, "psnr", boosted, unboosted)
        closed = verdict_of(gap, "<", margins["abs_gap"])
        if closed == NOT_REPRODUCED:
            v = NOT_REPRODUCED
        elif verdict_of(auc, ">", margins["auc"]) == REPRODUCED or verdict_of(psnr, ">", margins["psnr"]) == REPRODUCED:
            v = NOT_REPRODUCED  # accuracy rose beyond its margin: boosting did add something
        elif closed == REPRODUCED and auc[2] < margins["auc"] and psnr[2] < margins["psnr"]:
            v = REPRODUCED
        else:
            v = INCONCLUSIVE
        verdicts.append(v)
        parts.append(
            f"{variant} minus unboosted: |colourfulness gap| {fmt(gap, 1)} (colourfulness {fmt(colour, 1)}), "
            f"AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB")
        decisive.append(f"{variant}: |gap| {fmt(gap, 1)}, AuC {fmt(auc)}")
    if verdict_of(shift(ratio, 1.0), "<", margins["chroma_ratio"]) != REPRODUCED and NOT_REPRODUCED not in verdicts:
        verdict = INCONCLUSIVE  # not desaturated to begin with: nothing to compensate
        parts.append("the unboosted output is not measurably desaturated, so there is no gap to close")
    elif NOT_REPRODUCED in verdicts:
        verdict = NOT_REPRODUCED
    else:
        verdict = REPRODUCED if all(v == REPRODUCED for v in verdicts) else INCONCLUSIVE
    parts.append(f"margins: |gap| {margins['abs_gap']:g}, AuC {margins['auc']:g}, PSNR "
                 f"{margins['psnr']:g} dB, chroma ratio {margins['chroma_ratio']:g}")
    return Verdict("; ".join(parts), verdict, " | ".join(decisive))


CLAIMS: tuple[Claim, ...] = (
    Claim("boosting", "000", "02",
          "boosting saturation closes the colourfulness gap of a desaturated result without adding information",
          boosting_adds_no_information, margins=margins_for("abs_gap", "auc", "psnr", "chroma_ratio"),
          rule_version=3),
)

PAPER = Paper(
    name="saturation_boost", notebook="02", title="YUV regression with saturation boosted afterwards (source 000)",
    source="000_197132e167817555.txt", methods=("saturation_boost",), claims=CLAIMS,
    network=SourceNetwork("saturation_boost", crop=176),  # notebook 01's network, boosted
)
