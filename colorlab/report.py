"""The results report: three tables built from every ``metrics.json`` of a profile.

1. the main table: one row per method and decoding variant with its metrics, size, cost
   and device;
2. the paper-comparison table: each method's published values beside ours;
3. the claims table: each method's claims, verdicts computed by its rules (:mod:`colorlab.claims`).

:func:`write` puts them into ``results/<profile>/summary.md`` and ``summary.csv`` (the main
table), plus ``paper.csv`` and ``claims.csv``.

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> _ = results.save("01_yuv_regression", [{"method": "yuv_regression", "variant": "l1", "auc": 0.9}], {},
    ...                  profile="smoke", root=root)
    >>> tables = build("smoke", root)
    >>> tables["main"][["notebook", "method", "auc"]].values.tolist()
    [['01_yuv_regression', 'yuv_regression', 0.9]]
    >>> tables["claims"].set_index("key").loc["regression_desaturates", "verdict"]  # no l2 row
    'inconclusive at this scale'
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from . import claims, methods, results

__all__ = ["MAIN_COLUMNS", "main_table", "build", "write", "to_markdown"]

MAIN_COLUMNS = [
    "notebook", "method", "variant", "decode", "auc", "auc_rebal", "psnr", "ssim", "colorfulness",
    "colorfulness_gap", "chroma_ratio", "params", "train_seconds", "images_per_second", "device",
    "data", "n_images",
]


def main_table(df: pd.DataFrame) -> pd.DataFrame:
    """The main table's columns (missing ones empty), rows in notebook order."""
    out = df.reindex(columns=MAIN_COLUMNS)
    return out.reset_index(drop=True)


def _run_log(profile: str, root: str | os.PathLike | None) -> pd.DataFrame:
    path = results.results_root(root) / profile / "run.json"
    if not path.exists():
        return pd.DataFrame(columns=["notebook", "status", "seconds", "error"])
    return pd.DataFrame(json.loads(path.read_text()).get("notebooks", []))


def build(profile: str, root: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """``{"main", "paper", "claims", "runs"}`` tables for one profile."""
    df = results.collect(root, profile=profile)
    return {
        "main": main_table(df),
        "paper": claims.paper_table(df, methods.all_published()),
        "claims": claims.judge(df, methods.all_claims()),
        "runs": _run_log(profile, root),
    }


def _fmt(x: object) -> object:
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3g}"
    return x


def to_markdown(df: pd.DataFrame) -> str:
    """A table as GitHub markdown with numbers to four significant digits."""
    if df.empty:
        return "_(empty)_"
    return df.map(_fmt).to_markdown(index=False)


def write(profile: str, root: str | os.PathLike | None = None) -> Path:
    """Write ``summary.md``, ``summary.csv``, ``paper.csv`` and ``claims.csv`` for a profile; return
    the path of ``summary.md``."""
    tables = build(profile, root)
    out = results.results_root(root) / profile
    out.mkdir(parents=True, exist_ok=True)
    tables["main"].to_csv(out / "summary.csv", index=False)
    tables["paper"].to_csv(out / "paper.csv", index=False)
    tables["claims"].to_csv(out / "claims.csv", index=False)
    runs = tables["runs"]
    failed = runs[runs["status"] != "ok"] if not runs.empty else runs
    parts = [
        f"# colorlab results: profile `{profile}`",
        "",
        f"Produced by `colorlab run --profile {profile}` (or `colorlab report --profile {profile}` over existing "
        "results). Every number below comes from the `metrics.json` files beside this summary; "
        "verdicts are computed by the rules in the method modules (`colorlab/methods/`).",
        "",
        "## Claims",
        "",
        to_markdown(tables["claims"].drop(columns=["key"])),
        "",
        "## Main table",
        "",
        "AuC and rebalanced AuC on [0, 1] (Zhang et al. 2016 protocol: ab error thresholds 0..150); "
        "PSNR in dB and SSIM on RGB; colourfulness after Hasler and Süsstrunk (CT2/DDColor variant) "
        "and its gap to the ground truth; chroma ratio prediction / truth.",
        "",
        to_markdown(tables["main"].dropna(axis=1, how="all")),
        "",
        "## Comparison with the published values",
        "",
        to_markdown(tables["paper"]),
        "",
        "## Runs",
        "",
        to_markdown(runs) if not runs.empty else "_(no run log: results were collected as found)_",
    ]
    if not failed.empty:
        parts += ["", f"**Failed: {', '.join(failed['notebook'])}** (see their executed notebooks)."]
    path = out / "summary.md"
    path.write_text("\n".join(parts) + "\n")
    return path
