"""Claims, published values and the machinery that turns measurements into verdicts.

Each method module (:mod:`colorlab.methods`) declares its source's claims as :class:`Claim`
objects: a source document, the notebook that measures it and a rule, a function of that
notebook's **per-photo rows** (one per model row, seed and held-out photo:
:mod:`colorlab.evidence`) that gives the evidence in words and one of the verdicts
``reproduced``, ``not reproduced`` or ``inconclusive at this scale``, and optionally the decisive
interval. :func:`judge` applies them and adds the seeds and the test set each verdict rests on; a
claim whose notebook has no rows is ``not run``.

**A verdict rests on an interval**, never on two means: :func:`interval_of` and
:func:`difference_of` give a 95 % bootstrap interval over seeds and photos (paired on the same
photos for a difference), and :func:`verdict_of` says ``reproduced`` when it lies on the claimed
side of zero, ``not reproduced`` when it lies on the other side, ``inconclusive`` when it
straddles zero. A claim that something does *not* change (boosting adds no accuracy) needs the
whole interval below a stated margin (:data:`AUC_MARGIN`, :data:`PSNR_MARGIN`). The rebalanced
AuC carries no verdict below :data:`MIN_EFF_PIXELS` effective pixels per run, nor when its sign
depends on the uniform mix of the prior (:data:`colorlab.metrics.AUC_PRIOR_MIXES`).

A method also declares the values its source publishes as :class:`Published` rows;
:func:`paper_table` sets them beside ours.

Example:
    >>> claim = Claim("demo", "000", "01", "A is more colourful than B",
    ...               lambda df: Verdict("A 30 vs B 20", REPRODUCED))
    >>> judge(pd.DataFrame(columns=["notebook"]), [claim])["verdict"].tolist()
    ['not run']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from . import evidence, stats
from .backbones import is_pretrained
from .results import find_row

__all__ = [
    "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_RUN", "NOT_EVIDENCE", "NOT_DESATURATED_FROM", "AUC_MARGIN",
    "PSNR_MARGIN", "MIN_EFF_PIXELS", "Verdict", "Claim", "Published", "missing", "interval_of", "difference_of", "verdict_of",
    "combine", "shift", "pretrained", "judge", "paper_table",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this scale"
NOT_RUN = "not run"
#: The verdict of every claim in the smoke profile: a few steps show that the code runs, nothing more.
NOT_EVIDENCE = "smoke: not evidence"

#: Chroma ratio (prediction / truth) from which a result counts as not desaturated: a
#: classifier's mode on the positive control must stay at least this saturated.
NOT_DESATURATED_FROM = 0.8
#: AuC gains (on the [0, 1] scale) below this margin count as none, for claims of no gain.
AUC_MARGIN = 0.005
#: PSNR gains (dB) below this margin count as none, for claims of no gain.
PSNR_MARGIN = 0.1
#: Effective pixels ``(Σw)² / Σw²`` per run below which the rebalanced AuC carries no verdict:
#: the review behind issue 10 found 287 effective pixels, where moving the prior's uniform mix
#: from 1e-2 to 1e-4 moved gray's rebalanced AuC by 0.10, more than any gap between models.
MIN_EFF_PIXELS = 1000



@dataclass(frozen=True)
class Verdict:
    """What a claim's rule decides on a notebook's rows.

    Args:
        evidence: the measurements the decision rests on, in words.
        outcome: :data:`REPRODUCED`, :data:`NOT_REPRODUCED` or :data:`INCONCLUSIVE`.
        interval: the decisive interval(s), in words (``claims.csv``'s ``interval``).
    """

    evidence: str
    outcome: str
    interval: str = ""


@dataclass(frozen=True)
class Claim:
    """A claim of a source, the notebook (number prefix, e.g. ``"01"``) whose rows test it, and
    its rule: ``rule(rows) -> Verdict``; ``scope`` (column -> values) narrows the rows
    its "measured on" line describes when the notebook scores some models on another test set."""

    key: str
    source: str
    notebook: str
    text: str
    rule: Callable[[pd.DataFrame], Verdict]
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """A row of a published table: its ``label`` there, the published ``values`` by our metric
    name, the ``scale`` that turns our metric into the published unit (100 for percent), the
    notebook and the columns (``match``) that find our row, and what the paper measured it on."""

    source: str
    label: str
    values: Mapping[str, float]
    notebook: str
    match: Mapping[str, str]
    measured_on: str
    scale: Mapping[str, float] = field(default_factory=dict)


def missing(*names: str) -> Verdict:
    """The verdict for rows a rule needs but cannot find.

    Example:
        >>> missing("zhang/l2").outcome
        'inconclusive at this scale'
    """
    return Verdict(f"rows missing: {', '.join(names)}", INCONCLUSIVE)


def interval_of(rows: pd.DataFrame, metric: str, **match: object) -> stats.Interval:
    """``(mean, low, high)`` of ``metric`` for the model row ``match`` over seeds and photos
    (:func:`colorlab.evidence.estimate`)."""
    return evidence.estimate(rows, metric, **match)


def difference_of(rows: pd.DataFrame, metric: str, a: Mapping[str, object], b: Mapping[str, object]) -> stats.Interval:
    """``(mean, low, high)`` of ``metric`` of row ``a`` minus row ``b``, paired on seeds and photos
    (:func:`colorlab.evidence.difference`)."""
    return evidence.difference(rows, metric, a, b)


def shift(interval: stats.Interval, by: float) -> stats.Interval:
    """``interval`` minus ``by`` (a chroma ratio against 1, say).

    Example:
        >>> shift((0.7, 0.6, 0.8), 1.0)
        (-0.30000000000000004, -0.4, -0.19999999999999996)
    """
    return (interval[0] - by, interval[1] - by, interval[2] - by)


def verdict_of(interval: stats.Interval, claimed: str = ">", margin: float = 0.0) -> str:
    """The verdict of a difference's interval whose claimed sign is ``claimed`` (``">"`` or ``"<"``):
    :func:`colorlab.stats.decide` in this module's words.

    Example:
        >>> verdict_of((0.02, 0.01, 0.03)), verdict_of((0.0, -0.01, 0.01)), verdict_of((0.02, 0.01, 0.03), "<")
        ('reproduced', 'inconclusive at this scale', 'not reproduced')
    """
    return {stats.REPRODUCED: REPRODUCED, stats.NOT_REPRODUCED: NOT_REPRODUCED,
            stats.INCONCLUSIVE: INCONCLUSIVE}[stats.decide(interval[1], interval[2], claimed, margin)]


def combine(*verdicts: str) -> str:
    """A claim with several parts: not reproduced if any part is, reproduced if all are,
    inconclusive otherwise.

    Example:
        >>> combine(REPRODUCED, INCONCLUSIVE), combine(REPRODUCED, NOT_REPRODUCED), combine(REPRODUCED)
        ('inconclusive at this scale', 'not reproduced', 'reproduced')
    """
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    return REPRODUCED if verdicts and all(v == REPRODUCED for v in verdicts) else INCONCLUSIVE


def pretrained(rows: pd.DataFrame, column: str) -> tuple[bool, str]:
    """Whether every row's weights record in ``column`` says ImageNet weights were loaded
    (:func:`colorlab.backbones.is_pretrained`: ``imagenet`` or a file; a missing record is not), and
    the records seen, for a claim that needs ImageNet semantics.

    Example:
        >>> pretrained(pd.DataFrame({"w": ["imagenet", "random (asked)"]}), "w")
        (False, 'imagenet, random (asked)')
    """
    seen = list(rows[column]) if column in rows else []
    return bool(seen) and all(is_pretrained(w) for w in seen), ", ".join(sorted({str(w) for w in seen})) or "not recorded"


def _notebook_rows(df: pd.DataFrame, number: str) -> pd.DataFrame:
    return df[df["notebook"].astype(str).str.startswith(number + "_")] if "notebook" in df else df.iloc[0:0]


def _measured_on(rows: pd.DataFrame) -> tuple[str, str]:
    """The seeds and the test set a notebook's per-photo rows come from, in words."""
    seeds = ",".join(str(x) for x in sorted(set(rows["seed"].dropna().astype(int)))) if "seed" in rows else "?"
    data = ", ".join(sorted(set(rows["data"].dropna().astype(str)))) if "data" in rows else "?"
    photos = rows["unit"].nunique() if "unit" in rows else "?"
    tested = rows["fold"].dropna().nunique() if "fold" in rows else 0
    folds = int(rows["folds"].dropna().max()) if "folds" in rows and rows["folds"].notna().any() else 0
    held = f"{photos} held-out photos"
    if folds:
        held += f" (folds of whole photos: {tested} of {folds} tested)" if tested < folds else f" in {folds} folds"
    return seeds, f"{data}: {held}, seeds {seeds}"


def judge(df: pd.DataFrame, claims: Sequence[Claim], profile: str | None = None) -> pd.DataFrame:
    """One row per claim: ``key, source, notebook, claim, evidence, verdict, interval, seeds,
    measured_on`` (:func:`colorlab.methods.all_claims` gives every registered method's claims),
    ``df`` holding the per-photo rows (:func:`colorlab.results.collect` with ``kind="units"``). In
    the smoke profile every claim that ran gets :data:`NOT_EVIDENCE`, its evidence still shown."""
    out = []
    for c in claims:
        rows = _notebook_rows(df, c.notebook)
        interval, seeds, measured_on = "", "", ""
        if rows.empty:
            evidence_, verdict = "notebook not run", NOT_RUN
        else:
            scoped = rows
            for col, values in c.scope.items():
                scoped = scoped[scoped[col].astype(str).isin(values)] if col in scoped else scoped.iloc[0:0]
            seeds, measured_on = _measured_on(scoped if not scoped.empty else rows)
            try:
                decided = c.rule(rows)
                evidence_, verdict, interval = decided.evidence, decided.outcome, decided.interval
            except (KeyError, ValueError, TypeError) as e:
                evidence_, verdict = f"could not evaluate: {e!r}", INCONCLUSIVE
            if profile == "smoke":
                verdict = NOT_EVIDENCE
        out.append({"key": c.key, "source": c.source, "notebook": c.notebook, "claim": c.text,
                    "evidence": evidence_, "verdict": verdict, "interval": interval, "seeds": seeds,
                    "measured_on": measured_on})
    return pd.DataFrame(out)


def paper_table(df: pd.DataFrame, published: Sequence[Published]) -> pd.DataFrame:
    """Each published row beside ours (found in its notebook's rows by its ``match`` columns), with
    the differences in the published unit and what each was measured on; ``NaN`` where we have
    no such row (:func:`colorlab.methods.all_published` gives every registered method's rows).

    Example:
        >>> p = Published("Demo 2020, Table 1", "gray", {"auc": 89.1}, "03", {"variant": "gray"},
        ...               "ImageNet val", scale={"auc": 100.0})
        >>> ours = pd.DataFrame([{"notebook": "03_x", "variant": "gray", "auc": 0.874, "data": "samples", "n_images": 32}])
        >>> paper_table(ours, [p])[["method", "paper_auc", "ours_auc", "diff_auc"]].values.tolist()
        [['gray', 89.1, 87.4, -1.7]]
    """
    out = []
    for p in published:
        r = find_row(_notebook_rows(df, p.notebook), **p.match)
        row: dict[str, object] = {"source": p.source, "method": p.label}
        for metric, value in p.values.items():
            ours = float(r[metric]) * p.scale.get(metric, 1.0) if r is not None and metric in r else math.nan
            row |= {f"paper_{metric}": value, f"ours_{metric}": ours, f"diff_{metric}": ours - value}
        scale = "not run"
        if r is not None:
            n = r.get("n_images")
            photos = r.get("n_photos")
            scale = (f"{r.get('data', '?')}, {int(photos)} held-out photos, seeds {r.get('seeds')}"
                     if photos is not None and pd.notna(photos) else
                     f"{r.get('data', '?')}, {int(n) if n is not None and pd.notna(n) else '?'} test crops")
        out.append(row | {"paper_measured_on": p.measured_on, "ours_measured_on": scale})
    return pd.DataFrame(out).round(2)
