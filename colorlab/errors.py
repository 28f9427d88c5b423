"""The errors and the argument check that every floor of the package shares.

It imports nothing of colorlab, so any module may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["UsageError", "check_choice"]

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
