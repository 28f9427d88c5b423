"""Writing files so that a crash never leaves half of one.

The floor under results, checkpoints and caches; it imports nothing else from the package.
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
    """Write a file atomically.

    ``write(f)`` fills a temporary file beside ``path``, which :func:`os.replace` then moves onto
    ``path``. A kill mid-write leaves the previous file intact, and concurrent writers never share
    a temporary file. The file gets the permissions a plain ``open`` would give it (``0666`` less
    the umask), not the ``0600`` of a temporary file.

    Args:
        path: the file to write; its parent folders are created.
        write: called once with the temporary file, open for binary writing.

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
