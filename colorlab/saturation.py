"""Boosting saturation after the fact (source 000): scale the chroma of a colourisation by a
factor, in YUV (``U``, ``V`` times the factor) or in HSV (``S`` times the factor), then clip
to the sRGB gamut. Neither adds information about which colour is right; the notebooks
measure whether it changes accuracy.

Example:
    >>> rgb = torch.rand(1, 3, 8, 8)
    >>> torch.allclose(boost(rgb, 1.0, "yuv"), rgb, atol=1e-5)
    True
"""

from __future__ import annotations

from typing import Literal

import kornia.color as kc
import torch
from torch import Tensor

from .color import check_image, rgb_to_yuv, yuv_to_rgb

__all__ = ["SPACES", "boost_yuv", "boost_hsv", "boost"]

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
    """Scale HSV saturation by ``factor`` (clipped to 1) at fixed hue and value."""
    _check_factor(factor)
    check_image(rgb, 3, "rgb")
    hsv = kc.rgb_to_hsv(rgb.clamp(0, 1))
    hsv = torch.cat([hsv[:, :1], (hsv[:, 1:2] * factor).clamp(0, 1), hsv[:, 2:]], dim=1)
    return kc.hsv_to_rgb(hsv).clamp(0, 1)


def boost(rgb: Tensor, factor: float, space: Literal["yuv", "hsv"] = "yuv") -> Tensor:
    """:func:`boost_yuv` or :func:`boost_hsv` by name."""
    if space == "yuv":
        return boost_yuv(rgb, factor)
    if space == "hsv":
        return boost_hsv(rgb, factor)
    raise ValueError(f"space must be one of {SPACES}; got {space!r}")
