"""The models of the study, found by name: each module of this package that declares ``METHOD``
(a :class:`~colorlab.methods.base.Method` subclass) is one method, registered under its ``name``.

A method holds what a checkpoint needs to rebuild it: its networks, constructor arguments,
normalisation, training step with its own optimisers, decodings and variants
(:mod:`.base` is the contract). What a source claims about it lives in :mod:`colorlab.papers`.

**Released models**: the trained weights a source's authors published, declared by their method
(:attr:`Method.released`) and listed in :data:`RELEASED`; :func:`load_released` maps them into the
method (the file from ``weights``, else the torch hub cache, else a download; offline with
neither, :class:`ReleasedUnavailable` within seconds), in eval mode, with :attr:`Method.origin`
saying where they came from.

Example:
    >>> list(METHODS)
    ['fusion', 'larsson', 'pix2pix', 'saturation_boost', 'unet', 'yuv_regression', 'zhang']
    >>> build("zhang", "l2", width=0.125).args["head"]
    'regress'
    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown method 'nope'; known: fusion, larsson, pix2pix, saturation_boost, unet, yuv_regression, zhang"
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
from ..released import ReleasedUnavailable, cached_file, fetch
from .base import Method, Released, StepMode, Trained, Variant

__all__ = ["METHODS", "RELEASED", "Method", "Released", "ReleasedUnavailable", "StepMode", "Trained", "Variant", "get", "build",
           "load_released", "released_rows"]


def _discover() -> dict[str, type[Method]]:
    found: dict[str, type[Method]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        cls = getattr(importlib.import_module(f"{__name__}.{info.name}"), "METHOD", None)
        if cls is None:
            continue
        if not (isinstance(cls, type) and issubclass(cls, Method)) or cls.name != info.name:
            raise TypeError(f"{__name__}.{info.name}.METHOD must be a Method subclass named {info.name!r}; got {cls!r}")
        found[cls.name] = cls
    return found


#: name -> method class, in alphabetical order
METHODS: dict[str, type[Method]] = _discover()
#: released model name -> (its method class, :class:`Released`), every registered method's
RELEASED: dict[str, tuple[type[Method], Released]] = {name: (cls, rel) for cls in METHODS.values()
                                                      for name, rel in cls.__dict__.get("released", {}).items()}


def get(name: str) -> type[Method]:
    """The method class registered as ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def build(name: str, variant: str | None = None, **args: Any) -> Method:
    """A new method by name and variant (``None``: its first), with arguments over its defaults."""
    return get(name)(variant, **args)


def load_released(name: str, weights: str | os.PathLike | None = None) -> Method:
    """The released model ``name`` (:data:`RELEASED`) in eval mode, its weights from the file
    ``weights``, else the torch hub cache, else a download (:func:`colorlab.released.fetch`);
    :attr:`~Method.origin` (and so :meth:`~Method.provenance`) records ``released``, ``weights``
    (``file:NAME@SHA1``, ``torch hub cache:NAME@SHA1`` or ``download:NAME@SHA1``) and ``url``.

    An unknown name raises ``KeyError`` listing the known ones; offline with no file and no cached
    copy, :class:`ReleasedUnavailable` (a ``ValueError``) within seconds, naming the URL and where to
    put the file; a missing file ``FileNotFoundError``; an unreadable file, or one whose keys or
    shapes do not fit, ``ValueError`` naming it.

    Example:
        >>> load_released("zhang2018-released")
        Traceback (most recent call last):
        ...
        KeyError: "unknown released model 'zhang2018-released'; known: zhang2016-released, zhang2017-released"
    """
    if name not in RELEASED:
        raise KeyError(f"unknown released model {name!r}; known: {', '.join(RELEASED) or 'none'}")
    _, rel = RELEASED[name]
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
    """A notebook's extra rows: ``({name: Trained}, origin)`` of :func:`load_released` (no training
    steps), or ``({}, "not run: <why>")`` when the weights cannot be had here
    (:class:`ReleasedUnavailable`) or are not ``wanted``; either way one line says which. A file
    given but unusable raises.

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
    progress.say(f"{name}: released weights loaded ({method.origin['weights']}), evaluated with no training steps")
    return {name: Trained(method, history)}, dict(method.origin)
