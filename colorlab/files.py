"""Writing files so that a crash never leaves half of one: the floor under results, checkpoints
and caches. Imports nothing else from the package.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.json"
    >>> write_json(path, {"a": 1})
    >>> path.read_text()
    '{\\n  "a": 1\\n}\\n'
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["atomic_write", "write_json", "plain", "checkout_root"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then :func:`os.replace` it onto
    ``path``: a kill mid-write leaves the previous file intact, and concurrent writers never
    share a temporary file. The file gets the permissions a plain ``open`` would give it
    (``0666`` less the umask), not the ``0600`` of a temporary file. Parent folders are created.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> atomic_write(p, lambda f: f.write(b"hello"))
        >>> p.read_bytes(), oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
        (b'hello', True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Strict JSON (no NaN or infinity), indented, written atomically (:func:`atomic_write`)."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def plain(x: Any, *, strict_json: bool = False) -> Any:
    """``x`` as plain Python values: dicts with string keys, lists (from lists and tuples), scalars
    (NumPy and 0-d tensors unwrapped), anything else as its ``str``. What ``json.dumps`` and
    ``torch.load(weights_only=True)`` accept. With ``strict_json``, NaN becomes ``None`` and an
    infinity the string ``"inf"`` or ``"-inf"`` (strict JSON has neither).

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
    """The top of the colorlab checkout holding ``start`` (default: the current directory): the
    first folder upwards with ``colorlab/__init__.py`` and ``notebooks/``; ``None`` outside one."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "colorlab" / "__init__.py").exists() and (d / "notebooks").is_dir():
            return d
    return None
