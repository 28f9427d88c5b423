"""Boosting saturation after the fact (source 000; notebook 02).

The method is the L1 YUV regression (:class:`~colorlab.methods.yuv_regression.YuvRegression`)
whose colours are boosted afterwards: U and V scaled at fixed Y, or HSV saturation scaled at fixed
hue and value, clipped to the sRGB gamut. Neither adds information about which colour is right;
notebook 02 measures whether accuracy moves. More: ``docs/methods/saturation_boost.md``.

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
    """Scale U and V by ``factor`` at fixed Y.

    Args:
        rgb: RGB ``(B, 3, H, W)`` in ``[0, 1]``.
        factor: the scale, ``>= 0``; 1 leaves the colours as they are, 0 makes them gray.

    Returns:
        RGB ``(B, 3, H, W)``, clipped to the sRGB gamut ``[0, 1]``.

    Raises:
        ValueError: for a negative factor.

    Example:
        >>> gray = boost_yuv(torch.rand(1, 3, 4, 4), 0.0)
        >>> bool((gray.amax(1) - gray.amin(1)).max() < 1e-5)
        True
    """
    _check_factor(factor)
    Y, uv = rgb_to_yuv(rgb)
    return yuv_to_rgb(Y, uv * factor, clip=True)


def boost_hsv(rgb: Tensor, factor: float) -> Tensor:
    """Scale HSV saturation by ``factor`` at fixed hue and value.

    It is :func:`kornia.enhance.adjust_saturation`, clamped.

    Args:
        rgb: RGB ``(B, 3, H, W)``, clamped to ``[0, 1]`` first.
        factor: the scale, ``>= 0``; the saturation is clipped to 1.

    Returns:
        RGB ``(B, 3, H, W)`` in ``[0, 1]``.

    Raises:
        ValueError: for a negative factor or an input that is not ``(B, 3, H, W)``.
    """
    _check_factor(factor)
    check_image(rgb, 3, "rgb")
    return kornia.enhance.adjust_saturation(rgb.clamp(0, 1), float(factor)).clamp(0, 1)


def boost(rgb: Tensor, factor: float, space: Literal["yuv", "hsv"] = "yuv") -> Tensor:
    """Boost saturation in the space named: :func:`boost_yuv` or :func:`boost_hsv`.

    Args:
        rgb: RGB ``(B, 3, H, W)`` in ``[0, 1]``.
        factor: the scale, ``>= 0``.
        space: ``'yuv'`` or ``'hsv'`` (:data:`SPACES`).

    Returns:
        RGB ``(B, 3, H, W)`` in ``[0, 1]``.

    Raises:
        ValueError: for an unknown space or a negative factor.
    """
    boosts = {"yuv": boost_yuv, "hsv": boost_hsv}
    return boosts[check_choice("space", space, SPACES)](rgb, factor)


class SaturationBoost(YuvRegression):
    """The YUV regression with its colours boosted.

    Its decodings are ``'boosted'`` (the default) and ``'direct'``, the regression's own output.

    Args:
        variant: ``'yuv'`` (the default) or ``'hsv'``, which sets ``boost_space``.
        boost_space: where saturation is scaled (:data:`SPACES`).
        factor: the boost, ``>= 0``.
        **args: the other arguments of :class:`~colorlab.methods.yuv_regression.YuvRegression`.

    Raises:
        ValueError: for a negative factor.
    """

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
        """Wrap a trained regression in a boost, sharing its network; nothing is copied or retrained.

        Args:
            regression: the trained regression.
            boost_space: ``'yuv'`` or ``'hsv'``.
            factor: the boost, ``>= 0``.

        Returns:
            The boost, in the regression's train or eval mode.

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
        """Colourise as the regression does, boosted with ``decode='boosted'`` (the default).

        Args:
            batch: as :meth:`colorlab.methods.base.Method.colorize` takes it.
            decode: ``'boosted'`` or ``'direct'``; ``None`` takes ``'boosted'``.
            **options: ignored.

        Returns:
            RGB ``(B, 3, H, W)`` in ``[0, 1]``.
        """
        decode = self.check_decode(decode)
        rgb = super().colorize(batch, "direct")
        return boost(rgb, self.args["factor"], self.args["boost_space"]) if decode == "boosted" else rgb


def sweep(trained: Trained, factors: Iterable[float], spaces: Iterable[str] = SPACES) -> dict[str, Trained]:
    """Make boosts of a trained regression for every space and factor (notebook 02's rows).

    Args:
        trained: a trained ``yuv_regression``.
        factors: the boosts, each ``>= 0``; they must include 1.0, the unboosted output the others
            are compared with.
        spaces: the spaces to boost in (:data:`SPACES`).

    Returns:
        ``{'{space}_x{factor}': Trained}``, each sharing the regression's network and history.

    Raises:
        TypeError: when ``trained`` is not a ``yuv_regression``.
        ValueError: for a negative factor, or factors without 1.0.

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
        raise ValueError(
            f"boost factors must include 1.0, the unboosted output the others are compared with; got {factors}")
    return {f"{space}_x{f:g}": Trained(SaturationBoost.from_regression(trained.method, space, f),
                                       trained.history, trained.checkpoint)
            for space in spaces for f in factors}


METHOD = SaturationBoost
