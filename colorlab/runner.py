"""Batch execution of the numbered notebooks with papermill: ``colorlab run``.

:func:`run` checks everything first (:mod:`colorlab.checks`), takes the results folder's lock, then
executes the notebooks in order, each in a child process of its own, echoing their progress. It
keeps ``run.json`` and writes the report at the end. Under ``torchrun`` every process runs the
reproduction notebooks together and rank 0 alone keeps results. docs/running.md says what a run
does; docs/performance.md how it trains on several GPUs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import distributed, progress, report, results
from .checks import TOOLS_FROM, RunRequest, find_notebooks, notebooks_dir, plan_run
from .data.sources import DATA_ENV
from .errors import UsageError
from .files import Locked, atomic_write, checkout_root, hold_lock, lock_holder

__all__ = ["NotebookRun", "find_notebooks", "notebooks_dir", "ensure_kernel", "run", "running", "LOCK_NAME"]

KERNEL_NAME = "colorlab"
#: The lock file in ``results/<profile>/`` a run holds.
LOCK_NAME = ".colorlab.lock"
#: Seconds between two looks at a running notebook's progress.
_POLL = 0.25
#: Seconds a stopped notebook gets to end before it is killed.
_GRACE = 5.0
#: Under torchrun, how long a runner waits for the others at the end of a notebook (a full-profile
#: notebook may train for hours; a process that died is noticed through its failure flag first).
RUNNERS_TIMEOUT = dt.timedelta(days=7)
_INDENT = "      "


@dataclass
class NotebookRun:
    """What happened to one notebook in a run, as ``run.json`` records it.

    Args:
        notebook: its name, e.g. ``"01_yuv_regression"``.
        status: ``ok``, ``failed`` or ``interrupted``.
        seconds: its wall time.
        output: the executed copy, relative to the results folder.
        error: why it failed, else ``""``.
        finished: when it ended (UTC, ISO 8601).
        overrides: the ``-p`` values this notebook ran with.
    """

    notebook: str
    status: str  # ok, failed, interrupted
    seconds: float
    output: str  # the executed copy, relative to the results folder
    error: str = ""
    finished: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)  # the -p values this notebook ran with


def _runs_here(argv0: str) -> bool:
    # jupyter_client swaps a bare "python"/"python3"/"python3.X" for the running interpreter
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    return argv0 in bare or Path(argv0).resolve() == Path(sys.executable).resolve()


def ensure_kernel() -> str:
    """A Jupyter kernel that runs this interpreter, installed when there is none.

    Returns:
        ``python3`` when its spec runs this interpreter, otherwise ``colorlab``, a spec installed
        into this environment's prefix when missing.
    """
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


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.colorlab.lock`` for the block (removed at its end); another holder means another
    run is writing there. A file left by a run killed outright holds nothing and is taken over."""
    try:
        with hold_lock(folder / LOCK_NAME, f"pid {os.getpid()} since {_now()}\n"):
            yield
    except Locked as e:
        raise UsageError(f"another colorlab run ({e.holder}) is writing {folder}; wait for it to end "
                         f"or give another --results folder") from None


def running(folder: str | os.PathLike) -> str | None:
    """Whether a ``colorlab run`` is writing a profile's results folder now.

    Args:
        folder: ``<results>/<profile>``.

    Returns:
        What the run wrote into its lock (``pid 123 since ...``); ``None`` when no run holds it.
    """
    return lock_holder(Path(folder) / LOCK_NAME)


@contextmanager
def _stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI timeout, ``kill``) and SIGHUP (the terminal closed) end the run as Ctrl-C
    does: the running notebook and its kernel are stopped and ``run.json`` is written."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    saved = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            saved[sig] = signal.signal(sig, interrupt)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _read_log(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a ``run.json`` by notebook; empty when it is missing or unreadable."""
    try:
        return {r["notebook"]: r for r in json.loads(path.read_text()).get("notebooks", [])}
    except (OSError, json.JSONDecodeError, AttributeError, KeyError, TypeError):
        return {}


def _last_status(log: Path, notebook: str) -> str | None:
    """The status ``run.json`` last recorded for ``notebook`` (``None``: never run by the runner)."""
    return _read_log(log).get(notebook, {}).get("status")


def _set_aside(folder: Path, last_status: str | None) -> str:
    """Before a notebook runs again: move its finished results to ``<folder>.previous``, replacing
    an older set-aside copy; move what a failed or interrupted run left to ``<folder>.failed``, so
    it never replaces the last good results. Finished: its last run ended ``ok`` (the report
    notebook writes no ``metrics.json``), or it was not the runner's and ``metrics.json``, written
    last, is there. Returns what was done, for the terminal."""
    if not folder.exists():
        return ""
    finished = last_status == "ok" or (last_status is None and (folder / "metrics.json").exists())
    target = results.set_aside_folder(folder) if finished else folder.with_name(folder.name + results.FAILED)
    shutil.rmtree(target, ignore_errors=True)
    folder.rename(target)
    return f"its last results moved to {target.name}/" if finished else ""


def _write_log(path: Path, profile: str, runs: list[NotebookRun], finished: bool) -> None:
    """``run.json``: this run's notebooks merged over the earlier runs' others."""
    merged = _read_log(path) | {r.notebook: asdict(r) for r in runs}
    text = json.dumps({"profile": profile, "written": _now(), "finished": finished,
                       "notebooks": [merged[k] for k in sorted(merged)]}, indent=2, default=str) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def _stop(proc: subprocess.Popen) -> None:
    """End a notebook's process group (its kernel included): SIGTERM, then SIGKILL after a grace time."""
    for sig, wait in ((signal.SIGTERM, _GRACE), (signal.SIGKILL, _GRACE)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _execute(spec: dict[str, Any], out_dir: Path, env: dict[str, str], echo: Callable[[str], None],
             stop: Callable[[], str | None] | None = None) -> tuple[str, str]:
    """Run one notebook in a child process with ``env`` added to its environment, echoing its
    progress; ``(status, error)``. ``stop`` is asked every poll; when it says why, the notebook is
    stopped and failed with that reason (another process's copy of it failed)."""
    result, events = out_dir / ".result.json", out_dir / ".progress.jsonl"
    spec_path = out_dir / ".spec.json"
    for p in (result, events):
        p.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(result)}))
    env = {**os.environ, **env, progress.ENV: str(events)}
    reader = progress.Reader(events)
    with open(out_dir / "run.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "colorlab._execute", str(spec_path)], stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            while proc.poll() is None:
                for line in reader.poll():
                    echo(_INDENT + line)
                why = stop() if stop is not None else None
                if why:
                    _stop(proc)
                    return "failed", why
                time.sleep(_POLL)
        except KeyboardInterrupt as stop:
            _stop(proc)
            return "interrupted", f"stopped by {stop.args[0] if stop.args else 'Ctrl-C'}"
        finally:
            for line in reader.poll():
                echo(_INDENT + line)
    for p in (spec_path, events):
        p.unlink(missing_ok=True)
    if not result.exists():
        return "failed", f"the notebook's process ended with status {proc.returncode} (see {out_dir.name}/run.log)"
    outcome = json.loads(result.read_text())
    result.unlink()
    return outcome["status"], outcome["error"]


def run(request: RunRequest, *, echo: Callable[[str], None] = progress.say) -> tuple[list[NotebookRun], Path]:
    """Check a run (:func:`colorlab.checks.plan_run`), then execute its notebooks and write the report.

    Args:
        request: what ``colorlab run`` is asked to do.
        echo: where each terminal line goes.

    Returns:
        What happened to each notebook, and the path of ``summary.md``.

    Raises:
        UsageError: anything refused before a notebook starts, in one line (another run holding
            the results folder's lock included).
    """
    if request.root is None:  # results/ of the checkout whose notebooks run, wherever this runs from
        request = replace(request, root=results.results_root(notebooks=request.notebooks))
    plan = plan_run(request)
    profile = plan.profile
    rank, world = distributed.rank_world()
    if world > 1:  # the runners' own process group: ports, a failure flag and the end of each notebook
        import torch

        distributed.setup(torch.device("cpu"), timeout=RUNNERS_TIMEOUT)
    if rank > 0:
        return _follow(plan), plan.root / profile / "summary.md"
    out = plan.root / profile
    with _lock(out), _stop_signals_as_interrupt():
        kernel = ensure_kernel()
        env = _kernel_env(plan)
        shown = os.path.relpath(out) if not os.path.relpath(out).startswith("..") else str(out)
        echo(f"colorlab run: profile {profile}, {_count(len(plan.books), 'notebook')}, data {plan.data_spec}, "
             f"results in {shown}")
        changed = {k: v for k, v in plan.overrides.items() if k != "data_spec"}
        if changed:  # results of other settings land in the profile's folder: say so before they do
            echo("settings changed from the profile: " + ", ".join(f"{k}={v!r}" for k, v in changed.items())
                 + f"; finished results in {shown} are set aside to <notebook>.previous/ "
                 "(--results DIR keeps runs apart)")
        runs: list[NotebookRun] = []
        interrupted = False
        try:
            for i, nb in enumerate(plan.books, 1):
                folder = out / nb.stem
                moved = _set_aside(folder, _last_status(out / "run.json", nb.stem))
                folder.mkdir(parents=True, exist_ok=True)
                echo(f"[{i}/{len(plan.books)}] {nb.stem}: running" + (f" ({moved})" if moved else ""))
                spec = {"input": str(nb), "output": str(folder / nb.name), "parameters": plan.params[nb.stem],
                        "kernel": kernel, "cwd": str(plan.folder), "timeout": plan.timeout}
                t0 = time.perf_counter()
                status, error = _run_together(nb, spec, folder, env, echo, world)
                seconds = time.perf_counter() - t0
                given = {k: v for k, v in plan.overrides.items() if k in plan.params[nb.stem]}
                runs.append(NotebookRun(nb.stem, status, round(seconds, 1), f"{profile}/{nb.stem}/{nb.name}", error,
                                        _now(), given))
                echo(f"[{i}/{len(plan.books)}] {nb.stem}: {status} after {seconds:.1f} s"
                     + (f" ({error.splitlines()[0]})" if error else ""))
                _write_log(out / "run.json", profile, runs, finished=False)
                if status == "interrupted":
                    interrupted = True
                    break
        except KeyboardInterrupt:  # between notebooks: what finished is still recorded
            interrupted = True
        _write_log(out / "run.json", profile, runs, finished=not interrupted)
        summary = report.write(profile, plan.root)
    echo(f"report: {os.path.relpath(summary) if not os.path.relpath(summary).startswith('..') else summary}")
    return runs, summary


def _count(n: int, noun: str) -> str:
    """``"1 notebook"``, ``"2 notebooks"``."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _kernel_env(plan: Any) -> dict[str, str]:
    """What the kernels get: the results folder, the datasets' folder (the caller's ``$COLORLAB_DATA``,
    else the checkout's ``data/``), and the commit the run started from, taken once (the caller's
    ``$COLORLAB_GIT_COMMIT`` where git gives none: a tree without ``.git``)."""
    data = os.environ.get(DATA_ENV) or str((checkout_root(plan.folder) or Path.cwd()) / "data")
    return {"COLORLAB_RESULTS": str(plan.root), DATA_ENV: data,
            results.GIT_COMMIT_ENV: results.git_commit() or os.environ.get(results.GIT_COMMIT_ENV, "")}


def _together(nb: Path) -> bool:
    """Whether every process runs notebook ``nb`` (the reproductions), or rank 0 alone (tools, the report)."""
    return nb.name[:2] < TOOLS_FROM


def _group_env(nb: Path, world: int) -> dict[str, str]:
    """The environment of a notebook's kernel for its process group: a port rank 0 found free,
    handed to every process; the kernels' rank 0 hosts the group (not ``torchrun``'s agent)."""
    if world == 1 or not _together(nb):
        return {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"} if world > 1 else {}
    port = None
    if distributed.rank_world()[0] == 0:
        import socket

        with socket.socket() as sock:
            sock.bind(("", 0))
            port = sock.getsockname()[1]
    return {"MASTER_PORT": str(distributed.broadcast_object(port)), "TORCHELASTIC_USE_AGENT_STORE": "False"}


def _run_together(nb: Path, spec: dict[str, Any], folder: Path, env: dict[str, str], echo: Callable[[str], None],
                  world: int) -> tuple[str, str]:
    """Notebook ``nb`` on this process, in step with the others under ``torchrun``: its kernel's
    process group on a port rank 0 chose; when the notebook fails here, a flag in the runners'
    store stops the others' copies at once (rather than leave them waiting in a collective);
    then every process's outcome (:func:`_joined`)."""
    if world == 1 or not _together(nb):
        return _execute(spec, folder, {**env, **_group_env(nb, world)}, echo)
    rank = distributed.rank_world()[0]
    flags, key = distributed.store(), f"colorlab-failed/{nb.stem}"

    def stop() -> str | None:
        if flags.check([key]):
            return f"stopped: {flags.get(key).decode()}"
        return None

    status, error = _execute(spec, folder, {**env, **_group_env(nb, world)}, echo, stop)
    if status != "ok" and not flags.check([key]):
        flags.set(key, f"the notebook {status} on process {rank} of {world}: {error.splitlines()[0] if error else ''}")
    return _joined(status, error, world)


def _joined(status: str, error: str, world: int) -> tuple[str, str]:
    """Every process's outcome of a notebook (after it ended everywhere): ``ok`` only when it is
    ``ok`` on each; otherwise the first other status, with the rank and its error. A process that
    cannot be reached any more makes it ``failed``."""
    try:
        outcomes = distributed.all_gather_object((status, error))
    except RuntimeError as e:  # another process died (killed, out of memory)
        return "failed", f"lost the other training processes ({str(e).splitlines()[0]})"
    for r, (st, err) in enumerate(outcomes):
        if st != "ok":
            return st, err if r == 0 else f"on process {r} of {world}: {err}"
    return "ok", ""


def _follow(plan: Any) -> list[NotebookRun]:
    """A process other than rank 0 under ``torchrun``: the plan's reproduction notebooks in kernels
    of their own, in step with rank 0, keeping nothing (docs/performance.md)."""
    import tempfile

    rank, world = distributed.rank_world()
    kernel = ensure_kernel()
    env = _kernel_env(plan)
    runs = []
    with tempfile.TemporaryDirectory(prefix=f"colorlab-rank{rank}-") as tmp, _stop_signals_as_interrupt():
        for nb in plan.books:
            if not _together(nb):
                continue
            folder = Path(tmp) / nb.stem
            folder.mkdir()
            spec = {"input": str(nb), "output": str(folder / nb.name), "parameters": plan.params[nb.stem],
                    "kernel": kernel, "cwd": str(plan.folder), "timeout": plan.timeout}
            t0 = time.perf_counter()
            status, error = _run_together(nb, spec, folder, env, lambda line: None, world)
            runs.append(NotebookRun(nb.stem, status, round(time.perf_counter() - t0, 1), "", error, _now()))
            if status == "interrupted":
                break
    return runs
