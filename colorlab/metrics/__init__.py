"""Colourisation metrics, per image and aggregated over a test set.

Every function takes the ground truth first and the prediction second: sRGB ``(B, 3, H, W)`` in
[0, 1], or Lab chroma ``ab`` ``(B, 2, H, W)`` in Lab units. Per-image functions return ``(B,)``;
:func:`evaluate` gathers them into a table with one row per image and :func:`summarize` aggregates
it. ``docs/metrics.md`` says how each metric is computed, and why FID and LPIPS are absent.

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

from ..color import chroma, rgb_to_lab
from ..distributions import HIST_EDGES, HIST_EPS, ab_histograms, histogram_intersection, histogram_kl
from .auc import (
    AUC_MAX_THRESHOLD,
    AUC_PRIOR_MIXES,
    AUC_PRIOR_UNIFORM_MIX,
    ab_error_cdf,
    auc,
    mix_suffix,
    rebalancing_weights,
)
from .image import (
    COLORFULNESS_MEAN_WEIGHT,
    ab_roughness,
    check_same,
    chroma_ratio,
    colorfulness,
    psnr,
    rmse,
    ssim,
    tone,
)

__all__ = ["AUC_MAX_THRESHOLD", "AUC_PRIOR_UNIFORM_MIX", "AUC_PRIOR_MIXES", "COLORFULNESS_MEAN_WEIGHT", "psnr",
    "ssim", "ab_error_cdf", "auc", "rebalancing_weights", "colorfulness", "chroma_ratio", "rmse", "ab_roughness",
    "tone", "HIST_EDGES", "HIST_EPS", "ab_histograms", "histogram_intersection", "histogram_kl", "mix_suffix",
    "evaluate", "summarize", "optional_metrics"]

@torch.no_grad()
def evaluate(
    gt_rgb: Tensor,
    pred_rgb: Tensor,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
) -> pd.DataFrame:
    """Every metric per image, from the ground truth and predicted RGB.

    The ab channels are recomputed from the gamut-clipped RGB, so every method is scored on the
    image a viewer sees. The columns:

    * ``psnr``, ``ssim``, ``auc``, ``rmse`` (of ab);
    * ``colorfulness``, ``colorfulness_gt`` and ``colorfulness_gap`` (prediction − truth);
    * ``chroma_ratio``, and the mean chromas ``chroma`` and ``chroma_gt``;
    * ``ab_roughness`` and ``ab_roughness_gt``;
    * ``tone_a``, ``tone_b``, ``tone_concentration`` and the same of the truth (``_gt``);
    * ``hist_intersection`` and ``hist_kl``: the colour distribution's match, the means over the
      ``a`` and ``b`` marginals (:func:`ab_histograms`);
    * with a prior: ``auc_rebal``, and the image's sums of rebalancing weights and of their squares,
      ``rebal_weight`` and ``rebal_weight_sq`` (for :func:`summarize`); and the same three for every
      other mix of :data:`AUC_PRIOR_MIXES`, with the mix as suffix (``auc_rebal_1e-02``, ...).

    Args:
        gt_rgb: ground truth sRGB ``(B, 3, H, W)`` in [0, 1].
        pred_rgb: prediction of the same shape; clipped to [0, 1] here.
        prior: the training prior ``(Q,)`` for the rebalanced AuC (``None``: not computed).
        bins: the bin centres ``(Q, 2)`` the prior is defined on.

    Returns:
        A DataFrame with one row per image, float64 columns.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 3, H, W)``, or a prior without bins.

    Example:
        >>> df = evaluate(torch.rand(2, 3, 16, 16), torch.full((2, 3, 16, 16), 0.5))
        >>> len(df), df["colorfulness"].tolist(), bool((df["chroma_ratio"] < 0.01).all())
        (2, [0.0, 0.0], True)
    """
    check_same(gt_rgb, pred_rgb, 3)
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
    for name, t_pred, t_gt in zip(("tone_a", "tone_b", "tone_concentration"), tone(pred_ab), tone(gt_ab),
                                  strict=True):
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
    """Aggregate a per-image table of :func:`evaluate` over the test set.

    Every column is averaged, except:

    * ``psnr``, whose mean skips infinite values;
    * ``chroma_ratio``: the ratio of the mean chromas over the whole test set (a mean of per-image
      ratios would be dominated by nearly gray crops);
    * ``auc_rebal`` (and its other mixes): pooled over the test set. Each image's rebalanced AuC is
      weighted by its total rebalancing weight, which equals one weighted error curve over every
      pixel of the test set. With it comes ``auc_rebal_eff_pixels``, the effective number of
      pixels ``(Σw)² / Σw²`` it rests on; the weight sums themselves are dropped.

    Args:
        per_image: the table of :func:`evaluate`, one row per image.

    Returns:
        The aggregates by column, and ``n_images``.

    Example:
        >>> t = pd.DataFrame({"psnr": [20.0, math.inf], "chroma": [1.0, 3.0], "chroma_gt": [4.0, 4.0]})
        >>> s = summarize(t)
        >>> s["psnr"], s["chroma_ratio"], s["n_images"]
        (20.0, 0.5, 2)
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
            out["auc_rebal_eff_pixels" + sfx] = float(
                w.sum() ** 2 / per_image["rebal_weight_sq" + sfx].astype(float).sum())
            del out["rebal_weight" + sfx], out["rebal_weight_sq" + sfx]
    if {"chroma", "chroma_gt"} <= set(per_image.columns):
        gt_mean = float(per_image["chroma_gt"].mean())
        out["chroma_ratio"] = float(per_image["chroma"].mean()) / gt_mean if gt_mean > 1e-6 else math.nan
    out["n_images"] = int(len(per_image))
    return out


def optional_metrics() -> dict[str, str]:
    """Say why FID and LPIPS are absent from the tables.

    Both need network weights (Inception-v3 for FID, AlexNet or VGG plus linear heads for LPIPS)
    that are fetched from the internet on first use. This study computes neither, and says so in
    every result instead of reporting a zero.

    Returns:
        ``{"fid": "unavailable: ...", "lpips": "unavailable: ..."}``.

    Example:
        >>> optional_metrics()["fid"]  # doctest: +ELLIPSIS
        'unavailable: Inception-v3 FID weights are not bundled...'
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
