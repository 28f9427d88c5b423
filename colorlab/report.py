"""The results report: the tables built from every ``metrics.json`` of a profile.

:func:`build` makes the tables: the claims with their verdicts, the main table, the comparison with
the published values and the runs. :func:`write` puts them into ``results/<profile>/summary.md``,
``summary.csv``, ``paper.csv`` and ``claims.csv``. docs/results.md says what each holds.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from . import claims, papers, results
from .files import atomic_write

__all__ = ["MAIN_COLUMNS", "main_table", "build", "write", "to_markdown"]

MAIN_COLUMNS = [
    "notebook", "method", "variant", "decode", "auc", "auc_lo", "auc_hi", "auc_rebal", "auc_rebal_lo", "auc_rebal_hi",
    "auc_rebal_1e-02", "auc_rebal_1e-04", "auc_rebal_eff_pixels", "psnr", "psnr_lo", "psnr_hi", "ssim", "rmse",
    "rmse_lo", "rmse_hi",
    "colorfulness", "colorfulness_lo", "colorfulness_hi", "colorfulness_gap", "colorfulness_gap_lo",
    "colorfulness_gap_hi", "chroma_ratio", "chroma_ratio_lo", "chroma_ratio_hi", "ab_roughness", "params", "steps",
    "seeds", "n_seeds", "n_photos", "seeds_per_photo", "auc_sd_photos", "auc_sd_seeds", "psnr_sd_photos",
    "psnr_sd_seeds", "n_tiles", "train_seconds", "images_per_second", "device", "data",
]
#: The metric columns of summary.md: column -> (heading, decimals); those in :data:`WITH_INTERVAL`
#: are shown as ``mean [low, high]``.
SHOWN = {"auc": ("AuC", 2), "auc_rebal": ("rebal. AuC", 3), "psnr": ("PSNR", 1),
         "colorfulness_gap": ("colourf. gap", 0), "chroma_ratio": ("chroma ratio", 2)}
WITH_INTERVAL = ("auc", "colorfulness_gap", "chroma_ratio")
#: The cost columns of summary.md.
COST = {"params": ("params", 0), "train_seconds": ("train s", 1), "images_per_second": ("images/s", 0)}
#: summary.md wraps its prose at this width.
WIDTH = 100


def main_table(df: pd.DataFrame) -> pd.DataFrame:
    """The main table of a profile's rows.

    Args:
        df: the rows (:func:`colorlab.results.collect`).

    Returns:
        The rows with the columns of :data:`MAIN_COLUMNS`, in that order (missing ones empty).
    """
    return df.reindex(columns=MAIN_COLUMNS).reset_index(drop=True)


def _run_log(profile: str, root: str | os.PathLike | None) -> pd.DataFrame:
    path = results.results_root(root) / profile / "run.json"
    if not path.exists():
        return pd.DataFrame(columns=["notebook", "status", "seconds", "error"])
    return pd.DataFrame(json.loads(path.read_text()).get("notebooks", []))


def _records(profile: str, root: str | os.PathLike | None) -> dict[str, dict[str, Any]]:
    """Per notebook: its config, environment record and the ``info`` of its metrics."""
    out = {}
    for path in sorted((results.results_root(root) / profile).glob("*/metrics.json")):
        folder = path.parent
        if results.is_set_aside(folder):
            continue

        def read(name: str, folder: Path = folder) -> dict[str, Any]:
            p = folder / name
            return json.loads(p.read_text()) if p.exists() else {}

        out[folder.name] = {"config": read("config.json"), "environment": read("environment.json"),
                            "info": read("metrics.json").get("info", {})}
    return out


def build(profile: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The report's tables for one profile.

    A notebook whose last run failed or was interrupted shows no rows or records, and its claims
    read ``failed`` or ``interrupted``, with its error (:func:`colorlab.claims.judge`).

    Args:
        profile: the profile's name.
        root: the results folder (:func:`colorlab.results.results_root`).

    Returns:
        ``{"main", "paper", "claims", "runs", "records"}``: the main table, the comparison with
        the published values, the claims with their verdicts (the smoke profile's read
        ``smoke: not evidence``), the run log, and each notebook's config, environment and info.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> row = {"method": "yuv_regression", "variant": "l1", "decode": "direct", "auc": 0.9}
        >>> _ = results.save("01_yuv_regression", [row], {}, profile="smoke", root=root,
        ...                  units=[{**row, "seed": 0, "unit": "cat", "chroma_ratio": 0.7}])
        >>> tables = build("smoke", root)
        >>> tables["main"][["notebook", "method", "auc"]].values.tolist()
        [['01_yuv_regression', 'yuv_regression', 0.9]]
        >>> tables["claims"].set_index("key").loc["regression_desaturates", "verdict"]
        'smoke: not evidence'
    """
    runs = _run_log(profile, root)
    bad = runs[runs["status"] != "ok"] if not runs.empty else runs
    stopped = {r["notebook"]: (r["status"], r["error"] if isinstance(r.get("error"), str) else "")
               for _, r in bad.iterrows()}
    stale = set(stopped)
    df = results.collect(root, profile=profile)
    units = results.collect(root, profile=profile, kind="units")
    if stale:  # a notebook whose last run failed shows no rows as current
        df = df[~df["notebook"].isin(stale)].reset_index(drop=True) if not df.empty else df
        units = units[~units["notebook"].isin(stale)].reset_index(drop=True) if not units.empty else units
    return {
        "main": main_table(df),
        "paper": claims.paper_table(df, papers.all_published()),
        "claims": claims.judge(units, papers.all_claims(), profile, stopped),
        "runs": runs,
        "records": {k: v for k, v in _records(profile, root).items() if k not in stale},
    }


def _fmt(x: object, decimals: int | None = None) -> object:
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        if decimals is not None:
            return f"{x:,.{decimals}f}" if decimals == 0 else f"{x:.{decimals}f}"
        return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3g}"
    return x


def to_markdown(df: pd.DataFrame, decimals: dict[str, int] | None = None) -> str:
    """A table as GitHub Markdown.

    Args:
        df: the table.
        decimals: decimals per column; other numbers get four significant digits, NaN is blank.

    Returns:
        The Markdown text (``_(empty)_`` for an empty table).

    Example:
        >>> print(to_markdown(pd.DataFrame({"x": [0.12345]}), {"x": 2}))
        |    x |
        |-----:|
        | 0.12 |
    """
    if df.empty:
        return "_(empty)_"
    decimals = decimals or {}
    shown = df.copy().astype(object)
    for col in shown.columns:
        shown[col] = [_fmt(v, decimals.get(col)) for v in shown[col]]
    return shown.to_markdown(index=False)


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def _label(r: pd.Series) -> str:
    return "/".join(str(r[c]) for c in ("method", "variant", "decode") if isinstance(r.get(c), str) and r.get(c))


def _numbers(rows: pd.DataFrame, columns: dict[str, tuple[str, int]]) -> str:
    present = {c: v for c, v in columns.items() if c in rows and rows[c].notna().any()}
    table = pd.DataFrame({"row": [_label(r) for _, r in rows.iterrows()]})
    for col, (head, d) in present.items():
        if col in WITH_INTERVAL and f"{col}_lo" in rows:
            table[head] = [_interval(r.get(col), r.get(f"{col}_lo"), r.get(f"{col}_hi"), d) for _, r in rows.iterrows()]
        else:
            table[head] = rows[col].astype(float).values
    return to_markdown(table, {head: d for head, d in present.values()})


def _interval(mean: object, lo: object, hi: object, decimals: int) -> str:
    """``"0.888 [0.880, 0.895]"``, the mean alone without bounds, ``""`` without a mean.

    Example:
        >>> _interval(0.8881, 0.88, 0.8949, 3), _interval(1.0, float("nan"), float("nan"), 2)
        ('0.888 [0.880, 0.895]', '1.00')
    """
    def ok(x: object) -> bool:
        return isinstance(x, (int, float)) and math.isfinite(x)

    if not ok(mean):
        return ""
    if not (ok(lo) and ok(hi)):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} [{lo:.{decimals}f}, {hi:.{decimals}f}]"


def _about(notebook: str, rec: dict[str, Any], rows: pd.DataFrame) -> str:
    """One line: the profile, steps, seeds, data, held-out photos and folds, test crops, device and
    wall time a notebook ran with."""
    cfg, env, info = rec.get("config", {}), rec.get("environment", {}), rec.get("info", {})
    parts = [f"{cfg.get('profile', '?')} profile"]
    if "steps" in cfg:
        parts.append(f"{cfg['steps']} steps")
    seeds = cfg.get("seeds", [cfg["seed"]] if "seed" in cfg else None)
    if seeds is not None:
        parts.append(f"seed{'s' * (len(seeds) != 1)} {', '.join(map(str, seeds))}")
    data = rows["data"].dropna().iloc[0] if "data" in rows and rows["data"].notna().any() else cfg.get("data_spec")
    parts.append(str(data))
    if "n_photos" in rows and rows["n_photos"].notna().any():
        folds = f" in {info['folds']} folds" if info.get("folds") else ""
        per = rows["seeds_per_photo"].dropna() if "seeds_per_photo" in rows else pd.Series(dtype=float)
        scored = f", each scored by {int(per.min())} seed{'s' * (int(per.min()) != 1)}" if len(per) else ""
        parts.append(f"{int(rows['n_photos'].max())} held-out photos{folds}{scored} "
                     f"({int(rows['n_tiles'].max())} test crops over all runs)")
    elif "n_images" in rows and rows["n_images"].notna().any():
        parts.append(f"{int(rows['n_images'].dropna().iloc[0])} test crops")
    parts.append(str(env.get("device", "?")))
    if env.get("wall_seconds") is not None:
        parts.append(f"{env['wall_seconds']:.0f} s")
    return ", ".join(parts)


def _short(commit: str) -> str:
    """A commit as 12 hex digits, keeping ``-dirty``: ``'0123456789ab-dirty'``."""
    sha, _, rest = commit.partition("-")
    return sha[:12] + (f"-{rest}" if rest else "")


def _summary(profile: str, tables: dict[str, Any]) -> str:
    main, runs, recs = tables["main"], tables["runs"], tables["records"]
    commits = {r.get("environment", {}).get("git_commit") for r in recs.values()} - {None, ""}
    parts = [f"# colorlab results: profile `{profile}`", "",
             _wrap(f"Produced by `colorlab run --profile {profile}` (or `colorlab report --profile {profile}` over "
                   f"existing results) at commit {', '.join(sorted(_short(c) for c in commits)) or 'unknown'}. Every "
                   "number comes from the `metrics.json` files beside this summary; verdicts are computed by the "
                   "rules of the papers (`colorlab/papers/`).", ""), ""]
    if profile == "smoke":
        parts += [_wrap("**smoke: not evidence.** The smoke profile trains for a few steps to show that every "
                        "notebook runs; its numbers mean nothing and no claim is judged on them.", ""), ""]
    parts += ["## Claims", ""]
    for c in tables["claims"].itertuples():
        on = f" Measured on {c.measured_on}." if getattr(c, "measured_on", "") else ""
        margin = f" Margin: {c.margin} (rule v{c.rule_version})." if getattr(c, "margin", "") else ""
        kind = f"{c.kind}, " if getattr(c, "kind", "source") not in ("source", "", None) else ""
        parts += [_wrap(f"- **{c.verdict}**: {c.claim} ({kind}source {c.source}, notebook {c.notebook}). "
                        f"{c.evidence}.{on}{margin}")]
    parts += ["", "## Results", "",
              _wrap("Means over seeds and held-out photos, with 95 % bootstrap intervals (photos resampled, and "
                    "the seeds within each fold) in brackets; `summary.csv` has the photo-to-photo and the "
                    "seed-to-seed spread of AuC and PSNR beside them (`*_sd_photos`, `*_sd_seeds`). AuC and "
                    "rebalanced AuC on [0, 1] (Zhang et al. 2016: ab errors "
                    "0..150; the rebalanced AuC pooled over the test pixels), PSNR in dB on RGB, the colourfulness "
                    "gap (Hasler and Süsstrunk) to the ground truth, chroma ratio prediction / truth. Every column, "
                    "SSIM, RMSE of ab and every interval included, is in `summary.csv`.", ""), ""]
    for notebook, rows in main.groupby("notebook", sort=True):
        rec = recs.get(notebook, {})
        parts += [f"### {notebook}", "", _wrap(_about(notebook, rec, rows) + ".", "")]
        problems = (rec.get("info", {}).get("data_problems") or {})
        if any((problems.get("counts") or {}).values()):
            named = {k: [x["file"] if isinstance(x, dict) else x for x in problems.get(k, [])][:5] for k in problems}
            counts = problems["counts"]
            parts += ["", _wrap(f"Data left out or changed: {counts['unreadable']} unreadable "
                                f"({', '.join(named['unreadable']) or '-'}), {counts['grayscale']} grayscale "
                                f"({', '.join(named['grayscale']) or '-'}), {counts['small']} smaller than the "
                                f"crop and upscaled ({', '.join(named['small']) or '-'}).", "")]
        parts += ["", _numbers(rows, SHOWN), ""]
    trained = main[main["params"].notna()] if "params" in main else main.iloc[0:0]
    if not trained.empty:
        one_per_model = trained.drop_duplicates(["params", "train_seconds"])  # boosts and sweeps reuse a model
        parts += ["### Cost", "", _numbers(one_per_model, COST), ""]
    paper = tables["paper"]
    if not paper.empty:
        shown = paper[["method", "paper_auc", "ours_auc", "paper_auc_rebal", "ours_auc_rebal"]]
        parts += ["## Comparison with the published values", "",
                  to_markdown(shown, dict.fromkeys(shown.columns[1:], 1)), ""]
        for source, g in paper.groupby("source", sort=False):
            parts.append(_wrap(f"{source}: measured on {g['paper_measured_on'].iloc[0]}; ours on "
                               f"{g['ours_measured_on'].iloc[-1]}.", ""))
        parts.append("")
    parts += ["## Runs", ""]
    if runs.empty:
        parts.append("_(no run log: results were collected as found)_")
    else:
        cols = [c for c in ("notebook", "status", "seconds", "finished") if c in runs]
        parts.append(to_markdown(runs[cols], {"seconds": 1}))
        bad = runs[runs["status"] != "ok"]
        if not bad.empty:
            parts += ["", f"**Not current: {', '.join(bad['notebook'])}** (failed or interrupted; their last good "
                          "results, if any, were moved to `<notebook>.previous/`):", ""]
            parts += [_wrap(f"- {r.notebook}: {r.status}: {str(r.error).splitlines()[0] if r.error else ''}")
                      for r in bad.itertuples()]
    return "\n".join(parts) + "\n"


def write(profile: str, root: str | os.PathLike | None = None) -> Path:
    """Write ``summary.md``, ``summary.csv``, ``paper.csv`` and ``claims.csv`` for a profile, atomically.

    Args:
        profile: the profile's name.
        root: the results folder (:func:`colorlab.results.results_root`).

    Returns:
        The path of ``summary.md``.
    """
    tables = build(profile, root)
    out = results.results_root(root) / profile
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("summary.csv", tables["main"]), ("paper.csv", tables["paper"]),
                        ("claims.csv", tables["claims"])):
        text = table.to_csv(index=False)
        atomic_write(out / name, lambda f, text=text: f.write(text.encode()))
    text = _summary(profile, tables)
    atomic_write(out / "summary.md", lambda f: f.write(text.encode()))
    return out / "summary.md"
