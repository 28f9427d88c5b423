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

Example:
    >>> sorted(METHODS)
    ['fusion', 'larsson', 'pix2pix', 'saturation_boost', 'unet', 'yuv_regression', 'zhang']
    >>> build("zhang", "l2", width=0.125).args["head"]
    'regress'
    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown method 'nope'; known: yuv_regression, saturation_boost, zhang, unet, fusion, pix2pix, larsson"
"""

from __future__ import annotations

from typing import Any

from ..claims import Claim, Published
from .base import Method, Trained, Variant
from .fusion import Fusion
from .larsson import Larsson
from .pix2pix import Pix2Pix
from .saturation_boost import SaturationBoost
from .unet import UNet
from .yuv_regression import YuvRegression
from .zhang import Zhang

__all__ = ["METHODS", "Method", "Trained", "Variant", "get", "build", "all_claims", "all_published"]

#: name -> method class, in notebook order
METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (YuvRegression, SaturationBoost, Zhang, UNet, Fusion, Pix2Pix,
                                                                   Larsson)}


def get(name: str) -> type[Method]:
    """The method class registered as ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def build(name: str, variant: str | None = None, **args: Any) -> Method:
    """A new method by name and variant (``None``: its first), with arguments over its defaults."""
    return get(name)(variant, **args)


def all_claims() -> list[Claim]:
    """Every registered method's claims, in registry order (each declared once, not inherited)."""
    return [c for cls in METHODS.values() for c in cls.__dict__.get("claims", ())]


def all_published() -> list[Published]:
    """Every registered method's published values, in registry order (each declared once)."""
    return [p for cls in METHODS.values() for p in cls.__dict__.get("published", ())]
