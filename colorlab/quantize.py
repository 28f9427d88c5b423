"""Zhang et al.'s quantised ab output space: bins, soft targets, prior, rebalancing, decoding.

Zhang, Isola, Efros (2016), "Colorful Image Colorization", treat colourisation as
classification over ``Q`` ab bins on a grid of 10. This module holds every piece of that
recipe that is not the network itself, as pure functions over batched tensors:

* the bins: :func:`ab_gamut_bins` (``(Q, 2)`` ab centres reachable from sRGB);
* the targets: :func:`nearest_bin`, :func:`soft_encode` (k nearest bins, Gaussian weights),
  :func:`downsample_targets` (stride-4 point sampling) and :func:`grayscale_mask`;
* the class prior and its rebalancing: :func:`ab_histogram`, :func:`smooth_prior`,
  :func:`empirical_prior`, :func:`cached_prior`, :func:`rebalance_weights`, :func:`pixel_weights`;
* the loss: :func:`soft_cross_entropy`;
* the decoding of logits to ab: :func:`decode` (``'annealed'``, ``'mode'``, ``'mean'``).

Shapes: ``ab`` is ``(B, 2, H, W)`` in Lab units (roughly ``[-110, 110]``), ``bins`` is ``(Q, 2)``,
logits and distributions are ``(B, Q, H, W)``. Everything runs on the device of its input
(``bins`` are moved to it) and none of the per-batch functions synchronises with the host.

Example:
    >>> bins = ab_gamut_bins()
    >>> ab = torch.zeros(1, 2, 8, 8)
    >>> target = soft_encode(downsample_targets(ab), bins)        # (1, Q, 2, 2)
    >>> logits = torch.randn(1, bins.shape[0], 2, 2)
    >>> loss = soft_cross_entropy(logits, target)
    >>> decode(logits, bins, "annealed").shape
    torch.Size([1, 2, 2, 2])
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .color import AB_SCALE, check_image, rgb_to_lab
from .results import atomic_write

__all__ = [
    "PAPER_Q",
    "GRID",
    "SWEEP",
    "ANNEALED_T",
    "OFFICIAL_LOGIT_SCALE",
    "SIGMA",
    "K_PAPER",
    "K_OFFICIAL",
    "LAMBDA",
    "TARGET_STRIDE",
    "GRAY_THRESHOLD",
    "DECODERS",
    "ab_gamut_bins",
    "nearest_bin",
    "soft_encode",
    "ab_histogram",
    "gaussian_smooth",
    "smooth_prior",
    "empirical_prior",
    "cached_prior",
    "rebalance_weights",
    "pixel_weights",
    "decode_annealed_mean",
    "decode_mode",
    "decode_mean",
    "decode",
    "soft_cross_entropy",
    "downsample_targets",
    "grayscale_mask",
]

#: Number of bins in the paper and in its released ``pts_in_hull.npy``.
PAPER_Q = 313
#: Grid step of the ab quantisation, in ab units.
GRID = 10.0
#: Samples per edge of each RGB-cube face in the default gamut sweep (Q is stable from 384 on).
SWEEP = 512
#: Annealed-mean temperature of the paper.
ANNEALED_T = 0.38
#: The official Caffe demo multiplies the logits by this before the softmax (``1/2.606 ≈ 0.384``).
OFFICIAL_LOGIT_SCALE = 2.606
#: Gaussian width, in ab units, of both the soft encoding and the prior smoothing.
SIGMA = 5.0
#: Nearest bins per pixel in the soft encoding: the paper's 5, the official training code's 10.
K_PAPER = 5
K_OFFICIAL = 10
#: Mixing weight of the uniform distribution in the rebalancing weights.
LAMBDA = 0.5
#: The ground truth is point-sampled at this stride to match the network's 1/4-resolution output.
TARGET_STRIDE = 4
#: An image whose every pixel has ``|a|, |b| <= GRAY_THRESHOLD`` counts as grayscale.
GRAY_THRESHOLD = 5.0
#: Pixels per chunk when computing pixel-to-bin distances (chunk × Q floats at a time).
_CHUNK = 1 << 16

Decoder = Literal["annealed", "mode", "mean"]
DECODERS: tuple[str, ...] = ("annealed", "mode", "mean")
_KEY = re.compile(r"^[A-Za-z0-9._-]+$")


# --------------------------------------------------------------------------------------- bins


def _rgb_cube_faces(n: int) -> Tensor:
    """All colours on the six faces of the RGB cube, ``n × n`` per face, as ``(1, 3, 1, 6·n²)``."""
    t = torch.linspace(0.0, 1.0, n)
    u, v = (g.flatten() for g in torch.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            free = iter((u, v))
            faces.append(torch.stack([torch.full_like(u, value) if c == axis else next(free) for c in range(3)]))
    return torch.cat(faces, dim=1).view(1, 3, 1, -1)


@functools.lru_cache(maxsize=8)
def _gamut_bins(grid: float, ab_range: float, sweep: int) -> Tensor:
    _, ab = rgb_to_lab(_rgb_cube_faces(sweep))
    cells = torch.unique(torch.round(ab[0, :, 0].T / grid), dim=0) * grid
    return cells[(cells.abs() <= ab_range).all(dim=1)].contiguous()


def ab_gamut_bins(grid: float = GRID, *, ab_range: float = AB_SCALE, sweep: int = SWEEP) -> Tensor:
    """The ``(Q, 2)`` float32 ab bin centres (multiples of ``grid``) reached by sRGB colours.

    A bin is kept when some sRGB colour rounds to it (its ab lies in the bin's cell
    ``[c - grid/2, c + grid/2)²``). The sweep covers only the surface of the RGB cube,
    ``sweep × sweep`` colours per face: Lab is a continuous bijection of the cube, so the
    gamut solid's ab projection equals that of its boundary (each vertical L-line through the
    solid meets it at boundary points), and a dense surface sweep is far cheaper than a dense
    volume. Bins beyond ``|a|, |b| <= ab_range`` are dropped (sRGB never gets there: its ab
    spans about ``[-86.2, 98.2] × [-107.9, 94.5]``). Rows are sorted by ``a`` then ``b``, the
    order of the released ``pts_in_hull.npy``. Cached per arguments; a fresh clone is returned.

    **Q measured (grid 10, D65 sRGB, colorlab.color.rgb_to_lab): 262**, stable for
    ``sweep >= 384`` (face sweeps of 1024 and 2048, and a full 128³ lattice, agree). All 8-bit
    colours (256³), a 64³ lattice or 256 per face give 261: bin ``(20, -80)`` is reached only by
    a sliver at its corner, ``a ∈ [24.68, 25)``, ``b ∈ [-75.22, -75.0006]`` (float64 confirms
    it), so 8-bit images never round to it. Other gamut tests on the same sweep: floor instead of round 268, bin centre in gamut for some
    ``L`` (lab→rgb, 1001 L values) 229, bins within Euclidean 10 of a colour 290, the
    4-neighbour dilation of the 262 bins 324 and the 8-neighbour one 348.

    Why not the paper's :data:`PAPER_Q` = 313: a transcription of the released 313 bins (from
    a public reimplementation) contains all 262 bins found here plus 51 more, all on a
    one-bin ring outside the reachable region (every one of them lies in the 4-neighbour
    dilation). So the released set is not "cells an sRGB colour falls in" but a looser test
    that also admits bins whose cell is merely touched at its edge or adjacent to the gamut;
    none of the rules above reproduces 313 exactly (nor do D50, E or C white points), and its
    construction is undocumented. Since every sRGB colour's own cell is among the 313, no
    colour's nearest bin is one of the 51 extras: they get no hard-assigned prior mass, only
    soft-encoding and smoothing weight, so they widen the softmax more than they change targets.

    Example:
        >>> bins = ab_gamut_bins()
        >>> bins.shape, bins.dtype
        (torch.Size([262, 2]), torch.float32)
    """
    if grid <= 0 or ab_range <= 0 or sweep < 2:
        raise ValueError(f"need grid > 0, ab_range > 0, sweep >= 2; got {grid}, {ab_range}, {sweep}")
    return _gamut_bins(float(grid), float(ab_range), int(sweep)).clone()


# ------------------------------------------------------------------------------- assignments


def _check_bins(bins: Tensor, like: Tensor) -> Tensor:
    if bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] < 1:
        raise ValueError(f"bins must have shape (Q, 2); got {tuple(bins.shape)}")
    return bins.to(device=like.device, dtype=like.dtype)


def _check_q(name: str, t: Tensor, q: int, dim: int) -> None:
    if t.shape[dim] != q:
        raise ValueError(f"{name} has {t.shape[dim]} classes (dim {dim}) but there are {q} bins")


def _pixels(ab: Tensor) -> Tensor:
    """``(B, 2, H, W)`` to ``(B·H·W, 2)``."""
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


def _nearest(ab: Tensor, bins: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Squared distances and indices ``(N, k)`` of the ``k`` nearest bins to each pixel, nearest first."""
    pts = _pixels(ab)
    d2, idx = [], []
    for chunk in pts.split(_CHUNK):
        dist = torch.cdist(chunk, bins, compute_mode="donot_use_mm_for_euclid_dist")
        d, i = dist.topk(k, dim=1, largest=False, sorted=True)
        d2.append(d.square())
        idx.append(i)
    return torch.cat(d2), torch.cat(idx)


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """Index ``(B, H, W)`` int64 of the bin nearest (Euclidean in ab) to each pixel of ``ab`` ``(B, 2, H, W)``.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> nearest_bin(torch.tensor([8.0, 1.0]).view(1, 2, 1, 1), bins).tolist()
        [[[1]]]
    """
    check_image(ab, 2, "ab")
    bins = _check_bins(bins, ab)
    b, _, h, w = ab.shape
    return _nearest(ab, bins, 1)[1].view(b, h, w)


def soft_encode(ab: Tensor, bins: Tensor, k: int = K_PAPER, sigma: float = SIGMA) -> Tensor:
    """Soft one-hot targets ``(B, Q, H, W)``: each pixel spread over its ``k`` nearest bins.

    The weights are ``exp(-d² / 2σ²)`` over the ``k`` nearest bins, normalised to sum to 1
    (computed as a softmax, so pixels far outside the gamut do not underflow to 0/0). The paper
    uses ``k = 5`` (:data:`K_PAPER`), the official training code ``k = 10`` (:data:`K_OFFICIAL`);
    ``k = 1`` gives hard one-hot targets.

    Example:
        >>> bins = ab_gamut_bins()
        >>> t = soft_encode(torch.randn(2, 2, 4, 4) * 30, bins, k=5)
        >>> torch.allclose(t.sum(1), torch.ones(2, 4, 4)), int((t > 0).sum(1).max())
        (True, 5)
    """
    check_image(ab, 2, "ab")
    bins = _check_bins(bins, ab)
    q = bins.shape[0]
    if not 1 <= k <= q:
        raise ValueError(f"k must be in [1, Q={q}]; got {k}")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    b, _, h, w = ab.shape
    d2, idx = _nearest(ab, bins, k)
    weights = torch.softmax(-d2 / (2.0 * sigma**2), dim=1)
    out = ab.new_zeros(b * h * w, q).scatter_(1, idx, weights)
    return out.view(b, h, w, q).permute(0, 3, 1, 2).contiguous()


def downsample_targets(ab: Tensor, factor: int = TARGET_STRIDE, offset: int = 0) -> Tensor:
    """Point-sample ``ab`` ``(B, 2, H, W)`` at stride ``factor``: ``ab[..., offset::factor, offset::factor]``.

    The official training prototxt builds the 1/4-resolution target with a 1×1 convolution of
    stride 4 and unit weights (``data_ab_ss``), i.e. the top-left pixel of every 4×4 block:
    ``offset = 0``, the default. No averaging, so targets stay real colours rather than blends.
    The result is ``(B, 2, ceil((H - offset) / factor), ...)``, ``H/4`` for ``H`` divisible by 4.

    Example:
        >>> downsample_targets(torch.arange(64.0).view(1, 1, 8, 8).repeat(1, 2, 1, 1))[0, 0].tolist()
        [[0.0, 4.0], [32.0, 36.0]]
    """
    check_image(ab, 2, "ab")
    if factor < 1 or not 0 <= offset < factor:
        raise ValueError(f"need factor >= 1 and 0 <= offset < factor; got {factor}, {offset}")
    return ab[..., offset::factor, offset::factor]


def grayscale_mask(ab: Tensor, threshold: float = GRAY_THRESHOLD) -> Tensor:
    """``(B,)`` bool, True for images with no pixel whose ``|a|`` or ``|b|`` exceeds ``threshold``.

    The official code's ``NonGrayMask`` layer; such images are masked out of the loss
    (pass ``mask=~grayscale_mask(ab)`` to :func:`soft_cross_entropy`).

    Example:
        >>> ab = torch.zeros(2, 2, 4, 4); ab[1, 0, 0, 0] = 6.0
        >>> grayscale_mask(ab).tolist()
        [True, False]
    """
    check_image(ab, 2, "ab")
    return ~(ab.abs() > threshold).flatten(1).any(dim=1)


# --------------------------------------------------------------------------- prior, weights


def ab_histogram(ab: Tensor, bins: Tensor) -> Tensor:
    """Counts ``(Q,)`` int64 of the pixels of ``ab`` ``(B, 2, H, W)`` per nearest bin.

    Example:
        >>> ab_histogram(torch.zeros(1, 2, 2, 2), torch.tensor([[0.0, 0.0], [10.0, 0.0]])).tolist()
        [4, 0]
    """
    bins = _check_bins(bins, ab)
    idx = nearest_bin(ab, bins).flatten()
    # index_add_ rather than bincount: bincount reads the max index back to the host on CUDA
    return torch.zeros(bins.shape[0], dtype=torch.int64, device=ab.device).index_add_(0, idx, torch.ones_like(idx))


def gaussian_smooth(values: Tensor, bins: Tensor, sigma: float = SIGMA) -> Tensor:
    """Spread each bin's value ``(Q,)`` over the bins with a Gaussian of width ``sigma`` (ab units).

    Each bin ``j`` hands its value to the bins ``i`` in proportion to ``exp(-|c_i - c_j|² / 2σ²)``
    (normalised over ``i``), so the total is conserved exactly and no mass leaks out of the
    gamut. ``sigma = 0`` returns the values unchanged. On a grid of 10, σ = 5 gives a bin's
    4-neighbours ``e^-2 ≈ 0.135`` of its own share.

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
    """Class prior ``(Q,)``: counts normalised, :func:`gaussian_smooth` ed, renormalised to sum 1.

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
    """Smoothed prior ``(Q,)`` of the nearest bins of all pixels of ``ab`` batches ``(B, 2, H, W)``.

    Counts accumulate on ``bins``' device. Drop grayscale images (:func:`grayscale_mask`) and
    point-sample (:func:`downsample_targets`) beforehand if the prior should describe exactly
    the pixels the loss sees. An empty iterable raises ``ValueError``.

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


def cached_prior(key: str, compute: Callable[[], Tensor], cache_dir: str | os.PathLike) -> Tensor:
    """The prior stored as ``cache_dir/prior_{key}.pt``, computed by ``compute()`` and saved if absent.

    ``key`` names the dataset, split and bin set (e.g. ``"imagenet-train-q262"``); letters,
    digits, ``.``, ``_``, ``-`` only. The write is atomic (temporary file in the same directory,
    then :func:`os.replace`), so concurrent runs never read a half-written file; loading uses
    ``weights_only=True`` and maps to the CPU.

    Example:
        >>> p = cached_prior("demo-q2", lambda: torch.tensor([0.5, 0.5]), tempfile.mkdtemp())
    """
    if not _KEY.match(key):
        raise ValueError(f"prior key must match {_KEY.pattern}; got {key!r}")
    cache = Path(cache_dir)
    path = cache / f"prior_{key}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True)
    prior = compute().detach().cpu()
    if prior.ndim != 1:
        raise ValueError(f"compute() must return a (Q,) prior; got {tuple(prior.shape)}")
    atomic_write(path, lambda f: torch.save(prior, f))
    return prior


def rebalance_weights(prior: Tensor, lam: float = LAMBDA) -> Tensor:
    """Class weights ``(Q,)``: ``w ∝ ((1 - λ)·p + λ/Q)^-1``, scaled so that ``Σ_q p_q w_q = 1``.

    ``prior`` must be a distribution (non-negative, sums to 1). ``λ = 1`` gives all ones,
    ``λ = 0`` gives ``w = 1 / (Q·p)`` (needs every ``p_q > 0``). Not a hot path: the checks
    synchronise with the host.

    Example:
        >>> w = rebalance_weights(torch.tensor([0.7, 0.2, 0.1]))
        >>> round(float((torch.tensor([0.7, 0.2, 0.1]) * w).sum()), 6)
        1.0
    """
    if prior.ndim != 1:
        raise ValueError(f"prior must have shape (Q,); got {tuple(prior.shape)}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1]; got {lam}")
    p = prior.float()
    if bool((p < 0).any()) or abs(float(p.sum()) - 1.0) > 1e-4:
        raise ValueError("prior must be non-negative and sum to 1")
    if lam == 0.0 and bool((p == 0).any()):
        raise ValueError("lam = 0 needs a prior with no empty bin (its weight would be infinite)")
    w = 1.0 / ((1.0 - lam) * p + lam / p.shape[0])
    return w / (p * w).sum()


def pixel_weights(ab: Tensor, bins: Tensor, class_weights: Tensor) -> Tensor:
    """Per-pixel loss weights ``(B, 1, H, W)``: the class weight of each pixel's nearest bin.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> pixel_weights(torch.zeros(1, 2, 1, 1), bins, torch.tensor([0.5, 2.0])).flatten().tolist()
        [0.5]
    """
    bins = _check_bins(bins, ab)
    if class_weights.ndim != 1:
        raise ValueError(f"class_weights must have shape (Q,); got {tuple(class_weights.shape)}")
    _check_q("class_weights", class_weights, bins.shape[0], 0)
    return class_weights.to(ab.device)[nearest_bin(ab, bins)].unsqueeze(1)


# ---------------------------------------------------------------------------------- decoding


def _check_logits(logits: Tensor, bins: Tensor) -> Tensor:
    if logits.ndim != 4:
        raise ValueError(f"logits must have shape (B, Q, H, W); got {tuple(logits.shape)}")
    bins = _check_bins(bins, logits)
    _check_q("logits", logits, bins.shape[0], 1)
    return bins


def decode_annealed_mean(logits: Tensor, bins: Tensor, T: float = ANNEALED_T) -> Tensor:
    """ab ``(B, 2, H, W)``: expectation of the bin centres under ``softmax(log p / T)``.

    ``p = softmax(logits)``, so ``softmax(log p / T) = softmax(logits / T)``. ``T = 1`` is the
    mean (:func:`decode_mean`), ``T → 0`` the mode (:func:`decode_mode`); the paper's
    :data:`ANNEALED_T` = 0.38 (the official demo's logit scale 2.606 is ``T ≈ 0.384``).

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> decode_annealed_mean(torch.zeros(1, 2, 1, 1), bins, T=1.0).flatten().tolist()
        [5.0, 0.0]
    """
    if not T > 0:
        raise ValueError(f"T must be > 0 (use decode_mode for T -> 0); got {T}")
    bins = _check_logits(logits, bins)
    probs = torch.softmax(logits / T, dim=1)
    return torch.einsum("bqhw,qc->bchw", probs, bins)


def decode_mean(logits: Tensor, bins: Tensor) -> Tensor:
    """ab ``(B, 2, H, W)``: the expectation of the bin centres under ``softmax(logits)`` (``T = 1``)."""
    return decode_annealed_mean(logits, bins, T=1.0)


def decode_mode(logits: Tensor, bins: Tensor) -> Tensor:
    """ab ``(B, 2, H, W)``: the centre of the most probable bin (the ``T → 0`` limit).

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 20.0]])
        >>> decode_mode(torch.tensor([0.0, 1.0]).view(1, 2, 1, 1), bins).flatten().tolist()
        [10.0, 20.0]
    """
    bins = _check_logits(logits, bins)
    return bins[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()


def decode(logits: Tensor, bins: Tensor, method: Decoder = "annealed", T: float = ANNEALED_T) -> Tensor:
    """Decode logits ``(B, Q, H, W)`` to ab ``(B, 2, H, W)`` by ``method`` (``T`` used by ``'annealed'`` only).

    Example:
        >>> bins = ab_gamut_bins()
        >>> decode(torch.randn(1, bins.shape[0], 2, 2), bins, "mode").shape
        torch.Size([1, 2, 2, 2])
    """
    if method == "annealed":
        return decode_annealed_mean(logits, bins, T)
    if method == "mode":
        return decode_mode(logits, bins)
    if method == "mean":
        return decode_mean(logits, bins)
    raise ValueError(f"method must be one of {DECODERS}; got {method!r}")


# -------------------------------------------------------------------------------------- loss


def soft_cross_entropy(
    logits: Tensor,
    target_dist: Tensor,
    weights: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Mean over pixels of ``-w · Σ_q target_q · log_softmax(logits)_q``: a scalar.

    ``logits`` and ``target_dist`` are ``(B, Q, H, W)``. ``weights`` ``(B, 1, H, W)`` (or
    ``(B, H, W)``) rescales each pixel's term (Zhang's rebalancing, :func:`pixel_weights`);
    the mean is still over pixels, not over weights. ``mask`` is True where a pixel counts:
    ``(B,)`` per image (e.g. ``~grayscale_mask(ab)``) or ``(B, 1, H, W)`` / ``(B, H, W)`` per
    pixel; the mean is over the counted pixels, and 0 if there are none.

    Example:
        >>> logits = torch.randn(2, 4, 3, 3)
        >>> target = F.one_hot(torch.randint(0, 4, (2, 3, 3)), 4).permute(0, 3, 1, 2).float()
        >>> torch.allclose(soft_cross_entropy(logits, target), F.cross_entropy(logits, target.argmax(1)))
        True
    """
    if logits.ndim != 4 or logits.shape != target_dist.shape:
        raise ValueError(
            f"logits and target_dist must both be (B, Q, H, W); got {tuple(logits.shape)}, {tuple(target_dist.shape)}"
        )
    b, _, h, w = logits.shape
    per_pixel = -(target_dist * F.log_softmax(logits, dim=1)).sum(dim=1)
    if weights is not None:
        per_pixel = per_pixel * _per_pixel("weights", weights, b, h, w)
    if mask is None:
        return per_pixel.mean()
    keep = _per_pixel("mask", mask, b, h, w).to(per_pixel.dtype).expand_as(per_pixel)
    return (per_pixel * keep).sum() / keep.sum().clamp_min(1.0)


def _per_pixel(name: str, t: Tensor, b: int, h: int, w: int) -> Tensor:
    """``(B,)``, ``(B, H, W)`` or ``(B, 1, H, W)`` to something broadcasting against ``(B, H, W)``."""
    if t.shape == (b,):
        return t.view(b, 1, 1)
    if t.shape == (b, 1, h, w):
        return t.view(b, h, w)
    if t.shape == (b, h, w):
        return t
    raise ValueError(f"{name} must be (B,), (B, H, W) or (B, 1, H, W) with B, H, W = {b}, {h}, {w}; got {tuple(t.shape)}")
