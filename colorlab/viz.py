"""Figures the sources use: colourisation rows, chroma histograms, the ab prior and result plots.

Every function returns a :class:`matplotlib.figure.Figure` and never shows it, so a notebook can
both display it and hand it to :func:`colorlab.results.save`.

Example:
    >>> rgb = torch.rand(4, 3, 16, 16)
    >>> fig = colorization_rows(rgb, {"model": rgb})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torchvision.utils import make_grid

from .color import check_image, chroma, rgb_to_gray, rgb_to_lab

__all__ = ["colorization_rows", "chroma_histogram", "ab_prior_plot", "loss_curves", "metric_scatter", "sweep_plot",
           "gallery", "before_after", "centre_crop", "bar_panels", "to_numpy_image"]


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
    """The sources' figure: originals, their grayscale inputs, then each method's colourisation.

    Args:
        rgb: ground truth ``(B, 3, H, W)`` in [0, 1].
        predictions: ``{"label": (B, 3, H, W)}`` in [0, 1], one row each.
        max_images: the number of columns: that many images, evenly spaced over the batch.
        title: the figure's title.

    Returns:
        The figure, one row per image kind.

    Raises:
        ValueError: for images that are not ``(B, 3, H, W)`` floating point.
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
    """Histograms of the per-pixel Lab chroma ``sqrt(a² + b²)`` of the truth and each prediction.

    Regression to the mean shows as mass piled near zero.

    Args:
        gt_rgb: ground truth ``(B, 3, H, W)`` in [0, 1].
        predictions: ``{"label": (B, 3, H, W)}`` in [0, 1].
        bins: the number of histogram bins.

    Returns:
        The figure: densities on a log scale.
    """
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
    """The log10 probability of each ab bin over the Lab ab plane (Zhang et al. 2016, Fig. 3).

    Args:
        prior: the prior ``(Q,)``.
        bins: the bin centres ``(Q, 2)`` in Lab units.
        grid: the grid step of the bins.
        title: the axes' title.

    Returns:
        The figure.

    Raises:
        ValueError: for a prior and bins whose shapes do not fit.

    Example:
        >>> fig = ab_prior_plot(torch.tensor([0.75, 0.25]), torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
        >>> fig.axes[0].get_images()[0].get_array().shape
        (1, 2)
    """
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
    """Training loss against step for several runs.

    Args:
        histories: ``{"label": history}``, each history with a ``step`` column.
        column: the column to plot.

    Returns:
        The figure, one line per run.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, h in histories.items():
        ax.plot(h["step"], h[column], label=label, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel(column)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def to_numpy_image(rgb: Tensor) -> np.ndarray:
    """Turn an image tensor into a uint8 array for plotting or saving.

    Args:
        rgb: ``(3, H, W)`` or ``(1, 3, H, W)`` in [0, 1]; clipped to it.

    Returns:
        uint8 ``(H, W, 3)`` in [0, 255].

    Example:
        >>> to_numpy_image(torch.ones(1, 3, 2, 2)).shape, int(to_numpy_image(torch.ones(3, 2, 2)).max())
        ((2, 2, 3), 255)
    """
    if rgb.ndim == 4:
        rgb = rgb[0]
    return (rgb.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def metric_scatter(table: pd.DataFrame, x: str = "auc", y: str = "colorfulness_gap") -> Figure:
    """Every model row of a results table as a labelled point: the accuracy/vividness trade-off.

    Args:
        table: one row per model row, with ``notebook`` and the ``x`` and ``y`` columns.
        x: the column on the horizontal axis.
        y: the column on the vertical axis; a ``_gap`` column gets a dashed line at zero.

    Returns:
        The figure, one colour per notebook.
    """
    d = table.dropna(subset=[x, y])
    fig, ax = plt.subplots(figsize=(6, 4))
    for nb, g in d.groupby("notebook", sort=True):
        ax.scatter(g[x], g[y], label=str(nb), s=22)
        for _, r in g.iterrows():
            label = "/".join(str(r[c]) for c in ("method", "variant", "decode")
                             if c in r and isinstance(r[c], str) and r[c])
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
    """One panel per metric against a swept parameter (a boost factor, a temperature).

    Args:
        table: one row per point.
        x: the swept parameter's column.
        ys: the metric columns, one panel each.
        hue: a column with one line per value (``None``: one line).
        reference: metric -> value, drawn as a dashed horizontal line (e.g. the truth's
            colourfulness).

    Returns:
        The figure.
    """
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


def gallery(rows: Mapping[str, Sequence[Tensor]], names: Sequence[str] | None = None, title: str | None = None,
            inches: float = 2.2) -> Figure:
    """Images of different sizes side by side, each at its own aspect ratio.

    For photographs without ground truth: a historical photo and its colourisation, say.

    Args:
        rows: ``{"label": [(3, H, W), ...]}`` in [0, 1], one row per label, every row as long.
        names: the title of each column.
        title: the figure's title.
        inches: the size of each cell.

    Returns:
        The figure, one row per label and one column per image.

    Raises:
        ValueError: for no rows, rows of different lengths, names that do not fit, or an image
            that is not ``(3, H, W)``.

    Example:
        >>> fig = gallery({"input": [torch.zeros(3, 8, 16)], "output": [torch.ones(3, 8, 16)]}, names=["a"])
        >>> [ax.get_images()[0].get_array().shape for ax in fig.axes]
        [(8, 16, 3), (8, 16, 3)]
    """
    if not rows:
        raise ValueError("gallery: no rows")
    n = len(next(iter(rows.values())))
    if n == 0 or any(len(v) != n for v in rows.values()):
        raise ValueError(f"gallery: every row needs the same, non-zero number of images; got "
                         f"{ {k: len(v) for k, v in rows.items()} }")
    if names is not None and len(names) != n:
        raise ValueError(f"gallery: {len(names)} names for {n} images")
    fig, axes = plt.subplots(len(rows), n, figsize=(inches * n, inches * len(rows) + 0.4), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c, img in enumerate(images):
            if img.ndim != 3 or img.shape[0] != 3:
                raise ValueError(f"gallery: {label!r} image {c} must be (3, H, W); got {tuple(img.shape)}")
            ax = axes[r, c]
            ax.imshow(to_numpy_image(img), interpolation="antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
            if r == 0 and names is not None:
                ax.set_title(names[c], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def centre_crop(rgb: Tensor, side: int) -> Tensor:
    """The centre ``side`` × ``side`` pixels of an image.

    Args:
        rgb: ``(..., H, W)``.
        side: the side of the crop; a smaller image side is kept whole.

    Returns:
        ``(..., min(H, side), min(W, side))``.

    Example:
        >>> centre_crop(torch.arange(25.0).view(1, 5, 5), 3)[0, 0].tolist()
        [6.0, 7.0, 8.0]
    """
    h, w = rgb.shape[-2:]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return rgb[..., top:top + side, left:left + side]


def before_after(before: Sequence[Tensor], after: Sequence[Tensor], names: Sequence[str] | None = None,
                 detail: int = 160, title: str | None = None) -> Figure:
    """Photos as given and as colourised, and each output's centre drawn one to one.

    The last row shows each output's centre ``detail`` × ``detail`` pixels one to one, where the
    sharpness of a full-resolution output shows (:func:`gallery`).

    Args:
        before: the photos as given, RGB ``(3, H, W)``, float in [0, 1] or uint8.
        after: the colourised photos, the same sizes as ``before``.
        names: the title of each column.
        detail: the side of the centre crop in pixels.
        title: the figure's title.

    Returns:
        The figure, three rows.

    Raises:
        ValueError: for lists of different lengths, or a pair of different sizes.

    Example:
        >>> fig = before_after([torch.zeros(3, 300, 200, dtype=torch.uint8)], [torch.ones(3, 300, 200)], ["a"])
        >>> [ax.get_images()[0].get_array().shape for ax in fig.axes]
        [(300, 200, 3), (300, 200, 3), (160, 160, 3)]
    """
    if len(before) != len(after):
        raise ValueError(f"before_after: {len(before)} photos before and {len(after)} after")
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if b.shape[-2:] != a.shape[-2:]:
            raise ValueError(
                f"before_after: photo {i} is {tuple(b.shape[-2:])} before and {tuple(a.shape[-2:])} after")
    as_float = [[x.float() / 255 if x.dtype == torch.uint8 else x.float() for x in xs] for xs in (before, after)]
    rows = {"as given": as_float[0], "colourised": as_float[1],
            f"centre {detail} px, 1:1": [centre_crop(a, detail) for a in as_float[1]]}
    return gallery(rows, names=names, title=title)


def bar_panels(table: pd.DataFrame, labels: Sequence[str], panels: Mapping[str, str]) -> Figure:
    """One bar chart per panel, a bar per row of a table, with intervals as error bars.

    Args:
        table: one row per bar; ``<column>_lo`` and ``<column>_hi``, where it has them, give the
            error bars.
        labels: the label of each bar.
        panels: ``{title: column}``, one panel each.

    Returns:
        The figure.

    Raises:
        ValueError: if there are not as many labels as rows.

    Example:
        >>> t = pd.DataFrame({"x": [2.0, 3.0], "x_lo": [1.5, 2.5], "x_hi": [2.5, 3.5]})
        >>> [float(p.get_height()) for p in bar_panels(t, ["a", "b"], {"x per s": "x"}).axes[0].patches]
        [2.0, 3.0]
    """
    if len(labels) != len(table):
        raise ValueError(f"bar_panels: {len(labels)} labels for {len(table)} rows")
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 * len(panels), 3.0), squeeze=False)
    for ax, (name, col) in zip(axes[0], panels.items(), strict=True):
        y = table[col].astype(float).to_numpy()
        err = None
        if f"{col}_lo" in table and f"{col}_hi" in table:
            err = np.stack([y - table[f"{col}_lo"].astype(float).to_numpy(),
                            table[f"{col}_hi"].astype(float).to_numpy() - y])
        ax.bar(range(len(y)), y, yerr=err, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(y)), list(labels), fontsize=7)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return fig
