"""Colour spaces and the normalisation conventions the sources use.

Everything here is a pure, differentiable function over batched tensors
``(B, C, H, W)`` that runs on whatever device its input lives on. The colour
conversions themselves come from :mod:`kornia.color` (sRGB with the D65 white
point, the same formulas as :func:`skimage.color.rgb2lab`); this module adds
shape checks, the split into a luminance channel and two chroma channels, the
named normalisations and the inverse that rebuilds RGB from a given luminance
plus predicted chroma.

Value ranges:

* RGB: ``[0, 1]``.
* Lab: ``L`` in ``[0, 100]``, ``a`` and ``b`` roughly in ``[-110, 110]`` for sRGB.
* YUV (BT.601 analogue, as :func:`kornia.color.rgb_to_yuv`): ``Y`` in ``[0, 1]``,
  ``U`` in ``[-0.436, 0.436]``, ``V`` in ``[-0.615, 0.615]``.

Example:
    >>> rgb = torch.rand(2, 3, 8, 8)
    >>> L, ab = rgb_to_lab(rgb)
    >>> torch.allclose(lab_to_rgb(L, ab), rgb, atol=1e-4)
    True
    >>> x, y = ZHANG.encode(L, ab)   # network input (L-50)/100 and target ab/110
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.color as kc
import torch
from torch import Tensor

__all__ = [
    "AB_SCALE",
    "GRAY_THRESHOLD",
    "grayscale_mask",
    "U_MAX",
    "V_MAX",
    "LabNorm",
    "YuvNorm",
    "ImageNetGrayNorm",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ZHANG",
    "IMAGENET_GRAY",
    "PIX2PIX",
    "YUV",
    "NORMS",
    "check_image",
    "rgb_to_lab",
    "lab_to_rgb",
    "rgb_to_yuv",
    "yuv_to_rgb",
    "rgb_to_gray",
    "imagenet_gray",
    "chroma",
]

#: ab values are divided by this to bring sRGB chroma into about [-1, 1] (Zhang et al., pix2pix).
AB_SCALE = 110.0
#: An image whose every pixel has ``|a|, |b| <= GRAY_THRESHOLD`` counts as grayscale (the
#: ``NonGrayMask`` layer of Zhang et al.'s official training code).
GRAY_THRESHOLD = 5.0
#: Largest |U| and |V| of sRGB colours in kornia's YUV (BT.601 analogue coefficients).
U_MAX = 0.436
V_MAX = 0.615


def check_image(x: Tensor, channels: int, name: str = "image") -> None:
    """Raise ``ValueError`` unless ``x`` is a float tensor ``(B, channels, H, W)``.

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
    """sRGB in ``[0, 1]`` ``(B, 3, H, W)`` to ``L`` ``(B, 1, H, W)`` in ``[0, 100]`` and ``ab`` ``(B, 2, H, W)``."""
    check_image(rgb, 3, "rgb")
    lab = kc.rgb_to_lab(rgb)
    return lab[:, :1], lab[:, 1:]


def lab_to_rgb(L: Tensor, ab: Tensor, clip: bool = True) -> Tensor:
    """Rebuild sRGB ``(B, 3, H, W)`` from ``L`` ``(B, 1, H, W)`` and ``ab`` ``(B, 2, H, W)``.

    With ``clip`` the result is clamped to the sRGB gamut ``[0, 1]``; predicted chroma often
    falls outside it.
    """
    _check_pair(L, ab)
    return kc.lab_to_rgb(torch.cat([L, ab.to(L.dtype)], dim=1), clip=clip)


def rgb_to_yuv(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """sRGB in ``[0, 1]`` to ``Y`` ``(B, 1, H, W)`` in ``[0, 1]`` and ``UV`` ``(B, 2, H, W)``."""
    check_image(rgb, 3, "rgb")
    yuv = kc.rgb_to_yuv(rgb)
    return yuv[:, :1], yuv[:, 1:]


def yuv_to_rgb(Y: Tensor, uv: Tensor, clip: bool = True) -> Tensor:
    """Rebuild sRGB ``(B, 3, H, W)`` from ``Y`` and ``UV``; clamped to ``[0, 1]`` with ``clip``."""
    _check_pair(Y, uv)
    rgb = kc.yuv_to_rgb(torch.cat([Y, uv.to(Y.dtype)], dim=1))
    return rgb.clamp(0.0, 1.0) if clip else rgb


def rgb_to_gray(rgb: Tensor) -> Tensor:
    """The grayscale input the networks see, shown as RGB: ``L`` with ``ab = 0``, ``(B, 3, H, W)``."""
    L, ab = rgb_to_lab(rgb)
    return lab_to_rgb(L, torch.zeros_like(ab))


def chroma(ab: Tensor) -> Tensor:
    """Per-pixel chroma ``sqrt(a² + b²)`` ``(B, 1, H, W)`` of a two-channel chroma tensor."""
    check_image(ab, 2, "chroma")
    return ab.pow(2).sum(1, keepdim=True).clamp_min(1e-12).sqrt()


class _AbOut:
    """The output side of a Lab normalisation: chroma ``ab / ab_scale``, and RGB rebuilt from the
    normalised input (through the subclass's ``decode_l``) and normalised chroma."""

    ab_scale: float

    def decode_l(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def encode_l(self, L: Tensor) -> Tensor:
        raise NotImplementedError

    def encode_chroma(self, ab: Tensor) -> Tensor:
        return ab / self.ab_scale

    def decode_chroma(self, y: Tensor) -> Tensor:
        return y * self.ab_scale

    def encode(self, L: Tensor, ab: Tensor) -> tuple[Tensor, Tensor]:
        return self.encode_l(L), self.encode_chroma(ab)

    def to_rgb(self, x: Tensor, y: Tensor) -> Tensor:
        """RGB in the sRGB gamut from normalised luminance ``x`` and normalised chroma ``y``."""
        return lab_to_rgb(self.decode_l(x), self.decode_chroma(y), clip=True)


@dataclass(frozen=True)
class LabNorm(_AbOut):
    """A named Lab normalisation: ``x = (L - l_center) / l_scale``, ``y = ab / ab_scale``.

    Example:
        >>> ZHANG.encode_l(torch.full((1, 1, 1, 1), 50.0)).item()
        0.0
    """

    name: str
    l_center: float
    l_scale: float
    ab_scale: float = AB_SCALE
    space: str = "lab"

    def encode_l(self, L: Tensor) -> Tensor:
        return (L - self.l_center) / self.l_scale

    def decode_l(self, x: Tensor) -> Tensor:
        return x * self.l_scale + self.l_center



@dataclass(frozen=True)
class YuvNorm:
    """The YUV convention of notebooks 01 and 02: ``Y`` as is in ``[0, 1]``, ``U/U_MAX`` and
    ``V/V_MAX`` so both chroma channels span ``[-1, 1]``."""

    name: str = "yuv"
    u_max: float = U_MAX
    v_max: float = V_MAX
    space: str = "yuv"

    def _scale(self, like: Tensor) -> Tensor:
        return torch.tensor([self.u_max, self.v_max], dtype=like.dtype, device=like.device).view(1, 2, 1, 1)

    def encode_l(self, Y: Tensor) -> Tensor:
        return Y

    def decode_l(self, x: Tensor) -> Tensor:
        return x

    def encode_chroma(self, uv: Tensor) -> Tensor:
        return uv / self._scale(uv)

    def decode_chroma(self, y: Tensor) -> Tensor:
        return y * self._scale(y)

    def encode(self, Y: Tensor, uv: Tensor) -> tuple[Tensor, Tensor]:
        return self.encode_l(Y), self.encode_chroma(uv)

    def to_rgb(self, x: Tensor, y: Tensor) -> Tensor:
        return yuv_to_rgb(self.decode_l(x), self.decode_chroma(y), clip=True)


#: The mean and standard deviation of ImageNet's RGB in ``[0, 1]`` that torchvision's pretrained
#: classifiers normalise their input by (``transforms.Normalize`` in their weights' presets).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ImageNetGrayNorm(_AbOut):
    """The input an ImageNet classifier expects, made from ``L`` alone: the gray sRGB image
    (``L`` with ``ab = 0``, the same value in all three channels) normalised by
    :data:`IMAGENET_MEAN` and :data:`IMAGENET_STD`, ``(B, 3, H, W)``; chroma ``ab / 110``.

    Example:
        >>> x = IMAGENET_GRAY.encode_l(torch.full((1, 1, 2, 2), 50.0))
        >>> x.shape, torch.allclose(IMAGENET_GRAY.decode_l(x), torch.full((1, 1, 2, 2), 50.0), atol=1e-3)
        (torch.Size([1, 3, 2, 2]), True)
    """

    name: str = "imagenet_gray"
    ab_scale: float = AB_SCALE
    space: str = "lab"

    def _stats(self, like: Tensor) -> tuple[Tensor, Tensor]:
        def t(v: tuple[float, ...]) -> Tensor:
            return torch.tensor(v, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        return t(IMAGENET_MEAN), t(IMAGENET_STD)

    def encode_l(self, L: Tensor) -> Tensor:
        check_image(L, 1, "L")
        return imagenet_gray(lab_to_rgb(L, torch.zeros_like(L).expand(-1, 2, -1, -1)))

    def decode_l(self, x: Tensor) -> Tensor:
        check_image(x, 3, "normalised gray")
        mean, std = self._stats(x)
        return rgb_to_lab((x * std + mean).clamp(0.0, 1.0))[0]



def imagenet_gray(gray: Tensor) -> Tensor:
    """A gray image as an ImageNet classifier expects it: its sRGB value ``(B, 1, H, W)`` or
    ``(B, 3, H, W)`` in ``[0, 1]`` (a YUV ``Y``, or the gray of ``L`` with ``ab = 0``) in all three
    channels, normalised by :data:`IMAGENET_MEAN` and :data:`IMAGENET_STD`, ``(B, 3, H, W)``.

    Example:
        >>> x = imagenet_gray(torch.full((1, 1, 2, 2), 0.485))
        >>> x.shape, round(x[0, 0, 0, 0].item(), 6)
        (torch.Size([1, 3, 2, 2]), 0.0)
    """
    if gray.ndim != 4 or gray.shape[1] not in (1, 3):
        raise ValueError(f"imagenet_gray takes a gray image (B, 1, H, W) or (B, 3, H, W); got {tuple(gray.shape)}")
    mean = torch.tensor(IMAGENET_MEAN, dtype=gray.dtype, device=gray.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=gray.dtype, device=gray.device).view(1, 3, 1, 1)
    return (gray.expand(-1, 3, -1, -1) - mean) / std


#: Zhang et al. 2016: network input ``(L - 50) / 100``, ab targets ``ab / 110``.
ZHANG = LabNorm("zhang", l_center=50.0, l_scale=100.0)
#: pix2pix colourisation (``--model colorization``): ``L / 50 - 1`` and ``ab / 110``.
PIX2PIX = LabNorm("pix2pix", l_center=50.0, l_scale=50.0)
#: YUV regression (notebooks 01 and 02).
YUV = YuvNorm()
#: An ImageNet-pretrained encoder on the gray image, ab / 110 out (the U-Net of notebook 04).
IMAGENET_GRAY = ImageNetGrayNorm()

NORMS: dict[str, LabNorm | YuvNorm | ImageNetGrayNorm] = {n.name: n for n in (ZHANG, PIX2PIX, YUV, IMAGENET_GRAY)}


def grayscale_mask(ab: Tensor, threshold: float = GRAY_THRESHOLD) -> Tensor:
    """``(B,)`` bool, True for images with no pixel whose ``|a|`` or ``|b|`` exceeds ``threshold``.

    The official code's ``NonGrayMask`` layer; such images are masked out of the loss
    (pass ``mask=~grayscale_mask(ab)`` to :func:`colorlab.abgrid.soft_cross_entropy`).

    Example:
        >>> ab = torch.zeros(2, 2, 4, 4); ab[1, 0, 0, 0] = 6.0
        >>> grayscale_mask(ab).tolist()
        [True, False]
    """
    check_image(ab, 2, "ab")
    return ~(ab.abs() > threshold).flatten(1).any(dim=1)
