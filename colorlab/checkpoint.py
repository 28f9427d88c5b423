"""Checkpoints that rebuild their method alone.

A checkpoint is one :func:`torch.save` file, written atomically and read with
``weights_only=True``. Its entries:

================ ===========================================================================
``format``       :data:`FORMAT`, marks the file as a colorlab checkpoint
``version``      :data:`VERSION` of the layout; a newer one than this code reads is refused
``colorlab``     the package version that wrote it
``method``       the registry name (:mod:`colorlab.methods`)
``variant``      the method's variant
``args``         every constructor argument, so ``get(method)(variant, **args)`` rebuilds it
``normalisation`` the name of the method's normalisation convention (:mod:`colorlab.color`)
``state_dict``   the method's networks and buffers
``optimizers``   ``{name: optimizer state}``
``step``         training steps done; ``train_seconds`` the time they took
``run``          the training loop's settings (:class:`colorlab.train.TrainConfig`)
``rng``          ``{"cpu": ..., "cuda": ...}`` generator states, for exact resumption
``history``      the loss history, ``{column: [values]}``
``data``         what the method was trained on (:meth:`colorlab.data.ColorDataset.describe`)
================ ===========================================================================

Example:
    >>> import tempfile, pathlib
    >>> from colorlab.methods import build
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> save(path, build("yuv_regression", "l2", base=4))
    >>> m = load(path)
    >>> m.name, m.variant, m.args["base"], m.training
    ('yuv_regression', 'l2', 4, False)
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from . import __version__
from .backbones import skip_weights
from .files import atomic_write, plain
from .methods import Method, get

__all__ = ["FORMAT", "VERSION", "CheckpointError", "UnreadableCheckpoint", "save", "read", "rebuild", "load", "history"]

#: The ``format`` entry of every colorlab checkpoint.
FORMAT = "colorlab-checkpoint"
#: The layout version this code writes and the newest it reads.
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a checkpoint this code can rebuild; the message names the file."""


class UnreadableCheckpoint(CheckpointError):
    """A file :func:`torch.load` cannot read at all: empty, truncated, not a torch file."""



def _first_line(e: BaseException) -> str:
    """An exception in one line: its type, its first message line, and how many lines were cut."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    more = f" (and {len(lines) - 2} more lines)" if len(lines) > 2 else ""
    return f"{type(e).__name__}: {' '.join(lines[:2]) or 'no message'}{more}"


def save(
    path: str | os.PathLike,
    method: Method,
    *,
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    step: int = 0,
    train_seconds: float = 0.0,
    run: Mapping[str, Any] | None = None,
    rng: Mapping[str, Any] | None = None,
    history: Mapping[str, list] | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Write ``method`` and its training state to ``path`` atomically (a kill mid-write leaves the
    previous file intact)."""
    state = {
        "format": FORMAT, "version": VERSION, "colorlab": __version__,
        "method": method.name, "variant": method.variant, "args": plain(method.args),
        "normalisation": method.norm.name,
        "state_dict": method.state_dict(),
        "optimizers": {k: opt.state_dict() for k, opt in (optimizers or {}).items()},
        "step": int(step), "train_seconds": float(train_seconds),
        "run": plain(dict(run or {})), "rng": dict(rng or {}),
        "history": {k: list(v) for k, v in (history or {}).items()},
        "data": plain(dict(data or {})),
    }
    atomic_write(path, lambda f: torch.save(state, f))


def read(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's entries, checked: a missing file raises ``FileNotFoundError``; an unreadable
    file (empty, truncated, not a torch file, not weights-only) :class:`UnreadableCheckpoint`; a
    foreign file or a newer format :class:`CheckpointError`; each names the file. Errors that say
    nothing about the file (no permission, out of memory) pass through unchanged."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (torch.OutOfMemoryError, PermissionError):
        raise
    except (EOFError, RuntimeError, ValueError, OSError, pickle.UnpicklingError) as e:  # a truncated zip: OSError 22
        raise UnreadableCheckpoint(f"{path}: not a readable checkpoint ({_first_line(e)})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a colorlab checkpoint (it has no 'format': {FORMAT!r} entry)")
    version = state.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is newer than this colorlab reads "
                              f"({VERSION}); upgrade colorlab (this is {__version__})")
    return state


def rebuild(state: Mapping[str, Any], path: str | os.PathLike = "<checkpoint>") -> Method:
    """The method of a :func:`read` checkpoint, its weights and buffers loaded, in eval mode. An
    unknown method raises :class:`CheckpointError` naming the file. Building it does not disturb
    the caller's random number generators."""
    try:
        cls = get(state.get("method", "<none>"))
    except KeyError as e:
        raise CheckpointError(f"{path}: {e.args[0]}") from e
    if state.get("normalisation") != cls.norm.name:
        raise CheckpointError(f"{path}: its inputs were normalised as {state.get('normalisation')!r}; "
                              f"{cls.name} now uses {cls.norm.name!r}")
    try:
        with torch.random.fork_rng(devices=[]), skip_weights():  # the file has the weights: load no others
            method = cls(state["variant"], **state["args"])
        method.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: cannot rebuild {state.get('method')!r} from it: {_first_line(e)}") from e
    return method.eval()


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Method:
    """Rebuild the method stored in ``path`` (:func:`read`, then :func:`rebuild`)."""
    return rebuild(read(path, map_location), path)


def history(state: Mapping[str, Any]) -> pd.DataFrame:
    """The loss history of a :func:`read` checkpoint, with ``attrs`` ``steps``, ``train_seconds``
    and ``device`` (the one that trained it) as :func:`colorlab.train.fit` returns them."""
    df = pd.DataFrame(state.get("history", {}))
    run = state.get("run", {})
    df.attrs.update(steps=int(state.get("step", 0)), train_seconds=float(state.get("train_seconds", 0.0)),
                    device=run.get("device_used", run.get("device")))
    return df
