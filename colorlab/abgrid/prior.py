"""Class priors over ab bins: counts, Gaussian smoothing, a training split's prior, class weights.

A prior ``(Q,)`` is the smoothed frequency of each bin among the ground-truth pixels of the
training split. Zhang et al. (2016) rebalance their loss by it, the rebalanced AuC weights every
test pixel by its inverse, and the U-Net picks its classes from it.

Example:
    >>> from colorlab import data
    >>> bins = ab_gamut_bins()
    >>> prior = dataset_prior(data.load_dataset("samples", "train", crop=32, image_size=64), bins)
    >>> prior.shape, round(float(prior.sum()), 5)
    (torch.Size([262]), 1.0)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .. import progress
from ..color import rgb_to_lab
from ..errors import unreadable_torch_file
from ..files import atomic_write
from .bins import (
    GRAY_THRESHOLD,
    SIGMA,
    _check_bins,
    _check_q,
    ab_gamut_bins,  # noqa: F401 (the examples use it)
    grayscale_mask,
    nearest_bin,
)

if TYPE_CHECKING:
    from ..data import ColorDataset

__all__ = [
    "PRIOR_MAX_IMAGES",
    "ab_histogram",
    "gaussian_smooth",
    "smooth_prior",
    "empirical_prior",
    "cached_prior",
    "prior_key",
    "dataset_prior",
]

#: :func:`dataset_prior` reads at most this many training images (evenly spaced) of a large set.
PRIOR_MAX_IMAGES = 2000
#: Characters of the SHA-1 digests used in cache keys.
_DIGEST = 12
#: Longest dataset slug in a prior cache key.
_SLUG = 40
_KEY = re.compile(r"^[A-Za-z0-9._-]+$")


# ----------------------------------------------------------------------------------- counts


def ab_histogram(ab: Tensor, bins: Tensor) -> Tensor:
    """Count the pixels whose nearest bin is each bin.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        bins: bin centres ``(Q, 2)``.

    Returns:
        int64 counts ``(Q,)``, on ``ab``'s device.

    Example:
        >>> ab_histogram(torch.zeros(1, 2, 2, 2), torch.tensor([[0.0, 0.0], [10.0, 0.0]])).tolist()
        [4, 0]
    """
    bins = _check_bins(bins, ab)
    idx = nearest_bin(ab, bins).flatten()
    # index_add_ rather than bincount: bincount reads the max index back to the host on CUDA
    return torch.zeros(bins.shape[0], dtype=torch.int64, device=ab.device).index_add_(0, idx, torch.ones_like(idx))


def gaussian_smooth(values: Tensor, bins: Tensor, sigma: float = SIGMA) -> Tensor:
    """Spread each bin's value over the bins with a Gaussian of width ``sigma``.

    Each bin ``j`` hands its value to the bins ``i`` in proportion to ``exp(-|c_i - c_j|² / 2σ²)``,
    normalised over ``i``, so the total is conserved exactly and no mass leaks out of the gamut.

    Args:
        values: one value per bin, ``(Q,)``.
        bins: bin centres ``(Q, 2)``.
        sigma: the width in ab units; 0 returns the values unchanged.

    Returns:
        float32 ``(Q,)`` with the same total.

    Raises:
        ValueError: for shapes that do not fit, or ``sigma < 0``.

    Example:
        >>> bins = ab_gamut_bins()
        >>> v = torch.zeros(bins.shape[0]); v[0] = 1.0
        >>> round(float(gaussian_smooth(v, bins).sum()), 6)
        1.0
    """
    if values.ndim != 1:
        raise ValueError(f"values must have shape (Q,); got {tuple(values.shape)}")
    values = values.float()
    bins = _check_bins(bins, values)
    _check_q("values", values, bins.shape[0], 0)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0; got {sigma}")
    if sigma == 0:
        return values.clone()
    dist = torch.cdist(bins, bins, compute_mode="donot_use_mm_for_euclid_dist")
    kernel = torch.softmax(-dist.square() / (2.0 * sigma**2), dim=0)
    return kernel @ values


def smooth_prior(counts: Tensor, bins: Tensor, sigma: float = SIGMA) -> Tensor:
    """Turn counts into a class prior: normalised, smoothed (:func:`gaussian_smooth`), renormalised.

    Args:
        counts: counts per bin, ``(Q,)``.
        bins: bin centres ``(Q, 2)``.
        sigma: the smoothing width in ab units.

    Returns:
        The prior ``(Q,)``, summing to 1.

    Raises:
        ValueError: for counts of the wrong shape or with no positive total.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> smooth_prior(torch.tensor([3, 1]), bins, sigma=0).tolist()
        [0.75, 0.25]
    """
    if counts.ndim != 1:
        raise ValueError(f"counts must have shape (Q,); got {tuple(counts.shape)}")
    p = counts.double() if counts.device.type == "cpu" else counts.float()
    total = p.sum()
    if not bool(total > 0):
        raise ValueError("counts must have a positive total")
    p = gaussian_smooth((p / total).float(), bins, sigma)
    return p / p.sum()


def empirical_prior(ab_batches: Iterable[Tensor], bins: Tensor, sigma: float = SIGMA) -> Tensor:
    """The smoothed prior of the nearest bins of every pixel of some ab batches.

    Counts accumulate on ``bins``' device. To describe exactly the pixels the loss sees, drop
    grayscale images (:func:`grayscale_mask`) and point-sample the targets
    (:func:`colorlab.methods.zhang.recipe.downsample_targets`) beforehand.

    Args:
        ab_batches: batches of chroma ``(B, 2, H, W)`` in Lab units.
        bins: bin centres ``(Q, 2)``.
        sigma: the smoothing width in ab units.

    Returns:
        The prior ``(Q,)``, summing to 1.

    Raises:
        ValueError: for no batches.

    Example:
        >>> bins = ab_gamut_bins()
        >>> p = empirical_prior([torch.randn(2, 2, 8, 8) * 20 for _ in range(3)], bins)
        >>> p.shape == (bins.shape[0],), round(float(p.sum()), 5)
        (True, 1.0)
    """
    counts = None
    for ab in ab_batches:
        h = ab_histogram(ab.to(bins.device).float(), bins)
        counts = h if counts is None else counts + h
    if counts is None:
        raise ValueError("empirical_prior got no batches")
    return smooth_prior(counts, bins, sigma)


# -------------------------------------------------------------------------- a split's prior


def cached_prior(key: str, compute: Callable[[], Tensor], cache_dir: str | os.PathLike) -> Tensor:
    """Read a prior from the cache, or compute and store it.

    The write is atomic (a temporary file in the same directory, then :func:`os.replace`), so
    concurrent runs never read a half-written file; loading uses ``weights_only=True`` and maps
    to the CPU.

    Args:
        key: names the dataset, split and bin set (e.g. ``"imagenet-train-q262"``): letters,
            digits, ``.``, ``_`` and ``-`` only.
        compute: computes the prior ``(Q,)`` when it is not cached.
        cache_dir: the cache; the file is ``cache_dir/prior_{key}.pt``.

    Returns:
        The prior ``(Q,)`` on the CPU.

    Raises:
        ValueError: for a bad key, or a computed prior that is not ``(Q,)``.

    Example:
        >>> import tempfile
        >>> cached_prior("demo-q2", lambda: torch.tensor([0.5, 0.5]), tempfile.mkdtemp()).tolist()
        [0.5, 0.5]
    """
    if not _KEY.match(key):
        raise ValueError(f"prior key must match {_KEY.pattern}; got {key!r}")
    cache = Path(cache_dir)
    path = cache / f"prior_{key}.pt"
    if path.exists():
        try:
            cached = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(cached, Tensor) and cached.ndim == 1:
                return cached
            why = f"it holds {type(cached).__name__}, not a (Q,) prior"
        except Exception as e:  # a damaged cache is computed again, never loaded unsafely
            why = unreadable_torch_file(path, e)[0]
        progress.say(f"prior cache {path} is unreadable ({why}): computed again and replaced", warning=True)
    prior = compute().detach().cpu()
    if prior.ndim != 1:
        raise ValueError(f"compute() must return a (Q,) prior; got {tuple(prior.shape)}")
    atomic_write(path, lambda f: torch.save(prior, f))
    return prior


def _digest(obj: Any) -> str:
    if isinstance(obj, Tensor):
        raw = obj.detach().cpu().contiguous().float().numpy().tobytes()
    else:
        raw = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha1(raw).hexdigest()[:_DIGEST]


def _prior_images(train_set: ColorDataset, max_images: int | None) -> list[int]:
    n = len(train_set.images)
    if max_images is None or n <= max_images:
        return list(range(n))
    return sorted({round(i * (n - 1) / (max_images - 1)) for i in range(max_images)}) if max_images > 1 else [0]


def prior_key(
    train_set: ColorDataset,
    bins: Tensor,
    *,
    sigma: float = SIGMA,
    max_images: int | None = PRIOR_MAX_IMAGES,
) -> str:
    """The cache key of :func:`dataset_prior`: a slug of the data spec, the split, ``Q`` and a digest.

    The digest covers what changes the prior: the data path, split rule and region, the image
    names, ``image_size``, the crop (images smaller than it are upscaled), the bins, ``sigma``,
    ``max_images`` and the grayscale threshold.

    Args:
        train_set: the training dataset.
        bins: bin centres ``(Q, 2)``.
        sigma: the smoothing width in ab units.
        max_images: the most training images read.

    Returns:
        The key, e.g. ``"samples-train-q262-<digest>"``.

    Example:
        >>> from colorlab import data
        >>> train = data.load_dataset("samples", "train", crop=32, image_size=96)
        >>> prior_key(train, ab_gamut_bins())  # doctest: +ELLIPSIS
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


def _compute_prior(train_set: ColorDataset, bins: Tensor, sigma: float, max_images: int | None) -> Tensor:
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
    train_set: ColorDataset,
    bins: Tensor,
    *,
    sigma: float = SIGMA,
    cache_dir: str | os.PathLike | None = None,
    max_images: int | None = PRIOR_MAX_IMAGES,
) -> Tensor:
    """The smoothed empirical prior of the ground-truth ab bins over the training split.

    Every pixel of every whole training image (as cut and resized by the split) is counted in its
    nearest bin. Grayscale images (:func:`~colorlab.abgrid.bins.grayscale_mask`) are skipped, as
    the loss masks them. The counts are normalised and smoothed (:func:`smooth_prior`), as the
    paper's ImageNet-training-set prior is. The test split is never read.

    Args:
        train_set: the training dataset; its whole images are read, not its crops.
        bins: bin centres ``(Q, 2)``.
        sigma: the smoothing width in ab units.
        cache_dir: cache the prior here under :func:`prior_key` (``None``: compute every time).
        max_images: read at most this many training images, evenly spaced (``None``: all).

    Returns:
        The prior ``(Q,)`` on the CPU, summing to 1.

    Raises:
        ValueError: for a split other than train, ``max_images < 1``, or no colour image.

    Example:
        >>> import tempfile
        >>> from colorlab import data
        >>> train = data.load_dataset("samples", "train", crop=32, image_size=96)
        >>> p = dataset_prior(train, ab_gamut_bins(), cache_dir=tempfile.mkdtemp())
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

    if cache_dir is None:
        return compute()
    return cached_prior(prior_key(train_set, bins, sigma=sigma, max_images=max_images), compute, cache_dir)
