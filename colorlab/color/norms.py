"""The named normalisations the sources use: how each turns a luminance into its network's input
and its chroma into the network's target, and back. Every convention has a name
(:data:`NORMS`), recorded in each checkpoint.

Example:
    >>> L, ab = rgb_to_lab(torch.rand(1, 3, 4, 4))
    >>> x, y = ZHANG.encode(L, ab)   # network input (L-50)/100 and target ab/110
    >>> torch.allclose(ZHANG.decode_chroma(y), ab)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .spaces import AB_SCALE, U_MAX, V_MAX, check_image, lab_to_rgb, rgb_to_lab, yuv_to_rgb

__all__ = ["LabNorm", "YuvNorm", "ImageNetGrayNorm", "IMAGENET_MEAN", "IMAGENET_STD", "ZHANG", "PIX2PIX", "YUV",
           "IMAGENET_GRAY", "NORMS", "imagenet_gray"]


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

    ``encode(L, ab)`` gives ``(x, y)``; ``to_rgb(x, y)`` rebuilds sRGB in the gamut.

    Args:
        name: the name in :data:`NORMS`.
        l_center: subtracted from ``L``.
        l_scale: divides ``L - l_center``.
        ab_scale: divides ``ab``.
        space: the colour space, ``"lab"``.

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
    """The YUV convention of notebooks 01 and 02: ``Y`` as it is, ``U / U_MAX`` and ``V / V_MAX``.

    Both chroma channels then span [-1, 1]; ``Y`` stays in [0, 1].

    Args:
        name: the name in :data:`NORMS`.
        u_max: divides U.
        v_max: divides V.
        space: the colour space, ``"yuv"``.

    Example:
        >>> YUV.encode_chroma(torch.tensor([U_MAX, -V_MAX]).view(1, 2, 1, 1)).flatten().tolist()
        [1.0, -1.0]
    """

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
    """The input an ImageNet classifier expects, made from ``L`` alone; chroma ``ab / 110``.

    ``encode_l`` turns ``L`` ``(B, 1, H, W)`` into the gray sRGB image (``L`` with ``ab = 0``, the
    same value in all three channels) normalised by :data:`IMAGENET_MEAN` and
    :data:`IMAGENET_STD`, ``(B, 3, H, W)``; ``decode_l`` turns it back.

    Args:
        name: the name in :data:`NORMS`.
        ab_scale: divides ``ab``.
        space: the colour space, ``"lab"``.

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
    """Normalise a gray image as an ImageNet classifier expects it.

    Args:
        gray: the gray sRGB value ``(B, 1, H, W)`` or ``(B, 3, H, W)`` in [0, 1] (a YUV ``Y``, or
            the gray of ``L`` with ``ab = 0``).

    Returns:
        ``(B, 3, H, W)``: the value in all three channels, normalised by :data:`IMAGENET_MEAN` and
        :data:`IMAGENET_STD`.

    Raises:
        ValueError: for a tensor that is not ``(B, 1, H, W)`` or ``(B, 3, H, W)``.

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
