"""Colour spaces on batched tensors ``(B, C, H, W)``: Lab and YUV split into one luminance and two
chroma channels, RGB rebuilt from a luminance and predicted chroma, and the shape checks they share.
The conversions are :mod:`kornia.color`'s (sRGB, D65 white point, :func:`skimage.color.rgb2lab`'s
formulas); everything is pure, differentiable and runs on the device of its input.

Example:
    >>> rgb = torch.rand(2, 3, 8, 8)
    >>> L, ab = rgb_to_lab(rgb)
    >>> torch.allclose(lab_to_rgb(L, ab), rgb, atol=1e-4)
    True
"""

from __future__ import annotations

import kornia.color as kc
import torch
from torch import Tensor

__all__ = ["AB_SCALE", "GRAY_THRESHOLD", "U_MAX", "V_MAX", "check_image", "rgb_to_lab", "lab_to_rgb", "rgb_to_yuv",
           "yuv_to_rgb", "rgb_to_gray", "chroma", "grayscale_mask"]

#: ab values are divided by this to bring sRGB chroma into about [-1, 1] (Zhang et al., pix2pix).
AB_SCALE = 110.0
#: An image whose every pixel has ``|a|, |b| <= GRAY_THRESHOLD`` counts as grayscale (the
#: ``NonGrayMask`` layer of Zhang et al.'s official training code).
GRAY_THRESHOLD = 5.0
#: Largest |U| and |V| of sRGB colours in kornia's YUV (BT.601 analogue coefficients).
U_MAX = 0.436
V_MAX = 0.615


def check_image(x: Tensor, channels: int, name: str = "image") -> None:
    """Check that ``x`` is a floating point image batch ``(B, channels, H, W)``.

    Args:
        x: the tensor to check.
        channels: the number of channels it must have.
        name: what ``x`` is, for the message.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if it has the wrong shape or is not floating point.

    Example:
        >>> check_image(torch.rand(1, 3, 4, 4), 3)
        >>> check_image(torch.rand(3, 4, 4), 3)
        Traceback (most recent call last):
        ...
        ValueError: image must have shape (B, 3, H, W); got (3, 4, 4)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}, H, W); got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating point tensor; got {x.dtype}")


def _check_pair(lum: Tensor, chroma_: Tensor) -> None:
    check_image(lum, 1, "luminance")
    check_image(chroma_, 2, "chroma")
    if lum.shape[0] != chroma_.shape[0] or lum.shape[-2:] != chroma_.shape[-2:]:
        raise ValueError(
            f"luminance {tuple(lum.shape)} and chroma {tuple(chroma_.shape)} differ in batch or size"
        )


def rgb_to_lab(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Convert sRGB to Lab, split into luminance and chroma.

    Args:
        rgb: sRGB ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(L, ab)``: ``L`` ``(B, 1, H, W)`` in [0, 100] and ``ab`` ``(B, 2, H, W)``, roughly in
        [-110, 110].

    Raises:
        ValueError: for a tensor that is not ``(B, 3, H, W)`` floating point.

    Example:
        >>> L, ab = rgb_to_lab(torch.ones(1, 3, 2, 2))
        >>> L.shape, round(L.max().item(), 2), round(ab.abs().max().item(), 1)   # white: L 100, no chroma
        (torch.Size([1, 1, 2, 2]), 100.0, 0.0)
    """
    check_image(rgb, 3, "rgb")
    lab = kc.rgb_to_lab(rgb)
    return lab[:, :1], lab[:, 1:]


def lab_to_rgb(L: Tensor, ab: Tensor, clip: bool = True) -> Tensor:
    """Rebuild sRGB from a luminance and a chroma.

    Args:
        L: luminance ``(B, 1, H, W)`` in [0, 100].
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        clip: clamp the result to the sRGB gamut [0, 1]; predicted chroma often falls outside it.

    Returns:
        sRGB ``(B, 3, H, W)``, in [0, 1] with ``clip``.

    Raises:
        ValueError: for shapes that do not fit.

    Example:
        >>> rgb = lab_to_rgb(torch.full((1, 1, 1, 1), 50.0), torch.zeros(1, 2, 1, 1))   # L* 50, no chroma
        >>> [round(v, 3) for v in rgb.flatten().tolist()]
        [0.466, 0.466, 0.466]
    """
    _check_pair(L, ab)
    return kc.lab_to_rgb(torch.cat([L, ab.to(L.dtype)], dim=1), clip=clip)


def rgb_to_yuv(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Convert sRGB to YUV (BT.601 analogue, as :func:`kornia.color.rgb_to_yuv`).

    Args:
        rgb: sRGB ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(Y, uv)``: ``Y`` ``(B, 1, H, W)`` in [0, 1] and ``uv`` ``(B, 2, H, W)``, U in
        [-0.436, 0.436] and V in [-0.615, 0.615].

    Raises:
        ValueError: for a tensor that is not ``(B, 3, H, W)`` floating point.
    """
    check_image(rgb, 3, "rgb")
    yuv = kc.rgb_to_yuv(rgb)
    return yuv[:, :1], yuv[:, 1:]


def yuv_to_rgb(Y: Tensor, uv: Tensor, clip: bool = True) -> Tensor:
    """Rebuild sRGB from a luma and a chroma.

    Args:
        Y: luma ``(B, 1, H, W)`` in [0, 1].
        uv: chroma ``(B, 2, H, W)``.
        clip: clamp the result to [0, 1].

    Returns:
        sRGB ``(B, 3, H, W)``, in [0, 1] with ``clip``.

    Raises:
        ValueError: for shapes that do not fit.

    Example:
        >>> Y, uv = rgb_to_yuv(torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1))
        >>> [round(v, 4) for v in yuv_to_rgb(Y, uv).flatten().tolist()]
        [0.2, 0.5, 0.9]
    """
    _check_pair(Y, uv)
    rgb = kc.yuv_to_rgb(torch.cat([Y, uv.to(Y.dtype)], dim=1))
    return rgb.clamp(0.0, 1.0) if clip else rgb


def rgb_to_gray(rgb: Tensor) -> Tensor:
    """The grayscale input the networks see, shown as RGB: ``L`` with ``ab = 0``.

    Args:
        rgb: sRGB ``(B, 3, H, W)`` in [0, 1].

    Returns:
        Gray sRGB ``(B, 3, H, W)`` in [0, 1], the same value in all three channels.
    """
    L, ab = rgb_to_lab(rgb)
    return lab_to_rgb(L, torch.zeros_like(ab))


def chroma(ab: Tensor) -> Tensor:
    """Per-pixel chroma ``sqrt(a² + b²)`` of a two-channel chroma tensor.

    Args:
        ab: chroma ``(B, 2, H, W)`` (Lab ab, or YUV uv).

    Returns:
        ``(B, 1, H, W)``, in the units of ``ab``.

    Example:
        >>> chroma(torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)).item()
        5.0
    """
    check_image(ab, 2, "chroma")
    return ab.pow(2).sum(1, keepdim=True).clamp_min(1e-12).sqrt()


def grayscale_mask(ab: Tensor, threshold: float = GRAY_THRESHOLD) -> Tensor:
    """Find the images with no colour: no pixel whose ``|a|`` or ``|b|`` exceeds ``threshold``.

    This is the ``NonGrayMask`` layer of Zhang et al.'s official training code. Such images are
    masked out of the loss: pass ``mask=~grayscale_mask(ab)`` to
    :func:`colorlab.abgrid.soft_cross_entropy`.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        threshold: the largest ``|a|`` and ``|b|`` a gray image may have.

    Returns:
        bool ``(B,)``, True for a grayscale image.

    Example:
        >>> ab = torch.zeros(2, 2, 4, 4); ab[1, 0, 0, 0] = 6.0
        >>> grayscale_mask(ab).tolist()
        [True, False]
    """
    check_image(ab, 2, "ab")
    return ~(ab.abs() > threshold).flatten(1).any(dim=1)
