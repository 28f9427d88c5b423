"""The functional core of colourising at full resolution.

The working size, the grayscale a colour photo is reduced to, chroma predicted small and joined
with the full-resolution luminance, and the side-by-side comparison (see :mod:`colorlab.colorize`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from ..color import rgb_to_lab, rgb_to_yuv

__all__ = ["DEFAULT_SIZE", "COMPARE_HEIGHT", "LEVELS", "working_size", "desaturate", "model_input", "colorize_images",
           "comparison", "to_uint8"]

#: The working size (shorter side, pixels) when the checkpoint records no training image size:
#: 256, the side of Zhang et al.'s demo input (which squashes a photo to 256 × 256; here the
#: aspect ratio is kept).
DEFAULT_SIZE = 256
#: The comparison image's height in pixels (input, what the model saw, output, side by side).
COMPARE_HEIGHT = 512
#: Levels of an 8-bit output.
LEVELS = 255


def working_size(size_hw: tuple[int, int], size: int) -> tuple[int, int]:
    """The size of a photo scaled so that its shorter side is ``size``, its aspect kept; never enlarged.

    Args:
        size_hw: the photo's ``(H, W)``.
        size: the shorter side wanted, pixels.

    Returns:
        ``(h, w)``; the photo's own size when its shorter side is no larger than ``size``.

    Raises:
        ValueError: ``size`` is not a positive integer.

    Example:
        >>> working_size((4000, 6000), 256), working_size((1, 1), 256)
        ((256, 384), (1, 1))
    """
    h, w = size_hw
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer; got {size!r}")
    if min(h, w) <= size:
        return h, w
    s = size / min(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def desaturate(rgb: Tensor) -> Tensor:
    """The grayscale a photo editor makes of a colour photo: ITU-R 601 luma.

    Args:
        rgb: RGB ``(*, 3, H, W)`` in ``[0, 1]``.

    Returns:
        The luma replicated to three channels, ``(*, 3, H, W)``.

    Example:
        >>> desaturate(torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)).flatten().tolist()
        [0.2989..., 0.2989..., 0.2989...]
    """
    return TF.rgb_to_grayscale(rgb, num_output_channels=3)


def model_input(method: Any, rgb: Tensor, keep_luminance: bool = False) -> Tensor:
    """What the model is given, as a picture.

    Args:
        method: the method; its colour space says what luminance is.
        rgb: the photo, RGB ``(3, H, W)`` in ``[0, 1]``.
        keep_luminance: keep the photo's own luminance (Lab ``L`` or YUV ``Y``) with no chroma,
            instead of desaturating it (:func:`desaturate`).

    Returns:
        RGB ``(3, H, W)`` in ``[0, 1]``.

    Example:
        >>> from colorlab.methods import build
        >>> red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
        >>> [round(float(x), 2) for x in model_input(build("zhang", "l2", width=0.125), red, True).flatten()]
        [0.5, 0.5, 0.5]
        >>> [round(float(x), 2) for x in model_input(build("zhang", "l2", width=0.125), red).flatten()]
        [0.3, 0.3, 0.3]
    """
    if not keep_luminance:
        return desaturate(rgb)
    lum = method.luminance(rgb[None].float())
    return method.to_rgb(lum, lum.new_zeros(1, 2, *lum.shape[-2:]))[0].clamp(0, 1)


def _is_gray(rgb: Tensor) -> bool:
    """Whether the three channels are equal (a grayscale photo, kept exactly as it is)."""
    return bool((rgb[0] == rgb[1]).all() and (rgb[1] == rgb[2]).all())


def _chroma(space: str, rgb: Tensor) -> Tensor:
    return (rgb_to_lab if space == "lab" else rgb_to_yuv)(rgb)[1]


@torch.no_grad()
def colorize_images(method: Any, photos: Sequence[Tensor], *, size: int = DEFAULT_SIZE, decode: str | None = None,
                    keep_luminance: bool = False, device: str | torch.device | None = None,
                    **options: Any) -> list[Tensor]:
    """Colourise photos at full resolution: chroma predicted at the working size, joined with the photo's luminance.

    A colour photo is desaturated first (:func:`desaturate`) unless ``keep_luminance``; a grayscale
    one is kept as it is. Photos of the same working size (:func:`working_size`) run through the
    network as one batch.

    Args:
        method: a :class:`~colorlab.methods.base.Method` in eval mode.
        photos: RGB ``(3, H, W)`` each, float in ``[0, 1]`` or uint8, any sizes.
        size: the working size, the shorter side at which chroma is predicted.
        decode: the method's decoding (default: its first), with its ``options``.
        keep_luminance: keep a colour photo's own luminance.
        device: where the network runs (default: the method's).

    Returns:
        Float RGB ``(3, H, W)`` in ``[0, 1]`` on the CPU, each at its photo's size.

    Raises:
        ValueError: a photo that is not RGB ``(3, H, W)``.

    Example:
        >>> from colorlab.methods import build
        >>> m = build("zhang", "l2", width=0.125).eval()
        >>> gray = torch.full((1, 40, 30), 0.5).expand(3, -1, -1)
        >>> [tuple(o.shape) for o in colorize_images(m, [gray, torch.rand(3, 9, 9)], size=16)]
        [(3, 40, 30), (3, 9, 9)]
    """
    device = torch.device(device) if device is not None else next(method.parameters()).device
    groups: dict[tuple[int, int], list[int]] = {}
    for i, p in enumerate(photos):
        if p.ndim != 3 or p.shape[0] != 3 or min(p.shape[-2:]) < 1:
            raise ValueError(f"photo {i}: expected RGB (3, H, W); got {tuple(p.shape)}")
        groups.setdefault(working_size(tuple(p.shape[-2:]), size), []).append(i)
    out: list[Tensor | None] = [None] * len(photos)
    for hw, idx in groups.items():
        full = [photos[i].to(device) for i in idx]
        full = [p.float() / LEVELS if p.dtype == torch.uint8 else p.float() for p in full]
        seen = [p if keep_luminance or _is_gray(p) else desaturate(p) for p in full]  # what the model is given
        small = torch.stack([TF.resize(p[None], list(hw), antialias=True)[0].clamp(0, 1) if tuple(p.shape[-2:]) != hw
                             else p for p in seen])
        chroma = _chroma(method.space, method.colorize(small, decode, **options).float())
        for j, i in enumerate(idx):
            H, W = full[j].shape[-2:]
            c = chroma[j:j + 1]
            if (H, W) != hw:
                c = F.interpolate(c, size=(H, W), mode="bilinear", align_corners=False)
            lum = method.luminance(seen[j][None])
            out[i] = method.to_rgb(lum, c)[0].clamp(0, 1).cpu()
    return out  # type: ignore[return-value]


def to_uint8(rgb: Tensor) -> Tensor:
    """RGB in ``[0, 1]`` (clamped) as 8-bit levels, rounded, of the same shape."""
    return (rgb.clamp(0, 1) * LEVELS).round().to(torch.uint8)


def comparison(original: Tensor, seen: Tensor, result: Tensor, height: int = COMPARE_HEIGHT) -> Tensor:
    """Three panels side by side: the photo as given, the grayscale the model saw, the colourised result.

    Args:
        original: the photo, float RGB ``(3, H, W)``.
        seen: what the model saw, the same shape.
        result: the result, the same shape.
        height: the panels' height, pixels (their aspect kept).

    Returns:
        RGB ``(3, height, 3 w)`` in ``[0, 1]``, ``w`` each panel's width.

    Raises:
        ValueError: the three panels' shapes differ.

    Example:
        >>> comparison(torch.zeros(3, 20, 10), torch.zeros(3, 20, 10), torch.ones(3, 20, 10), height=8).shape
        torch.Size([3, 8, 12])
    """
    if not (original.shape == seen.shape == result.shape):
        raise ValueError(f"the three panels must have one shape; got {original.shape}, {seen.shape}, {result.shape}")
    H, W = original.shape[-2:]
    w = max(1, round(W * height / H))
    panels = [TF.resize(p.float()[None], [height, w], antialias=True)[0].clamp(0, 1) for p in (original, seen, result)]
    return torch.cat(panels, dim=-1)


