"""The model ``colorlab colorize`` runs, checked and loaded before any photo is read.

A model is a checkpoint file, the newest ``METHOD/VARIANT`` of a results folder, or a released model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError
from .core import DEFAULT_SIZE

__all__ = ["Model", "PROFILE_PREFERENCE", "check_spec", "find_checkpoint", "load_model", "describe"]


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


def _method_variant(spec: str) -> tuple[str, str] | None:
    """``(method, variant)`` when ``spec`` reads as ``METHOD/VARIANT`` of a registered method."""
    from .. import methods

    name, sep, variant = spec.partition("/")
    if sep and name in methods.METHODS and variant and "/" not in variant and not spec.endswith(".pt"):
        return name, variant
    return None


def check_spec(spec: str, cwd: str | os.PathLike | None = None) -> str:
    """Check a model spec in milliseconds, before any work.

    Args:
        spec: a released model's name; ``METHOD/VARIANT`` of a registered method and one of its
            variants (its checkpoint may be trained later in the same run); or a checkpoint file.
        cwd: where a relative file is taken from (``None``: the current directory).

    Returns:
        The spec; a file made absolute.

    Raises:
        UsageError: none of these; the message says what is known.

    Example:
        >>> check_spec("zhang/full"), check_spec("zhang2016-released")
        ('zhang/full', 'zhang2016-released')
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
        return spec
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else Path(cwd or os.getcwd()) / path
    if not path.is_file():
        raise UsageError(f"no checkpoint {str(path)!r}: give a checkpoint file, METHOD/VARIANT (the newest in "
                         f"results/), or a released model ({', '.join(methods.RELEASED)})")
    return str(path.resolve())


#: Profiles in the order ``METHOD/VARIANT`` prefers their checkpoints when no profile is named:
#: the longest training first; any other profile folder (``adhoc``, a user's own) before smoke.
PROFILE_PREFERENCE = ("full", "quick")
_LAST = "smoke"


def _rank(path: Path) -> tuple[int, float]:
    profile = path.parents[2].name  # <profile>/checkpoints/<method>/<file>
    order = (len(PROFILE_PREFERENCE) - PROFILE_PREFERENCE.index(profile) + 1 if profile in PROFILE_PREFERENCE
             else 0 if profile == _LAST else 1)
    return order, path.stat().st_mtime


def find_checkpoint(name: str, root: str | os.PathLike | None = None, profile: str | None = None) -> Path:
    """The newest checkpoint of ``METHOD/VARIANT`` in a results folder.

    Args:
        name: ``METHOD/VARIANT``.
        root: the results folder (:func:`colorlab.results.results_root`).
        profile: the profile to look in. When none is named, the first profile that has one, in the
            order of :data:`PROFILE_PREFERENCE`, then any other, then smoke (a few smoke steps are
            never preferred to a trained model).

    Returns:
        The checkpoint's path.

    Raises:
        UsageError: there is none; the message lists what there is.

    Example:
        >>> find_checkpoint("zhang/full", "/nonexistent", profile="quick")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: no checkpoint 'zhang/full' in /nonexistent/quick/checkpoints/ (train one ...
    """
    from ..results import results_root

    method, _, variant = name.partition("/")
    base = results_root(root)
    where = profile or "*"
    found = sorted(base.glob(f"{where}/checkpoints/{method}/{variant}-*steps-*.pt"), key=_rank)
    if not found:
        have = sorted({f"{p.parent.name}/{p.name.split('-')[0]}" for p in base.glob(f"{where}/checkpoints/*/*.pt")})
        run = f"colorlab run --profile {profile}" if profile else "colorlab run"
        raise UsageError(f"no checkpoint {name!r} in {base}/{where}/checkpoints/ (train one with {run}); "
                         f"there: {', '.join(have) or 'none'}")
    return found[-1]


def load_model(spec: str, *, weights: str | os.PathLike | None = None, results: str | os.PathLike | None = None,
               profile: str | None = None, device: str | torch.device = "cpu", size: int | None = None) -> Model:
    """Load the model a spec names, checked before any photo is read.

    Args:
        spec: a released model's name (``zhang2016-released``, :data:`colorlab.methods.RELEASED`); a
            checkpoint file (:func:`colorlab.checkpoint.load`); or ``METHOD/VARIANT``, the newest
            such checkpoint in the results folder (:func:`find_checkpoint`).
        weights: a released model's weights file (default: the torch hub cache, else a download).
        results: the results folder ``METHOD/VARIANT`` is looked up in.
        profile: the profile ``METHOD/VARIANT`` is taken from.
        device: where the model goes.
        size: the working size (default: the training photos' shorter side the checkpoint records,
            else :data:`DEFAULT_SIZE`).

    Returns:
        The model, in eval mode on ``device``.

    Raises:
        UsageError: a bad size; weights given for a checkpoint; a missing, foreign, corrupt,
            unknown-method or newer-format checkpoint (named); released weights that cannot be had; a
            device the model cannot be moved to.
    """
    from .. import checkpoint, methods

    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise UsageError(f"--size must be a positive integer; got {size!r}")
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
            path = find_checkpoint(spec, results, profile)
        if path.is_dir():
            raise UsageError(f"{str(path)!r} is a folder: give a checkpoint file (.pt) in it")
        if not path.exists():
            known = ", ".join(released)
            raise UsageError(f"no checkpoint {str(path)!r}: give a checkpoint file, METHOD/VARIANT (the newest in "
                             f"results/), or a released model ({known or 'none known'})")
        try:
            state = checkpoint.read(path)
            method = checkpoint.rebuild(state, path)
        except (checkpoint.CheckpointError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
            raise UsageError(str(e).splitlines()[0]) from e
        data, run_cfg = state.get("data") or {}, state.get("run") or {}
        steps, planned = int(state.get("step", 0)), run_cfg.get("steps")
        record.update(kind="checkpoint", path=str(path.resolve()), steps=steps, planned_steps=planned,
                      finished=planned is None or steps >= int(planned), data=data.get("spec"),
                      image_size=data.get("image_size"), crop=data.get("crop"), colorlab=state.get("colorlab"))
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
        Its method and variant, the checkpoint with its steps and data (UNFINISHED when it stopped
        short of its planned steps) or the released weights, and the working size.
    """
    rec = model.record
    name = f"{rec['method']}/{rec['variant']}"
    if rec.get("kind") == "released":
        origin = rec.get("origin", {})
        return f"{name}: released weights {origin.get('weights')} ({rec['checkpoint']}), working size {model.size}"
    unfinished = "" if rec.get("finished", True) else f" (UNFINISHED: {rec.get('planned_steps')} planned)"
    return (f"{name}: {rec.get('path', rec['checkpoint'])}, {rec.get('steps')} steps{unfinished} on "
            f"{rec.get('data') or 'unrecorded data'}, working size {model.size}")
