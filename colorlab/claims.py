"""Claims, published values and the machinery that turns measurements into verdicts.

Each method module (:mod:`colorlab.methods`) declares its source's claims as :class:`Claim`
objects: a source document, the notebook that measures it and a rule, a function of that
notebook's rows (a :class:`pandas.DataFrame` as :func:`colorlab.results.collect` returns it)
that gives the evidence in words and one of the verdicts ``reproduced``, ``not reproduced`` or
``inconclusive at this scale``. :func:`judge` applies them; a claim whose notebook has no rows is
``not run``. Differences smaller than the named tolerances below count as no difference
(:func:`compare`): at the scale of the quick profile (a few photos, minutes of CPU training),
such small gaps are within run-to-run noise.

A method also declares the values its source publishes as :class:`Published` rows;
:func:`paper_table` sets them beside ours.

Example:
    >>> claim = Claim("demo", "000", "01", "A is more colourful than B",
    ...               lambda df: ("A 30 vs B 20", REPRODUCED))
    >>> judge(pd.DataFrame(columns=["notebook"]), [claim])["verdict"].tolist()
    ['not run']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .results import find_row

__all__ = [
    "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_RUN", "NOT_EVIDENCE", "DESATURATED_BELOW", "SATURATED_FROM", "AUC_TOL",
    "COLORFULNESS_TOL", "PSNR_TOL", "Claim", "Published", "compare", "missing", "judge", "paper_table",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this scale"
NOT_RUN = "not run"
#: The verdict of every claim in the smoke profile: a few steps show that the code runs, nothing more.
NOT_EVIDENCE = "smoke: not evidence"

#: Chroma ratio (prediction / truth) below which colours count as desaturated.
DESATURATED_BELOW = 0.8
#: Chroma ratio from which colours count as fully saturated (no desaturation).
SATURATED_FROM = 0.95
#: AuC differences (on the [0, 1] scale) smaller than this are ties.
AUC_TOL = 0.005
#: Colourfulness differences (Hasler–Süsstrunk units, 0–255 scale) smaller than this are ties.
COLORFULNESS_TOL = 1.0
#: PSNR differences (dB) smaller than this are ties.
PSNR_TOL = 0.1

Verdict = tuple[str, str]  # (evidence, verdict)


@dataclass(frozen=True)
class Claim:
    """A claim of a source, the notebook (number prefix, e.g. ``"01"``) whose rows test it, and
    its rule: ``rule(rows) -> (evidence, verdict)``."""

    key: str
    source: str
    notebook: str
    text: str
    rule: Callable[[pd.DataFrame], Verdict]


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


def compare(a: float, b: float, tol: float) -> int:
    """+1 if a > b beyond tol, -1 if a < b beyond tol, 0 for a tie; a missing (NaN) value raises
    ``ValueError``, which :func:`judge` turns into an inconclusive verdict."""
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"cannot compare {a} with {b}")
    return 0 if abs(a - b) < tol else (1 if a > b else -1)


def missing(*names: str) -> Verdict:
    """The verdict for rows a rule needs but cannot find."""
    return (f"rows missing: {', '.join(names)}", INCONCLUSIVE)


def _notebook_rows(df: pd.DataFrame, number: str) -> pd.DataFrame:
    return df[df["notebook"].astype(str).str.startswith(number + "_")] if "notebook" in df else df.iloc[0:0]


def judge(df: pd.DataFrame, claims: Sequence[Claim], profile: str | None = None) -> pd.DataFrame:
    """One row per claim: ``key, source, notebook, claim, evidence, verdict``
    (:func:`colorlab.methods.all_claims` gives every registered method's claims). In the smoke
    profile every claim that ran gets :data:`NOT_EVIDENCE`, its evidence still shown."""
    out = []
    for c in claims:
        rows = _notebook_rows(df, c.notebook)
        if rows.empty:
            evidence, verdict = "notebook not run", NOT_RUN
        else:
            try:
                evidence, verdict = c.rule(rows)
            except (KeyError, ValueError, TypeError) as e:
                evidence, verdict = f"could not evaluate: {e!r}", INCONCLUSIVE
            if profile == "smoke":
                verdict = NOT_EVIDENCE
        out.append({"key": c.key, "source": c.source, "notebook": c.notebook, "claim": c.text,
                    "evidence": evidence, "verdict": verdict})
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
            scale = f"{r.get('data', '?')}, {int(n) if n is not None and pd.notna(n) else '?'} test crops"
        out.append(row | {"paper_measured_on": p.measured_on, "ours_measured_on": scale})
    return pd.DataFrame(out).round(2)
