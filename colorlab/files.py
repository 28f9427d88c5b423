"""Writing files so that a crash never leaves half of one.

The floor under results, checkpoints and caches; it imports nothing else from the package.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["atomic_write", "write_json", "plain", "checkout_root", "Locked", "hold_lock", "lock_holder"]

#: Tries at taking a lock before it counts as held by another process, and the seconds between two
#: (a :func:`lock_holder` looking at the file holds it for an instant).
LOCK_TRIES, LOCK_RETRY_SECONDS = 3, 0.1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Write a file atomically.

    ``write(f)`` fills a temporary file beside ``path``, which :func:`os.replace` then moves onto
    ``path``. A kill mid-write leaves the previous file intact, and concurrent writers never share
    a temporary file. The file gets the permissions a plain ``open`` would give it (``0666`` less
    the umask), not the ``0600`` of a temporary file. A full disk (or quota) raises an ``OSError``
    of the same ``errno`` that says "no space left on device" and names the folder.

    Args:
        path: the file to write; its parent folders are created.
        write: called once with the temporary file, open for binary writing.

    Raises:
        OSError: from ``write`` or the file system; ``ENOSPC`` and ``EDQUOT`` with the message above.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> atomic_write(p, lambda f: f.write(b"hello"))
        >>> p.read_bytes(), oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
        (b'hello', True)
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):  # a full disk or quota: say so
            raise OSError(e.errno, f"no space left on device: {path.name} not written in {path.parent}/ "
                                   f"(a previous {path.name} is kept as it was)") from e
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as strict JSON (no NaN or infinity), indented, atomically (:func:`atomic_write`).

    Args:
        path: the file to write; its parent folders are created.
        obj: what to write; it must be JSON as it is (see :func:`plain`).

    Raises:
        ValueError: ``obj`` holds NaN or an infinity.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.json"
        >>> write_json(path, {"a": 1})
        >>> path.read_text()
        '{\\n  "a": 1\\n}\\n'
    """
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def plain(x: Any, *, strict_json: bool = False) -> Any:
    """``x`` as plain Python values, which ``json.dumps`` and ``torch.load(weights_only=True)`` accept.

    Args:
        x: any value.
        strict_json: NaN becomes ``None`` and an infinity the string ``"inf"`` or ``"-inf"``
            (strict JSON has neither).

    Returns:
        Dicts with string keys, lists (from lists and tuples), scalars (NumPy scalars and 0-d
        tensors unwrapped), and anything else as its ``str``.

    Example:
        >>> plain({"betas": (0.9, 0.99), 1: float("nan")}, strict_json=True)
        {'betas': [0.9, 0.99], '1': None}
    """
    if isinstance(x, dict):
        return {str(k): plain(v, strict_json=strict_json) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v, strict_json=strict_json) for v in x]
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", 1) == 0:
        x = x.item()
    if strict_json and isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else str(x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def checkout_root(start: str | os.PathLike | None = None) -> Path | None:
    """The top of the colorlab checkout that holds ``start``.

    Args:
        start: where to look from (default: the current directory).

    Returns:
        The first folder upwards with ``colorlab/__init__.py`` and ``notebooks/``; ``None`` outside
        a checkout.
    """
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "colorlab" / "__init__.py").exists() and (d / "notebooks").is_dir():
            return d
    return None


class Locked(Exception):
    """Another process holds the lock :func:`hold_lock` was asked for.

    Args:
        path: the lock file.
        holder: what its holder wrote into it (``pid 123 since ...``), else ``"another process"``.
    """

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path, self.holder = path, holder


def _holder_text(path: Path) -> str:
    try:
        return path.read_text().strip() or "another process"
    except OSError:  # removed meanwhile
        return "another process"


@contextmanager
def hold_lock(path: str | os.PathLike, note: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` for the block, ``note`` written into it.

    The file is removed when the block ends. A file that no process holds (its holder was killed
    outright) blocks nothing: it is taken over. The lock is the kernel's (``flock``), so it ends with
    its holder's process, whatever the file's fate.

    Args:
        path: the lock file; its parent folders are created.
        note: who holds it, for whoever finds it held (:func:`lock_holder`).

    Raises:
        Locked: another process holds it.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / ".lock"
        >>> with hold_lock(p, "pid 1"):
        ...     p.read_text()
        'pid 1'
        >>> p.exists()
        False
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tries = LOCK_TRIES
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            tries -= 1
            if not tries:
                raise Locked(path, _holder_text(path)) from None
            time.sleep(LOCK_RETRY_SECONDS)
            continue
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed the file between our open and our lock: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, note.encode())
        yield
    finally:
        try:
            path.unlink(missing_ok=True)  # while still held, so no one locks a file about to vanish
        finally:
            os.close(fd)  # releases the lock


def lock_holder(path: str | os.PathLike) -> str | None:
    """Who holds the lock file ``path`` (:func:`hold_lock`).

    Args:
        path: the lock file.

    Returns:
        What its holder wrote into it (``pid 123 since ...``); ``None`` when no process holds it,
        a leftover file included.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / ".lock"
        >>> p.write_text("pid 1 (a leftover)") and lock_holder(p) is None
        True
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder_text(Path(path))
    finally:
        os.close(fd)
    return None
