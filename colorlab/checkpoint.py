"""Checkpoints that rebuild their method alone.

A checkpoint is one :func:`torch.save` file, written atomically and read with ``weights_only=True``.
It holds the method's name, variant and every constructor argument beside its weights, so
:func:`load` needs nothing else. docs/running.md lists its entries.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import torch

from . import __version__
from .backbones import skip_weights
from .errors import unreadable_torch_file
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
    """Write ``method`` and its training state to ``path`` atomically (a kill mid-write leaves the old file).

    Args:
        path: the file.
        method: the method; its name, variant, arguments, normalisation and state dict are saved.
        optimizers: its optimisers, by name.
        step: the training steps done.
        train_seconds: the time they took.
        run: the training loop's settings (:class:`colorlab.train.TrainConfig`).
        rng: the random generators' states, for exact resumption.
        history: the loss history, ``{column: [values]}``.
        data: what it was trained on (:meth:`colorlab.data.ColorDataset.describe`).

    Raises:
        OSError: it cannot be written; a full disk says "no space left on device" and names the folder
            (:func:`colorlab.files.atomic_write`), and the previous file is kept.
    """
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
    def write(f: BinaryIO) -> None:
        kept = _KeepsWriteError(f)
        try:
            torch.save(state, kept)
        except RuntimeError as e:  # torch reports a failed write as "unexpected pos": raise what failed
            if kept.error is not None:
                raise kept.error from e
            raise

    atomic_write(path, write)


class _KeepsWriteError:
    """A file for :func:`torch.save` that keeps the ``OSError`` of a failed write (a full disk, say).

    torch's writer replaces it with ``RuntimeError: [enforce fail at inline_container.cc] unexpected
    pos``, which says nothing of the cause.
    """

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.error = f, None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = self.error or e
            raise

    def flush(self) -> None:
        self.f.flush()


def read(path: str | os.PathLike, map_location: str | torch.device = "cpu", *, mmap: bool = False) -> dict[str, Any]:
    """A checkpoint's entries, checked, read with torch's safe loader (``weights_only=True``).

    Each error names the file and says what it is, in colorlab's words: torch's advice to load an
    untrusted file with the safe loader turned off is never passed on. Errors that say nothing about
    the file (no permission, out of memory) pass through unchanged.

    Args:
        path: the file.
        map_location: where its tensors go.
        mmap: map the tensors' storage instead of reading it (cheap when only the record is wanted).

    Returns:
        The entries.

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpoint: empty, truncated, not a torch file, or holding objects the safe loader refuses.
        CheckpointError: a foreign file, or a newer format than this code reads.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "noise.pt"
        >>> _ = path.write_bytes(bytes(range(256)))
        >>> read(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        colorlab.checkpoint.UnreadableCheckpoint: .../noise.pt: not a readable checkpoint: not a colorlab checkpoint ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():  # nor torch's notes on a pickle's protocol: the file is refused anyway
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except (torch.OutOfMemoryError, MemoryError, PermissionError):
        raise
    except Exception as e:  # a truncated zip: OSError 22; noise: UnpicklingError, IndexError, KeyError, ...
        why, foreign = unreadable_torch_file(path, e)
        raise UnreadableCheckpoint(f"{path}: not a readable checkpoint" + (": not a colorlab checkpoint" if foreign
                                                                           else "") + f" ({why})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a colorlab checkpoint (it has no 'format': {FORMAT!r} entry)")
    version = state.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is newer than this colorlab reads "
                              f"({VERSION}); upgrade colorlab (this is {__version__})")
    return state


def rebuild(state: Mapping[str, Any], path: str | os.PathLike = "<checkpoint>") -> Method:
    """The method of a :func:`read` checkpoint, its weights and buffers loaded, in eval mode.

    Building it does not disturb the caller's random number generators, and loads no pretrained
    weights (the file has them).

    Args:
        state: the checkpoint's entries.
        path: the file, for messages.

    Returns:
        The method.

    Raises:
        CheckpointError: an unknown method, another normalisation than the method's now, or
            arguments or weights that do not fit it; the message names the file.
    """
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
    """Rebuild the method stored in ``path`` (:func:`read`, then :func:`rebuild`).

    Args:
        path: the file.
        map_location: where its tensors go.

    Returns:
        The method, in eval mode.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a checkpoint this code can rebuild (:class:`UnreadableCheckpoint`
            when it cannot be read at all).

    Example:
        >>> import tempfile, pathlib
        >>> from colorlab.methods import build
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
        >>> save(path, build("yuv_regression", "l2", base=4))
        >>> m = load(path)
        >>> m.name, m.variant, m.args["base"], m.training
        ('yuv_regression', 'l2', 4, False)
    """
    return rebuild(read(path, map_location), path)


def history(state: Mapping[str, Any]) -> pd.DataFrame:
    """The loss history of a :func:`read` checkpoint, as :func:`colorlab.train.fit` returns it.

    Args:
        state: the checkpoint's entries.

    Returns:
        The history, its ``attrs`` holding ``steps``, ``train_seconds`` and ``device`` (the one
        that trained it).
    """
    df = pd.DataFrame(state.get("history", {}))
    run = state.get("run", {})
    df.attrs.update(steps=int(state.get("step", 0)), train_seconds=float(state.get("train_seconds", 0.0)),
                    device=run.get("device_used", run.get("device")))
    return df
