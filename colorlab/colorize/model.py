"""The model ``colorlab colorize`` runs, checked and loaded before any photo is read.

A model is a checkpoint file, ``METHOD/VARIANT[@NOTEBOOK]`` of a results folder (:func:`choose_checkpoint`), or a
released model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError
from .core import DEFAULT_SIZE

__all__ = ["Model", "PROFILE_PREFERENCE", "GENERATED", "check_spec", "check_profile", "list_checkpoints",
           "choose_checkpoint", "pick", "find_checkpoint", "load_model", "describe"]


@dataclass
class Model:
    """A model ready to colourise, and the record of where it came from.

    Args:
        method: the method, in eval mode on its device.
        record: where it came from: the spec, its kind (``checkpoint`` or ``released``), its method,
            variant and arguments, and a checkpoint's path, steps and training data.
        size: the working size, pixels.
    """

    method: Any
    record: dict[str, Any]
    size: int


def _method_variant(spec: str) -> tuple[str, str, str | None] | None:
    """``(method, variant, notebook)`` when ``spec`` reads as ``METHOD/VARIANT[@NOTEBOOK]`` of a registered method."""
    from .. import methods

    name, sep, rest = spec.partition("/")
    variant, at, notebook = rest.partition("@")
    if sep and name in methods.METHODS and variant and "/" not in rest and not spec.endswith(".pt"):
        return name, variant, notebook if at else None
    return None


def check_spec(spec: str, cwd: str | os.PathLike | None = None) -> str:
    """Check a model spec in milliseconds, before any work.

    Args:
        spec: a released model's name; ``METHOD/VARIANT`` of a registered method and one of its
            variants, optionally ``@NOTEBOOK`` (the number or name of the notebook that trained it;
            its checkpoint may be trained later in the same run); or a checkpoint file.
        cwd: where a relative file is taken from (``None``: the current directory).

    Returns:
        The spec; a file made absolute.

    Raises:
        UsageError: none of these; the message says what is known.

    Example:
        >>> check_spec("zhang/full"), check_spec("zhang/full@00"), check_spec("zhang2016-released")
        ('zhang/full', 'zhang/full@00', 'zhang2016-released')
        >>> check_spec("zhang/fancy")
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: zhang has no variant 'fancy'; known: full, class, l2, siggraph17
    """
    from .. import methods

    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"a model must be a checkpoint file, METHOD/VARIANT or a released model name; got {spec!r}")
    if spec in methods.RELEASED:
        return spec
    if mv := _method_variant(spec):
        variants = methods.get(mv[0]).variants
        if mv[1] not in variants:
            raise UsageError(f"{mv[0]} has no variant {mv[1]!r}; known: {', '.join(variants)}")
        if mv[2] is not None and not _NOTEBOOK.fullmatch(mv[2]):
            raise UsageError(f"{spec!r}: after @ give the notebook that trained it, by number or name "
                             f"(e.g. {mv[0]}/{mv[1]}@03 or @03_zhang_classification)")
        return spec
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else Path(cwd or os.getcwd()) / path
    if not path.is_file():
        raise UsageError(f"no checkpoint {str(path)!r}: give a checkpoint file, METHOD/VARIANT (picked from "
                         f"results/), or a released model ({', '.join(methods.RELEASED)})")
    return str(path.resolve())


#: Profiles in the order ``METHOD/VARIANT`` prefers their checkpoints when no profile is named:
#: the longest training first; any other profile folder (``adhoc``, a user's own) before smoke.
PROFILE_PREFERENCE = ("full", "quick")
_LAST = "smoke"
#: The split rule of generated data (the positive control's ``ambiguous``): such a model is picked
#: only when its notebook is named (``METHOD/VARIANT@00``).
GENERATED = "generated"
#: A notebook after ``@``: its number, or its whole name.
_NOTEBOOK = re.compile(r"\d\d(_\w+)?")


def check_profile(profile: str) -> str:
    """``profile``, checked to be a plain folder name, as ``colorlab report`` and ``run`` check it.

    Args:
        profile: the profile's name.

    Returns:
        The name.

    Raises:
        UsageError: empty, with a slash, or starting with a dot (``--profile ../../etc`` would look elsewhere).

    Example:
        >>> check_profile("../../etc")
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: profile must be a plain name like quick; got '../../etc'
    """
    from ..results import profile_dir

    try:
        profile_dir(profile, "/")  # the rule of every results folder (colorlab.checks.check_profile's)
    except (ValueError, TypeError) as e:
        raise UsageError(f"profile must be a plain name like quick; got {profile!r}") from e
    return profile


def _profile_rank(profile: str) -> int:
    return (len(PROFILE_PREFERENCE) - PROFILE_PREFERENCE.index(profile) + 1 if profile in PROFILE_PREFERENCE
            else 0 if profile == _LAST else 1)


def _trainers(profile_dir: Path, base: Path) -> dict[Path, str]:
    """The notebook that trained each checkpoint a profile's results name (``metrics.json``, ``info.models``)."""
    found: dict[Path, str] = {}
    for metrics in sorted(profile_dir.glob("*/metrics.json")):
        if "." in metrics.parent.name:  # results set aside (``.previous``)
            continue
        try:
            models = json.loads(metrics.read_text()).get("info", {}).get("models", {})
        except (OSError, ValueError, AttributeError):
            continue
        for rec in models.values() if isinstance(models, dict) else ():
            if isinstance(rec, dict) and isinstance(rec.get("checkpoint"), str):
                trainer = rec.get("from_notebook") or metrics.parent.name  # a model another notebook trained
                found.setdefault((base / rec["checkpoint"]).resolve(), trainer)
    return found


def list_checkpoints(root: str | os.PathLike | None = None, profile: str | None = None,
                     name: str | None = None) -> list[dict[str, Any]]:
    """Every checkpoint of a results folder with where it came from, each read cheaply (its tensors mapped, not read).

    Args:
        root: the results folder (:func:`colorlab.results.results_root`).
        profile: the profile (default: every one).
        name: ``METHOD/VARIANT`` to list only those.

    Returns:
        One record per file, by profile and path: ``profile``, ``model`` (``METHOD/VARIANT``), ``path``, ``notebook``
        (the one that trained it, from the results' ``metrics.json``; ``None`` when none names it), ``seed`` (0 when
        unrecorded, the training default), ``data`` (its spec), ``generated`` (generated data, the positive
        control's), ``steps``, ``n_images`` and ``error`` (why it cannot be read, else ``None``).

    Raises:
        UsageError: a profile that is not a plain folder name.

    Example:
        >>> list_checkpoints("/nonexistent")
        []
    """
    from .. import checkpoint
    from ..results import results_root

    if profile is not None:
        check_profile(profile)
    base = results_root(root)
    method, _, variant = (name or "*/*").partition("/")
    pattern = f"{profile or '*'}/checkpoints/{method}/{variant}{'-*steps-*' if name else ''}.pt"
    trainers: dict[str, dict[Path, str]] = {}
    rows = []
    for path in sorted(base.glob(pattern)):
        prof = path.parents[2].name  # <profile>/checkpoints/<method>/<file>
        if prof not in trainers:
            trainers[prof] = _trainers(base / prof, base)
        row: dict[str, Any] = {"profile": prof, "model": f"{path.parent.name}/{path.name.split('-')[0]}", "path": path,
                               "notebook": trainers[prof].get(path.resolve()), "generated": False, "error": None,
                               **dict.fromkeys(("seed", "data", "steps", "n_images"))}
        try:
            state = checkpoint.read(path, mmap=True)
        except (checkpoint.CheckpointError, OSError) as e:
            row["error"] = str(e).removeprefix(f"{path}: ")
        else:
            data, seed = state.get("data") or {}, (state.get("run") or {}).get("seed")
            row.update(model=f"{state.get('method')}/{state.get('variant')}", seed=seed if isinstance(seed, int) else 0,
                       data=data.get("spec"), generated=data.get("split_rule") == GENERATED,
                       steps=int(state.get("step", 0)), n_images=data.get("n_images"))
        rows.append(row)
    return rows


def choose_checkpoint(name: str, root: str | os.PathLike | None = None, profile: str | None = None,
                      seed: int = 0) -> tuple[Path, str]:
    """The checkpoint ``METHOD/VARIANT[@NOTEBOOK]`` names in a results folder, and why it is that one.

    Whatever the order things ran in: of the seed, trained on photos (on generated data, the positive control's,
    only when its notebook is named after ``@``) or by the named notebook, the one with the most steps, then the
    most training images, then the first path; of the profile named, else of the first profile that has one in the
    order of :data:`PROFILE_PREFERENCE`, any other, smoke (a few smoke steps never beat a trained model).

    Args:
        name: ``METHOD/VARIANT``, optionally ``@NOTEBOOK`` (its number, ``00``, or name).
        root: the results folder (:func:`colorlab.results.results_root`).
        profile: the profile to look in.
        seed: the training seed.

    Returns:
        The checkpoint's path, and one line on why it was chosen.

    Raises:
        UsageError: a bad profile, or no such checkpoint; the message lists what there is.

    Example:
        >>> choose_checkpoint("zhang/full", "/nonexistent", profile="quick")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: no checkpoint 'zhang/full' in /nonexistent/quick/checkpoints/ (train one ...
    """
    from ..results import results_root

    model = name.partition("@")[0]
    rows = list_checkpoints(root, profile, model)
    if not rows:
        have = sorted({r["model"] for r in list_checkpoints(root, profile)})
        run = f"colorlab run --profile {profile}" if profile else "colorlab run"
        raise UsageError(f"no checkpoint {model!r} in {results_root(root)}/{profile or '*'}/checkpoints/ (train one "
                         f"with {run}); there: {', '.join(have) or 'none'}")
    best, why = pick(rows, name, seed, named_profile=profile is not None)
    return best["path"], why


def pick(rows: Sequence[Mapping[str, Any]], name: str, seed: int = 0,
         named_profile: bool = True) -> tuple[Mapping[str, Any], str]:
    """The record :func:`choose_checkpoint` chooses among :func:`list_checkpoints`' records, and why.

    Args:
        rows: the records.
        name: ``METHOD/VARIANT``, optionally ``@NOTEBOOK``.
        seed: the training seed.
        named_profile: whether the records' profile was asked for (else the why names the preference).

    Returns:
        The record, and one line on why it was chosen.

    Raises:
        UsageError: none fits; the message lists the records of ``METHOD/VARIANT``.
    """
    model, _, notebook = name.partition("@")
    rows = [r for r in rows if r["model"] == model]
    fits = [r for r in rows if r["error"] is None and r["seed"] == seed  # a notebook by its name or its number
            and (notebook in (r["notebook"], (r["notebook"] or "").split("_")[0]) if notebook else not r["generated"])]
    if not fits:
        there = "; ".join(f"{r['profile']}: {_label(r)}" for r in rows) or "none"
        kind = f"notebook {notebook}'s" if notebook else "photo-trained"
        raise UsageError(f"no {kind} {model!r} of seed {seed}; there: {there} (ask for one with {model}@NOTEBOOK "
                         f"or --seed N)")
    best = min(fits, key=lambda r: (-_profile_rank(r["profile"]), -r["steps"], -(r["n_images"] or 0), str(r["path"])))
    others = [r for r in rows if r is not best and r["profile"] == best["profile"]]
    control = sum(r["generated"] for r in others)
    kind = f"notebook {notebook}'s" if notebook else "the photo-trained"
    order = f" (the first of {', '.join(PROFILE_PREFERENCE)}, any other, {_LAST} that has one)"
    why = (f"{_label(best)}: {kind} {model} of seed {seed} with the most steps in profile {best['profile']}"
           + ("" if named_profile else order)
           + (f"; {len(others)} other(s) there" if others else "")
           + (f", {control} trained on generated data (ask with {model}@NOTEBOOK)" if control else ""))
    return best, why


def _label(row: Mapping[str, Any]) -> str:
    """One checkpoint in words: its notebook, seed, data and steps."""
    if row["error"]:
        return f"{row['path'].name} (unreadable: {row['error']})"
    return (f"{row['path'].name} (notebook {row['notebook'] or 'unrecorded'}, seed {row['seed']}, "
            f"{row['data'] or 'unrecorded data'}{' (generated)' if row['generated'] else ''}, {row['steps']} steps)")


def find_checkpoint(name: str, root: str | os.PathLike | None = None, profile: str | None = None,
                    seed: int = 0) -> Path:
    """The checkpoint ``METHOD/VARIANT[@NOTEBOOK]`` names in a results folder.

    Args:
        name, root, profile, seed: :func:`choose_checkpoint`'s.

    Returns:
        The checkpoint's path (:func:`choose_checkpoint`'s, without why).
    """
    return choose_checkpoint(name, root, profile, seed)[0]


def load_model(spec: str, *, weights: str | os.PathLike | None = None, results: str | os.PathLike | None = None,
               profile: str | None = None, device: str | torch.device = "cpu", size: int | None = None,
               seed: int = 0) -> Model:
    """Load the model a spec names, checked before any photo is read.

    Args:
        spec: a released model's name (``zhang2016-released``, :data:`colorlab.methods.RELEASED`); a
            checkpoint file (:func:`colorlab.checkpoint.load`); or ``METHOD/VARIANT[@NOTEBOOK]``, a
            checkpoint of the results folder (:func:`choose_checkpoint`).
        weights: a released model's weights file (default: the torch hub cache, else a download).
        results: the results folder ``METHOD/VARIANT`` is looked up in.
        profile: the profile ``METHOD/VARIANT`` is taken from (a plain folder name).
        device: where the model goes.
        size: the working size (default: the training photos' shorter side it records, else :data:`DEFAULT_SIZE`).
        seed: the training seed ``METHOD/VARIANT`` is taken with.

    Returns:
        The model, in eval mode on ``device``; for ``METHOD/VARIANT`` its record says which checkpoint and why.

    Raises:
        UsageError: a bad size, seed or profile; weights given for a checkpoint; a missing, foreign, corrupt,
            unknown-method or newer-format checkpoint (named); released weights that cannot be had; a bad device.
    """
    from .. import checkpoint, methods

    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise UsageError(f"--size must be a positive integer; got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be an integer >= 0; got {seed!r}")
    if profile is not None:
        check_profile(profile)
    record: dict[str, Any] = {"checkpoint": spec}
    released = methods.RELEASED
    if spec in released:
        try:
            method = methods.load_released(spec, weights)
        except (OSError, ValueError, RuntimeError) as e:
            raise UsageError(str(e).splitlines()[0]) from e
        record.update(kind="released", origin=method.origin)
        default_size = DEFAULT_SIZE
    else:
        if weights is not None:
            raise UsageError(f"--weights is for a released model ({', '.join(released) or 'none known'}); "
                             f"{spec!r} is a checkpoint, which holds its own weights")
        path = Path(spec).expanduser()
        if not path.exists() and _method_variant(spec):
            check_spec(spec)
            path, record["chosen"] = choose_checkpoint(spec, results, profile, seed)
        if path.is_dir():
            raise UsageError(f"{str(path)!r} is a folder: give a checkpoint file (.pt) in it")
        if not path.exists():
            raise UsageError(f"no checkpoint {str(path)!r}: give a checkpoint file, METHOD/VARIANT (picked from "
                             f"results/), or a released model ({', '.join(released) or 'none known'})")
        try:
            state = checkpoint.read(path)
            method = checkpoint.rebuild(state, path)
        except (checkpoint.CheckpointError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
            raise UsageError(str(e).splitlines()[0]) from e
        data, run_cfg = state.get("data") or {}, state.get("run") or {}
        steps, planned = int(state.get("step", 0)), run_cfg.get("steps")
        record.update(kind="checkpoint", path=str(path.resolve()), steps=steps, planned_steps=planned,
                      finished=planned is None or steps >= int(planned), data=data.get("spec"),
                      image_size=data.get("image_size"), crop=data.get("crop"), seed=run_cfg.get("seed"),
                      colorlab=state.get("colorlab"))
        default_size = int(data["image_size"]) if data.get("image_size") else DEFAULT_SIZE
    record.update(method=method.name, variant=method.variant, args=method.args)
    try:
        method = method.to(device).eval()
    except RuntimeError as e:
        raise UsageError(f"cannot move the model to {device}: {e}") from e
    return Model(method, record, size or default_size)


def describe(model: Model) -> str:
    """One line on where a model came from.

    Args:
        model: the model.

    Returns:
        Its method and variant, the checkpoint with its steps, data and seed (UNFINISHED when it
        stopped short of its planned steps) or the released weights, and the working size.
    """
    rec = model.record
    name = f"{rec['method']}/{rec['variant']}"
    if rec.get("kind") == "released":
        origin = rec.get("origin", {})
        return f"{name}: released weights {origin.get('weights')} ({rec['checkpoint']}), working size {model.size}"
    unfinished = "" if rec.get("finished", True) else f" (UNFINISHED: {rec.get('planned_steps')} planned)"
    seed = "" if rec.get("seed") is None else f", seed {rec['seed']}"
    return (f"{name}: {rec.get('path', rec['checkpoint'])}, {rec.get('steps')} steps{unfinished} on "
            f"{rec.get('data') or 'unrecorded data'}{seed}, working size {model.size}")
