"""Claims, published values and the machinery that turns measurements into verdicts.

Each source's claims are :class:`Claim` objects: a rule that reads a notebook's per-photo rows and
gives a :class:`Verdict`. A verdict rests on a 95 % bootstrap interval, never on two means
(:func:`interval_of`, :func:`difference_of`, :func:`verdict_of`). :func:`judge` applies the rules,
and :func:`paper_table` sets a source's :class:`Published` values beside ours. ``docs/metrics.md``
gives the rules for intervals, margins and the rebalanced AuC.

Example:
    >>> claim = Claim("demo", "000", "01", "A is more colourful than B",
    ...               lambda df, margins: Verdict("A 30 vs B 20", REPRODUCED), margins=margins_for("colorfulness"))
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
from .margins import MARGINS, Margin, margin_text, margins_for
from .results import find_row

__all__ = [
    "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_RUN", "NOT_EVIDENCE", "NOT_DESATURATED_FROM", "AUC_MARGIN",
    "PSNR_MARGIN", "MIN_EFF_PIXELS", "Margin", "MARGINS", "margins_for", "margin_text", "Verdict", "Claim",
    "Published", "missing", "interval_of", "difference_of", "verdict_of", "combine", "shift", "pretrained", "judge",
    "paper_table",
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
#: Effective pixels ``(Σw)² / Σw²`` per run below which the rebalanced AuC carries no verdict
#: (``docs/metrics.md`` says why).
MIN_EFF_PIXELS = 1000


@dataclass(frozen=True)
class Verdict:
    """What a claim's rule decides on a notebook's rows.

    Args:
        evidence: the measurements the decision rests on, in words.
        outcome: :data:`REPRODUCED`, :data:`NOT_REPRODUCED` or :data:`INCONCLUSIVE`.
        interval: the decisive interval(s), in words (``claims.csv``'s ``interval``).
        measured_on: what it was measured on, when not the notebook's photos and seeds (a timing
            protocol, say): ``claims.csv``'s ``measured_on``, with no seeds or photos.

    Example:
        >>> Verdict("A 30 vs B 20", REPRODUCED).outcome
        'reproduced'
    """

    evidence: str
    outcome: str
    interval: str = ""
    measured_on: str = ""


@dataclass(frozen=True)
class Claim:
    """A claim of a source, and the rule that decides it on a notebook's per-photo rows.

    Args:
        key: a short name, unique in the study.
        source: the source document's number (``"000"``).
        notebook: the number prefix of the notebook whose rows test it (``"01"``).
        text: the claim, in words.
        rule: ``rule(rows, margins) -> Verdict``, given the notebook's per-photo rows and the
            claim's ``margins``.
        scope: column -> values: narrows the rows its "measured on" line describes, when the
            notebook scores some models on another test set.
        margins: measure -> the smallest effect that counts (:func:`margins_for`), declared before
            the run; empty for a rule with a protocol of its own (a timing, say).
        rule_version: raised whenever the rule, its margins or a decoding it reads change; the
            changes are in docs/results.md's rule history.
        kind: ``"source"`` (a source's claim), ``"positive control"`` or ``"negative control"``.
    """

    key: str
    source: str
    notebook: str
    text: str
    rule: Callable[[pd.DataFrame, Mapping[str, float]], Verdict]
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    margins: Mapping[str, float] = field(default_factory=dict)
    rule_version: int = 1
    kind: str = "source"


@dataclass(frozen=True)
class Published:
    """A row of a published table, and how to find our row to set beside it.

    Args:
        source: the paper and table, in words.
        label: the row's label there.
        values: the published values, by our metric name.
        notebook: the number prefix of the notebook with our row.
        match: the columns that find our row.
        measured_on: what the paper measured it on.
        scale: by metric, the factor that turns our metric into the published unit (100 for
            percent); 1 where not given.
    """

    source: str
    label: str
    values: Mapping[str, float]
    notebook: str
    match: Mapping[str, str]
    measured_on: str
    scale: Mapping[str, float] = field(default_factory=dict)


def missing(*names: str) -> Verdict:
    """The verdict for rows a rule needs but cannot find: inconclusive, naming them.

    Args:
        names: the rows missing, in words.

    Returns:
        The verdict.

    Example:
        >>> missing("zhang/l2").outcome
        'inconclusive at this scale'
    """
    return Verdict(f"rows missing: {', '.join(names)}", INCONCLUSIVE)


def interval_of(rows: pd.DataFrame, metric: str, **match: object) -> stats.Interval:
    """A model row's mean of a metric over seeds and photos, with its 95 % bootstrap interval.

    See :func:`colorlab.evidence.estimate`.

    Args:
        rows: a notebook's per-photo rows.
        metric: the column.
        match: the columns that pick the model row.

    Returns:
        ``(mean, low, high)``.

    Raises:
        KeyError: if no row matches, or there is no such column.
    """
    return evidence.estimate(rows, metric, **match)


def difference_of(rows: pd.DataFrame, metric: str, a: Mapping[str, object],
                  b: Mapping[str, object]) -> stats.Interval:
    """The difference of a metric, row ``a`` minus row ``b``, paired on seeds and photos.

    See :func:`colorlab.evidence.difference`.

    Args:
        rows: a notebook's per-photo rows.
        metric: the column.
        a: the columns that pick the first row.
        b: the columns that pick the second row.

    Returns:
        ``(mean, low, high)``.

    Raises:
        KeyError: if no row matches ``a`` or ``b``.
        ValueError: if they share no seed and photo.
    """
    return evidence.difference(rows, metric, a, b)


def shift(interval: stats.Interval, by: float) -> stats.Interval:
    """Shift an interval by a value, to compare it with that value (a chroma ratio with 1, say).

    Args:
        interval: ``(mean, low, high)``.
        by: subtracted from all three.

    Returns:
        ``(mean - by, low - by, high - by)``.

    Example:
        >>> shift((0.7, 0.6, 0.8), 1.0)
        (-0.30000000000000004, -0.4, -0.19999999999999996)
    """
    return (interval[0] - by, interval[1] - by, interval[2] - by)


def verdict_of(interval: stats.Interval, claimed: str = ">", margin: float = 0.0) -> str:
    """The verdict of a difference's interval: :func:`colorlab.stats.decide` in this module's words.

    Reproduced beyond ``margin`` on the claimed side; not reproduced wholly on the other side of
    zero or wholly inside ``±margin``; inconclusive otherwise.

    Args:
        interval: ``(mean, low, high)`` of the difference.
        claimed: the claimed sign, ``">"`` or ``"<"``.
        margin: the smallest effect that counts (the claim's, :attr:`Claim.margins`).

    Returns:
        :data:`REPRODUCED`, :data:`NOT_REPRODUCED` or :data:`INCONCLUSIVE`.

    Raises:
        ValueError: for a bad ``claimed``, or an interval whose low bound is above its high one.

    Example:
        >>> verdict_of((0.02, 0.01, 0.03)), verdict_of((0.0, -0.01, 0.01)), verdict_of((0.02, 0.01, 0.03), "<")
        ('reproduced', 'inconclusive at this scale', 'not reproduced')
    """
    return {stats.REPRODUCED: REPRODUCED, stats.NOT_REPRODUCED: NOT_REPRODUCED,
            stats.INCONCLUSIVE: INCONCLUSIVE}[stats.decide(interval[1], interval[2], claimed, margin)]


def combine(*verdicts: str) -> str:
    """The verdict of a claim with several parts.

    Args:
        verdicts: the verdict of each part.

    Returns:
        Not reproduced if any part is, reproduced if all are, inconclusive otherwise (and for no
        parts).

    Example:
        >>> combine(REPRODUCED, INCONCLUSIVE), combine(REPRODUCED, NOT_REPRODUCED), combine(REPRODUCED)
        ('inconclusive at this scale', 'not reproduced', 'reproduced')
    """
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    return REPRODUCED if verdicts and all(v == REPRODUCED for v in verdicts) else INCONCLUSIVE


def pretrained(rows: pd.DataFrame, column: str) -> tuple[bool, str]:
    """Whether every row's weights record says ImageNet weights were loaded.

    A claim that needs ImageNet semantics asks this. A record counts when
    :func:`colorlab.backbones.is_pretrained` says so (``imagenet`` or a file); a missing record
    does not.

    Args:
        rows: the rows the claim rests on.
        column: the column with the weights record (``encoder_weights``, ``backbone_weights``).

    Returns:
        ``(pretrained, seen)``: whether all were, and the records seen (``"not recorded"`` when
        none).

    Example:
        >>> pretrained(pd.DataFrame({"w": ["imagenet", "random (asked)"]}), "w")
        (False, 'imagenet, random (asked)')
    """
    seen = list(rows[column]) if column in rows else []
    return (bool(seen) and all(is_pretrained(w) for w in seen),
            ", ".join(sorted({str(w) for w in seen})) or "not recorded")


def _notebook_rows(df: pd.DataFrame, number: str) -> pd.DataFrame:
    return df[df["notebook"].astype(str).str.startswith(number + "_")] if "notebook" in df else df.iloc[0:0]


def _measured_on(rows: pd.DataFrame) -> tuple[str, str]:
    """The seeds and the test set a notebook's per-photo rows come from, in words (with the seeds that
    scored each photo)."""
    seeds = ",".join(str(x) for x in sorted(set(rows["seed"].dropna().astype(int)))) if "seed" in rows else "?"
    data = ", ".join(sorted(set(rows["data"].dropna().astype(str)))) if "data" in rows else "?"
    photos = rows["unit"].nunique() if "unit" in rows else "?"
    tested = rows["fold"].dropna().nunique() if "fold" in rows else 0
    folds = int(rows["folds"].dropna().max()) if "folds" in rows and rows["folds"].notna().any() else 0
    held = f"{photos} held-out photos"
    if folds:
        held += f" (folds of whole photos: {tested} of {folds} tested)" if tested < folds else f" in {folds} folds"
    per_photo = evidence.seeds_per_photo(rows) if {"seed", "unit"} <= set(rows.columns) else "?"
    return seeds, f"{data}: {held}, seeds {seeds} ({per_photo} per photo)"


def judge(df: pd.DataFrame, claims: Sequence[Claim], profile: str | None = None,
          stopped: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Apply every claim's rule to its notebook's rows.

    A claim whose notebook has no rows is :data:`NOT_RUN`, or, when its last run failed or was
    interrupted, ``failed`` or ``interrupted`` with the error as its evidence. A rule that raises
    ``KeyError``, ``ValueError`` or ``TypeError`` gives :data:`INCONCLUSIVE`, with the error as its
    evidence. In the smoke profile every claim that ran gets :data:`NOT_EVIDENCE`, its evidence
    still shown.

    Args:
        df: the per-photo rows of every notebook (:func:`colorlab.results.collect` with
            ``kind="units"``), with a ``notebook`` column.
        claims: the claims (:func:`colorlab.papers.all_claims` gives every source's).
        profile: the profile the rows come from; ``"smoke"`` gives no verdicts.
        stopped: the notebooks whose last run did not end well (``run.json``), by name
            (``"01_yuv_regression"``): ``(status, error)``.

    Returns:
        One row per claim: ``key, source, notebook, kind, claim, evidence, verdict, interval, margin,
        rule_version, seeds, seeds_per_photo, n_photos, measured_on``.

    Example:
        >>> claim = Claim("demo", "000", "01", "A is more colourful than B", lambda df, m: Verdict("", REPRODUCED))
        >>> out = judge(pd.DataFrame(columns=["notebook"]), [claim], stopped={"01_x": ("failed", "OSError: disk")})
        >>> out[["verdict", "evidence"]].values.tolist()
        [['failed', 'notebook failed: OSError: disk']]
    """
    ended = {name.split("_", 1)[0]: how for name, how in (stopped or {}).items()}
    out = []
    for c in claims:
        rows = _notebook_rows(df, c.notebook)
        interval, seeds, measured_on, per_photo, photos = "", "", "", None, None
        if rows.empty and c.notebook in ended:
            status, error = ended[c.notebook]
            verdict = status
            evidence_ = f"notebook {status}" + (f": {str(error).strip().splitlines()[0]}" if str(error).strip() else "")
        elif rows.empty:
            evidence_, verdict = "notebook not run", NOT_RUN
        else:
            scoped = rows
            for col, values in c.scope.items():
                scoped = scoped[scoped[col].astype(str).isin(values)] if col in scoped else scoped.iloc[0:0]
            measured = scoped if not scoped.empty else rows
            seeds, measured_on = _measured_on(measured)
            if {"seed", "unit"} <= set(measured.columns):
                per_photo, photos = evidence.seeds_per_photo(measured), int(measured["unit"].nunique())
            try:
                decided = c.rule(rows, c.margins)
                evidence_, verdict, interval = decided.evidence, decided.outcome, decided.interval
                if decided.measured_on:  # its own protocol, not the photos and seeds
                    measured_on, seeds, per_photo, photos = decided.measured_on, "", None, None
            except (KeyError, ValueError, TypeError) as e:
                evidence_, verdict = f"could not evaluate: {e!r}", INCONCLUSIVE
            if profile == "smoke":
                verdict = NOT_EVIDENCE
        out.append({"key": c.key, "source": c.source, "notebook": c.notebook, "kind": c.kind, "claim": c.text,
                    "evidence": evidence_, "verdict": verdict, "interval": interval, "margin": margin_text(c.margins),
                    "rule_version": c.rule_version, "seeds": seeds, "seeds_per_photo": per_photo,
                    "n_photos": photos, "measured_on": measured_on})
    return pd.DataFrame(out)


def paper_table(df: pd.DataFrame, published: Sequence[Published]) -> pd.DataFrame:
    """Set each published row beside ours.

    Our row is found in its notebook's rows by the ``match`` columns.

    Args:
        df: the summary rows of every notebook, with a ``notebook`` column.
        published: the published rows (:func:`colorlab.papers.all_published` gives every source's).

    Returns:
        One row per published row: ``paper_<metric>``, ``ours_<metric>`` and ``diff_<metric>`` in
        the published unit (``NaN`` where we have no such row), and what each was measured on;
        rounded to 2 digits.

    Example:
        >>> p = Published("Demo 2020, Table 1", "gray", {"auc": 89.1}, "03", {"variant": "gray"},
        ...               "ImageNet val", scale={"auc": 100.0})
        >>> ours = pd.DataFrame([{"notebook": "03_x", "variant": "gray", "auc": 0.874, "data": "samples",
        ...                       "n_images": 32}])
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
