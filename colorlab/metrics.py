"""Colourisation metrics, per image and aggregated.

All functions take ground truth first and prediction second. Images are sRGB
``(B, 3, H, W)`` in ``[0, 1]``; chroma is Lab ``ab`` ``(B, 2, H, W)`` in Lab units.
Per-image functions return a tensor ``(B,)``; :func:`evaluate` gathers them into a
:class:`pandas.DataFrame` with one row per image and :func:`summarize` averages it.

* PSNR and SSIM on RGB with an explicit data range of 1 (torchmetrics).
* AuC of the cumulative per-pixel ab-error curve over thresholds 0..150 in steps of 1,
  normalised to ``[0, 1]`` (Zhang et al. 2016, Table 1): raw, and class-rebalanced where
  every pixel is weighted by the inverse prior probability of its ground-truth ab bin.
  An error ``e`` counts as correct at every threshold ``t >= e``.
* Colourfulness (Hasler and Süsstrunk 2003) on 0–255 RGB, in the variant of CT2 and
  DDColor which takes absolute values of ``rg`` and ``yb`` before the statistics.
* Mean chroma ratio prediction / ground truth (1 is as saturated as the truth, < 1 is
  desaturated).
* RMSE of ab: the root of the mean squared per-pixel ab error of an image, in Lab units (Larsson
  et al. 2016 report RMSE per image, in their αβ space).
* Tone: the mean predicted ``a`` and ``b`` (the colour cast of the whole image, whose hue angle
  says *which* tone) and the hue concentration ``|mean ab| / mean |ab|`` (1 when every pixel has
  the same hue, near 0 when the hues vary): what "colours mostly in one tone" means, measured.
* The colour distribution (Isola et al. 2017, §4.2; :mod:`colorlab.distributions`): each image's
  marginal histograms of ``a`` and ``b`` against the truth's, by histogram intersection (1: the
  same distribution) and KL divergence of the prediction's from the truth's: the measurable form
  of "less desaturated, more like the real colours".
* Roughness of the ab image (mean absolute difference between neighbouring pixels' ab, Lab
  units): how patchy a colourisation is; the smoothness that the annealed mean of Zhang et al.
  trades against the mode's vividness.

FID and LPIPS need network weights that are downloaded on first use and are not bundled
here; this study does not compute them. :func:`optional_metrics` says so (every
``environment.json`` records it), and they are left out of the tables, never set to zero.

Example:
    >>> gt = torch.rand(2, 3, 16, 16)
    >>> df = evaluate(gt, gt)
    >>> float(df["auc"].mean())
    1.0
"""

from __future__ import annotations

import importlib.util
import math

import pandas as pd
import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from .abgrid.prior import pixel_weights
from .color import check_image, chroma, rgb_to_lab
from .distributions import HIST_EDGES, HIST_EPS, ab_histograms, histogram_intersection, histogram_kl

__all__ = ["AUC_MAX_THRESHOLD", "AUC_PRIOR_UNIFORM_MIX", "AUC_PRIOR_MIXES", "COLORFULNESS_MEAN_WEIGHT", "psnr",
    "ssim", "ab_error_cdf", "auc", "rebalancing_weights", "colorfulness", "chroma_ratio", "rmse", "ab_roughness",
    "tone", "HIST_EDGES", "HIST_EPS", "ab_histograms", "histogram_intersection", "histogram_kl", "mix_suffix",
    "evaluate", "summarize", "optional_metrics"]

#: Largest ab error threshold of the AuC curve (Zhang et al. 2016): thresholds 0, 1, ..., 150.
AUC_MAX_THRESHOLD = 150
#: Weight of the mean term in Hasler and Süsstrunk's colourfulness.
COLORFULNESS_MEAN_WEIGHT = 0.3
#: Share of a uniform distribution mixed into the prior before inverting it for the rebalanced AuC.
AUC_PRIOR_UNIFORM_MIX = 1e-3
#: The mixes the rebalanced AuC is also computed with, to show how much the answer depends on it.
AUC_PRIOR_MIXES = (1e-2, 1e-3, 1e-4)
#: Side of SSIM's Gaussian window (Wang et al. 2004).
SSIM_WINDOW = 11
_EIGHT_BIT = 255.0


def _check_same(gt: Tensor, pred: Tensor, channels: int) -> None:
    check_image(gt, channels, "ground truth")
    check_image(pred, channels, "prediction")
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {tuple(gt.shape)} and prediction {tuple(pred.shape)} differ")


def psnr(gt: Tensor, pred: Tensor) -> Tensor:
    """Per-image PSNR in dB ``(B,)`` of RGB images in ``[0, 1]`` (data range 1).

    Identical images give ``inf``.
    """
    _check_same(gt, pred, 3)
    return peak_signal_noise_ratio(
        pred.float(), gt.float(), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )


def ssim(gt: Tensor, pred: Tensor) -> Tensor:
    """Per-image SSIM ``(B,)`` of RGB images in ``[0, 1]`` (Gaussian window 11, σ 1.5, data range 1).

    ``nan`` for images smaller than the window (SSIM is not defined there).
    """
    _check_same(gt, pred, 3)
    if min(gt.shape[-2:]) < SSIM_WINDOW:
        return torch.full(gt.shape[:1], math.nan, device=gt.device)
    return structural_similarity_index_measure(
        pred.float(), gt.float(), data_range=1.0, reduction="none", kernel_size=SSIM_WINDOW, sigma=1.5
    )


def ab_error_cdf(
    gt_ab: Tensor,
    pred_ab: Tensor,
    weights: Tensor | None = None,
    max_threshold: int = AUC_MAX_THRESHOLD,
) -> Tensor:
    """Fraction of pixels with ab error ``<= t`` for ``t = 0..max_threshold``, ``(B, max_threshold + 1)``.

    Args:
        gt_ab, pred_ab: ``(B, 2, H, W)`` in Lab units.
        weights: optional per-pixel weights ``(B, 1, H, W)`` (normalised per image here).
    """
    _check_same(gt_ab, pred_ab, 2)
    err = (gt_ab.float() - pred_ab.float()).pow(2).sum(1).sqrt().flatten(1)  # (B, N)
    if weights is None:
        w = torch.full_like(err, 1.0 / err.shape[1])
    else:
        check_image(weights, 1, "weights")
        w = weights.float().flatten(1)
        w = w / w.sum(1, keepdim=True).clamp_min(1e-12)
    # an error e first counts at threshold ceil(e): a weighted histogram of those, accumulated,
    # is the curve, in O(B * N) memory (errors beyond the last threshold land in a spill bin)
    first = err.ceil().clamp(max=max_threshold + 1).long()
    hist = torch.zeros(err.shape[0], max_threshold + 2, device=err.device, dtype=w.dtype).scatter_add_(1, first, w)
    return hist.cumsum(1)[:, : max_threshold + 1]


def auc(
    gt_ab: Tensor,
    pred_ab: Tensor,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
) -> Tensor:
    """Per-image AuC ``(B,)`` in ``[0, 1]`` of the cumulative ab-error curve over thresholds 0..150.

    With ``prior`` ``(Q,)`` and ``bins`` ``(Q, 2)`` the curve is class-rebalanced: each pixel
    is weighted by ``1 / prior[nearest_bin(gt)]``.

    Example:
        >>> ab = torch.zeros(1, 2, 4, 4)
        >>> round(auc(ab, ab + 75 / 2 ** 0.5).item() * 151, 4)  # correct at thresholds 75..150
        76.0
    """
    weights = None if prior is None else rebalancing_weights(gt_ab, prior, bins)
    return ab_error_cdf(gt_ab, pred_ab, weights).mean(1)


def rebalancing_weights(gt_ab: Tensor, prior: Tensor, bins: Tensor | None, mix: float = AUC_PRIOR_UNIFORM_MIX) -> Tensor:
    """Per-pixel weights ``1 / p'[nearest_bin(gt)]`` ``(B, 1, H, W)`` of the rebalanced AuC.

    ``p' = (1 - m) p + m / Q`` with ``m = mix`` (:data:`AUC_PRIOR_UNIFORM_MIX`): a prior estimated
    from a few photos is zero on colours they never show, and one test pixel of such a colour would
    otherwise outweigh the rest of the test set (the paper's ImageNet prior has no empty bins).
    """
    if not 0 < mix <= 1:
        raise ValueError(f"the uniform mix must be in (0, 1]; got {mix}")
    if bins is None:
        raise ValueError("a rebalanced AuC needs the bins the prior is defined on")
    if prior.ndim != 1:
        raise ValueError(f"prior must have shape (Q,); got {tuple(prior.shape)}")
    p = prior.double() / prior.double().sum()
    p = (1 - mix) * p + mix / p.shape[0]
    return pixel_weights(gt_ab.float(), bins.to(gt_ab.device), (1.0 / p).float())


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler–Süsstrunk colourfulness ``(B,)`` on 0–255 RGB, CT2/DDColor variant (``|rg|``, ``|yb|``).

    A gray image gives 0. Typical natural photos score 20–60 (DDColor reports 38.3 on ImageNet).
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
    """Mean chroma of the prediction over mean chroma of the ground truth, per image ``(B,)``.

    ``nan`` for a ground truth with no chroma at all.
    """
    _check_same(gt_ab, pred_ab, 2)
    num = chroma(pred_ab.float()).flatten(1).mean(1)
    den = chroma(gt_ab.float()).flatten(1).mean(1)
    return torch.where(den > 1e-6, num / den.clamp_min(1e-6), torch.full_like(num, math.nan))


def rmse(gt_ab: Tensor, pred_ab: Tensor) -> Tensor:
    """Root of the mean squared per-pixel ab error, per image ``(B,)``, in Lab units.

    Example:
        >>> gt = torch.zeros(1, 2, 2, 2)
        >>> pred = gt.clone(); pred[0, 0] = 3.0; pred[0, 1] = 4.0      # every pixel 5 away
        >>> rmse(gt, pred).item()
        5.0
    """
    _check_same(gt_ab, pred_ab, 2)
    return (pred_ab.float() - gt_ab.float()).square().sum(1).flatten(1).mean(1).sqrt()


def ab_roughness(ab: Tensor) -> Tensor:
    """Mean absolute difference between the ab of horizontally and vertically neighbouring pixels,
    per image ``(B,)`` in Lab units: 0 for a flat colour, large for a patchy one.

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
    """The overall tone of each image: its mean ``a`` and mean ``b`` ``(B,)`` in Lab units, and the
    hue concentration ``|mean ab| / mean |ab|`` ``(B,)`` in ``[0, 1]`` (1: one hue everywhere; NaN
    for an image without chroma).

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


@torch.no_grad()
def evaluate(
    gt_rgb: Tensor,
    pred_rgb: Tensor,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
) -> pd.DataFrame:
    """All metrics per image, from ground-truth and predicted RGB ``(B, 3, H, W)`` in ``[0, 1]``.

    The ab channels are recomputed from the (gamut-clipped) RGB, so every method is scored
    on the image a viewer sees. Columns: ``psnr, ssim, auc, colorfulness, colorfulness_gt,
    colorfulness_gap`` (prediction − truth), ``chroma_ratio``, ``rmse`` (of ab), the mean chromas ``chroma`` and
    ``chroma_gt``, the roughness of the ab image ``ab_roughness`` and ``ab_roughness_gt``, the tone
    ``tone_a``, ``tone_b``, ``tone_concentration`` and the same of the truth (``_gt``), the colour
    distribution's match ``hist_intersection`` and ``hist_kl`` (means over the ``a`` and ``b``
    marginals: :func:`ab_histograms`) and, with
    a prior, ``auc_rebal`` and the image's sum of rebalancing weights and of their squares,
    ``rebal_weight`` and ``rebal_weight_sq`` (for :func:`summarize`), and the same three for every
    other mix of :data:`AUC_PRIOR_MIXES` with the mix as suffix (``auc_rebal_1e-02``, ...).
    """
    _check_same(gt_rgb, pred_rgb, 3)
    _, gt_ab = rgb_to_lab(gt_rgb.float())
    _, pred_ab = rgb_to_lab(pred_rgb.float().clamp(0, 1))
    cf_pred, cf_gt = colorfulness(pred_rgb), colorfulness(gt_rgb)
    cols = {
        "psnr": psnr(gt_rgb, pred_rgb.clamp(0, 1)),
        "ssim": ssim(gt_rgb, pred_rgb.clamp(0, 1)),
        "auc": auc(gt_ab, pred_ab),
        "colorfulness": cf_pred,
        "colorfulness_gt": cf_gt,
        "colorfulness_gap": cf_pred - cf_gt,
        "chroma_ratio": chroma_ratio(gt_ab, pred_ab),
        "rmse": rmse(gt_ab, pred_ab),
        "chroma": chroma(pred_ab).flatten(1).mean(1),
        "chroma_gt": chroma(gt_ab).flatten(1).mean(1),
        "ab_roughness": ab_roughness(pred_ab),
        "ab_roughness_gt": ab_roughness(gt_ab),
    }
    for name, t_pred, t_gt in zip(("tone_a", "tone_b", "tone_concentration"), tone(pred_ab), tone(gt_ab), strict=True):
        cols[name], cols[name + "_gt"] = t_pred, t_gt
    h_pred, h_gt = ab_histograms(pred_ab), ab_histograms(gt_ab)
    cols["hist_intersection"] = histogram_intersection(h_gt, h_pred).mean(1)
    cols["hist_kl"] = histogram_kl(h_gt, h_pred).mean(1)
    if prior is not None:
        for mix in AUC_PRIOR_MIXES:
            sfx = "" if mix == AUC_PRIOR_UNIFORM_MIX else mix_suffix(mix)
            w = rebalancing_weights(gt_ab, prior, bins, mix)
            cols["auc_rebal" + sfx] = ab_error_cdf(gt_ab, pred_ab, w).mean(1)
            w = w.flatten(1).double()
            cols["rebal_weight" + sfx], cols["rebal_weight_sq" + sfx] = w.sum(1), w.square().sum(1)
    return pd.DataFrame({k: v.detach().cpu().double().numpy() for k, v in cols.items()})


def summarize(per_image: pd.DataFrame) -> dict[str, float]:
    """Aggregate a per-image table: means, except

    * PSNR, whose mean skips infinite values;
    * ``chroma_ratio``, the ratio of the mean chromas over the whole test set (a mean of
      per-image ratios would be dominated by nearly gray crops);
    * ``auc_rebal``, pooled over the test set: each image's rebalanced AuC weighted by its
      total rebalancing weight, which equals one weighted error curve over every pixel of the
      test set. Averaging per-image values instead lets the few pixels of rare colours in each
      crop count as much as a whole crop; pooled, the gray baseline scores close to the
      paper's 58 % (Zhang et al. 2016, Table 1), per image far above it. With it comes
      ``auc_rebal_eff_pixels``, the effective number of pixels ``(Σw)² / Σw²`` it rests on.
    """
    out: dict[str, float] = {}
    for col in per_image.columns:
        v = per_image[col].astype(float)
        if col == "psnr":
            v = v[~v.isin([math.inf])]
        out[col] = float(v.mean()) if len(v) else math.nan
    for sfx in ["", *(mix_suffix(m) for m in AUC_PRIOR_MIXES if m != AUC_PRIOR_UNIFORM_MIX)]:
        if {"auc_rebal" + sfx, "rebal_weight" + sfx} <= set(per_image.columns):
            # pooled over the test set: every pixel counts with its weight, whichever crop holds it
            w = per_image["rebal_weight" + sfx].astype(float)
            out["auc_rebal" + sfx] = float((per_image["auc_rebal" + sfx] * w).sum() / w.sum())
            # how many pixels the pooled curve effectively rests on: (sum w)^2 / sum w^2
            out["auc_rebal_eff_pixels" + sfx] = float(w.sum() ** 2 / per_image["rebal_weight_sq" + sfx].astype(float).sum())
            del out["rebal_weight" + sfx], out["rebal_weight_sq" + sfx]
    if {"chroma", "chroma_gt"} <= set(per_image.columns):
        gt_mean = float(per_image["chroma_gt"].mean())
        out["chroma_ratio"] = float(per_image["chroma"].mean()) / gt_mean if gt_mean > 1e-6 else math.nan
    out["n_images"] = int(len(per_image))
    return out


def mix_suffix(mix: float) -> str:
    """The column suffix of a rebalanced AuC computed with another uniform ``mix``.

    Example:
        >>> mix_suffix(1e-2)
        '_1e-02'
    """
    return f"_{mix:.0e}"


def optional_metrics() -> dict[str, str]:
    """Why FID and LPIPS are absent from the tables: ``{"fid": "unavailable: ...", "lpips": ...}``.

    Both need network weights (Inception-v3 for FID, AlexNet/VGG plus linear heads for LPIPS)
    that are fetched from the internet on first use. This study computes neither, and says
    so in every result instead of reporting a zero.
    """
    reasons = {}
    for name, module, weights in (
        ("fid", "torch_fidelity", "Inception-v3 FID weights"),
        ("lpips", "lpips", "LPIPS network weights"),
    ):
        installed = importlib.util.find_spec(module) is not None
        reasons[name] = (
            f"unavailable: {weights} are not bundled"
            + ("" if installed else f" and {module} is not installed")
        )
    return reasons
