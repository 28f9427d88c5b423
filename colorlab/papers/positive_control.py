"""The positive control (notebook 00): source 000's mechanism on data where the answer is known.

On the generated ``ambiguous`` set (:mod:`colorlab.data.ambiguous`), each textured square is one of
two isoluminant colours at random, so no gray-level cue tells them apart. An L2 regression should
predict their average, which is desaturated, while a classifier's mode keeps one of them. The two
claims and why the plain class head is judged: ``docs/methods/positive_control.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['control_regression_desaturates', 'control_classification_mode']
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..claims import (
    NOT_DESATURATED_FROM,
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
from .base import Paper
from .yuv_regression import desaturation

__all__ = ["CLAIMS", "PAPER", "regression_desaturates_on_control", "mode_keeps_a_true_colour_on_control"]


def regression_desaturates_on_control(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether L2 regression desaturates on the positive control.

    Each shape is one of two isoluminant colours at random, so the L2 optimum is their average.
    The ``yuv_regression`` ``l2`` row's chroma ratio interval must lie below 1 - the chroma-ratio
    margin (:func:`~colorlab.papers.yuv_regression.desaturation`).

    Args:
        df: notebook 00's per-photo result rows.
        margins: the claim's (``chroma_ratio``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> regression_desaturates_on_control(rows, margins_for("chroma_ratio")).evidence
        'rows missing: yuv_regression/l2'
    """
    return desaturation(df, ("l2",), margins["chroma_ratio"])


def mode_keeps_a_true_colour_on_control(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the classifier's mode keeps a true colour while its L2 head desaturates.

    Three parts, all needed: the plain class head's mode is not desaturated (chroma ratio interval
    above :data:`~colorlab.claims.NOT_DESATURATED_FROM`, the threshold itself: no margin); the L2
    head of the same network is (interval below 1 - the chroma-ratio margin); and the paired
    difference of their chroma ratios clears the chroma-ratio margin. The rebalanced head's mode is
    shown, not judged (``docs/methods/positive_control.md`` says why).

    Args:
        df: notebook 00's per-photo result rows.
        margins: the claim's (``chroma_ratio``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> mode_keeps_a_true_colour_on_control(rows, margins_for("chroma_ratio")).evidence
        'rows missing: zhang/class/mode, zhang/l2'
    """
    mode = {"method": "zhang", "variant": "class", "decode": "mode"}
    l2 = {"method": "zhang", "variant": "l2"}
    if select(df, **mode).empty or select(df, **l2).empty:
        return missing("zhang/class/mode", "zhang/l2")
    r_mode, r_l2 = interval_of(df, "chroma_ratio", **mode), interval_of(df, "chroma_ratio", **l2)
    diff = difference_of(df, "chroma_ratio", mode, l2)
    margin = margins["chroma_ratio"]
    kept = verdict_of(shift(r_mode, NOT_DESATURATED_FROM), ">", 0.0)  # the threshold is the rule: no margin
    verdict = combine(kept, verdict_of(shift(r_l2, 1.0), "<", margin), verdict_of(diff, ">", margin))
    evidence = (f"chroma ratio: mode {fmt(r_mode, 2)} (not desaturated from {NOT_DESATURATED_FROM}), L2 "
                f"{fmt(r_l2, 2)} (desaturated below {1 - margin:g}); mode minus L2 {fmt(diff, 2)} (must clear "
                f"{margin:g})")
    full = {"method": "zhang", "variant": "full", "decode": "mode"}
    if not select(df, **full).empty:
        evidence += f"; the rebalanced head's mode, not judged: {fmt(interval_of(df, 'chroma_ratio', **full), 2)}"
    return Verdict(evidence, verdict, f"chroma ratio mode minus L2 {fmt(diff, 2)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("control_regression_desaturates", "000", "00",
          "positive control: where a shape's colour is one of two isoluminant modes, L2 regression on U,V "
          "averages them and desaturates", regression_desaturates_on_control,
          margins=margins_for("chroma_ratio"), rule_version=2, kind="positive control"),
    Claim("control_classification_mode", "000", "00",
          "positive control: where a shape's colour is one of two isoluminant modes, the classifier's mode "
          "(the plain class head) keeps a true colour while the L2 head of the same network desaturates",
          mode_keeps_a_true_colour_on_control, margins=margins_for("chroma_ratio"), rule_version=2,
          kind="positive control"),
)

PAPER = Paper(
    name="positive_control", notebook="00",
    title="A positive control: L2 regression averages two isoluminant colours, a classifier's mode keeps one",
    source="000_197132e167817555.txt", methods=("yuv_regression", "zhang"), claims=CLAIMS,
)
