"""The evaluation steps every notebook shares: colourise a test set, score it, and the reference rows.

A *colouriser* is ``fn(batch) -> rgb``: it takes a batch dict on the device (with ``rgb`` and the
luminance channels) and returns the colourised RGB ``(B, 3, H, W)`` in ``[0, 1]``. :func:`colorizer`
makes one from a method; :func:`score_method` colourises, scores and labels the row of a trained one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import SequentialSampler
from tqdm.auto import tqdm

from .color import lab_to_rgb, rgb_to_gray, rgb_to_lab
from .data import to_device
from .device import pick_device, synchronize
from .metrics import HIST_EDGES, ab_histograms, evaluate, summarize

if TYPE_CHECKING:
    from .methods.base import Method, Trained

__all__ = ["predict", "colorizer", "score", "Scored", "score_method", "reference_rows", "reference_predictions",
           "colorize_images", "KEEP_IMAGES", "Streamed", "Evaluation", "stream", "stream_references", "pooled_counts"]

#: Images of each evaluation kept in memory for figures (the first of the test set): the metrics
#: cover every image, batch by batch, so memory stays flat however large the test set is.
KEEP_IMAGES = 256

Colorizer = Callable[[dict[str, Any]], Tensor]


def _timed(colorize: Colorizer, batch: dict[str, Any], dev: torch.device) -> tuple[Tensor, float]:
    """``colorize(batch)`` and the seconds it took, the device synchronised around it."""
    synchronize(dev)
    t0 = time.perf_counter()
    rgb = colorize(batch)
    synchronize(dev)
    return rgb, time.perf_counter() - t0


@torch.no_grad()
def predict(colorize: Colorizer, loader: Iterable[dict[str, Any]], device: str | torch.device = "auto",
            progress: bool = False) -> tuple[Tensor, Tensor, float]:
    """Colourise a test loader, keeping every image (:func:`stream` keeps the first only).

    Args:
        colorize: the colouriser.
        loader: the test batches.
        device: where it runs (:func:`colorlab.device.pick_device`).
        progress: show a progress bar.

    Returns:
        Ground truth and prediction, RGB ``(N, 3, H, W)`` in ``[0, 1]`` on the CPU, and the images
        per second (the colouriser's time only, the device synchronised).

    Example:
        >>> from colorlab import data
        >>> test = data.load_dataset("samples", "test", crop=32, image_size=64, max_tiles=1)
        >>> gt, pred, ips = predict(lambda b: b["rgb"], data.make_loader(test, 8, train=False))
        >>> row = score(gt, pred, method="identity")
        >>> row["method"], round(row["auc"], 6), row["n_images"]
        ('identity', 1.0, 8)
    """
    dev = pick_device(device)
    gts, preds, seconds = [], [], 0.0
    for batch in tqdm(loader, desc="predict", disable=not progress, leave=False):
        batch = to_device(batch, dev)
        rgb, took = _timed(colorize, batch, dev)
        seconds += took
        gts.append(batch["rgb"].float().cpu())
        preds.append(rgb.float().clamp(0, 1).cpu())
    if not gts:
        raise ValueError("the test loader yielded no batches")
    gt, pred = torch.cat(gts), torch.cat(preds)
    return gt, pred, gt.shape[0] / max(seconds, 1e-9)


class Streamed(NamedTuple):
    """What :func:`stream` gives: every image's metrics, the first ``keep`` images ``(K, 3, H, W)`` of the truth and
    the prediction on the CPU, the colouriser's images per second, and the ``a``/``b`` pixel counts pooled over every
    image (:func:`pooled_counts`) of the truth (``gt_counts``) and of the prediction (``pred_counts``), on the CPU."""

    per_image: pd.DataFrame
    gt: Tensor
    pred: Tensor
    images_per_second: float
    gt_counts: Tensor
    pred_counts: Tensor


@dataclass
class Evaluation:
    """One run's evaluation (:meth:`colorlab.study.Study.evaluate`).

    Args:
        table: one row per model row, over the run's test tiles.
        gt: for figures, the first :data:`KEEP_IMAGES` test tiles' ground truth ``(K, 3, H, W)``.
        predictions: the same tiles colourised, by ``(label, decode)``.
        units: the rows per photo.
        counts: the pooled ``a``/``b`` pixel counts of every test tile (:func:`pooled_counts`), by
            ``(label, decode)`` and, for the truth, ``"truth"``.
    """

    table: pd.DataFrame
    gt: Tensor
    predictions: dict[tuple[str, str], Tensor]
    units: pd.DataFrame
    counts: dict[Any, Tensor] = field(default_factory=dict)


def pooled_counts(rgb: Tensor, edges: tuple[float, ...] = HIST_EDGES) -> Tensor:
    """Pixel counts ``(2, K)`` of ``a`` and ``b`` over every image; sums over batches give the whole set's.

    Args:
        rgb: RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        edges: the ``K + 1`` edges of the bins (:func:`colorlab.distributions.ab_histograms`).

    Example:
        >>> pooled_counts(torch.full((2, 3, 4, 4), 0.5)).sum(1).tolist()  # 32 pixels, each in a and in b
        [32.0, 32.0]
    """
    ab = rgb_to_lab(rgb.float().clamp(0, 1))[1]
    return ab_histograms(ab, edges).sum(0) * ab[0, 0].numel()


def _kept(parts: list[Tensor], x: Tensor, keep: int | None) -> None:
    """Keep the first images of ``x`` up to ``keep`` in all: a copy, so the batch itself is freed."""
    have = sum(p.shape[0] for p in parts)
    if keep is None or have < keep:
        parts.append(x[: None if keep is None else keep - have].float().cpu().clone())


@torch.no_grad()
def stream(colorize: Colorizer, loader: Iterable[dict[str, Any]], device: str | torch.device = "auto", *,
           prior: Tensor | None = None, bins: Tensor | None = None, keep: int | None = KEEP_IMAGES) -> Streamed:
    """Colourise a test loader and score it batch by batch on the device, so memory stays flat.

    Each batch's per-image metrics (:func:`colorlab.metrics.evaluate`) go to the host as a small
    table, and its images are dropped but the first ``keep``, which figures show.

    Args:
        colorize: the colouriser.
        loader: the test batches.
        device: where it runs (:func:`colorlab.device.pick_device`; MPS scores on the CPU).
        prior: a class prior over the ab bins ``bins``; with both, the rebalanced AuC is added.
        keep: images kept (``None``: all).

    Returns:
        The metrics, the kept images and the colouriser's images per second (its time only, device synchronised).

    Example:
        >>> from colorlab import data
        >>> test = data.load_dataset("samples", "test", crop=32, image_size=64, max_tiles=2)
        >>> out = stream(lambda b: b["rgb"], data.make_loader(test, 4, train=False), keep=3)
        >>> len(out.per_image), tuple(out.gt.shape), float(out.per_image["auc"].min())
        (16, (3, 3, 32, 32), 1.0)
    """
    dev = pick_device(device)
    scoring = _scoring_device(dev)
    prior, bins = (None if t is None else t.to(scoring) for t in (prior, bins))
    tables, gts, preds, seconds, n = [], [], [], 0.0, 0
    counts = [torch.zeros(2, len(HIST_EDGES) - 1, device=scoring) for _ in range(2)]
    for batch in loader:
        batch = to_device(batch, dev)
        rgb, took = _timed(colorize, batch, dev)
        seconds += took
        gt, pred = batch["rgb"].float().to(scoring), rgb.float().clamp(0, 1).to(scoring)
        tables.append(evaluate(gt, pred, prior, bins))
        counts[0] += pooled_counts(gt)
        counts[1] += pooled_counts(pred)
        _kept(gts, gt, keep)
        _kept(preds, pred, keep)
        n += gt.shape[0]
    if not tables:
        raise ValueError("the test loader yielded no batches")
    first = [torch.cat(x) if x else torch.zeros(0, 3, *gt.shape[-2:]) for x in (gts, preds)]
    return Streamed(pd.concat(tables, ignore_index=True), first[0], first[1], n / max(seconds, 1e-9),
                    counts[0].cpu(), counts[1].cpu())


def _scoring_device(dev: torch.device) -> torch.device:
    """Where the metrics are computed: the device, but the CPU for MPS (the metrics use float64)."""
    return torch.device("cpu") if dev.type == "mps" else dev


@torch.no_grad()
def stream_references(loader: Any, seed: int = 0, device: str | torch.device = "auto", *,
                      prior: Tensor | None = None, bins: Tensor | None = None) -> dict[str, pd.DataFrame]:
    """The per-image metrics of :func:`reference_predictions` batch by batch: the same, without holding the set.

    Args:
        loader: a :class:`~torch.utils.data.DataLoader` that passes once over its ``dataset`` in order; the
            dataset gives test item ``i`` (with ``rgb``) by index, for the image whose colours the random row copies.
        seed: draws the random row's shift.
        device: where the metrics are computed (MPS: on the CPU).
        prior: a class prior over the ab bins ``bins``; with both, the rebalanced AuC is added.

    Raises:
        TypeError: the loader is not a sequential ``DataLoader``.
        ValueError: it did not give every image of its dataset once.

    Example:
        >>> from colorlab import data
        >>> test = data.load_dataset("samples", "test", crop=32, image_size=64, max_tiles=2)
        >>> loader = data.make_loader(test, 4, train=False)
        >>> gt = torch.cat([b["rgb"] for b in loader])
        >>> whole = {k: evaluate(gt, p) for k, p in reference_predictions(gt, 3).items()}
        >>> parts = stream_references(loader, 3)
        >>> all(parts[k].round(6).equals(whole[k].round(6)) for k in whole)
        True
    """
    dev = _scoring_device(pick_device(device))
    prior, bins = (None if t is None else t.to(dev) for t in (prior, bins))
    dataset = getattr(loader, "dataset", None)
    if dataset is None or not isinstance(getattr(loader, "sampler", None), SequentialSampler):
        raise TypeError("stream_references needs a DataLoader that passes once over its dataset in order "
                        "(make_loader(..., train=False)): the random row fetches other images by index")
    n = len(dataset)
    g = torch.Generator().manual_seed(seed)
    shift = int(torch.randint(1, n, (1,), generator=g)) if n > 1 else 0
    out: dict[str, list[pd.DataFrame]] = {"ground_truth": [], "gray": [], "random": []}
    start = 0
    for batch in loader:
        gt = batch["rgb"].to(dev).float()
        b = gt.shape[0]
        others = torch.stack([dataset[(i + shift) % n]["rgb"] for i in range(start, start + b)]).to(dev).float()
        L, _ = rgb_to_lab(gt)
        _, ab_other = rgb_to_lab(others)
        preds = {"ground_truth": gt, "gray": rgb_to_gray(gt), "random": lab_to_rgb(L, ab_other)}
        for k, pred in preds.items():
            out[k].append(evaluate(gt, pred, prior, bins))
        start += b
    if start != n:
        raise ValueError(f"the loader gave {start} images of its dataset's {n}: it must be one sequential pass")
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def colorizer(method: Method, decode: str | None = None, **options: Any) -> Colorizer:
    """A colouriser ``fn(batch) -> rgb`` from a method and one of its decodings.

    Args:
        method: the method; put in eval mode.
        decode: the decoding (default: its first).
        options: the decoding's options.
    """
    method.eval()
    decode = method.check_decode(decode)
    return lambda batch: method.colorize(batch, decode, **options)


def score(gt: Tensor, pred: Tensor, *, prior: Tensor | None = None, bins: Tensor | None = None,
          **labels: Any) -> dict[str, Any]:
    """One table row: the labels, then the metrics of :func:`colorlab.metrics.evaluate` aggregated.

    Args:
        gt: ground truth, RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        pred: the prediction, the same shape.
        prior: a class prior over the ab bins ``bins``; with both, the rebalanced AuC is added.
        labels: the row's labels (``method``, ``variant``, ...).
    """
    return {**labels, **summarize(evaluate(gt, pred, prior, bins))}


class Scored(NamedTuple):
    """What :func:`score_method` gives: the ``row``, the first images ``(K, 3, H, W)`` of the truth and the
    prediction on the CPU, every image's metrics ``per_image`` and the pooled pixel counts (:class:`Streamed`)."""

    row: dict[str, Any]
    gt: Tensor
    pred: Tensor
    per_image: pd.DataFrame
    gt_counts: Tensor | None = None
    pred_counts: Tensor | None = None


def score_method(trained: Trained, loader: Iterable[dict[str, Any]], *, decode: str | None = None,
                 options: Mapping[str, Any] | None = None, prior: Tensor | None = None, bins: Tensor | None = None,
                 device: str | torch.device = "auto", labels: Mapping[str, Any] | None = None,
                 keep: int | None = KEEP_IMAGES) -> Scored:
    """Colourise a test loader with a trained method's decoding, and score it batch by batch (:func:`stream`).

    Args:
        trained: the trained method.
        loader: the test batches.
        decode: the decoding (default: the method's first), with its ``options``.
        prior: a class prior over the ab bins ``bins``; with both, the rebalanced AuC is added.
        device: where it runs.
        labels: columns added to the row, or overriding any of its labels.
        keep: images kept for figures.

    Returns:
        The row: ``method``, ``variant``, ``decode``, the method's own labels for that decoding (a temperature, a
        boost factor), ``params``, ``steps``, ``train_seconds``, then ``labels``, the metrics, ``images_per_second``
        and ``device``. With it the first ``keep`` images, every image's metrics and the pooled pixel counts.
    """
    method, options = trained.method, dict(options or {})
    dev = pick_device(device)
    method.to(dev)
    decode = method.check_decode(decode)
    out = stream(colorizer(method, decode, **options), loader, dev, prior=prior, bins=bins, keep=keep)
    head = {"method": method.name, "variant": method.variant, "decode": decode,
            **method.row_labels(decode, **options), **trained.labels(), **(labels or {})}
    row = {**head, **summarize(out.per_image), "images_per_second": out.images_per_second, "device": str(dev)}
    return Scored(row, out.gt, out.pred, out.per_image, out.gt_counts, out.pred_counts)


def reference_rows(gt: Tensor, *, prior: Tensor | None = None, bins: Tensor | None = None, seed: int = 0,
                   **labels: Any) -> list[dict[str, Any]]:
    """The rows ``ground_truth``, ``gray`` and ``random`` of Zhang et al. 2016, Table 1 (:func:`reference_predictions`).

    Args:
        gt: the test images, RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        prior: a class prior over the ab bins ``bins``; with both, the rebalanced AuC is added.
        seed: draws the random colours; a row label too.
        labels: more row labels.

    Example:
        >>> rows = reference_rows(torch.rand(4, 3, 16, 16))
        >>> [r["variant"] for r in rows], rows[0]["auc"]
        (['ground_truth', 'gray', 'random'], 1.0)
    """
    return [score(gt, pred, prior=prior, bins=bins, method="reference", variant=variant, seed=seed, **labels)
            for variant, pred in reference_predictions(gt, seed).items()]


def reference_predictions(gt: Tensor, seed: int = 0) -> dict[str, Tensor]:
    """The predictions of Zhang et al.'s reference rows.

    Args:
        gt: the test images, RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        seed: draws the random colours.

    Returns:
        RGB ``(N, 3, H, W)`` each: ``ground_truth``, the images themselves; ``gray``, ``ab = 0`` (the grayscale
        input); ``random``, the true ``L`` with the ``ab`` of another image (a seeded random cyclic shift of the
        set, so no image keeps its own colours), as the paper's "random colours" copies a random image's.

    Example:
        >>> list(reference_predictions(torch.rand(3, 3, 8, 8)))
        ['ground_truth', 'gray', 'random']
    """
    g = torch.Generator().manual_seed(seed)
    n = gt.shape[0]
    shift = int(torch.randint(1, n, (1,), generator=g)) if n > 1 else 0
    perm = (torch.arange(n) + shift) % n
    L, ab = rgb_to_lab(gt)
    return {"ground_truth": gt, "gray": rgb_to_gray(gt), "random": lab_to_rgb(L, ab[perm])}


@torch.no_grad()
def colorize_images(method: Method, images: Sequence[Tensor], decode: str | None = None, *,
                    max_side: int | None = None,
                    device: str | torch.device = "auto") -> tuple[list[Tensor], list[Tensor]]:
    """Colourise whole images one at a time; no ground truth is needed (historical photographs).

    Args:
        method: the method.
        images: RGB ``(3, H, W)`` each, uint8 or in ``[0, 1]``, any size (an :class:`~colorlab.data.ImageSet`, say).
        decode: the decoding (default: the method's first).
        max_side: an image whose longer side exceeds it is first scaled down to it (antialiased).
        device: where it runs.

    Returns:
        ``(gray, colourised)``: two lists of RGB ``(3, h, w)`` in ``[0, 1]`` on the CPU.

    Raises:
        ValueError: ``max_side`` is not positive.

    Example:
        >>> from colorlab.methods import build
        >>> m = build("yuv_regression", "l2", base=4)
        >>> gray, out = colorize_images(m, [torch.zeros(3, 40, 20, dtype=torch.uint8)], max_side=20, device="cpu")
        >>> out[0].shape, gray[0].shape
        (torch.Size([3, 20, 10]), torch.Size([3, 20, 10]))
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive or None; got {max_side}")
    dev = pick_device(device)
    method.eval().to(dev)
    decode = method.check_decode(decode)
    grays, outs = [], []
    for i in range(len(images)):
        img = images[i]
        rgb = (img.float() / 255.0 if not img.is_floating_point() else img.float())[None].to(dev)
        h, w = rgb.shape[-2:]
        if max_side is not None and max(h, w) > max_side:
            scale = max_side / max(h, w)
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
            rgb = F.interpolate(rgb, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        grays.append(rgb_to_gray(rgb)[0].cpu())
        outs.append(method.colorize(rgb, decode).float().clamp(0, 1)[0].cpu())
    return grays, outs
