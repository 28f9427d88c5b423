"""Sources 000 and 002 on regressing U and V (notebook 01).

Two claims: regression of U and V desaturates, and batch normalisation colours better than
instance normalisation. The method is :mod:`colorlab.methods.yuv_regression`. What the sources
say and how each rule decides: ``docs/methods/yuv_regression.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['regression_desaturates', 'batchnorm']
"""

from __future__ import annotations

import pandas as pd

from ..claims import (
    INCONCLUSIVE,
    REPRODUCED,
    Claim,
    Verdict,
    combine,
    difference_of,
    interval_of,
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


def desaturation(df: pd.DataFrame, variants: tuple[str, ...]) -> Verdict:
    """Judge whether regression rows desaturate: each variant's chroma ratio against 1, the truth's.

    A variant is desaturated when its whole interval is below 1, over-saturated when above. The
    claim is reproduced when every variant is desaturated. The colourfulness gap is shown beside it.

    Args:
        df: per-photo result rows.
        variants: the ``yuv_regression`` variants to judge; those without rows are left out.

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
        verdicts.append(verdict_of(shift(ratio, 1.0), "<"))
        parts.append(f"{v}: chroma ratio {fmt(ratio, 2)}, colourfulness gap {fmt(gap, 1)}")
    decisive = "; ".join(f"{v}: {d}" for v, d in zip(present, verdicts, strict=True))
    return Verdict("; ".join(parts) + f" (chroma ratio below 1 with 95 % confidence: {decisive})",
                   combine(*verdicts), " | ".join(p.split(", colourfulness")[0] for p in parts))


def regression_desaturates(df: pd.DataFrame) -> Verdict:
    """Judge source 000's claim: every regression row's chroma ratio interval lies below 1.

    The rows are notebook 01's L1, L2 and the instance-norm ablation, all regressions of U and V
    (:data:`REGRESSION_ROWS`).

    Args:
        df: notebook 01's per-photo result rows.

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    return desaturation(df, REGRESSION_ROWS)


def batchnorm_over_instancenorm(df: pd.DataFrame) -> Verdict:
    """Judge source 002's claim: batch norm colours better than instance norm.

    The paired AuC difference, batch norm minus instance norm on the same seeds and photos, must
    be above zero. When AuC rises but PSNR falls measurably, the outcome is mixed: inconclusive.

    Args:
        df: notebook 01's per-photo result rows.

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> batchnorm_over_instancenorm(rows).evidence
        'rows missing: yuv_regression/l1, yuv_regression/l1_instancenorm'
    """
    bn = {"method": "yuv_regression", "variant": "l1"}
    inn = {"method": "yuv_regression", "variant": "l1_instancenorm"}
    if select(df, **bn).empty or select(df, **inn).empty:
        return missing("yuv_regression/l1", "yuv_regression/l1_instancenorm")
    auc = difference_of(df, "auc", bn, inn)
    psnr = difference_of(df, "psnr", bn, inn)
    verdict = verdict_of(auc, ">")
    if verdict == REPRODUCED and verdict_of(psnr, "<") == REPRODUCED:  # AuC up, PSNR down: mixed
        verdict = INCONCLUSIVE
    evidence = (f"batch norm minus instance norm: AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB "
                "(reproduced when the AuC gain is above zero and PSNR does not fall)")
    return Verdict(evidence, verdict, f"AuC difference {fmt(auc)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("regression_desaturates", "000", "01",
          "L1/L2 regression on U,V gives desaturated colours", regression_desaturates),
    Claim("batchnorm", "002", "01",
          "batch normalisation instead of instance normalisation colours better", batchnorm_over_instancenorm),
)

PAPER = Paper(
    name="yuv_regression", notebook="01", title="CNN regressing U, V from Y (sources 000 and 002)",
    source="000_197132e167817555.txt, 002_489bed13d13660ea.txt", methods=("yuv_regression",), claims=CLAIMS,
    network=SourceNetwork("yuv_regression", crop=176),  # the full profile's crop (Zhang et al.'s)
)
