"""Published values of the sources and the table that sets ours beside them.

Each source's tables are :class:`Published` rows; :func:`paper_table` finds our row for each in
the notebooks' summary rows. ``paper.csv`` and the summary show it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .results import find_row

__all__ = ["Published", "notebook_rows", "paper_table"]


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


def notebook_rows(df: pd.DataFrame, number: str) -> pd.DataFrame:
    """The rows of the notebook numbered ``number`` (``"03"``) in a table with a ``notebook`` column.

    Example:
        >>> notebook_rows(pd.DataFrame({"notebook": ["03_zhang", "04_unet"], "x": [1, 2]}), "03")["x"].tolist()
        [1]
    """
    return df[df["notebook"].astype(str).str.startswith(number + "_")] if "notebook" in df else df.iloc[0:0]


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
        r = find_row(notebook_rows(df, p.notebook), **p.match)
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
