"""The quantised ab plane: bin centres, pixel-to-bin assignment, soft targets and decoding.

Zhang, Isola and Efros (2016) turned colourisation into classification over ``Q`` bins of the Lab
ab plane on a grid of 10; the U-Net (source 001) and Larsson et al. bin colours too. What they
share lives here as pure functions over batched tensors, on the device of their input and
without host synchronisation; what belongs to one paper (its ``Q``, ``k``, temperature) lives in
its method. Shapes: ``ab`` ``(B, 2, H, W)`` in Lab units, ``bins`` ``(Q, 2)``, logits and
distributions ``(B, Q, H, W)``.

Example:
    >>> bins = ab_gamut_bins()
    >>> target = soft_encode(torch.zeros(1, 2, 2, 2), bins, k=5)          # (1, Q, 2, 2)
    >>> logits = torch.randn(1, bins.shape[0], 2, 2)
    >>> loss = soft_cross_entropy(logits, target)
    >>> decode_expectation(logits, bins, temperature=0.38).shape
    torch.Size([1, 2, 2, 2])
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from ..color import AB_SCALE, GRAY_THRESHOLD, check_image, grayscale_mask, rgb_to_lab

__all__ = [
    "GRID",
    "SWEEP",
    "SIGMA",
    "GRAY_THRESHOLD",
    "ab_gamut_bins",
    "nearest_bin",
    "soft_encode",
    "grayscale_mask",
    "decode_expectation",
    "decode_mode",
    "decode_sample",
    "soft_cross_entropy",
]

#: Grid step of the ab quantisation, in ab units (Zhang et al. 2016).
GRID = 10.0
#: Samples per edge of each RGB-cube face in the default gamut sweep (Q is stable from 384 on).
SWEEP = 512
#: Default Gaussian width, in ab units, of the soft encoding and of the prior smoothing (Zhang et al.: 5).
SIGMA = 5.0
#: Pixels per chunk when computing pixel-to-bin distances (chunk × Q floats at a time).
_CHUNK = 1 << 16


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
    """The ab bin centres that sRGB colours reach.

    A bin is kept when some sRGB colour rounds to it (its ab lies in the bin's cell
    ``[c - grid/2, c + grid/2)²``). The sweep covers only the surface of the RGB cube,
    ``sweep × sweep`` colours per face: the ab projection of the gamut solid equals that of its
    boundary, and a dense surface sweep is far cheaper than a dense volume. With the defaults
    ``Q = 262``, not the paper's 313 (``docs/metrics.md`` says why). Results are cached per
    arguments; a fresh clone is returned.

    Args:
        grid: the grid step in ab units.
        ab_range: bins beyond ``|a|, |b| <= ab_range`` are dropped.
        sweep: colours per edge of each RGB-cube face.

    Returns:
        float32 ``(Q, 2)`` centres (multiples of ``grid``), sorted by ``a`` then ``b``: the order of
        the released ``pts_in_hull.npy``.

    Raises:
        ValueError: unless ``grid > 0``, ``ab_range > 0`` and ``sweep >= 2``.

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
    """The bin nearest (Euclidean in ab) to each pixel.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        bins: bin centres ``(Q, 2)``.

    Returns:
        int64 bin indices ``(B, H, W)`` in ``[0, Q)``.

    Raises:
        ValueError: for an ``ab`` or ``bins`` of the wrong shape.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> nearest_bin(torch.tensor([8.0, 1.0]).view(1, 2, 1, 1), bins).tolist()
        [[[1]]]
    """
    check_image(ab, 2, "ab")
    bins = _check_bins(bins, ab)
    b, _, h, w = ab.shape
    return _nearest(ab, bins, 1)[1].view(b, h, w)


def soft_encode(ab: Tensor, bins: Tensor, k: int, sigma: float = SIGMA) -> Tensor:
    """Soft one-hot targets: each pixel spread over its ``k`` nearest bins.

    The weights are ``exp(-d² / 2σ²)`` over the ``k`` nearest bins, normalised to sum to 1. They are
    computed as a softmax, so pixels far outside the gamut do not underflow to 0/0. Zhang et al. use
    ``k = 5`` in the paper and ``k = 10`` in their training code; ``k = 1`` gives hard one-hot
    targets.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        bins: bin centres ``(Q, 2)``.
        k: how many nearest bins share each pixel, in ``[1, Q]``.
        sigma: the Gaussian width in ab units.

    Returns:
        Targets ``(B, Q, H, W)``, summing to 1 over ``Q``.

    Raises:
        ValueError: for shapes that do not fit, ``k`` outside ``[1, Q]`` or ``sigma <= 0``.

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


# ---------------------------------------------------------------------------------- decoding


def _check_logits(logits: Tensor, bins: Tensor) -> Tensor:
    if logits.ndim != 4:
        raise ValueError(f"logits must have shape (B, Q, H, W); got {tuple(logits.shape)}")
    bins = _check_bins(bins, logits)
    _check_q("logits", logits, bins.shape[0], 1)
    return bins


def decode_expectation(logits: Tensor, bins: Tensor, temperature: float = 1.0) -> Tensor:
    """Decode logits to ab: the expectation of the bin centres under ``softmax(logits / T)``.

    With ``p = softmax(logits)``, ``softmax(log p / T) = softmax(logits / T)``: ``T = 1`` is the
    mean of the predicted distribution, ``T → 0`` its mode (:func:`decode_mode`), and Zhang et al.'s
    annealed mean is ``T = 0.38`` in between.

    Args:
        logits: ``(B, Q, H, W)``.
        bins: bin centres ``(Q, 2)``.
        temperature: ``T > 0``.

    Returns:
        ab ``(B, 2, H, W)`` in Lab units.

    Raises:
        ValueError: for ``T <= 0`` or shapes that do not fit.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> decode_expectation(torch.zeros(1, 2, 1, 1), bins).flatten().tolist()
        [5.0, 0.0]
    """
    T = temperature
    if not T > 0:
        raise ValueError(f"temperature must be > 0 (use decode_mode for T -> 0); got {T}")
    bins = _check_logits(logits, bins)
    probs = torch.softmax(logits / T, dim=1)
    return torch.einsum("bqhw,qc->bchw", probs, bins)


def decode_mode(logits: Tensor, bins: Tensor) -> Tensor:
    """Decode logits to ab: the centre of the most probable bin (the ``T → 0`` limit).

    Args:
        logits: ``(B, Q, H, W)``.
        bins: bin centres ``(Q, 2)``.

    Returns:
        ab ``(B, 2, H, W)`` in Lab units.

    Raises:
        ValueError: for shapes that do not fit.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 20.0]])
        >>> decode_mode(torch.tensor([0.0, 1.0]).view(1, 2, 1, 1), bins).flatten().tolist()
        [10.0, 20.0]
    """
    bins = _check_logits(logits, bins)
    return bins[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()


def decode_sample(logits: Tensor, bins: Tensor, temperature: float = 1.0,
                  generator: torch.Generator | None = None) -> Tensor:
    """Decode logits to ab by drawing one bin per pixel from ``softmax(logits / T)``.

    Each pixel is drawn independently of its neighbours: the "sample" decoding, vivid and speckled.

    Args:
        logits: ``(B, Q, H, W)``.
        bins: bin centres ``(Q, 2)``.
        temperature: ``T > 0``.
        generator: makes the draw repeatable; it must live on the logits' device.

    Returns:
        ab ``(B, 2, H, W)`` in Lab units: each pixel the centre of its drawn bin.

    Raises:
        ValueError: for ``T <= 0`` or shapes that do not fit.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 20.0]])
        >>> logits = torch.tensor([-30.0, 30.0]).view(1, 2, 1, 1)   # all the mass on the second bin
        >>> decode_sample(logits, bins, generator=torch.Generator().manual_seed(0)).flatten().tolist()
        [10.0, 20.0]
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    bins = _check_logits(logits, bins)
    b, q, h, w = logits.shape
    probs = torch.softmax(logits.float() / temperature, dim=1).permute(0, 2, 3, 1).reshape(-1, q)
    idx = torch.multinomial(probs, 1, generator=generator).view(b, h, w)
    return bins[idx].permute(0, 3, 1, 2).contiguous()


# -------------------------------------------------------------------------------------- loss


def soft_cross_entropy(
    logits: Tensor,
    target_dist: Tensor,
    weights: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """The soft cross entropy, averaged over pixels: ``-w · Σ_q target_q · log_softmax(logits)_q``.

    Args:
        logits: ``(B, Q, H, W)``.
        target_dist: target distributions ``(B, Q, H, W)``, e.g. from :func:`soft_encode`.
        weights: per-pixel factors ``(B, 1, H, W)`` or ``(B, H, W)`` (Zhang's rebalancing,
            :func:`colorlab.abgrid.weights.pixel_weights`); the mean is still over pixels, not
            over weights.
        mask: True where a pixel counts: ``(B,)`` per image (e.g. ``~grayscale_mask(ab)``), or
            ``(B, 1, H, W)`` or ``(B, H, W)`` per pixel. The mean is then over the counted pixels,
            and 0 if there are none.

    Returns:
        A scalar tensor.

    Raises:
        ValueError: for shapes that do not fit.

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
    raise ValueError(
        f"{name} must be (B,), (B, H, W) or (B, 1, H, W) with B, H, W = {b}, {h}, {w}; got {tuple(t.shape)}"
    )
