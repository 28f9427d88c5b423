"""The registry of the study's models, found by name.

Each module of this package that declares ``METHOD`` (a :class:`~colorlab.methods.base.Method`
subclass) is one method, registered under its ``name``. A method holds what a checkpoint needs to
rebuild it; :mod:`.base` is the contract. What a source claims about a method lives in
:mod:`colorlab.papers`. The trained weights a source's authors published are listed in
:data:`RELEASED` and loaded by :func:`load_released`.

Example:
    >>> list(METHODS)
    ['fusion', 'larsson', 'pix2pix', 'saturation_boost', 'unet', 'yuv_regression', 'zhang']
    >>> build("zhang", "l2", width=0.125).args["head"]
    'regress'
    >>> sorted(RELEASED), RELEASED["zhang2016-released"][0].__name__
    (['zhang2016-released', 'zhang2017-released'], 'Zhang')
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from typing import Any

import pandas as pd

from .. import progress
from ..errors import lookup
from ..released import ReleasedUnavailable, cached_file, fetch
from .base import Method, Released, StepMode, Trained, Variant

__all__ = ["METHODS", "RELEASED", "Method", "Released", "ReleasedUnavailable", "StepMode", "Trained", "Variant",
           "get", "build", "load_released", "released_rows"]


def _discover() -> dict[str, type[Method]]:
    found: dict[str, type[Method]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        cls = getattr(importlib.import_module(f"{__name__}.{info.name}"), "METHOD", None)
        if cls is None:
            continue
        if not (isinstance(cls, type) and issubclass(cls, Method)) or cls.name != info.name:
            raise TypeError(
                f"{__name__}.{info.name}.METHOD must be a Method subclass named {info.name!r}; got {cls!r}")
        found[cls.name] = cls
    return found


#: name -> method class, in alphabetical order
METHODS: dict[str, type[Method]] = _discover()
#: released model name -> (its method class, :class:`Released`), every registered method's
RELEASED: dict[str, tuple[type[Method], Released]] = {name: (cls, rel) for cls in METHODS.values()
                                                      for name, rel in cls.__dict__.get("released", {}).items()}


def get(name: str) -> type[Method]:
    """Return the method class registered as ``name``.

    Args:
        name: a registry name, a key of :data:`METHODS`.

    Returns:
        The :class:`Method` subclass.

    Raises:
        KeyError: for an unknown name, listing the known ones.

    Example:
        >>> get("zhang").__name__
        'Zhang'
        >>> get("nope")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: "unknown method 'nope'; known: fusion, larsson, ..."
    """
    return lookup("method", name, METHODS)


def build(name: str, variant: str | None = None, **args: Any) -> Method:
    """Build a new method by name and variant.

    Args:
        name: a registry name (:data:`METHODS`).
        variant: one of the method's variants; ``None`` takes its first.
        **args: constructor arguments over the method's defaults and the variant's presets.

    Returns:
        The method, in train mode, with freshly initialised weights.

    Raises:
        KeyError: for an unknown method or variant.
        TypeError: for an unknown argument.
        ValueError: for an argument that contradicts the variant or is out of its choices.

    Example:
        >>> m = build("yuv_regression", "l2", base=4)
        >>> m.variant, m.args["loss"], m.args["base"]
        ('l2', 'l2', 4)
    """
    return get(name)(variant, **args)


def load_released(name: str, weights: str | os.PathLike | None = None) -> Method:
    """Load a released model with its authors' trained weights.

    The weights come from the file ``weights``, else the torch hub cache, else a download
    (:func:`colorlab.released.fetch`). :attr:`~Method.origin`, and so :meth:`~Method.provenance`,
    records ``released`` (the name), ``weights`` (``file:NAME@SHA1``, ``torch hub cache:NAME@SHA1``
    or ``download:NAME@SHA1``) and ``url``.

    Args:
        name: a released model's name, a key of :data:`RELEASED`.
        weights: a local file with the released ``state_dict``; ``None`` for the cache or a download.

    Returns:
        The method in eval mode.

    Raises:
        KeyError: for an unknown name, listing the known ones.
        ReleasedUnavailable: offline with no file and no cached copy, within seconds, naming the URL
            and where to put the file (a ``ValueError``).
        FileNotFoundError: when ``weights`` does not exist.
        ValueError: for an unreadable file, or one whose keys or shapes do not fit, naming it.

    Example:
        >>> load_released("zhang2018-released")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: "unknown released model 'zhang2018-released'; known: zhang2016-released, ..."
    """
    _, rel = lookup("released model", name, RELEASED)
    state, record = fetch(name, rel.url, weights)
    try:
        method = rel.build(RELEASED[name][0], state)
    except ValueError as e:
        source = weights if weights is not None else cached_file(rel.url)  # a download lands there too
        raise ValueError(f"{source}: {name}: {e}") from e
    method.origin = {"released": name, "weights": record, "url": rel.url}
    return method.eval()


def released_rows(name: str, weights: str | os.PathLike | None = None, *,
                  wanted: bool = True) -> tuple[dict[str, Trained], Any]:
    """Give a notebook the rows of a released model, or say why there are none.

    One line on the terminal says which. A file given but unusable raises as in
    :func:`load_released`.

    Args:
        name: a released model's name (:data:`RELEASED`).
        weights: a local file with its weights; ``None`` for the cache or a download.
        wanted: whether the notebook asked for it; ``False`` loads nothing.

    Returns:
        ``({name: Trained}, origin)`` with no training steps, or ``({}, "not run: <why>")`` when the
        weights cannot be had here (:class:`ReleasedUnavailable`) or are not wanted.

    Example:
        >>> released_rows("zhang2016-released", wanted=False)
        zhang2016-released: not run: not asked for
        ({}, 'not run: not asked for')
    """
    if not wanted:
        progress.say(f"{name}: not run: not asked for")
        return {}, "not run: not asked for"
    try:
        method = load_released(name, weights)
    except ReleasedUnavailable as e:
        progress.say(f"{name}: not run: {e}")
        return {}, f"not run: {e}"
    history = pd.DataFrame({"loss": []})
    history.attrs.update(steps=0, train_seconds=float("nan"))
    progress.say(
        f"{name}: released weights loaded ({method.origin['weights']}), evaluated with no training steps")
    return {name: Trained(method, history)}, dict(method.origin)
