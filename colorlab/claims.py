"""The sources' central claims and the rules that turn measurements into verdicts.

Each :class:`Claim` names its source document, the notebook that measures it and a rule:
a function of that notebook's rows (a :class:`pandas.DataFrame` as
:func:`colorlab.results.collect` returns it) that gives the evidence in words and one of
the verdicts ``reproduced``, ``not reproduced`` or ``inconclusive at this scale``. A claim
whose notebook has no rows is ``not run``. Differences smaller than the named tolerances
below count as no difference: at the scale of the quick profile (a few photos, minutes of
CPU training), such small gaps are within run-to-run noise.

Rows are found by their ``method`` and ``variant`` columns (and ``decode`` and ``boost``
where a notebook has them); the notebooks write them under these names.

Example:
    >>> judge(pd.DataFrame(columns=["notebook"]))["verdict"].unique().tolist()
    ['not run']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .results import find_row

__all__ = ["REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_RUN", "Claim", "CLAIMS", "judge"]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this scale"
NOT_RUN = "not run"

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
    key: str
    source: str
    notebook: str  # number prefix, e.g. "01"
    text: str
    rule: Callable[[pd.DataFrame], Verdict]


def _cmp(a: float, b: float, tol: float) -> int:
    """+1 if a > b beyond tol, -1 if a < b beyond tol, 0 for a tie; a missing (NaN) value raises
    ``ValueError``, which :func:`judge` turns into an inconclusive verdict."""
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"cannot compare {a} with {b}")
    return 0 if abs(a - b) < tol else (1 if a > b else -1)


def _missing(*names: str) -> Verdict:
    return (f"rows missing: {', '.join(names)}", INCONCLUSIVE)


def regression_desaturates(df: pd.DataFrame) -> Verdict:
    rows = {v: find_row(df, method="yuv_regression", variant=v) for v in ("l1", "l2")}
    if any(r is None for r in rows.values()):
        return _missing(*(f"yuv_regression/{v}" for v, r in rows.items() if r is None))
    ratios = {v: float(r["chroma_ratio"]) for v, r in rows.items()}
    gaps = {v: float(r["colorfulness_gap"]) for v, r in rows.items()}
    evidence = "; ".join(
        f"{v.upper()}: chroma ratio {ratios[v]:.2f}, colourfulness gap {gaps[v]:+.1f}" for v in rows
    )
    if all(r < DESATURATED_BELOW and gaps[v] < -COLORFULNESS_TOL for v, r in ratios.items()):
        return evidence, REPRODUCED
    if any(r >= SATURATED_FROM for r in ratios.values()):
        return evidence, NOT_REPRODUCED
    return evidence, INCONCLUSIVE


def boosting_adds_no_information(df: pd.DataFrame) -> Verdict:
    if "boost" not in df.columns or df.empty:
        return _missing("saturation_boost rows with a boost column")
    d = df[df["method"] == "saturation_boost"].copy()
    d["boost"] = d["boost"].astype(float)
    base = d[d["boost"] == 1.0]
    boosted = d[d["boost"] > 1.0]
    if base.empty or boosted.empty:
        return _missing("boost 1.0 and boosts > 1.0")
    b = base.iloc[0]
    best_gap = boosted.loc[boosted["colorfulness_gap"].abs().idxmin()]
    best_auc = float(boosted["auc"].max())
    evidence = (
        f"unboosted: colourfulness gap {b['colorfulness_gap']:+.1f}, AuC {b['auc']:.3f}; "
        f"boost {best_gap['boost']:g} ({best_gap.get('space', '')}) brings the gap to "
        f"{best_gap['colorfulness_gap']:+.1f}; best AuC over boosts {best_auc:.3f}"
    )
    more_colour = _cmp(float(boosted["colorfulness"].max()), float(b["colorfulness"]), COLORFULNESS_TOL) > 0
    closer = abs(float(best_gap["colorfulness_gap"])) + COLORFULNESS_TOL < abs(float(b["colorfulness_gap"]))
    no_gain = _cmp(best_auc, float(b["auc"]), AUC_TOL) <= 0
    if more_colour and closer and no_gain:
        return evidence, REPRODUCED
    if not more_colour or not no_gain:
        return evidence, NOT_REPRODUCED
    return evidence, INCONCLUSIVE


def rebalancing_is_more_vivid(df: pd.DataFrame) -> Verdict:
    full = find_row(df, method="zhang", variant="full", decode="annealed")
    cls = find_row(df, method="zhang", variant="class", decode="annealed")
    if full is None or cls is None:
        return _missing("zhang/full/annealed", "zhang/class/annealed")
    rebal = _cmp(float(full["auc_rebal"]), float(cls["auc_rebal"]), AUC_TOL)
    vivid = _cmp(float(full["colorfulness"]), float(cls["colorfulness"]), COLORFULNESS_TOL)
    raw = _cmp(float(full["auc"]), float(cls["auc"]), AUC_TOL)
    evidence = (
        f"rebalanced vs plain classification: rebalanced AuC {full['auc_rebal']:.3f} vs {cls['auc_rebal']:.3f}, "
        f"colourfulness {full['colorfulness']:.1f} vs {cls['colorfulness']:.1f}, raw AuC {full['auc']:.3f} vs {cls['auc']:.3f}"
        + (" (raw AuC lower, as the paper reports)" if raw < 0 else "")
    )
    if rebal > 0 and vivid > 0:
        return evidence, REPRODUCED
    if rebal < 0 and vivid < 0:
        return evidence, NOT_REPRODUCED
    return evidence, INCONCLUSIVE


def annealed_mean_in_between(df: pd.DataFrame) -> Verdict:
    rows = {d: find_row(df, method="zhang", variant="full", decode=d) for d in ("mode", "annealed", "mean")}
    if any(r is None for r in rows.values()):
        return _missing(*(f"zhang/full/{d}" for d, r in rows.items() if r is None))
    cf = {d: float(r["colorfulness"]) for d, r in rows.items()}
    T = float(rows["annealed"].get("temperature", float("nan")))
    evidence = f"colourfulness mode {cf['mode']:.1f}, annealed (T = {T:g}) {cf['annealed']:.1f}, mean {cf['mean']:.1f}"
    spread = _cmp(cf["mode"], cf["mean"], COLORFULNESS_TOL)
    above_mean = _cmp(cf["annealed"], cf["mean"], COLORFULNESS_TOL)
    below_mode = _cmp(cf["mode"], cf["annealed"], COLORFULNESS_TOL)
    if spread < 0 or above_mean < 0 or below_mode < 0:  # mean more vivid than mode, or annealed outside
        return evidence, NOT_REPRODUCED
    if spread > 0:
        return evidence, REPRODUCED
    return evidence, INCONCLUSIVE  # mode and mean alike: nothing to lie between


def classification_beats_regression_on_colour(df: pd.DataFrame) -> Verdict:
    l2 = find_row(df, method="zhang", variant="l2")
    full = find_row(df, method="zhang", variant="full", decode="annealed")
    if l2 is None or full is None:
        return _missing("zhang/l2", "zhang/full/annealed")
    vivid = _cmp(float(full["colorfulness"]), float(l2["colorfulness"]), COLORFULNESS_TOL)
    evidence = (
        f"colourfulness full {full['colorfulness']:.1f} vs L2 {l2['colorfulness']:.1f}; chroma ratio "
        f"{full['chroma_ratio']:.2f} vs {l2['chroma_ratio']:.2f}"
    )
    return evidence, {1: REPRODUCED, -1: NOT_REPRODUCED, 0: INCONCLUSIVE}[vivid]


def batchnorm_over_instancenorm(df: pd.DataFrame) -> Verdict:
    bn = find_row(df, method="yuv_regression", variant="l1")
    inn = find_row(df, method="yuv_regression", variant="l1_instancenorm")
    if bn is None or inn is None:
        return _missing("yuv_regression/l1", "yuv_regression/l1_instancenorm")
    auc = _cmp(float(bn["auc"]), float(inn["auc"]), AUC_TOL)
    psnr = _cmp(float(bn["psnr"]), float(inn["psnr"]), PSNR_TOL)
    evidence = f"batch norm vs instance norm: AuC {bn['auc']:.3f} vs {inn['auc']:.3f}, PSNR {bn['psnr']:.2f} vs {inn['psnr']:.2f} dB"
    if auc >= 0 and psnr >= 0 and (auc + psnr) > 0:
        return evidence, REPRODUCED
    if auc <= 0 and psnr <= 0 and (auc + psnr) < 0:
        return evidence, NOT_REPRODUCED
    return evidence, INCONCLUSIVE


CLAIMS: list[Claim] = [
    Claim("regression_desaturates", "000", "01",
          "L1/L2 regression on U,V gives desaturated colours", regression_desaturates),
    Claim("batchnorm", "002", "01",
          "batch normalisation instead of instance normalisation colours better", batchnorm_over_instancenorm),
    Claim("boosting", "000", "02",
          "boosting saturation closes the colourfulness gap of a desaturated result without adding information",
          boosting_adds_no_information),
    Claim("rebalancing", "000", "03",
          "class rebalancing gives more vivid colours and a higher rebalanced AuC", rebalancing_is_more_vivid),
    Claim("annealed_mean", "000", "03",
          "the annealed mean (T = 0.38) lies between the mode's vividness and the mean's smoothness",
          annealed_mean_in_between),
    Claim("classification_vs_l2", "000", "03",
          "classification gives more colourful results than L2 regression with the same network",
          classification_beats_regression_on_colour),
]


def judge(df: pd.DataFrame, claims: list[Claim] | None = None) -> pd.DataFrame:
    """One row per claim: ``source, notebook, claim, evidence, verdict``."""
    out = []
    for c in claims if claims is not None else CLAIMS:
        rows = df[df["notebook"].astype(str).str.startswith(c.notebook + "_")] if "notebook" in df else df.iloc[0:0]
        if rows.empty:
            evidence, verdict = "notebook not run", NOT_RUN
        else:
            try:
                evidence, verdict = c.rule(rows)
            except (KeyError, ValueError, TypeError) as e:
                evidence, verdict = f"could not evaluate: {e!r}", INCONCLUSIVE
        out.append({"key": c.key, "source": c.source, "notebook": c.notebook, "claim": c.text,
                    "evidence": evidence, "verdict": verdict})
    return pd.DataFrame(out)
