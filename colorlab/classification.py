"""Zhang, Isola, Efros (2016), "Colorful Image Colorization": the training and decoding recipe.

Notebook 03's building blocks, on top of :mod:`colorlab.quantize` (bins, soft targets, prior,
rebalancing, decoding) and :class:`colorlab.models.ZhangNet` (the network):

* :func:`dataset_prior`: the smoothed empirical distribution of ground-truth ab bins over the
  *training* split, cached on disk per dataset (:func:`prior_key`);
* :func:`zhang_loss`: the multinomial cross entropy against soft-encoded targets, optionally
  class-rebalanced; :func:`zhang_l2_loss`: the paper's L2 baseline on the same network;
* :func:`zhang_classification`: one of the three trained variants of the paper's Table 1,
  ``'l2'`` (regression head), ``'class'`` (no rebalancing), ``'full'`` (rebalanced, λ = 0.5);
* :func:`classification_colorize` and :func:`regression_colorize`: ``to_rgb(model, batch)``
  functions for :func:`colorlab.experiment.model_colorizer`;
* :func:`table1`: our rows in the shape of the paper's Table 1; :func:`temperature_plot`: the
  annealed-mean sweep with the mode and the mean marked.

Network input is ``(L - 50) / 100`` (:data:`colorlab.color.ZHANG`); outputs are at 1/4
resolution and the ground truth is point-sampled at stride 4 to match (as the official
training prototxt). At inference the logits are decoded at 1/4 resolution and the decoded ab
image is upsampled bilinearly to the input size before it is joined with the full-resolution
L, as the official demo does (decode, then upsample ab; the logits are never upsampled).

Example:
    >>> train = data.load_dataset("samples", "train", crop=32, image_size=96)
    >>> bins = ab_gamut_bins()
    >>> prior = dataset_prior(train, bins)                            # (Q,), sums to 1
    >>> model, hist = zhang_classification(train, bins, variant="full", prior=prior,
    ...                                    width=0.125, steps=2, progress=False)
    >>> to_rgb = classification_colorize(bins, "annealed")           # fn(model, batch) -> RGB
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from . import data, experiment, paper, results, viz
from .color import ZHANG, lab_to_rgb, rgb_to_lab
from .models import count_parameters
from .models.zhang import ZhangNet, upsample
from .quantize import (
    ANNEALED_T,
    DECODERS,
    GRAY_THRESHOLD,
    K_PAPER,
    LAMBDA,
    SIGMA,
    TARGET_STRIDE,
    ab_histogram,
    cached_prior,
    decode,
    downsample_targets,
    grayscale_mask,
    pixel_weights,
    rebalance_weights,
    smooth_prior,
    soft_cross_entropy,
    soft_encode,
)
from .results import find_row
from .train import TrainConfig, fit, pick_device

__all__ = [
    "VARIANTS",
    "ADAM_BETAS",
    "WEIGHT_DECAY",
    "PRIOR_MAX_IMAGES",
    "PAPER_TEMPERATURES",
    "prior_key",
    "dataset_prior",
    "zhang_loss",
    "zhang_l2_loss",
    "zhang_classification",
    "classification_colorize",
    "regression_colorize",
    "run_labels",
    "score_model",
    "TABLE1_COLUMNS",
    "table1",
    "temperature_plot",
]

#: The three trained rows of the paper's Table 1: variant -> what it is.
VARIANTS: dict[str, str] = {
    "l2": "regression head, L2 loss on ab/110 (the paper's 'L2' baseline)",
    "class": "classification over the ab bins, soft-encoded targets, no rebalancing",
    "full": "classification with class rebalancing, lambda = 0.5 (the paper's full method)",
}
#: Adam's betas in the official solver (``momentum: 0.9``, ``momentum2: 0.99``).
ADAM_BETAS = (0.9, 0.99)
#: Weight decay of the official solver (Caffe's, i.e. an L2 penalty added to the gradient, as torch's Adam).
WEIGHT_DECAY = 1e-3
#: :func:`dataset_prior` reads at most this many training images (evenly spaced) of a large set.
PRIOR_MAX_IMAGES = 2000
#: The temperatures of the paper's annealed-mean figure (1 is the mean; T -> 0, the mode, is added apart).
PAPER_TEMPERATURES = (1.0, 0.77, 0.58, 0.38, 0.29, 0.14)
#: Characters of the SHA-1 digests used in cache keys and checkpoint configs.
_DIGEST = 12
#: Longest dataset slug in a prior cache key.
_SLUG = 40
#: Half of the squared error, the Euclidean loss of the paper's Eq. 1 (and Caffe's EuclideanLoss).
_HALF = 0.5

LossFn = Callable[[nn.Module, Mapping[str, Any]], "dict[str, Tensor]"]
ToRGB = Callable[[nn.Module, Mapping[str, Any]], Tensor]


# ------------------------------------------------------------------------------------ prior


def _digest(obj: Any) -> str:
    if isinstance(obj, Tensor):
        raw = obj.detach().cpu().contiguous().float().numpy().tobytes()
    else:
        raw = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha1(raw).hexdigest()[:_DIGEST]


def _prior_images(train_set: data.ColorDataset, max_images: int | None) -> list[int]:
    n = len(train_set.images)
    if max_images is None or n <= max_images:
        return list(range(n))
    return sorted({round(i * (n - 1) / (max_images - 1)) for i in range(max_images)}) if max_images > 1 else [0]


def prior_key(
    train_set: data.ColorDataset,
    bins: Tensor,
    *,
    sigma: float = SIGMA,
    max_images: int | None = PRIOR_MAX_IMAGES,
) -> str:
    """The cache key of :func:`dataset_prior`: a slug of the data spec, the split, ``Q`` and a digest.

    The digest covers what changes the prior: the data path, split rule and region, the image
    names, ``image_size``, the crop (images smaller than it are upscaled), the bins, ``sigma``,
    ``max_images`` and the grayscale threshold.

    Example:
        >>> prior_key(data.load_dataset("samples", "train", crop=32, image_size=96), ab_gamut_bins())
        'samples-train-q262-...'
    """
    im = train_set.images
    names = list(im.names) if isinstance(im.names, list) else [len(im.names)]
    desc = {
        "data_path": im.data_path, "split": im.split, "rule": im.split_rule, "region": list(im.region),
        "names": names, "image_size": im.image_size, "crop": train_set.crop, "bins": _digest(bins),
        "sigma": float(sigma), "max_images": max_images, "gray_threshold": GRAY_THRESHOLD,
    }
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", im.spec).strip("_")[:_SLUG] or "data"
    return f"{slug}-{im.split or 'all'}-q{bins.shape[0]}-{_digest(desc)}"


def _compute_prior(train_set: data.ColorDataset, bins: Tensor, sigma: float, max_images: int | None) -> Tensor:
    counts = torch.zeros(bins.shape[0], dtype=torch.int64)
    for i in _prior_images(train_set, max_images):
        _, img = train_set.images.fetch(i)
        _, ab = rgb_to_lab(img[None].float().div(255.0))
        if bool(grayscale_mask(ab)[0]):  # masked from the loss, so left out of the prior too
            continue
        counts += ab_histogram(ab, bins)
    if int(counts.sum()) == 0:
        raise ValueError(f"no colour image in the training split of {train_set.data_path}: no prior")
    return smooth_prior(counts, bins, sigma)


def dataset_prior(
    train_set: data.ColorDataset,
    bins: Tensor,
    *,
    sigma: float = SIGMA,
    cache_dir: str | os.PathLike | None = None,
    profile: str | None = None,
    max_images: int | None = PRIOR_MAX_IMAGES,
) -> Tensor:
    """Empirical prior ``(Q,)`` of the ground-truth ab bins over the **training** split, smoothed.

    Every pixel of every whole training image (as cut and resized by the split, at most
    ``max_images`` evenly spaced images) is counted in its nearest bin; grayscale images
    (:func:`colorlab.quantize.grayscale_mask`) are skipped as the loss masks them; the counts are
    normalised and Gaussian-smoothed with ``sigma`` (:func:`colorlab.quantize.smooth_prior`), as
    the paper's ImageNet-training-set prior. Whole images rather than training crops: the
    crops are windows of these images, so this is their expected distribution without the
    sampling noise. The test split is never read.

    Cached with :func:`colorlab.quantize.cached_prior` under :func:`prior_key` in ``cache_dir``,
    else ``results_root()/<profile>/cache`` when ``profile`` is given; neither: not cached.

    Example:
        >>> train = data.load_dataset("samples", "train", crop=32, image_size=96)
        >>> p = dataset_prior(train, ab_gamut_bins(), profile="smoke")
        >>> p.shape, round(float(p.sum()), 5)
        (torch.Size([262]), 1.0)
    """
    if train_set.split != "train":
        raise ValueError(f"the prior is estimated on the training split only; got split {train_set.split!r}")
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be >= 1 or None; got {max_images}")
    bins = bins.detach().cpu().float()

    def compute() -> Tensor:
        return _compute_prior(train_set, bins, sigma, max_images)

    if cache_dir is None and profile is None:
        return compute()
    where = Path(cache_dir) if cache_dir is not None else results.results_root() / profile / "cache"
    return cached_prior(prior_key(train_set, bins, sigma=sigma, max_images=max_images), compute, where)


# ------------------------------------------------------------------------------------- losses


def _inputs(batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    missing = [k for k in ("L", "ab") if k not in batch]
    if missing:
        raise KeyError(f"batch lacks {missing}; build the dataset with space='lab'")
    return batch["L"], batch["ab"].float()


def _targets(ab: Tensor, out: Tensor) -> Tensor:
    ab_ss = downsample_targets(ab, TARGET_STRIDE)
    if ab_ss.shape[-2:] != out.shape[-2:]:
        raise ValueError(f"stride-{TARGET_STRIDE} targets {tuple(ab_ss.shape[-2:])} do not match the "
                         f"network output {tuple(out.shape[-2:])}")
    return ab_ss


def zhang_loss(
    bins: Tensor,
    *,
    class_weights: Tensor | None = None,
    k: int = K_PAPER,
    sigma: float = SIGMA,
) -> LossFn:
    """``loss_fn(model, batch) -> {"loss", "ce", "colour_images"}``: the paper's classification loss.

    The model maps ``(L - 50) / 100`` ``(B, 1, H, W)`` to logits ``(B, Q, H/4, W/4)``; the
    ground-truth ab ``(B, 2, H, W)`` is point-sampled at stride 4
    (:func:`colorlab.quantize.downsample_targets`), soft-encoded over its ``k`` nearest bins with
    Gaussian weights of width ``sigma`` (:func:`colorlab.quantize.soft_encode`), and compared by
    the soft cross entropy. With ``class_weights`` ``(Q,)`` (:func:`colorlab.quantize.rebalance_weights`)
    each pixel's term is multiplied by the weight of its nearest bin. Grayscale images
    (no ``|a|, |b| > 5``) are masked out. ``"ce"`` logs the unweighted cross entropy (equal to
    ``"loss"`` without weights), ``"colour_images"`` the share of images not masked.

    Example:
        >>> bins = ab_gamut_bins()
        >>> loss_fn = zhang_loss(bins, k=5)
        >>> batch = {"L": torch.rand(2, 1, 16, 16) * 100, "ab": torch.randn(2, 2, 16, 16) * 20}
        >>> loss_fn(ZhangNet(bins.shape[0], width=0.125), batch)["loss"].shape
        torch.Size([])
    """
    q = bins.shape[0]
    if class_weights is not None and class_weights.shape != (q,):
        raise ValueError(f"class_weights must have shape ({q},); got {tuple(class_weights.shape)}")

    def loss_fn(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        L, ab = _inputs(batch)
        logits = model(ZHANG.encode_l(L)).float()
        ab_ss = _targets(ab, logits)
        target = soft_encode(ab_ss, bins, k, sigma)
        keep = ~grayscale_mask(ab)
        weights = None if class_weights is None else pixel_weights(ab_ss, bins, class_weights)
        loss = soft_cross_entropy(logits, target, weights, keep)
        ce = loss.detach() if weights is None else soft_cross_entropy(logits.detach(), target, None, keep)
        return {"loss": loss, "ce": ce, "colour_images": keep.float().mean()}

    return loss_fn


def zhang_l2_loss() -> LossFn:
    """``loss_fn(model, batch) -> {"loss", "colour_images"}``: the paper's L2 baseline.

    The same network with a regression head predicts ``ab / 110`` ``(B, 2, H/4, W/4)``; the loss
    is ``½‖ŷ - y‖²`` per pixel against the stride-4 point-sampled ``ab / 110``, averaged over the
    pixels of the colour images (grayscale ones masked as in :func:`zhang_loss`).

    Example:
        >>> batch = {"L": torch.rand(2, 1, 16, 16) * 100, "ab": torch.randn(2, 2, 16, 16) * 20}
        >>> zhang_l2_loss()(ZhangNet(head="regress", width=0.125), batch)["loss"].shape
        torch.Size([])
    """

    def loss_fn(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        L, ab = _inputs(batch)
        pred = model(ZHANG.encode_l(L)).float()
        y = ZHANG.encode_chroma(_targets(ab, pred))
        per_pixel = _HALF * (pred - y).square().sum(1)  # (B, h, w)
        keep = (~grayscale_mask(ab)).to(per_pixel.dtype).view(-1, 1, 1).expand_as(per_pixel)
        loss = (per_pixel * keep).sum() / keep.sum().clamp_min(1.0)
        return {"loss": loss, "colour_images": keep[:, 0, 0].mean()}

    return loss_fn


# ----------------------------------------------------------------------------------- training


def zhang_classification(
    train_set: data.ColorDataset,
    bins: Tensor,
    *,
    variant: str = "full",
    width: float = 0.25,
    steps: int = 100,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "auto",
    checkpoint: str | os.PathLike | None = None,
    k: int = K_PAPER,
    sigma: float = SIGMA,
    prior: Tensor | None = None,
    lam: float = LAMBDA,
    progress: bool = True,
) -> tuple[ZhangNet, pd.DataFrame]:
    """Train one variant of the paper's Table 1 (:data:`VARIANTS`); return the model and the history.

    ``'l2'``: :class:`~colorlab.models.ZhangNet` with ``head='regress'`` and :func:`zhang_l2_loss`;
    ``'class'``: the class head with :func:`zhang_loss` unweighted; ``'full'``: the class head with
    :func:`zhang_loss` weighted by ``rebalance_weights(prior, lam)`` (``prior`` required, from
    :func:`dataset_prior`). Every variant: same seed (so the same initial weights up to the
    head), Adam with the official betas (:data:`ADAM_BETAS`) and weight decay
    (:data:`WEIGHT_DECAY`), ``steps`` steps of ``batch_size`` random training crops
    (:func:`colorlab.data.make_loader`, resumable from ``checkpoint``). The checkpoint's config
    ``extra`` records the variant, the recipe and a digest of the prior, so a checkpoint of
    other settings is not resumed.

    Example:
        >>> train = data.load_dataset("samples", "train", crop=32, image_size=96)
        >>> model, hist = zhang_classification(train, ab_gamut_bins(), variant="class", width=0.125,
        ...                                    steps=2, progress=False)
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(repr(v) for v in VARIANTS)}; got {variant!r}")
    if train_set.space != "lab":
        raise ValueError(f"zhang_classification needs a dataset built with space='lab'; got {train_set.space!r}")
    if variant == "full" and prior is None:
        raise ValueError("variant 'full' rebalances by the class prior: pass prior=dataset_prior(train_set, bins)")
    bins = bins.detach().cpu().float()
    q = bins.shape[0]
    extra: dict[str, Any] = {
        "model": "zhang", "variant": variant, "width": width, "batch_size": batch_size,
        "data": train_set.data_path, "crop": train_set.crop, "image_size": train_set.images.image_size,
        "input": "(L - 50) / 100", "target_stride": TARGET_STRIDE, "gray_threshold": GRAY_THRESHOLD,
    }
    if variant == "l2":
        head, loss_fn = "regress", zhang_l2_loss()
        extra |= {"head": head, "loss": "0.5 * |ab/110 - prediction|^2, mean over colour pixels"}
    else:
        head = "class"
        weights = rebalance_weights(prior, lam) if variant == "full" else None
        loss_fn = zhang_loss(bins, class_weights=weights, k=k, sigma=sigma)
        extra |= {"head": head, "num_classes": q, "bins": _digest(bins), "k": k, "sigma": sigma,
                  "loss": "soft cross entropy" + (", class-rebalanced" if weights is not None else ""),
                  "lam": lam if weights is not None else None,
                  "prior": _digest(prior) if weights is not None else None}
    torch.manual_seed(seed)
    model = ZhangNet(num_classes=q, width=width, head=head)
    cfg = TrainConfig(
        steps=steps, lr=lr, betas=ADAM_BETAS, weight_decay=WEIGHT_DECAY, seed=seed, device=device,
        progress=progress, checkpoint=str(checkpoint) if checkpoint else None,
        checkpoint_every=max(1, min(100, steps)), extra=extra,
    )
    hist = fit(
        model, loss_fn,
        lambda start: data.make_loader(train_set, batch_size, train=True, seed=seed, start_step=start),
        cfg,
    )
    return model, hist


# ---------------------------------------------------------------------------------- colourise


def classification_colorize(bins: Tensor, method: str = "annealed", T: float = ANNEALED_T) -> ToRGB:
    """``to_rgb(model, batch)``: RGB ``(B, 3, H, W)`` in ``[0, 1]`` from a class-head model's logits.

    The logits ``(B, Q, H/4, W/4)`` are decoded at their own resolution by ``method``
    (``'annealed'`` with temperature ``T``, ``'mode'`` or ``'mean'``,
    :func:`colorlab.quantize.decode`), the ab image is upsampled bilinearly to ``(H, W)``
    (:func:`colorlab.models.zhang.upsample`) and joined with the input's full-resolution L,
    then converted to sRGB and clipped to its gamut.

    Example:
        >>> bins = ab_gamut_bins()
        >>> net = ZhangNet(bins.shape[0], width=0.125).eval()
        >>> batch = {"L": torch.rand(1, 1, 16, 16) * 100}
        >>> classification_colorize(bins, "mode")(net, batch).shape
        torch.Size([1, 3, 16, 16])
    """
    if method not in DECODERS:
        raise ValueError(f"method must be one of {DECODERS}; got {method!r}")
    if not T > 0:
        raise ValueError(f"T must be > 0; got {T}")

    def to_rgb(model: nn.Module, batch: Mapping[str, Any]) -> Tensor:
        L = batch["L"].float()
        logits = model(ZHANG.encode_l(L)).float()
        ab = decode(logits, bins.to(logits.device), method, T)  # type: ignore[arg-type]
        return lab_to_rgb(L, upsample(ab, tuple(L.shape[-2:])))

    return to_rgb


def regression_colorize(model: nn.Module, batch: Mapping[str, Any]) -> Tensor:
    """RGB ``(B, 3, H, W)`` in ``[0, 1]`` from a regression-head model: its ``ab / 110`` output
    ``(B, 2, H/4, W/4)`` scaled back, upsampled bilinearly to ``(H, W)`` and joined with L.

    Example:
        >>> net = ZhangNet(head="regress", width=0.125).eval()
        >>> regression_colorize(net, {"L": torch.rand(2, 1, 16, 16) * 100}).shape
        torch.Size([2, 3, 16, 16])
    """
    L = batch["L"].float()
    ab = ZHANG.decode_chroma(model(ZHANG.encode_l(L)).float())
    return lab_to_rgb(L, upsample(ab, tuple(L.shape[-2:])))


# ------------------------------------------------------------------------------- evaluation


def run_labels(model: nn.Module, history: pd.DataFrame) -> dict[str, Any]:
    """The bookkeeping columns of a trained model's rows: ``params``, ``steps``, ``train_seconds``.

    Example:
        >>> run_labels(model, hist)  # doctest: +SKIP
        {'params': 512558, 'steps': 3, 'train_seconds': 1.2}
    """
    return {"params": count_parameters(model), "steps": int(history.attrs["steps"]),
            "train_seconds": float(history.attrs["train_seconds"])}


def score_model(
    model: nn.Module,
    to_rgb: ToRGB,
    loader: Any,
    *,
    prior: Tensor | None,
    bins: Tensor | None,
    device: str = "auto",
    **labels: Any,
) -> tuple[dict[str, Any], Tensor, Tensor]:
    """Colourise the test ``loader`` with ``to_rgb(model, batch)`` and score it: ``(row, gt, pred)``.

    ``row`` is :func:`colorlab.experiment.score` of the predictions (with ``auc_rebal`` when
    ``prior`` and ``bins`` are given) plus ``labels``, ``images_per_second`` and ``device`` (the one that ran); ``gt`` and ``pred``
    are the RGB ``(N, 3, H, W)`` on the CPU.

    Example:
        >>> row, gt, pred = score_model(model, regression_colorize, loader, prior=p, bins=b,
        ...                             method="zhang", variant="l2")  # doctest: +SKIP
    """
    dev = pick_device(device)
    gt, pred, ips = experiment.predict(experiment.model_colorizer(model, to_rgb), loader, dev)
    row = experiment.score(gt, pred, prior=prior, bins=bins, **labels, images_per_second=ips, device=str(dev))
    return row, gt, pred


# ------------------------------------------------------------------------------ tables, plots

#: Table 1's columns: ours -> (shown name, scale).
TABLE1_COLUMNS: dict[str, tuple[str, float]] = {
    "auc": ("AuC %", 100.0),
    "auc_rebal": ("rebalanced AuC %", 100.0),
    "colorfulness": ("colourfulness", 1.0),
    "colorfulness_gap": ("colourfulness gap", 1.0),
    "psnr": ("PSNR dB", 1.0),
}


def table1(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Our rows in the shape of the paper's Table 1: rows ground truth, gray, random, L2, class,
    full (both classification rows decoded by the annealed mean), columns AuC and rebalanced AuC
    (pooled over the test set) in percent, colourfulness, its gap to
    the truth and PSNR. Missing rows are left out, missing columns are NaN.

    Example:
        >>> table1(pd.DataFrame([{"method": "reference", "variant": "gray", "auc": 0.9}]))  # doctest: +SKIP
    """
    out = []
    for label, _, _, (method, variant, dec) in paper.ZHANG_2016_TABLE1:
        r = find_row(table, method=method, variant=variant, **({"decode": dec} if dec is not None else {}))
        if r is None:
            continue
        out.append({"method": label, **{name: float(r[c]) * scale if c in r else float("nan")
                                        for c, (name, scale) in TABLE1_COLUMNS.items()}})
    return pd.DataFrame(out).set_index("method").round(digits)


def temperature_plot(
    sweep: pd.DataFrame,
    ys: Sequence[str] = ("colorfulness", "auc", "auc_rebal"),
    *,
    mode: Mapping[str, float] | None = None,
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """The annealed-mean sweep: each metric in ``ys`` against the temperature (rows of ``sweep``
    with a ``temperature`` column), the mode (``T → 0``) drawn at 0 when given, the paper's
    ``T = 0.38`` as a dotted line and the mean at ``T = 1`` labelled; ``reference`` draws the
    ground truth's values.

    Example:
        >>> sweep = pd.DataFrame({"temperature": [1.0, 0.38], "colorfulness": [5.0, 9.0]})
        >>> fig = temperature_plot(sweep, ("colorfulness",), mode={"colorfulness": 12.0})
    """
    fig = viz.sweep_plot(sweep, "temperature", tuple(ys), reference=dict(reference) if reference else None)
    for ax, y in zip(fig.axes, ys, strict=True):
        if mode is not None and y in mode:
            ax.scatter([0.0], [mode[y]], marker="x", color="black", zorder=3, label="mode (T → 0)")
        ax.axvline(ANNEALED_T, color="tab:red", ls=":", lw=1, label=f"T = {ANNEALED_T:g} (paper)")
        at_one = sweep[sweep["temperature"].astype(float) == 1.0]
        if not at_one.empty:
            ax.annotate("mean", (1.0, float(at_one[y].iloc[0])), fontsize=7, xytext=(-8, 6),
                        textcoords="offset points")
    fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
