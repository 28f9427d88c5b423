"""Colour spaces and the normalisations the sources use, on batched tensors ``(B, C, H, W)``.

:mod:`.spaces` holds the conversions (RGB in [0, 1]; L in [0, 100], a and b roughly in
[-110, 110]; Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615]); :mod:`.norms` the named
normalisations of the networks' inputs and targets (docs/data.md, *Colour spaces*).

Example:
    >>> import torch
    >>> L, ab = rgb_to_lab(torch.rand(2, 3, 8, 8))
    >>> x, y = ZHANG.encode(L, ab)
    >>> float(x.min()) >= -0.5 and float(x.max()) <= 0.5
    True
"""

from .norms import (
    IMAGENET_GRAY,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMS,
    PIX2PIX,
    YUV,
    ZHANG,
    ImageNetGrayNorm,
    LabNorm,
    YuvNorm,
    imagenet_gray,
)
from .spaces import (
    AB_SCALE,
    GRAY_THRESHOLD,
    U_MAX,
    V_MAX,
    check_image,
    chroma,
    grayscale_mask,
    lab_to_rgb,
    rgb_to_gray,
    rgb_to_lab,
    rgb_to_yuv,
    yuv_to_rgb,
)

__all__ = [
    "AB_SCALE", "GRAY_THRESHOLD", "U_MAX", "V_MAX", "LabNorm", "YuvNorm", "ImageNetGrayNorm", "IMAGENET_MEAN",
    "IMAGENET_STD", "ZHANG", "IMAGENET_GRAY", "PIX2PIX", "YUV", "NORMS", "check_image", "rgb_to_lab", "lab_to_rgb",
    "rgb_to_yuv", "yuv_to_rgb", "rgb_to_gray", "imagenet_gray", "chroma", "grayscale_mask",
]
