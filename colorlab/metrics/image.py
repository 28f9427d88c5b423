"""Per-image colourisation metrics on sRGB images and Lab chroma: PSNR, SSIM, colourfulness,
chroma ratio, RMSE of ab, ab roughness and tone. ``docs/metrics.md`` says how each is computed.

Example:
    >>> gt = torch.rand(2, 3, 16, 16)
    >>> psnr(gt, gt).tolist()
    [inf, inf]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ..color import check_image, chroma

__all__ = ["COLORFULNESS_MEAN_WEIGHT", "SSIM_WINDOW", "check_same", "psnr", "ssim", "colorfulness", "chroma_ratio",
           "rmse", "ab_roughness", "tone"]

#: Weight of the mean term in Hasler and Süsstrunk's colourfulness.
COLORFULNESS_MEAN_WEIGHT = 0.3
#: Side of SSIM's Gaussian window (Wang et al. 2004).
SSIM_WINDOW = 11
_EIGHT_BIT = 255.0


def check_same(gt: Tensor, pred: Tensor, channels: int) -> None:
    check_image(gt, channels, "ground truth")
    check_image(pred, channels, "prediction")
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {tuple(gt.shape)} and prediction {tuple(pred.shape)} differ")


def psnr(gt: Tensor, pred: Tensor) -> Tensor:
    """Per-image PSNR in dB, with a data range of 1.

    Args:
        gt: ground truth sRGB ``(B, 3, H, W)`` in [0, 1].
        pred: prediction of the same shape.

    Returns:
        ``(B,)`` in dB; ``inf`` for identical images.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 3, H, W)``.

    Example:
        >>> gt = torch.zeros(1, 3, 4, 4)
        >>> psnr(gt, gt + 0.1).round().tolist()
        [20.0]
    """
    check_same(gt, pred, 3)
    return peak_signal_noise_ratio(
        pred.float(), gt.float(), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )


def ssim(gt: Tensor, pred: Tensor) -> Tensor:
    """Per-image SSIM, with a Gaussian window of 11, σ 1.5 and a data range of 1.

    Args:
        gt: ground truth sRGB ``(B, 3, H, W)`` in [0, 1].
        pred: prediction of the same shape.

    Returns:
        ``(B,)``, at most 1; ``nan`` for images smaller than the window, where SSIM is not defined.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 3, H, W)``.

    Example:
        >>> gt = torch.rand(1, 3, 16, 16)
        >>> round(ssim(gt, gt).item(), 4), ssim(gt[..., :8, :8], gt[..., :8, :8]).isnan().item()
        (1.0, True)
    """
    check_same(gt, pred, 3)
    if min(gt.shape[-2:]) < SSIM_WINDOW:
        return torch.full(gt.shape[:1], math.nan, device=gt.device)
    return structural_similarity_index_measure(
        pred.float(), gt.float(), data_range=1.0, reduction="none", kernel_size=SSIM_WINDOW, sigma=1.5
    )


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler and Süsstrunk's colourfulness, in the variant of CT2 and DDColor.

    On RGB scaled to 0–255, with ``rg = |R - G|`` and ``yb = |(R + G) / 2 - B|`` (the variant takes
    the absolute values), it is ``sqrt(var rg + var yb) + 0.3 sqrt(mean(rg)² + mean(yb)²)``.
    Typical natural photos score 20–60 (DDColor reports 38.3 on ImageNet).

    Args:
        rgb: sRGB ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B,)``; 0 for a gray image.

    Raises:
        ValueError: for a tensor that is not ``(B, 3, H, W)`` floating point.

    Example:
        >>> colorfulness(torch.full((1, 3, 4, 4), 0.5)).item()
        0.0
    """
    check_image(rgb, 3, "rgb")
    x = rgb.float() * _EIGHT_BIT
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg = (r - g).abs().flatten(1)
    yb = (0.5 * (r + g) - b).abs().flatten(1)
    std = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1).pow(2) + yb.mean(1).pow(2)).sqrt()
    return std + COLORFULNESS_MEAN_WEIGHT * mean


def chroma_ratio(gt_ab: Tensor, pred_ab: Tensor) -> Tensor:
    """The mean chroma of the prediction over the mean chroma of the ground truth, per image.

    Args:
        gt_ab: ground truth chroma ``(B, 2, H, W)`` in Lab units.
        pred_ab: predicted chroma of the same shape.

    Returns:
        ``(B,)``: 1 is as saturated as the truth, below 1 desaturated; ``nan`` for a ground truth
        with no chroma at all.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 2, H, W)``.

    Example:
        >>> gt = torch.full((1, 2, 2, 2), 10.0)
        >>> chroma_ratio(gt, gt / 2).item()
        0.5
    """
    check_same(gt_ab, pred_ab, 2)
    num = chroma(pred_ab.float()).flatten(1).mean(1)
    den = chroma(gt_ab.float()).flatten(1).mean(1)
    return torch.where(den > 1e-6, num / den.clamp_min(1e-6), torch.full_like(num, math.nan))


def rmse(gt_ab: Tensor, pred_ab: Tensor) -> Tensor:
    """The root of the mean squared per-pixel ab error, per image.

    Larsson et al. (2016) report this RMSE per image, in their αβ space.

    Args:
        gt_ab: ground truth chroma ``(B, 2, H, W)`` in Lab units.
        pred_ab: predicted chroma of the same shape.

    Returns:
        ``(B,)`` in Lab units.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 2, H, W)``.

    Example:
        >>> gt = torch.zeros(1, 2, 2, 2)
        >>> pred = gt.clone(); pred[0, 0] = 3.0; pred[0, 1] = 4.0      # every pixel 5 away
        >>> rmse(gt, pred).item()
        5.0
    """
    check_same(gt_ab, pred_ab, 2)
    return (pred_ab.float() - gt_ab.float()).square().sum(1).flatten(1).mean(1).sqrt()


def ab_roughness(ab: Tensor) -> Tensor:
    """How patchy a colourisation is: the mean ab difference between neighbouring pixels.

    For every pair of horizontally or vertically neighbouring pixels it takes ``|Δa| + |Δb|``,
    and averages over the pairs.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.

    Returns:
        ``(B,)`` in Lab units: 0 for a flat colour, large for a patchy one.

    Raises:
        ValueError: for a tensor that is not ``(B, 2, H, W)`` floating point.

    Example:
        >>> flat = torch.zeros(1, 2, 4, 4)
        >>> checker = (torch.arange(4)[:, None] + torch.arange(4)).remainder(2).float().expand(1, 2, 4, 4) * 10
        >>> ab_roughness(flat).item(), ab_roughness(checker).item()
        (0.0, 20.0)
    """
    check_image(ab, 2, "ab")
    dx = (ab[..., :, 1:] - ab[..., :, :-1]).abs().sum(1).flatten(1)
    dy = (ab[..., 1:, :] - ab[..., :-1, :]).abs().sum(1).flatten(1)
    n = dx.shape[1] + dy.shape[1]
    if n == 0:
        return torch.zeros(ab.shape[0], device=ab.device)
    return (dx.sum(1) + dy.sum(1)) / n


def tone(ab: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The overall tone of each image: its mean ``a`` and ``b``, and how concentrated its hue is.

    The mean ab is the colour cast of the whole image; its hue angle says which tone. The hue
    concentration ``|mean ab| / mean |ab|`` is 1 when every pixel has the same hue and near 0 when
    the hues vary: what "colours mostly in one tone" means, measured.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.

    Returns:
        ``(mean_a, mean_b, concentration)``, each ``(B,)``: the means in Lab units, the
        concentration in [0, 1] (``nan`` for an image without chroma).

    Raises:
        ValueError: for a tensor that is not ``(B, 2, H, W)`` floating point.

    Example:
        >>> one_tone = torch.tensor([10.0, 20.0]).view(1, 2, 1, 1).expand(1, 2, 4, 4)
        >>> opposite = torch.cat([one_tone[..., :2], -one_tone[..., 2:]], dim=-1)
        >>> [round(float(t), 3) for t in tone(one_tone)], round(float(tone(opposite)[2]), 3)
        ([10.0, 20.0, 1.0], 0.0)
    """
    check_image(ab, 2, "ab")
    mean = ab.float().flatten(2).mean(2)  # (B, 2)
    spread = chroma(ab.float()).flatten(1).mean(1)
    resultant = mean.pow(2).sum(1).sqrt()
    conc = torch.where(spread > 1e-6, resultant / spread.clamp_min(1e-6), torch.full_like(spread, math.nan))
    return mean[:, 0], mean[:, 1], conc.clamp(max=1.0)
