"""Boosting saturation after the fact (source 000; notebook 02).

Source 000 ("Image colorization"): *it is possible to artificially increase the saturation of
the obtained images to compensate for this but, since there is no additional information gain
involved in this, this is also not the best way of tackling this problem*. The method is the
L1 YUV regression (:class:`~colorlab.methods.yuv_regression.YuvRegression`) whose output is
boosted: U and V scaled by ``factor`` at fixed Y (:func:`boost_yuv`), or HSV saturation scaled
at fixed hue and value (:func:`boost_hsv`, :func:`kornia.enhance.adjust_saturation`), clipped to
the sRGB gamut. Neither adds information about which colour is right; notebook 02 measures
whether accuracy moves. Decodings: ``'boosted'`` and ``'direct'`` (the regression's own output).

Example:
    >>> rgb = torch.rand(1, 3, 8, 8)
    >>> torch.allclose(boost(rgb, 1.0, "yuv"), rgb, atol=1e-5)
    True
    >>> m = SaturationBoost("hsv", base=4, factor=2.0).eval()
    >>> m.colorize(rgb).shape, m.decodings
    (torch.Size([1, 3, 8, 8]), ('boosted', 'direct'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import kornia
import torch
from torch import Tensor

from ..color import check_image, rgb_to_yuv, yuv_to_rgb
from ..errors import check_choice
from .base import Trained, Variant
from .yuv_regression import YuvRegression

__all__ = ["SPACES", "boost_yuv", "boost_hsv", "boost", "SaturationBoost", "sweep"]

#: The colour spaces a boost scales saturation in.
SPACES = ("yuv", "hsv")


def _check_factor(factor: float) -> None:
    if not factor >= 0:
        raise ValueError(f"boost factor must be >= 0; got {factor}")


def boost_yuv(rgb: Tensor, factor: float) -> Tensor:
    """Scale U and V by ``factor`` at fixed Y; ``(B, 3, H, W)`` in ``[0, 1]`` in and out."""
    _check_factor(factor)
    Y, uv = rgb_to_yuv(rgb)
    return yuv_to_rgb(Y, uv * factor, clip=True)


def boost_hsv(rgb: Tensor, factor: float) -> Tensor:
    """Scale HSV saturation by ``factor`` (clipped to 1) at fixed hue and value
    (:func:`kornia.enhance.adjust_saturation`); ``(B, 3, H, W)`` in ``[0, 1]`` in and out."""
    _check_factor(factor)
    check_image(rgb, 3, "rgb")
    return kornia.enhance.adjust_saturation(rgb.clamp(0, 1), float(factor)).clamp(0, 1)


def boost(rgb: Tensor, factor: float, space: Literal["yuv", "hsv"] = "yuv") -> Tensor:
    """:func:`boost_yuv` or :func:`boost_hsv` by name."""
    boosts = {"yuv": boost_yuv, "hsv": boost_hsv}
    return boosts[check_choice("space", space, SPACES)](rgb, factor)


class SaturationBoost(YuvRegression):
    """The YUV regression with its colours boosted: the arguments of
    :class:`~colorlab.methods.yuv_regression.YuvRegression` plus ``boost_space`` (``'yuv'`` or
    ``'hsv'``, the variant) and ``factor``."""

    name = "saturation_boost"
    defaults = {**YuvRegression.defaults, "boost_space": "yuv", "factor": 1.5}
    variants = {
        "yuv": Variant("U and V scaled at fixed Y", {"boost_space": "yuv"}),
        "hsv": Variant("HSV saturation scaled at fixed hue and value", {"boost_space": "hsv"}),
    }
    choices = {**YuvRegression.choices, "boost_space": SPACES}

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        _check_factor(self.args["factor"])

    @classmethod
    def from_regression(cls, regression: YuvRegression, boost_space: str, factor: float) -> SaturationBoost:
        """A boost of a trained regression, sharing its network (nothing is copied or retrained).

        Example:
            >>> reg = YuvRegression(base=4).eval()
            >>> SaturationBoost.from_regression(reg, "yuv", 2.0).net is reg.net
            True
        """
        args = {k: v for k, v in regression.args.items() if k in cls.defaults}
        with torch.random.fork_rng(devices=[]):  # its own network is replaced: draw nothing of the caller's
            boosted = cls(boost_space, **args, factor=factor)
        boosted.net = regression.net
        return boosted.train(regression.training)

    @property
    def decodings(self) -> tuple[str, ...]:
        return ("boosted", "direct")

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        if decode == "boosted":
            return {"space": self.args["boost_space"], "boost": float(self.args["factor"])}
        return {}

    @torch.no_grad()
    def colorize(self, batch: Mapping[str, Any] | Tensor, decode: str | None = None, **options: Any) -> Tensor:
        """The regression's colourisation, boosted with ``decode='boosted'`` (the default)."""
        decode = self.check_decode(decode)
        rgb = super().colorize(batch, "direct")
        return boost(rgb, self.args["factor"], self.args["boost_space"]) if decode == "boosted" else rgb


def sweep(trained: Trained, factors: Iterable[float], spaces: Iterable[str] = SPACES) -> dict[str, Trained]:
    """Boosts of a trained regression for every space and factor, labelled ``'{space}_x{factor}'``,
    each sharing the regression's network and history (notebook 02's rows). The factors must be
    ``>= 0`` and include 1.0 (the unboosted output).

    Example:
        >>> import pandas as pd
        >>> t = Trained(YuvRegression(base=4).eval(), pd.DataFrame())
        >>> list(sweep(t, [1.0, 2.0], ["yuv"]))
        ['yuv_x1', 'yuv_x2']
    """
    if not isinstance(trained.method, YuvRegression):
        raise TypeError(f"saturation boosting takes a trained yuv_regression; got {trained.method.name}")
    factors = [float(f) for f in factors]
    for f in factors:
        _check_factor(f)
    if 1.0 not in factors:
        raise ValueError(f"boost factors must include 1.0, the unboosted output the others are compared with; got {factors}")
    return {f"{space}_x{f:g}": Trained(SaturationBoost.from_regression(trained.method, space, f),
                                       trained.history, trained.checkpoint)
            for space in spaces for f in factors}


METHOD = SaturationBoost
