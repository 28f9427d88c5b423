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

__all__ = ["DEFAULT_SIZE", "COMPARE_HEIGHT", "LEVELS", "BAND_PIXELS", "working_size", "desaturate", "model_input",
           "colorize_images", "comparison", "shrink_to", "to_uint8"]

#: The working size (shorter side, pixels) when the checkpoint records no training image size:
#: 256, the side of Zhang et al.'s demo input (which squashes a photo to 256 × 256; here the
#: aspect ratio is kept).
DEFAULT_SIZE = 256
#: The comparison image's height in pixels (input, what the model saw, output, side by side).
COMPARE_HEIGHT = 512
#: Levels of an 8-bit output.
LEVELS = 255
#: Pixels per band of the work at full resolution (about 1 M: tens of MB of float temporaries, whatever the photo's
#: size; a 48-megapixel photo is done in about 46 bands).
BAND_PIXELS = 1 << 20


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
    """Whether the three channels are equal (a grayscale photo, kept exactly as it is), band by band."""
    return all(bool((b[0] == b[1]).all() and (b[1] == b[2]).all()) for b in rgb.split(_band_rows(rgb), dim=-2))


def _chroma(space: str, rgb: Tensor) -> Tensor:
    return (rgb_to_lab if space == "lab" else rgb_to_yuv)(rgb)[1]


def _band_rows(image: Tensor) -> int:
    """Rows per band of full-resolution work: :data:`BAND_PIXELS` pixels, at least one row."""
    return max(1, BAND_PIXELS // max(1, image.shape[-1]))


def _as_float(image: Tensor) -> Tensor:
    """An RGB image (or band) in ``[0, 1]`` as float32: uint8 levels divided by :data:`LEVELS`."""
    return image.float() / LEVELS if image.dtype == torch.uint8 else image.float()


def _shrink(photo: Tensor, hw: tuple[int, int], desaturated: bool, device: torch.device) -> Tensor:
    """What the network is given, at the working size ``hw``, computed band by band at full resolution.

    The luma (``desaturated``, :func:`desaturate`) or the RGB of each band of rows is resized across its width
    first; the tall, narrow result is then resized down its height. Antialiased bilinear resizing is separable,
    so this is the whole-image resize up to float rounding, without a full-resolution float copy.
    """
    if tuple(photo.shape[-2:]) == hw:
        small = _as_float(photo.to(device))
        return desaturate(small) if desaturated else small
    narrow = []
    for band in photo.split(_band_rows(photo), dim=-2):
        band = _as_float(band.to(device))
        band = TF.rgb_to_grayscale(band, num_output_channels=1) if desaturated else band
        narrow.append(TF.resize(band[None], [band.shape[-2], hw[1]], antialias=True)[0])
    small = TF.resize(torch.cat(narrow, dim=-2)[None], list(hw), antialias=True)[0].clamp(0, 1)
    return small.expand(3, -1, -1) if desaturated else small


def _row_weights(rows: int, small_rows: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear upsampling (``align_corners=False``) of ``small_rows`` to ``rows``: each row's two sources and weight.

    Returns:
        The upper and lower source rows ``(rows,)`` and the lower one's weight ``(rows,)``, as
        :func:`torch.nn.functional.interpolate` computes them.
    """
    src = ((torch.arange(rows, device=device, dtype=torch.float32) + 0.5) * (small_rows / rows) - 0.5).clamp(min=0)
    upper = src.floor().long().clamp(max=small_rows - 1)
    return upper, (upper + 1).clamp(max=small_rows - 1), src - upper


def _compose(method: Any, photo: Tensor, chroma: Tensor, desaturated: bool, out: Tensor,
             device: torch.device) -> None:
    """Join the upsampled chroma with the photo's luminance into ``out``, band by band at full resolution.

    Args:
        method: the method (its colour space).
        photo: the photo, RGB ``(3, H, W)``, uint8 or float.
        chroma: its chroma at the working size, ``(1, 2, h, w)``.
        desaturated: desaturate each band first (:func:`desaturate`).
        out: the output ``(3, H, W)``, uint8 levels or float in ``[0, 1]``, filled here.
        device: where the bands are computed.
    """
    H, W = photo.shape[-2:]
    h, w = chroma.shape[-2:]
    wide = chroma if w == W else F.interpolate(chroma, size=(h, W), mode="bilinear", align_corners=False)
    upper, lower, weight = _row_weights(H, h, device)
    rows = _band_rows(photo)
    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        band = _as_float(photo[:, r0:r1].to(device))
        band = desaturate(band) if desaturated else band
        if h == H:
            c = wide[..., r0:r1, :]
        else:
            c = torch.lerp(wide[:, :, upper[r0:r1]], wide[:, :, lower[r0:r1]], weight[r0:r1, None])
        rgb = method.to_rgb(method.luminance(band[None]), c)[0].clamp(0, 1)
        out[:, r0:r1] = ((rgb * LEVELS).round() if out.dtype == torch.uint8 else rgb).to(out.device)


@torch.no_grad()
def colorize_images(method: Any, photos: Sequence[Tensor], *, size: int = DEFAULT_SIZE, decode: str | None = None,
                    keep_luminance: bool = False, device: str | torch.device | None = None,
                    dtype: torch.dtype = torch.float32, **options: Any) -> list[Tensor]:
    """Colourise photos at full resolution: chroma predicted at the working size, joined with the photo's luminance.

    A colour photo is desaturated first (:func:`desaturate`) unless ``keep_luminance``; a grayscale
    one is kept as it is. Photos of the same working size (:func:`working_size`) run through the
    network as one batch. The work at full resolution (desaturating, upsampling the chroma
    bilinearly, joining it with the luminance, converting to RGB) is done in bands of
    :data:`BAND_PIXELS` pixels into an output allocated once, so the memory it takes beyond the
    photo and its output does not grow with the photo.

    Args:
        method: a :class:`~colorlab.methods.base.Method` in eval mode.
        photos: RGB ``(3, H, W)`` each, float in ``[0, 1]`` or uint8, any sizes.
        size: the working size, the shorter side at which chroma is predicted.
        decode: the method's decoding (default: its first), with its ``options``.
        keep_luminance: keep a colour photo's own luminance.
        device: where the network runs (default: the method's).
        dtype: the outputs' type: a float type (values in ``[0, 1]``) or ``torch.uint8`` (levels,
            rounded; a quarter of float32's memory).

    Returns:
        RGB ``(3, H, W)`` of ``dtype`` on the CPU, each at its photo's size.

    Raises:
        ValueError: a photo that is not RGB ``(3, H, W)``, or a ``dtype`` neither float nor uint8.

    Example:
        >>> from colorlab.methods import build
        >>> m = build("zhang", "l2", width=0.125).eval()
        >>> gray = torch.full((1, 40, 30), 0.5).expand(3, -1, -1)
        >>> [tuple(o.shape) for o in colorize_images(m, [gray, torch.rand(3, 9, 9)], size=16)]
        [(3, 40, 30), (3, 9, 9)]
        >>> colorize_images(m, [gray], size=16, dtype=torch.uint8)[0].dtype
        torch.uint8
    """
    if dtype != torch.uint8 and not dtype.is_floating_point:
        raise ValueError(f"dtype must be a float type or torch.uint8; got {dtype}")
    device = torch.device(device) if device is not None else next(method.parameters()).device
    groups: dict[tuple[int, int], list[int]] = {}
    for i, p in enumerate(photos):
        if p.ndim != 3 or p.shape[0] != 3 or min(p.shape[-2:]) < 1:
            raise ValueError(f"photo {i}: expected RGB (3, H, W); got {tuple(p.shape)}")
        groups.setdefault(working_size(tuple(p.shape[-2:]), size), []).append(i)
    out: list[Tensor | None] = [None] * len(photos)
    for hw, idx in groups.items():
        desat = [not keep_luminance and not _is_gray(photos[i]) for i in idx]  # what the model is given
        small = torch.stack([_shrink(photos[i], hw, d, device) for i, d in zip(idx, desat, strict=True)])
        chroma = _chroma(method.space, method.colorize(small, decode, **options).float())
        del small
        for j, i in enumerate(idx):
            out[i] = torch.empty(photos[i].shape, dtype=dtype)
            _compose(method, photos[i], chroma[j:j + 1], desat[j], out[i], device)
    return out  # type: ignore[return-value]


def to_uint8(rgb: Tensor) -> Tensor:
    """RGB in ``[0, 1]`` (clamped) as 8-bit levels, rounded, of the same shape, band by band.

    Args:
        rgb: float ``(*, H, W)``; uint8 is returned as it is.

    Returns:
        uint8 levels, the same shape.

    Example:
        >>> to_uint8(torch.tensor([[0.0, 0.5, 2.0]])).tolist()
        [[0, 128, 255]]
    """
    if rgb.dtype == torch.uint8:
        return rgb
    out = torch.empty(rgb.shape, dtype=torch.uint8, device=rgb.device)
    if rgb.ndim < 2:
        return out.copy_((rgb.clamp(0, 1) * LEVELS).round())
    for band, dst in zip(rgb.split(_band_rows(rgb), dim=-2), out.split(_band_rows(rgb), dim=-2), strict=True):
        dst.copy_((band.clamp(0, 1) * LEVELS).round())
    return out


def shrink_to(image: Tensor, height: int) -> Tensor:
    """An image ``(C, H, W)`` scaled down to ``height`` (its aspect kept, antialiased, its dtype kept);
    one no taller as it is.

    Example:
        >>> shrink_to(torch.zeros(3, 40, 60, dtype=torch.uint8), 20).shape, shrink_to(torch.zeros(3, 8, 8), 20).shape
        (torch.Size([3, 20, 30]), torch.Size([3, 8, 8]))
    """
    H, W = image.shape[-2:]
    if H <= height:
        return image
    return TF.resize(image[None], [height, max(1, round(W * height / H))], antialias=True)[0]


def comparison(original: Tensor, seen: Tensor, result: Tensor, height: int = COMPARE_HEIGHT) -> Tensor:
    """Three panels side by side: the photo as given, the grayscale the model saw, the colourised result.

    Args:
        original: the photo, RGB ``(3, H, W)``, float in ``[0, 1]`` or uint8 (as are the other two).
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
    panels = [TF.resize(_as_float(p)[None], [height, w], antialias=True)[0].clamp(0, 1)
              for p in (original, seen, result)]
    return torch.cat(panels, dim=-1)


