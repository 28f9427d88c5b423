"""Figures the sources use: original / grayscale / colourised rows, chroma histograms and the
ab prior over the Lab plane.

Every function returns a :class:`matplotlib.figure.Figure` (never shows it), so notebooks
can both display it and hand it to :func:`colorlab.results.save`.

Example:
    >>> rgb = torch.rand(4, 3, 16, 16)
    >>> fig = colorization_rows(rgb, {"model": rgb})
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torchvision.utils import make_grid

from .color import check_image, chroma, rgb_to_gray, rgb_to_lab

__all__ = ["colorization_rows", "chroma_histogram", "ab_prior_plot", "loss_curves", "metric_scatter", "sweep_plot", "to_numpy_image"]


_INCHES_PER_PIXEL = 0.02


def _row(images: Tensor, pad: int = 2) -> np.ndarray:
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=images.shape[0], padding=pad, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def colorization_rows(
    rgb: Tensor,
    predictions: Mapping[str, Tensor],
    max_images: int = 8,
    title: str | None = None,
) -> Figure:
    """The sources' figure: a row of originals, a row of the grayscale inputs, then one row per
    method's colourisation of the same images.

    Args:
        rgb: ground truth ``(B, 3, H, W)`` in ``[0, 1]``.
        predictions: ``{"label": (B, 3, H, W)}``, one row each.
        max_images: columns; that many images evenly spaced over the batch.
    """
    check_image(rgb, 3, "rgb")
    n = min(max_images, rgb.shape[0])
    pick = torch.linspace(0, rgb.shape[0] - 1, n).round().long()  # spread over the whole test set
    rows = {"original": rgb[pick], "grayscale input": rgb_to_gray(rgb[pick].float())}
    for label, pred in predictions.items():
        check_image(pred, 3, label)
        rows[label] = pred[pick]
    h, w = rgb.shape[-2:]
    # about 1.5 screen pixels per image pixel, at most 9 inches wide: small files, no resampling blur
    width = min(max(n * w * _INCHES_PER_PIXEL, 3.0), 9.0)
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, len(rows) * (0.25 + width * h / (n * w))), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], rows.items(), strict=True):
        ax.imshow(_row(imgs), interpolation="nearest")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def chroma_histogram(gt_rgb: Tensor, predictions: Mapping[str, Tensor], bins: int = 60) -> Figure:
    """Histogram of per-pixel Lab chroma ``sqrt(a² + b²)`` of the ground truth and each prediction:
    regression to the mean shows as mass piled near zero."""
    _, ab = rgb_to_lab(gt_rgb.float())
    series = {"ground truth": chroma(ab)}
    for label, pred in predictions.items():
        series[label] = chroma(rgb_to_lab(pred.float().clamp(0, 1))[1])
    top = float(max(s.max() for s in series.values()))
    edges = np.linspace(0, max(top, 1.0), bins + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, c in series.items():
        ax.hist(c.flatten().cpu().numpy(), bins=edges, histtype="step", density=True, label=label, linewidth=1.4)
    ax.set_xlabel("chroma sqrt(a² + b²)")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ab_prior_plot(prior: Tensor, bins: Tensor, grid: float = 10.0, title: str = "ab prior") -> Figure:
    """Log10 probability of each ab bin over the Lab ab plane (Zhang et al. 2016, Fig. 3)."""
    if prior.ndim != 1 or bins.ndim != 2 or bins.shape != (prior.shape[0], 2):
        raise ValueError(f"prior (Q,) and bins (Q, 2) expected; got {tuple(prior.shape)} and {tuple(bins.shape)}")
    b = bins.detach().cpu().numpy()
    p = prior.detach().cpu().double().numpy()
    lo = b.min(0) - grid / 2
    size = np.round((b.max(0) - b.min(0)) / grid).astype(int) + 1
    img = np.full((size[1], size[0]), np.nan)
    ij = np.round((b - b.min(0)) / grid).astype(int)
    img[ij[:, 1], ij[:, 0]] = np.log10(np.clip(p, 1e-12, None))
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    extent = (lo[0], lo[0] + size[0] * grid, lo[1], lo[1] + size[1] * grid)
    im = ax.imshow(img, origin="lower", extent=extent, cmap="jet")
    fig.colorbar(im, ax=ax, label="log10 p")
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def loss_curves(histories: Mapping[str, pd.DataFrame], column: str = "loss") -> Figure:
    """Training loss against step for several runs (``{"label": history DataFrame}``)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, h in histories.items():
        ax.plot(h["step"], h[column], label=label, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel(column)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def to_numpy_image(rgb: Tensor) -> np.ndarray:
    """``(3, H, W)`` or ``(1, 3, H, W)`` in ``[0, 1]`` to ``(H, W, 3)`` uint8."""
    if rgb.ndim == 4:
        rgb = rgb[0]
    return (rgb.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)



def metric_scatter(table: pd.DataFrame, x: str = "auc", y: str = "colorfulness_gap") -> Figure:
    """Every method/variant of a results table as a point in (``x``, ``y``), labelled: the
    accuracy/vividness trade-off across the study at a glance."""
    d = table.dropna(subset=[x, y])
    fig, ax = plt.subplots(figsize=(6, 4))
    for nb, g in d.groupby("notebook", sort=True):
        ax.scatter(g[x], g[y], label=str(nb), s=22)
        for _, r in g.iterrows():
            label = "/".join(str(r[c]) for c in ("method", "variant", "decode") if c in r and isinstance(r[c], str) and r[c])
            ax.annotate(label, (r[x], r[y]), fontsize=6, xytext=(2, 2), textcoords="offset points")
    if y.endswith("_gap"):
        ax.axhline(0, color="gray", lw=0.8, ls="--")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def sweep_plot(table: pd.DataFrame, x: str, ys: tuple[str, ...], hue: str | None = None,
               reference: dict[str, float] | None = None) -> Figure:
    """One panel per metric in ``ys`` against a swept parameter ``x`` (a boost factor, a
    temperature), one line per value of ``hue``; ``reference`` draws horizontal lines
    (e.g. the ground truth's colourfulness)."""
    fig, axes = plt.subplots(1, len(ys), figsize=(3.4 * len(ys), 3.0), squeeze=False)
    groups = table.groupby(hue, sort=True) if hue else [("", table)]
    for ax, y in zip(axes[0], ys, strict=True):
        for label, g in groups:
            g = g.sort_values(x)
            ax.plot(g[x].astype(float), g[y].astype(float), marker="o", ms=3, label=str(label) or None)
        if reference and y in reference:
            ax.axhline(reference[y], color="gray", ls="--", lw=0.8, label="ground truth")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
    if hue or reference:
        axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
