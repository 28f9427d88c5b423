"""Everything ``colorlab run`` checks before the first kernel starts.

A typo costs a second, not a kernel start per notebook. :func:`plan_run` checks a :class:`RunRequest` and returns
the :class:`Plan` it will follow; the first problem is a :class:`~colorlab.errors.UsageError` of one line, and the
command exits 2. docs/running.md lists the checks.
"""

from __future__ import annotations

import ast
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import methods, papers, results
from ..backbones import WEIGHTS_PARAMETERS, check_weights
from ..data import check_spec, check_subset
from ..data.sources import FOLDED, embedded_files
from ..device import pick_device
from ..errors import UsageError
from ..profiles import PROFILES, RESERVED, RULES, check_parameter, parameters_for
from .notebook import check_colorize_params, check_params

__all__ = ["RunRequest", "Plan", "notebooks_dir", "find_notebooks", "declared_parameters", "plan_run",
           "check_results_folder", "check_profile", "parameter_table", "check_params", "REPORT_PREFIX", "TOOLS_FROM"]

#: The number of the report notebook, run last (and with ``--only`` too, unless told not to).
REPORT_PREFIX = "99"
#: Notebooks numbered from here are tools for readers (90: colourise your own photos), not
#: reproductions: they judge no claim and add no rows to the summary.
TOOLS_FROM = "90"
#: Data specs that are not a dataset: the full profile refuses them unless forced.
EMBEDDED = ("samples", "photos", "historical")
#: Parameters naming more images (no training split: a gallery's photographs), checked like ``data_spec``.
OTHER_SPECS = ("historical_spec",)


@dataclass(frozen=True)
class RunRequest:
    """What ``colorlab run`` is asked to do, before it is checked (:func:`plan_run`).

    Args:
        profile: ``smoke``, ``quick`` or ``full``.
        only: notebook numbers to run (the report notebook ``99`` runs anyway unless
            ``report_notebook`` is false); ``None``: all.
        overrides: parameters passed, after the profile's, to every notebook that declares them.
        notebooks: the notebooks folder (``None``: ``./notebooks`` or the checkout's).
        root: the results folder (``None``: ``results/``; a relative one is taken from ``cwd``).
        timeout: per-cell execution timeout in seconds for each notebook.
        report_notebook: with ``only``, also run the report notebook.
        force: run the ``full`` profile on the embedded photos anyway.
        cwd: where relative paths are taken from (``None``: the current directory).
        settings: settings of the whole run (``--data``, ``--device``: ``data_spec``, ``device``),
            given to the notebooks that declare them and, unlike ``overrides``, never refused for
            want of one that does (``--only 99 --device cpu``); checked all the same.
    """

    profile: str = "quick"
    only: Sequence[str] | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    notebooks: str | os.PathLike | None = None
    root: str | os.PathLike | None = None
    timeout: float | None = None
    report_notebook: bool = True
    force: bool = False
    cwd: str | os.PathLike | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What a checked ``colorlab run`` will do.

    Args:
        profile: the profile's name.
        folder: the notebooks folder, absolute; the kernels run there.
        books: the notebooks to run, in order.
        params: each notebook's parameters, by its name (``"01_yuv_regression"``).
        root: the results folder, absolute.
        data_spec: the data spec the run uses (a relative ``folder:`` made absolute).
        timeout: the per-cell timeout in seconds, or ``None``.
        overrides: the ``-p`` values (and ``--data``, ``--device``) after the checks.
    """

    profile: str
    folder: Path
    books: list[Path]
    params: dict[str, dict[str, Any]]
    root: Path
    data_spec: str | None
    timeout: float | None
    overrides: dict[str, Any] = field(default_factory=dict)


def notebooks_dir(path: str | os.PathLike | None = None) -> Path:
    """The notebooks folder, absolute.

    Args:
        path: the folder (``None``: ``./notebooks``, else the one beside the installed package).

    Raises:
        UsageError: no such folder.
    """
    candidates = ([Path(path)] if path else
                  [Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"])
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise UsageError(f"no notebooks folder found (looked in {', '.join(map(str, candidates))}); "
                     "run from the colorlab checkout or pass --notebooks PATH")


def find_notebooks(folder: Path, only: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` of a folder, in order.

    Args:
        folder: the notebooks folder.
        only: the numbers to keep (``"3"`` is ``"03"``); ``None``: all.

    Returns:
        The notebooks' paths.

    Raises:
        UsageError: ``only`` names a number that no notebook has.
    """
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {o.zfill(2) for o in only}
        unknown = wanted - {p.name[:2] for p in books}
        if unknown:
            raise UsageError(f"no notebook numbered {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(p.name[:2] for p in books)}")
        books = [p for p in books if p.name[:2] in wanted]
    return books


def declared_parameters(notebook: Path) -> dict[str, str | None]:
    """The parameters a notebook's ``parameters`` cell declares.

    Args:
        notebook: the notebook's path.

    Returns:
        Each parameter's default as source text (papermill's reading), by name.
    """
    import papermill as pm

    return {name: p.get("default") for name, p in pm.inspect_notebook(str(notebook)).items()}


def check_results_folder(root: str | os.PathLike | None, cwd: str | os.PathLike | None = None) -> Path:
    """The results folder, made absolute, created if missing and checked to be writable.

    Args:
        root: the folder (``None``: :func:`colorlab.results.results_root`'s).
        cwd: where a relative ``root`` is taken from (``None``: the current directory).

    Raises:
        UsageError: it is a file, or cannot be made or written.
    """
    path = results.results_root(root)
    if not path.is_absolute():
        path = Path(cwd or os.getcwd()) / path
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"results folder {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UsageError(f"results folder {path} is not writable ({e.strerror or e})") from e
    return path


def check_profile(profile: str) -> str:
    """``profile``, checked to be a plain folder name (``--profile ../x`` would write elsewhere).

    Raises:
        UsageError: empty, with a slash, or starting with a dot.
    """
    if not profile or any(c in profile for c in "/\\") or profile.startswith("."):
        raise UsageError(f"profile must be a plain name like quick; got {profile!r}")
    return profile


def plan_run(request: RunRequest) -> Plan:
    """Check a run and say what it will do.

    Args:
        request: what ``colorlab run`` is asked to do.

    Returns:
        The plan: the notebooks with each one's parameters, checked, and the paths made absolute.

    Raises:
        UsageError: the first problem, in one line.

    Example:
        >>> plan = plan_run(RunRequest("smoke", ["01"], {"steps": 2}, root=tempfile.mkdtemp()))
        >>> [b.name for b in plan.books], plan.params["01_yuv_regression"]["steps"], plan.data_spec
        (['01_yuv_regression.ipynb', '99_results_summary.ipynb'], 2, 'samples')
        >>> plan_run(RunRequest("smoke", overrides={"steps": "abc"}))
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: -p steps='abc': steps must be a positive integer (notebook default: 3); got 'abc'
    """
    profile, cwd = request.profile, request.cwd
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    if request.timeout is not None and not request.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds; got {request.timeout}")
    folder = notebooks_dir(request.notebooks)
    books = find_notebooks(folder, request.only)
    if request.report_notebook and request.only:
        books += [p for p in find_notebooks(folder) if p.name[:2] == REPORT_PREFIX and p not in books]
    if not books:
        raise UsageError(f"no numbered notebooks in {folder}")
    declared = {nb.stem: declared_parameters(nb) for nb in books}
    overrides = _declared_overrides(dict(request.overrides), declared, books, bool(request.only))
    overrides |= {k: v for k, v in request.settings.items() if v is not None}
    for name in ("device", "data_spec"):  # their rules first: the checks below use them
        if name in overrides and not RULES[name][0](overrides[name]):
            raise UsageError(f"-p {name}={overrides[name]!r}: {name} must be {RULES[name][1]}")
    data_spec = _check_data(profile, overrides, request.force, cwd)
    check_colorize_params(overrides, cwd)
    try:
        pick_device(parameters_for(profile, "00", overrides).get("device", "auto"))
    except RuntimeError as e:
        raise UsageError(str(e)) from e
    params = {nb.stem: _notebook_params(profile, nb, declared[nb.stem], overrides) for nb in books}
    for nb in books:
        _check_crop(profile, nb, params[nb.stem], overrides)
    root_path = check_results_folder(request.root, cwd)
    if (root_path / profile).exists() and not (root_path / profile).is_dir():
        raise UsageError(f"results folder {root_path / profile} is a file, not a folder")
    return Plan(profile, folder, books, params, root_path, data_spec, request.timeout, overrides)


def _declared_overrides(overrides: dict[str, Any], declared: Mapping[str, Mapping[str, Any]], books: list[Path],
                        only: bool) -> dict[str, Any]:
    """``-p`` values that some notebook to run declares, none reserved."""
    for name in overrides:
        if name in RESERVED:
            raise UsageError(f"-p {name}: cannot be set with -p: {RESERVED[name]}")
    unknown = set(overrides) - set().union(*map(set, declared.values()))
    if unknown:
        which = f"none of the notebooks to run ({', '.join(nb.name[:2] for nb in books)})" if only else "no notebook"
        raise UsageError(f"{which} declares the parameter(s) {', '.join(sorted(unknown))} (see --list-params)")
    return overrides


def _check_data(profile: str, overrides: dict[str, Any], force: bool, cwd: str | os.PathLike | None) -> str | None:
    """The data spec, other specs, a subset and weights files checked, paths made absolute in
    ``overrides``; the data spec the run uses."""
    common = parameters_for(profile, "00", overrides)
    data_spec = common.get("data_spec")
    if data_spec is not None:
        try:
            data_spec = check_spec(str(data_spec), cwd=cwd)
        except (KeyError, FileNotFoundError, ValueError, RuntimeError) as e:
            raise UsageError(f"--data {common['data_spec']}: {e.args[0] if e.args else e}") from e
        overrides["data_spec"] = data_spec
        if profile == "full" and data_spec in EMBEDDED and not force:
            raise UsageError(f"the full profile is meant for a dataset folder on a GPU (--data folder:PATH); "
                             f"on the {data_spec} photos add --force")
        folds = common.get("folds")
        if folds and data_spec in FOLDED and folds > (n := len(embedded_files(data_spec))):
            raise UsageError(f"-p folds={folds}: {data_spec} has {n} photos; each fold needs at least one")
    for name in OTHER_SPECS:
        if name in overrides:
            try:
                overrides[name] = check_spec(str(overrides[name]), cwd=cwd, colour=False)  # old photos: gray
            except (KeyError, FileNotFoundError, ValueError, RuntimeError) as e:
                raise UsageError(f"-p {name}={overrides[name]!r}: {e.args[0] if e.args else e}") from e
    if "subset" in overrides:  # a list file made absolute, a sub-folder of the data folder checked
        try:
            overrides["subset"] = check_subset(str(overrides["subset"]), str(data_spec or "samples"), cwd)
        except (FileNotFoundError, ValueError) as e:
            raise UsageError(f"-p subset={overrides['subset']!r}: {e.args[0]}") from e
    for name in WEIGHTS_PARAMETERS:  # imagenet, random or a file: checked and made absolute
        if name in overrides:
            try:
                overrides[name] = check_weights(overrides[name], cwd)
            except (FileNotFoundError, ValueError) as e:
                raise UsageError(f"-p {name}={overrides[name]!r}: {e.args[0]}") from e
    return data_spec


def _notebook_params(profile: str, nb: Path, declared: Mapping[str, Any],
                     overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters one notebook runs with: the profile's and the overrides it declares, each checked."""
    mine = {k: v for k, v in parameters_for(profile, nb.name[:2], overrides).items() if k in declared}
    for name, value in mine.items():
        if name == "profile":
            continue
        try:
            check_parameter(name, value, declared[name])
        except ValueError as e:
            where = f"-p {name}={value!r}" if name in overrides else f"{nb.stem}, profile {profile}, {name}"
            raise UsageError(f"{where}: {e}") from e
    return mine


def _check_crop(profile: str, nb: Path, params: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """A notebook's crop against the input multiple of every method its paper trains, with the
    notebook's own arguments (:meth:`colorlab.methods.Method.crop_multiple`)."""
    paper, crop = papers.for_notebook(nb.stem), params.get("crop")
    if paper is None or not isinstance(crop, int):
        return
    for name in paper.methods:
        cls = methods.get(name)
        try:
            multiple = cls.crop_multiple(None, {k: v for k, v in params.items() if k in cls.defaults})
        except (KeyError, TypeError, ValueError):
            continue  # an argument the method refuses: the notebook says so when it builds the model
        if crop % multiple:
            where = f"-p crop={crop}" if "crop" in overrides else f"{nb.stem}, profile {profile}, crop={crop}"
            raise UsageError(f"{where}: notebook {nb.name[:2]} trains {name}, whose crops must be a multiple of "
                             f"{multiple}")


def parameter_table(folder: Path) -> pd.DataFrame:
    """Every parameter of every numbered notebook, for ``colorlab run --list-params``.

    Args:
        folder: the notebooks folder.

    Returns:
        One row per parameter and group of notebooks that share its values: ``parameter``,
        ``notebooks``, ``default`` (the notebook's, which is the smoke value) and one column per
        profile (blank: the notebook's default).
    """
    rows: dict[tuple, dict[str, Any]] = {}
    for nb in find_notebooks(folder):
        for name, default in declared_parameters(nb).items():
            values = {p: repr(parameters_for(p, nb.name[:2])[name]) for p in PROFILES
                      if name in parameters_for(p, nb.name[:2]) and name != "profile"}
            try:  # the default as the profiles show theirs ('samples', not "samples")
                default = repr(ast.literal_eval(default)) if default is not None else "None"
            except (ValueError, SyntaxError):
                pass  # an expression: shown as written
            key = (name, default, tuple(sorted(values.items())))
            row = rows.setdefault(key, {"parameter": name, "notebooks": [], "default": default, **values})
            row["notebooks"].append(nb.name[:2])
    for row in rows.values():
        row["notebooks"] = " ".join(row["notebooks"])
    table = (pd.DataFrame(list(rows.values())).fillna("")
             .reindex(columns=["parameter", "notebooks", "default", *PROFILES]))
    return table.sort_values("parameter", kind="stable").reset_index(drop=True)
