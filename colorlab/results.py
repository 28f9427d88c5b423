"""Where results go, and how they come back as tables.

A notebook ends with :func:`save`, which writes ``results/<profile>/<notebook>/``; :func:`collect`
reads every ``metrics.json`` of a results folder back into one table. docs/results.md says what a
results folder holds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .distributed import is_writer, rank_world
from .files import checkout_root, plain, write_json

__all__ = ["results_root", "profile_dir", "run_dir", "save", "load", "collect", "find_row", "environment", "git_commit"]

#: When this module was imported: the notebook's start, for its wall time.
_STARTED = time.time()
_PACKAGES = (
    "colorlab", "torch", "torchvision", "kornia", "numpy", "scikit-image", "scikit-learn",
    "matplotlib", "pandas", "pillow", "torchmetrics", "papermill", "tqdm",
)


#: The top of the checkout this package is installed from (``pip install -e``), if it is one.
_PACKAGE_TOP = Path(__file__).resolve().parent.parent


def results_root(root: str | os.PathLike | None = None, *, notebooks: str | os.PathLike | None = None) -> Path:
    """The results folder.

    The default does not depend on the directory you run in: it is the ``results/`` of the
    checkout whose notebooks ``colorlab run`` uses.

    Args:
        root: the folder, returned as it is when given.
        notebooks: the notebooks folder a run uses, when it is given (``--notebooks``); its
            checkout's ``results/`` then comes first.

    Returns:
        ``root``, else ``$COLORLAB_RESULTS`` when set (the runner and the test suite set it), else
        ``results/`` of the checkout that holds ``notebooks``, else of the checkout whose
        ``notebooks/`` a run finds (``./notebooks``, else the one beside the installed package:
        :func:`colorlab.checks.notebooks_dir`'s order), else of the checkout that holds the
        current directory; ``./results`` when colorlab is installed without a checkout.
    """
    if root is not None:
        return Path(root)
    if os.environ.get("COLORLAB_RESULTS"):
        return Path(os.environ["COLORLAB_RESULTS"])
    tops = [checkout_root(notebooks)] if notebooks is not None and Path(notebooks).is_dir() else []
    for found in (Path.cwd() / "notebooks", _PACKAGE_TOP / "notebooks"):
        if found.is_dir():
            tops.append(checkout_root(found))
            break
    top = next((t for t in tops if t is not None), None) or checkout_root()
    return (top or Path.cwd().resolve()) / "results"


def _check_name(kind: str, value: str) -> str:
    if not value or any(c in value for c in "/\\") or value.startswith("."):
        raise ValueError(f"{kind} must be a plain folder name; got {value!r}")
    return value


def profile_dir(profile: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of a profile's notebooks, checkpoints (``checkpoints/``, git-ignored) and caches (``cache/``).

    Args:
        profile: the profile's name.
        root: the results folder (:func:`results_root`).

    Returns:
        ``<results>/<profile>``.

    Raises:
        ValueError: ``profile`` is not a plain folder name.
    """
    return results_root(root) / _check_name("profile", profile)


def run_dir(name: str, profile: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one notebook's results.

    Args:
        name: the notebook's name.
        profile: the profile's name.
        root: the results folder (:func:`results_root`).

    Returns:
        ``<results>/<profile>/<name>``.

    Raises:
        ValueError: ``name`` or ``profile`` is not a plain folder name.
    """
    return profile_dir(profile, root) / _check_name("name", name)


#: Set by ``colorlab run`` to the commit (and ``-dirty``) of the checkout when the run started, so
#: every notebook of the run records the code it started from, not a tree its predecessors wrote to.
GIT_COMMIT_ENV = "COLORLAB_GIT_COMMIT"


#: Tracked paths that runs write to, so that a difference there says nothing about the code that ran:
#: rerunning a profile rewrites its committed results (``results/quick/``) and must not mark itself dirty.
RESULTS_PATHSPEC = ":(exclude,top)results"


def git_commit(where: str | os.PathLike | None = None) -> str | None:
    """The git commit of the checkout that holds ``where``.

    Args:
        where: a path in the checkout (default: this package).

    Returns:
        The commit, with ``-dirty`` when tracked files outside the top-level ``results/`` differ
        from it; ``None`` outside git.
    """
    cwd = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=cwd,
        )
        if out.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", RESULTS_PATHSPEC],
            capture_output=True, text=True, timeout=5, cwd=cwd,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str | None = None) -> dict[str, Any]:
    """The environment record of a run (``environment.json``).

    Args:
        device: the device that ran.

    Returns:
        Package versions, Python, platform, host, CPUs and threads, torch and CUDA, the device and
        its name, the number of training processes (``torchrun``), the git commit, the start and
        finish times, the wall time and the metrics that were unavailable.
    """
    import torch

    from .metrics import optional_metrics

    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    now = time.time()
    cuda = torch.cuda.is_available()
    return {
        "packages": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "processes": rank_world()[1],
        "git_commit": os.environ.get(GIT_COMMIT_ENV) or git_commit(),
        "started": dt.datetime.fromtimestamp(_STARTED, dt.UTC).isoformat(timespec="seconds"),
        "finished": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(now - _STARTED, 2),
        "unavailable_metrics": optional_metrics(),
    }


def _jsonable(x: Any) -> Any:
    return plain(x, strict_json=True)


def _rows(metrics: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[dict[str, Any]]:
    if isinstance(metrics, pd.DataFrame):
        return [_jsonable(r) for r in metrics.reset_index(drop=True).to_dict(orient="records")]
    if isinstance(metrics, Mapping):
        return [_jsonable(metrics)]
    rows = [_jsonable(r) for r in metrics]
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError("metrics must be a DataFrame, a dict, or a list of dicts")
    return rows


def save(
    name: str,
    metrics: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    config: Mapping[str, Any],
    figures: Mapping[str, Any] | None = None,
    *,
    profile: str,
    info: Mapping[str, Any] | None = None,
    device: str | None = None,
    root: str | os.PathLike | None = None,
    dpi: int = 80,
    units: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Write one run's metrics, config, figures and environment record.

    ``metrics.json`` is written last, so a folder that has it holds a complete record. Under
    ``torchrun`` only rank 0 writes; the others get the folder's path and write nothing.

    Args:
        name: the notebook's name, e.g. ``"01_yuv_regression"``.
        metrics: rows (one per method/variant) as a DataFrame or list of dicts, or one dict.
        config: the run's parameters (JSON-serialisable after conversion to plain types).
        figures: ``{"name": matplotlib Figure}``, each saved as ``name.png``.
        profile: ``smoke``, ``quick``, ``full`` or anything else (``adhoc`` is git-ignored).
        info: free-form extras stored beside the rows (data path used, weights used, ...).
        device: the device that ran, for the environment record.
        root: the results folder (:func:`results_root`).
        dpi: the figures' resolution.
        units: the per-seed, per-photo rows the ``metrics`` summarise (optional).

    Returns:
        The run's folder, ``<results>/<profile>/<name>``.

    Raises:
        ValueError: ``name``, ``profile`` or a figure's name is not a plain folder name.
        TypeError: ``metrics`` is none of the accepted forms.
    """
    out = run_dir(name, profile, root)
    rows = _rows(metrics)
    if not is_writer():  # under torchrun only rank 0 writes (colorlab.distributed)
        return out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", _jsonable(dict(config)))
    for fig_name, fig in (figures or {}).items():
        fig.savefig(out / f"{_check_name('figure', fig_name)}.png", dpi=dpi, bbox_inches="tight")
    write_json(out / "environment.json", _jsonable(environment(device)))
    # last: a folder with metrics.json holds a complete record (the runner and report rely on it)
    record = {"notebook": name, "profile": profile, "rows": rows}
    if units is not None:
        record["units"] = _rows(units)
    write_json(out / "metrics.json", record | {"info": _jsonable(dict(info or {}))})
    return out


def load(name: str, profile: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ``metrics.json`` of one run.

    Args:
        name: the notebook's name.
        profile: the profile's name.
        root: the results folder (:func:`results_root`).

    Returns:
        Its ``notebook``, ``profile``, ``rows``, ``units`` and ``info``.

    Raises:
        FileNotFoundError: the run has no results.
    """
    path = run_dir(name, profile, root) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"no results for {name!r} in profile {profile!r} (looked for {path})")
    return json.loads(path.read_text())


def find_row(table: pd.DataFrame, **where: object) -> pd.Series | None:
    """The first row of a results table whose columns equal the values given.

    Args:
        table: a results table.
        where: column values, compared as strings.

    Returns:
        The row, or ``None`` when there is none or a named column is missing.

    Example:
        >>> t = pd.DataFrame([{"method": "zhang", "variant": "full", "decode": "mode", "auc": 0.8},
        ...                   {"method": "zhang", "variant": "full", "decode": "annealed", "auc": 0.9}])
        >>> find_row(t, method="zhang", variant="full", decode="annealed")["auc"]
        np.float64(0.9)
        >>> find_row(t, method="zhang", temperature=0.38) is None  # no such column
        True
    """
    sel = table
    for col, value in where.items():
        if col not in sel.columns:
            return None
        sel = sel[sel[col].astype(str) == str(value)]
    return None if sel.empty else sel.iloc[0]


SET_ASIDE = ".previous"
"""Suffix of the folder that keeps a notebook's last finished results while it runs again."""


def set_aside_folder(folder: Path) -> Path:
    """Where ``folder``'s finished results are kept while its notebook runs again.

    >>> set_aside_folder(Path("results/quick/01_yuv_regression")).name
    '01_yuv_regression.previous'
    """
    return folder.with_name(folder.name + SET_ASIDE)


#: Suffix of the folder that keeps what a failed or interrupted notebook left.
FAILED = ".failed"


def is_set_aside(folder: Path) -> bool:
    """Whether ``folder`` holds set-aside or failed (not current) results."""
    return folder.name.endswith((SET_ASIDE, FAILED))


def collect(root: str | os.PathLike | None = None, profile: str | None = None, kind: str = "rows") -> pd.DataFrame:
    """Every row of every ``metrics.json`` under a results folder, as one table.

    Set-aside and failed folders (``.previous``, ``.failed``) are left out.

    Args:
        root: the results folder (:func:`results_root`).
        profile: only this profile's (``None``: every profile's).
        kind: ``rows`` (one per method and decoding) or ``units`` (one per seed and photo too).

    Returns:
        The rows, with ``profile``, ``notebook`` and the environment's ``device_name``,
        ``wall_seconds`` and ``git_commit`` added.

    Raises:
        ValueError: an unknown ``kind``.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> out = save("00_example", [{"method": "gray", "auc": 0.89}], {"steps": 1}, profile="smoke", root=root)
        >>> collect(root, profile="smoke")["auc"].iloc[0]
        np.float64(0.89)
    """
    if kind not in ("rows", "units"):
        raise ValueError(f"kind must be 'rows' or 'units'; got {kind!r}")
    base = results_root(root)
    pattern = f"{profile}/*/metrics.json" if profile else "*/*/metrics.json"
    frames = []
    for path in sorted(base.glob(pattern)):
        if is_set_aside(path.parent):
            continue
        rec = json.loads(path.read_text())
        env_path = path.with_name("environment.json")
        env = json.loads(env_path.read_text()) if env_path.exists() else {}
        df = pd.DataFrame(rec.get(kind, []))
        df.insert(0, "notebook", rec.get("notebook", path.parent.name))
        df.insert(0, "profile", rec.get("profile", path.parent.parent.name))
        for key in ("device_name", "wall_seconds", "git_commit"):
            df[key] = env.get(key)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["profile", "notebook"])
    return pd.concat(frames, ignore_index=True)
