"""Claims, published values and the machinery that turns measurements into verdicts.

Each source's claims are :class:`Claim` objects: a rule that reads a notebook's per-photo rows and
gives a :class:`Verdict`. A verdict rests on a 95 % bootstrap interval, never on two means
(:func:`interval_of`, :func:`difference_of`, :func:`verdict_of`). :func:`judge` applies the rules,
and :func:`paper_table` (:mod:`colorlab.published`) sets a source's :class:`Published` values
beside ours. ``docs/metrics.md``
gives the rules for intervals, margins and the rebalanced AuC.

Example:
    >>> claim = Claim("demo", "000", "01", "A is more colourful than B",
    ...               lambda df, margins: Verdict("A 30 vs B 20", REPRODUCED), margins=margins_for("colorfulness"))
    >>> judge(pd.DataFrame(columns=["notebook"]), [claim])["verdict"].tolist()
    ['not run']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from . import evidence, stats
from .backbones import is_pretrained
from .margins import MARGINS, Margin, margin_text, margins_for
from .published import Published, notebook_rows, paper_table

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


def _measured_on(rows: pd.DataFrame) -> tuple[str, str, int | None, int | None]:
    """The seeds and the test set a notebook's per-photo rows come from, in words (with the seeds that
    scored each photo); the fewest seeds that scored a photo, and the photos (``None`` without them)."""
    seeds = ",".join(str(x) for x in sorted(set(rows["seed"].dropna().astype(int)))) if "seed" in rows else "?"
    data = ", ".join(sorted(set(rows["data"].dropna().astype(str)))) if "data" in rows else "?"
    photos = rows["unit"].nunique() if "unit" in rows else "?"
    tested = rows["fold"].dropna().nunique() if "fold" in rows else 0
    folds = int(rows["folds"].dropna().max()) if "folds" in rows and rows["folds"].notna().any() else 0
    held = f"{photos} held-out photos"
    if folds:
        held += f" (folds of whole photos: {tested} of {folds} tested)" if tested < folds else f" in {folds} folds"
    scored = {"seed", "unit"} <= set(rows.columns)
    per_photo = evidence.seeds_per_photo(rows) if scored else None
    text = f"{data}: {held}, seeds {seeds} ({'?' if per_photo is None else per_photo} per photo)"
    return seeds, text, per_photo, int(photos) if scored else None


def _stable(claim: Claim, rows: pd.DataFrame) -> Verdict:
    """A claim's verdict that does not depend on the bootstrap's draws: decided again with another
    resampling seed, and on ten times the replicates when the two disagree."""
    decided = claim.rule(rows, claim.margins)
    with stats.resampling(seed=1):
        again = claim.rule(rows, claim.margins)
    if again.outcome == decided.outcome:
        return decided
    more = 10 * stats.N_BOOT
    with stats.resampling(n_boot=more):
        decided = claim.rule(rows, claim.margins)
    return replace(decided, evidence=f"{decided.evidence} (decided on {more:,} bootstrap replicates: on "
                                     f"{stats.N_BOOT:,} the verdict depended on the resampling's seed)")


def judge(df: pd.DataFrame, claims: Sequence[Claim], profile: str | None = None,
          stopped: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Apply every claim's rule to its notebook's rows.

    Each rule is applied twice, with two resampling seeds; where the verdicts differ, it is
    decided on ten times the replicates, and its evidence says so. A claim whose notebook has no
    rows is :data:`NOT_RUN`, or, when its last run failed or was
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
        rows = notebook_rows(df, c.notebook)
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
            seeds, measured_on, per_photo, photos = _measured_on(measured)
            try:
                decided = _stable(c, rows)
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
