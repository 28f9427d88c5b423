"""Sources 000 and 002 on regressing U and V (notebook 01).

Two claims: regression of U and V desaturates, and batch normalisation colours better than
instance normalisation. The method is :mod:`colorlab.methods.yuv_regression`. What the sources
say and how each rule decides: ``docs/methods/yuv_regression.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['regression_desaturates', 'batchnorm']
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..claims import (
    INCONCLUSIVE,
    REPRODUCED,
    Claim,
    Verdict,
    combine,
    difference_of,
    interval_of,
    margins_for,
    missing,
    shift,
    verdict_of,
)
from ..evidence import fmt, select
from .base import Paper, SourceNetwork

__all__ = ["CLAIMS", "PAPER", "REGRESSION_ROWS", "desaturation", "regression_desaturates",
           "batchnorm_over_instancenorm"]

#: The regression rows of notebook 01 that the desaturation claim is judged on (all of them).
REGRESSION_ROWS = ("l1", "l2", "l1_instancenorm")


def desaturation(df: pd.DataFrame, variants: tuple[str, ...], margin: float = 0.0) -> Verdict:
    """Judge whether regression rows desaturate: each variant's chroma ratio against 1, the truth's.

    A variant is desaturated when its whole interval is below ``1 - margin``, over-saturated when
    above 1, neither when inside ``1 ± margin``. The claim is reproduced when every variant is
    desaturated. The colourfulness gap is shown beside it.

    Args:
        df: per-photo result rows.
        variants: the ``yuv_regression`` variants to judge; those without rows are left out.
        margin: the smallest chroma ratio drop that counts.

    Returns:
        The :class:`~colorlab.claims.Verdict`; inconclusive when none of the variants has rows.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> desaturation(rows, ("l2",)).evidence
        'rows missing: yuv_regression/l2'
    """
    present = [v for v in variants if not select(df, method="yuv_regression", variant=v).empty]
    if not present:
        return missing(*(f"yuv_regression/{v}" for v in variants))
    parts, verdicts = [], []
    for v in present:
        ratio = interval_of(df, "chroma_ratio", method="yuv_regression", variant=v)
        gap = interval_of(df, "colorfulness_gap", method="yuv_regression", variant=v)
        verdicts.append(verdict_of(shift(ratio, 1.0), "<", margin))
        parts.append(f"{v}: chroma ratio {fmt(ratio, 2)}, colourfulness gap {fmt(gap, 1)}")
    decisive = "; ".join(f"{v}: {d}" for v, d in zip(present, verdicts, strict=True))
    return Verdict("; ".join(parts) + f" (chroma ratio below 1 - {margin:g} with 95 % confidence: {decisive})",
                   combine(*verdicts), " | ".join(p.split(", colourfulness")[0] for p in parts))


def regression_desaturates(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge source 000's claim: every regression row's chroma ratio interval lies below ``1 - margin``.

    The rows are notebook 01's L1, L2 and the instance-norm ablation, all regressions of U and V
    (:data:`REGRESSION_ROWS`).

    Args:
        df: notebook 01's per-photo result rows.
        margins: the claim's (``chroma_ratio``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    return desaturation(df, REGRESSION_ROWS, margins["chroma_ratio"])


def batchnorm_over_instancenorm(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge source 002's claim: batch norm colours better than instance norm.

    The paired AuC difference, batch norm minus instance norm on the same seeds and photos, must
    clear the AuC margin. When AuC rises but PSNR falls beyond its margin, the outcome is mixed:
    inconclusive.

    Args:
        df: notebook 01's per-photo result rows.
        margins: the claim's (``auc``, ``psnr``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> batchnorm_over_instancenorm(rows, margins_for("auc", "psnr")).evidence
        'rows missing: yuv_regression/l1, yuv_regression/l1_instancenorm'
    """
    bn = {"method": "yuv_regression", "variant": "l1"}
    inn = {"method": "yuv_regression", "variant": "l1_instancenorm"}
    if select(df, **bn).empty or select(df, **inn).empty:
        return missing("yuv_regression/l1", "yuv_regression/l1_instancenorm")
    auc = difference_of(df, "auc", bn, inn)
    psnr = difference_of(df, "psnr", bn, inn)
    verdict = verdict_of(auc, ">", margins["auc"])
    if verdict == REPRODUCED and verdict_of(psnr, "<", margins["psnr"]) == REPRODUCED:  # AuC up, PSNR down: mixed
        verdict = INCONCLUSIVE
    evidence = (f"batch norm minus instance norm: AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB "
                f"(reproduced when the AuC gain clears {margins['auc']:g} and PSNR does not fall by more than "
                f"{margins['psnr']:g} dB)")
    return Verdict(evidence, verdict, f"AuC difference {fmt(auc)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("regression_desaturates", "000", "01",
          "L1/L2 regression on U,V gives desaturated colours", regression_desaturates,
          margins=margins_for("chroma_ratio"), rule_version=2),
    Claim("batchnorm", "002", "01",
          "batch normalisation instead of instance normalisation colours better", batchnorm_over_instancenorm,
          margins=margins_for("auc", "psnr"), rule_version=2),
)

PAPER = Paper(
    name="yuv_regression", notebook="01", title="CNN regressing U, V from Y (sources 000 and 002)",
    source="000_197132e167817555.txt, 002_489bed13d13660ea.txt", methods=("yuv_regression",), claims=CLAIMS,
    network=SourceNetwork("yuv_regression", crop=176),  # the full profile's crop (Zhang et al.'s)
)
