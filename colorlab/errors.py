"""The errors and the argument check that every floor of the package shares.

It imports nothing of colorlab, so any module may use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["UsageError", "check_choice", "lookup", "unreadable_torch_file"]

T = TypeVar("T")


class UsageError(ValueError):
    """A request refused before anything runs.

    Its message is one line for the terminal. The commands print it and exit with status 2.
    """


def check_choice(name: str, value: T, choices: Iterable[T], *, owner: str = "") -> T:
    """Check that ``value`` is one of ``choices``.

    Args:
        name: what the value is (an argument's name), for the message.
        value: the value given.
        choices: the values allowed, in the order the message lists them.
        owner: who is asking (a method's name), put before the message when given.

    Returns:
        ``value`` itself.

    Raises:
        ValueError: ``value`` is not one of ``choices``; the message names them all.

    Example:
        >>> check_choice("loss", "l2", ("l1", "l2"))
        'l2'
        >>> check_choice("loss", "l3", ("l1", "l2"), owner="yuv_regression")
        Traceback (most recent call last):
        ...
        ValueError: yuv_regression: loss must be one of l1, l2; got 'l3'
    """
    known = list(choices)
    if value not in known:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be one of {', '.join(map(str, known))}; got {value!r}")
    return value


def lookup(what: str, name: str, registry: Mapping[str, T]) -> T:
    """``registry[name]``; an unknown name raises ``KeyError`` listing the known ones.

    Args:
        what: what the registry holds (``"method"``), for the message.
        name: the name asked for.
        registry: name -> entry.

    Returns:
        The entry.

    Example:
        >>> lookup("method", "l3", {"l1": 1, "l2": 2})
        Traceback (most recent call last):
        ...
        KeyError: "unknown method 'l3'; known: l1, l2"
    """
    if name not in registry:
        raise KeyError(f"unknown {what} {name!r}; known: {', '.join(registry) or 'none'}")
    return registry[name]


def unreadable_torch_file(path: str | os.PathLike, error: BaseException) -> tuple[str, bool]:
    """Why :func:`torch.load` (with its safe loader, ``weights_only=True``) could not read a file, in a
    few words of ours: never torch's advice to turn the safe loader off, which would run whatever
    code an untrusted file holds.

    Args:
        path: the file.
        error: what ``torch.load`` raised.

    Returns:
        ``(why, foreign)``: the reason, and whether the file is no torch file at all (or one holding
        Python objects the safe loader refused) rather than an empty or damaged one.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.pt"; _ = p.write_bytes(b"random bytes")
        >>> unreadable_torch_file(p, RuntimeError("whatever torch says"))
        ('not a file torch.save writes', True)
    """
    import pickle

    import torch

    heads = (b"PK\x03\x04", pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=2))  # zip, or before torch 1.6
    try:
        with open(path, "rb") as f:
            head = f.read(max(len(h) for h in heads))
    except OSError:
        head = b"?"
    if not head:
        return "an empty file", False
    if not head.startswith(heads):
        return "not a file torch.save writes", True
    if isinstance(error, pickle.UnpicklingError):
        return "a torch file holding Python objects other than tensors and plain values; they were not loaded", True
    return f"a truncated or damaged torch file: {type(error).__name__}", False
