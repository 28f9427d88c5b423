"""Batch execution of the numbered notebooks with papermill.

:func:`run` executes ``notebooks/NN_*.ipynb`` in order through papermill's Python API with
a profile's parameters (:mod:`colorlab.profiles`), each with its working directory in the
notebooks folder (as under nbval) and with the current interpreter as its kernel. The
executed copies go to ``results/<profile>/<notebook>/<notebook>.ipynb`` beside the
notebook's own results. A notebook that fails keeps papermill's error cell in its executed
copy, is recorded as failed in ``results/<profile>/run.json`` and the summary, and the
others still run. Ctrl-C stops after recording what finished. The report
(:mod:`colorlab.report`) is written at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import report, results
from .profiles import parameters_for

__all__ = ["UsageError", "NotebookRun", "find_notebooks", "notebooks_dir", "ensure_kernel", "run"]

KERNEL_NAME = "colorlab"
REPORT_PREFIX = "99"


class UsageError(ValueError):
    """A request ``run`` refuses before executing anything: unknown profile, notebook or parameter."""


@dataclass
class NotebookRun:
    notebook: str
    status: str  # ok, failed, interrupted, skipped
    seconds: float
    output: str
    error: str = ""


def notebooks_dir(path: str | os.PathLike | None = None) -> Path:
    """The notebooks folder: ``path``, else ``./notebooks`` or the one beside the installed package."""
    candidates = [Path(path)] if path else [Path.cwd() / "notebooks", Path(__file__).resolve().parent.parent / "notebooks"]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        f"no notebooks folder found (looked in {', '.join(map(str, candidates))}); "
        "run from the colorlab checkout or pass --notebooks PATH"
    )


def find_notebooks(folder: Path, only: Sequence[str] | None = None) -> list[Path]:
    """Numbered notebooks ``NN_*.ipynb`` in order; ``only`` keeps those numbers (``"3"`` = ``"03"``)."""
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {o.zfill(2) for o in only}
        unknown = wanted - {p.name[:2] for p in books}
        if unknown:
            raise KeyError(
                f"no notebook numbered {', '.join(sorted(unknown))}; known: {', '.join(p.name[:2] for p in books)}"
            )
        books = [p for p in books if p.name[:2] in wanted]
    return books


def _runs_here(argv0: str) -> bool:
    # jupyter_client swaps a bare "python"/"python3"/"python3.X" for the running interpreter
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    return argv0 in bare or Path(argv0).resolve() == Path(sys.executable).resolve()


def ensure_kernel() -> str:
    """A kernel that runs this interpreter: ``python3`` when its spec does, otherwise a ``colorlab``
    spec, installed into this environment's prefix when missing."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    for name in ("python3", KERNEL_NAME):
        try:
            if _runs_here(ksm.get_kernel_spec(name).argv[0]):
                return name
        except NoSuchKernel:
            pass
    install(kernel_name=KERNEL_NAME, display_name=f"Python ({sys.prefix})", prefix=sys.prefix)
    return KERNEL_NAME


def _write_log(path: Path, profile: str, runs: list[NotebookRun], params: dict[str, Any], finished: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "profile": profile,
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "finished": finished,
        "overrides": params,
        "notebooks": [asdict(r) for r in runs],
    }, indent=2, default=str) + "\n")


def _error_summary(exc: BaseException) -> str:
    name = type(exc).__name__
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return f"{name}: {exc}".strip()


def run(
    profile: str = "quick",
    only: Sequence[str] | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    notebooks: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    timeout: float | None = None,
    report_notebook: bool = True,
    echo: Callable[[str], None] = print,
) -> tuple[list[NotebookRun], Path]:
    """Execute the notebooks; return what happened to each and the path of ``summary.md``.

    Args:
        profile: ``smoke``, ``quick`` or ``full``.
        only: notebook numbers to run (the report notebook ``99`` runs anyway unless
            ``report_notebook`` is false).
        overrides: parameters passed, after the profile's, to every notebook that declares them
            in its ``parameters`` cell; one that no notebook declares raises :class:`UsageError`.
        notebooks: the notebooks folder.
        root: the results folder (default ``results/``).
        timeout: per-cell execution timeout in seconds for each notebook.
    """
    import papermill as pm

    try:  # everything that can be refused is refused here, before any notebook runs
        folder = notebooks_dir(notebooks)
        books = find_notebooks(folder, only)
        if report_notebook and only:
            books += [p for p in find_notebooks(folder) if p.name[:2] == REPORT_PREFIX and p not in books]
        if not books:
            raise FileNotFoundError(f"no numbered notebooks in {folder}")
        parameters_for(profile, "00")
    except (KeyError, FileNotFoundError) as e:
        raise UsageError(e.args[0] if e.args else str(e)) from e
    overrides = dict(overrides or {})
    declared = {nb: set(pm.inspect_notebook(str(nb))) for nb in books}
    unknown = set(overrides) - set().union(*declared.values())
    if unknown:
        raise UsageError(f"no notebook declares the parameter(s) {', '.join(sorted(unknown))}")
    out_root = results.results_root(root).resolve()
    os.environ["COLORLAB_RESULTS"] = str(out_root)  # kernels inherit it: results land here
    os.environ[results.GIT_COMMIT_ENV] = results.git_commit() or ""  # the code as it was before this run wrote
    kernel = ensure_kernel()
    log_path = out_root / profile / "run.json"
    runs: list[NotebookRun] = []
    echo(f"colorlab run: profile {profile}, {len(books)} notebooks from {folder}, results in {out_root / profile}")
    interrupted = False
    for i, nb in enumerate(books, 1):
        stem = nb.stem
        out_nb = out_root / profile / stem / f"{stem}.ipynb"
        out_nb.parent.mkdir(parents=True, exist_ok=True)
        # a notebook gets the parameters its `parameters` cell declares, no others
        params = {k: v for k, v in parameters_for(profile, nb.name[:2], overrides).items() if k in declared[nb]}
        echo(f"[{i}/{len(books)}] {stem}: running")
        t0 = time.perf_counter()
        status, error = "ok", ""
        try:
            pm.execute_notebook(
                str(nb), str(out_nb), parameters=params, kernel_name=kernel, cwd=str(folder),
                progress_bar=False, execution_timeout=timeout, log_output=False,
                request_save_on_cell_execute=True,
            )
        except KeyboardInterrupt:
            status, error, interrupted = "interrupted", "stopped by Ctrl-C", True
        except Exception as exc:  # noqa: BLE001 - a failed notebook must not stop the batch
            status, error = "failed", _error_summary(exc)
            if not getattr(exc, "ename", None):
                error += "\n" + traceback.format_exc(limit=3)
        seconds = time.perf_counter() - t0
        runs.append(NotebookRun(stem, status, round(seconds, 1), str(out_nb), error))
        echo(f"[{i}/{len(books)}] {stem}: {status} after {seconds:.1f} s" + (f" ({error.splitlines()[0]})" if error else ""))
        _write_log(log_path, profile, runs, overrides, finished=False)
        if interrupted:
            break
    _write_log(log_path, profile, runs, overrides, finished=not interrupted)
    summary = report.write(profile, out_root)
    echo(f"report: {summary}")
    return runs, summary
