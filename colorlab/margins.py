"""The smallest effect that counts on each measure, declared before a run (docs/metrics.md, "Margins").

Each claim declares the margins its rule reads (:func:`margins_for`); ``claims.csv`` shows them
(:func:`margin_text`).

Example:
    >>> margins_for("auc", "psnr")
    {'auc': 0.01, 'psnr': 0.3}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Margin", "MARGINS", "margins_for", "margin_text"]


@dataclass(frozen=True)
class Margin:
    """The smallest effect on a measure that counts, declared before the run.

    Args:
        value: the margin, ``>= 0``, in the measure's unit.
        unit: the unit, in words.
        why: where it comes from (the source, or the practical threshold it is).
    """

    value: float
    unit: str
    why: str


#: The practical margins, by measure: differences of these sizes or smaller count as no effect.
#: None of the sources states a smallest effect; each is a stated practical threshold
#: (docs/metrics.md, "Margins"). A claim declares the ones its rule uses (:attr:`Claim.margins`).
MARGINS: dict[str, Margin] = {
    "auc": Margin(0.01, "AuC (0-1)", "one point of the AuC percentage Zhang et al. report to one decimal"),
    "auc_rebal": Margin(0.01, "AuC (0-1)", "as the AuC"),
    "psnr": Margin(0.3, "dB", "about the PSNR differences colourisation papers call an improvement"),
    "rmse": Margin(1.0, "Lab units", "below half the CIE76 just-noticeable difference of 2.3"),
    "colorfulness": Margin(3.0, "Hasler-Suesstrunk colourfulness",
                           "a tenth of the step between the metric's 'moderately' and 'quite' colourful"),
    "abs_gap": Margin(3.0, "Hasler-Suesstrunk colourfulness", "as colourfulness"),
    "chroma_ratio": Margin(0.05, "prediction over truth", "5 % of the truth's chroma"),
    "tone_spread": Margin(0.05, "prediction over truth", "5 % of the truth's spread"),
    "cast_chroma": Margin(2.3, "Lab units", "the CIE76 just-noticeable difference"),
    "ab_roughness": Margin(0.1, "Lab units per pixel step", "a tenth of a Lab unit between neighbours"),
    "hist_intersection": Margin(0.01, "intersection (0-1)", "1 % of the histogram's mass"),
    "hist_kl": Margin(0.01, "nats", "the KL of moving about 1 % of the mass"),
}


def margins_for(*measures: str) -> dict[str, float]:
    """The declared margins of some measures, for :attr:`Claim.margins`.

    Args:
        measures: names in :data:`MARGINS`.

    Returns:
        measure -> margin.

    Raises:
        KeyError: an unknown measure, listing the known ones.

    Example:
        >>> margins_for("auc", "psnr")
        {'auc': 0.01, 'psnr': 0.3}
    """
    unknown = [m for m in measures if m not in MARGINS]
    if unknown:
        raise KeyError(f"no margin declared for {', '.join(unknown)}; known: {', '.join(MARGINS)}")
    return {m: MARGINS[m].value for m in measures}


def margin_text(declared: Mapping[str, float]) -> str:
    """A claim's margins in words, for ``claims.csv``.

    Example:
        >>> margin_text(margins_for("auc", "psnr")), margin_text({})
        ('auc 0.01 AuC (0-1); psnr 0.3 dB', 'none (own protocol)')
    """
    if not declared:
        return "none (own protocol)"
    return "; ".join(f"{m} {v:g} {MARGINS[m].unit}" if m in MARGINS else f"{m} {v:g}" for m, v in declared.items())
