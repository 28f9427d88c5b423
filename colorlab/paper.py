"""Values the sources publish, for the paper-comparison table.

Zhang, Isola and Efros 2016, "Colorful Image Colorization" (ECCV), Table 1: AuC of the
per-pixel ab-error CDF over thresholds 0..150, raw and class-rebalanced, in percent, on
ImageNet validation images (models trained on 1.3M ImageNet images). These are the
paper's well-known figures as recorded in ``shared/reference/published.md`` (recalled,
not re-read from the PDF). Our rows are matched by ``(method, variant, decode)``.
"""

from __future__ import annotations

import pandas as pd

from .results import find_row

__all__ = ["ZHANG_2016_TABLE1", "paper_table"]

#: (label, AuC %, rebalanced AuC %, our (method, variant, decode) or None)
ZHANG_2016_TABLE1: list[tuple[str, float, float, tuple[str, str, str | None]]] = [
    ("ground truth", 100.0, 100.0, ("reference", "ground_truth", None)),
    ("gray", 89.1, 58.0, ("reference", "gray", None)),
    ("random", 84.2, 57.3, ("reference", "random", None)),
    ("Zhang L2", 91.2, 64.4, ("zhang", "l2", None)),
    ("Zhang class", 91.6, 65.1, ("zhang", "class", "annealed")),
    ("Zhang full (class + rebalancing)", 89.5, 67.3, ("zhang", "full", "annealed")),
]
_PAPER_SCALE = "ImageNet val, trained on 1.3M ImageNet images, 176-256 px, full-width VGG-style net"


def paper_table(df: pd.DataFrame, notebook_prefix: str = "03_") -> pd.DataFrame:
    """Zhang et al. 2016 Table 1 beside our rows of notebook 03, with the differences (percentage
    points) and the data and scale each was measured on."""
    ours_df = df[df["notebook"].astype(str).str.startswith(notebook_prefix)] if "notebook" in df else df.iloc[0:0]
    out = []
    for label, auc, rebal, key in ZHANG_2016_TABLE1:
        method, variant, decode = key
        where = {"method": method, "variant": variant} | ({"decode": decode} if decode is not None else {})
        r = find_row(ours_df, **where)
        ours_auc = 100 * float(r["auc"]) if r is not None else float("nan")
        ours_rebal = 100 * float(r["auc_rebal"]) if r is not None and "auc_rebal" in r else float("nan")
        scale = "not run"
        if r is not None:
            scale = f"{r.get('data', '?')}, {int(r['n_images']) if 'n_images' in r and pd.notna(r['n_images']) else '?'} test crops"
        out.append({
            "source": "Zhang et al. 2016, Table 1",
            "method": label,
            "paper_auc": auc,
            "ours_auc": ours_auc,
            "diff_auc": ours_auc - auc,
            "paper_auc_rebal": rebal,
            "ours_auc_rebal": ours_rebal,
            "diff_auc_rebal": ours_rebal - rebal,
            "paper_measured_on": _PAPER_SCALE,
            "ours_measured_on": scale,
        })
    return pd.DataFrame(out).round(2)
