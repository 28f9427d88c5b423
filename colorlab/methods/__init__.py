"""The methods of the study, found by name: one module per reproduction.

==================== =================================================== ========
name                 what                                                notebook
==================== =================================================== ========
``yuv_regression``   CNN regressing U, V from Y; L1, L2, instance norm    01
``saturation_boost`` the YUV regression, saturation boosted afterwards    02
``zhang``            Zhang et al. 2016: ab classes, class rebalancing     03
``unet``             U-Net, ResNet-50 encoder: regression vs ~200 classes 04
``fusion``           global features fused in; RGB vs UV; a narrow subset 05
``pix2pix``          pix2pix: U-Net + PatchGAN in Lab, L1 vs L1 + GAN      06
``larsson``          Larsson et al. 2016: hypercolumns, colour histograms 07
==================== =================================================== ========

Each is a :class:`~colorlab.methods.base.Method` (the contract is in :mod:`.base`): its
networks, normalisation, training step with its own optimisers, decodings, variants, claims
and published values. A checkpoint stores the method's name, variant and arguments, so
:func:`colorlab.checkpoint.load` rebuilds any of them from the file alone.

Adding a method: one module here with a ``Method`` subclass (class attributes, networks built in
``__init__``, ``configure_optimizers``, ``loss`` or ``train_step``, ``predict_chroma``, claims),
its entry in :data:`METHODS`, and one notebook; the contract test
(``tests/test_methods.py``) then covers it.

**Released models**: the trained weights a source's authors published, declared by their method
(:attr:`Method.released`) and listed in :data:`RELEASED`; :func:`load_released` maps them into the
method (the file from ``weights``, else the torch hub cache, else a download:
:func:`colorlab.released.fetch`; offline with neither, :class:`ReleasedUnavailable` within seconds),
in eval mode, with :attr:`Method.origin` saying where they came from. A loaded model is a method
like any other: it colourises, is evaluated and saved as a checkpoint like a trained one.

Example:
    >>> sorted(METHODS)
    ['fusion', 'larsson', 'pix2pix', 'saturation_boost', 'unet', 'yuv_regression', 'zhang']
    >>> build("zhang", "l2", width=0.125).args["head"]
    'regress'
    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown method 'nope'; known: yuv_regression, saturation_boost, zhang, unet, fusion, pix2pix, larsson"
    >>> sorted(RELEASED), RELEASED["zhang2016-released"][0].__name__
    (['zhang2016-released', 'zhang2017-released'], 'Zhang')
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from .. import progress
from ..claims import Claim, Published
from ..released import ReleasedUnavailable, cached_file, fetch
from .base import Method, Released, Trained, Variant
from .fusion import Fusion
from .larsson import Larsson
from .pix2pix import Pix2Pix
from .saturation_boost import SaturationBoost
from .unet import UNet
from .yuv_regression import YuvRegression
from .zhang import Zhang

__all__ = ["METHODS", "RELEASED", "Method", "Released", "ReleasedUnavailable", "Trained", "Variant", "get", "build",
           "load_released", "released_rows", "all_claims", "all_published"]

#: name -> method class, in notebook order
METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (YuvRegression, SaturationBoost, Zhang, UNet, Fusion, Pix2Pix,
                                                                   Larsson)}
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
        method = rel.build(state)
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


def all_claims() -> list[Claim]:
    """Every registered method's claims, in registry order (each declared once, not inherited)."""
    return [c for cls in METHODS.values() for c in cls.__dict__.get("claims", ())]


def all_published() -> list[Published]:
    """Every registered method's published values, in registry order (each declared once)."""
    return [p for cls in METHODS.values() for p in cls.__dict__.get("published", ())]
