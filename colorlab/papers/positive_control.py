"""Source 000's mechanism on data where the answer is known (notebook 00, the generated
``ambiguous`` set): L2 regression averages two isoluminant colours and desaturates, while a
classifier's mode keeps one of them.

Where several colours are plausible for the same gray input, an L2 regression predicts their
average, which is less saturated than any of them; a classifier's most probable bin is one of
them. :mod:`colorlab.data.ambiguous` draws each textured square bluish or yellowish with
probability 1/2, the two colours of equal L* and luma, so no gray-level cue tells them apart.

Example:
    >>> [c.key for c in CLAIMS]
    ['control_regression_desaturates', 'control_classification_mode']
"""

from __future__ import annotations

import pandas as pd

from ..claims import (
    NOT_DESATURATED_FROM,
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
from .base import Paper
from .yuv_regression import desaturation

__all__ = ["CLAIMS", "PAPER", "regression_desaturates_on_control", "mode_keeps_a_true_colour_on_control"]


def regression_desaturates_on_control(df: pd.DataFrame) -> Verdict:
    """On the positive control, where each shape is one of two isoluminant colours at random, the
    L2 optimum is their average: the chroma ratio interval must lie below 1."""
    return desaturation(df, ("l2",))


def mode_keeps_a_true_colour_on_control(df: pd.DataFrame) -> Verdict:
    """The positive control: the plain class head's mode is not desaturated (chroma ratio interval
    above :data:`~colorlab.claims.NOT_DESATURATED_FROM`), the L2 head of the same network is (interval
    below 1), and the paired difference of their chroma ratios is above zero.

    The plain head (``class``), not the rebalanced one (``full``): at the control's size the
    rebalanced model often never learns to use its input and predicts the rebalanced marginal of the
    training pixels everywhere, whose most probable bin is a near tie between the gray of the lines
    between the squares and a blue bin (17.2 % against 17.6 %), so its mode is gray or blue by the
    chance of the trajectory, and differs between CPUs (docs/results.md, *Reproducibility*). The rebalanced
    mode is shown beside it, not judged."""
    mode = {"method": "zhang", "variant": "class", "decode": "mode"}
    l2 = {"method": "zhang", "variant": "l2"}
    if select(df, **mode).empty or select(df, **l2).empty:
        return missing("zhang/class/mode", "zhang/l2")
    r_mode, r_l2 = interval_of(df, "chroma_ratio", **mode), interval_of(df, "chroma_ratio", **l2)
    diff = difference_of(df, "chroma_ratio", mode, l2)
    kept = verdict_of(shift(r_mode, NOT_DESATURATED_FROM), ">")
    verdict = combine(kept, verdict_of(shift(r_l2, 1.0), "<"), verdict_of(diff, ">"))
    evidence = (f"chroma ratio: mode {fmt(r_mode, 2)} (not desaturated from {NOT_DESATURATED_FROM}), L2 "
                f"{fmt(r_l2, 2)}; mode minus L2 {fmt(diff, 2)}")
    full = {"method": "zhang", "variant": "full", "decode": "mode"}
    if not select(df, **full).empty:
        evidence += f"; the rebalanced head's mode, not judged: {fmt(interval_of(df, 'chroma_ratio', **full), 2)}"
    return Verdict(evidence, verdict, f"chroma ratio mode minus L2 {fmt(diff, 2)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("control_regression_desaturates", "000", "00",
          "positive control: where a shape's colour is one of two isoluminant modes, L2 regression on U,V "
          "averages them and desaturates", regression_desaturates_on_control),
    Claim("control_classification_mode", "000", "00",
          "positive control: where a shape's colour is one of two isoluminant modes, the classifier's mode "
          "(the plain class head) keeps a true colour while the L2 head of the same network desaturates",
          mode_keeps_a_true_colour_on_control),
)

PAPER = Paper(
    name="positive_control", notebook="00",
    title="A positive control: L2 regression averages two isoluminant colours, a classifier's mode keeps one",
    source="000_197132e167817555.txt", methods=("yuv_regression", "zhang"), claims=CLAIMS,
)
