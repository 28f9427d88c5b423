"""Larsson et al.'s per-pixel colour histograms: the binned axes, the targets and every decoding.

A network predicts, for every pixel, a histogram (a softmax) over the bins of one or two axes
(§3.2–3.3 of arXiv:1603.06668). These pure functions turn ground truth into bin indices, and
histograms back into colours. A histogram ``p`` is ``(B, K, H, W)``, each pixel's ``K``
probabilities summing to 1; values are ``(B, 1, H, W)``. Hue and chroma are those of Lab. The
axes and the decodings in detail: ``docs/methods/larsson.md``.

Example:
    >>> ax = Axis.gaussian(32)
    >>> ax.index(torch.tensor([-1000.0, -0.5, 0.5, 1000.0]).view(1, 1, 4, 1)).flatten().tolist()
    [0, 15, 16, 31]
    >>> p = torch.zeros(1, 32, 1, 1); p[0, 3] = 1.0
    >>> round(decode_expectation(p, ax).item(), 2) == round(ax.centres[3].item(), 2)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ...color import check_image
from ...errors import check_choice

__all__ = ["LAB_SIGMA", "K_MARGINAL", "K_JOINT", "CHROMA_MAX", "FADING_ETA", "Axis", "gaussian_quantile_edges",
           "hue_chroma", "ab_from_hue_chroma", "one_hot_kl", "decode_sample", "decode_mode", "decode_median",
           "decode_expectation", "hue_expectation", "chromatic_fading", "joint_index", "joint_centres"]

#: σ of the Gaussian whose evenly spaced quantiles bin each Lab axis (Larsson et al. §3.2).
LAB_SIGMA = 25.0
#: Bins per axis of a marginal histogram (Lab a, Lab b, hue, chroma).
K_MARGINAL = 32
#: Bins per axis of the Lab joint histogram (16 × 16 cells).
K_JOINT = 16
#: The largest Lab chroma ``|ab|`` of an sRGB colour (133.8, pure blue), rounded up: chroma's range.
CHROMA_MAX = 134.0
#: η of chromatic fading (Larsson et al. §3.3).
FADING_ETA = 0.03
_KINDS = ("gaussian", "linear", "circular")


@dataclass(frozen=True)
class Axis:
    """One binned axis: ``K`` bins evenly spaced in a unit coordinate ``u ∈ [0, 1]``.

    A bin's value (:attr:`centres`) is the axis value at the middle of its unit interval,
    ``(k + ½) / K``, as in the released code's ``spaced``.

    Args:
        kind: ``gaussian``, ``u = Φ(x / σ)``, a Lab axis at evenly spaced quantiles of N(0, σ²)
            with unbounded end bins; ``linear``, ``u = x / scale`` over ``[0, scale]`` (chroma);
            or ``circular``, ``u = h / 2π`` (hue).
        K: the number of bins, at least 2.
        sigma: σ of a ``gaussian`` axis.
        scale: the top of a ``linear`` axis.

    Raises:
        ValueError: for an unknown kind, ``K < 2``, or ``sigma`` or ``scale`` not above 0.
    """

    kind: str
    K: int
    sigma: float = LAB_SIGMA
    scale: float = CHROMA_MAX

    def __post_init__(self) -> None:
        check_choice("axis kind", self.kind, _KINDS)
        if isinstance(self.K, bool) or not isinstance(self.K, int) or self.K < 2:
            raise ValueError(f"an axis needs K >= 2 bins; got {self.K!r}")
        if not (self.sigma > 0 and self.scale > 0):
            raise ValueError(f"sigma and scale must be > 0; got {self.sigma}, {self.scale}")

    @classmethod
    def gaussian(cls, K: int, sigma: float = LAB_SIGMA) -> Axis:
        """A Lab axis (``a`` or ``b``) binned at evenly spaced quantiles of N(0, σ²)."""
        return cls("gaussian", K, sigma=sigma)

    @classmethod
    def chroma(cls, K: int = K_MARGINAL) -> Axis:
        """The chroma axis, linear over ``[0, CHROMA_MAX]``."""
        return cls("linear", K)

    @classmethod
    def hue(cls, K: int = K_MARGINAL) -> Axis:
        """The hue axis, circular over ``[0, 2π)``."""
        return cls("circular", K)

    def to_unit(self, x: Tensor) -> Tensor:
        """Return the unit coordinate ``u`` of values ``x``, in ``[0, 1]`` (hue wrapped)."""
        if self.kind == "gaussian":
            return torch.special.ndtr(x / self.sigma)
        if self.kind == "linear":
            return (x / self.scale).clamp(0.0, 1.0)
        return torch.remainder(x, 2 * math.pi) / (2 * math.pi)

    def from_unit(self, u: Tensor) -> Tensor:
        """Return the axis values of unit coordinates ``u`` in ``[0, 1]``; the inverse of :meth:`to_unit`."""
        if self.kind == "gaussian":
            eps = torch.finfo(u.dtype).eps
            return self.sigma * torch.special.ndtri(u.clamp(eps, 1.0 - eps))
        return u * (self.scale if self.kind == "linear" else 2 * math.pi)

    def index(self, x: Tensor) -> Tensor:
        """Return the bin of each value, ``floor(u · K)``, with the top edge in the last bin.

        Args:
            x: values ``(B, 1, H, W)`` in axis units.

        Returns:
            Bin indices ``(B, 1, H, W)``, int64 in ``[0, K)``.
        """
        return (self.to_unit(x.float()) * self.K).floor().long().clamp(0, self.K - 1)

    @property
    def centres(self) -> Tensor:
        """``(K,)`` float32: each bin's value at the middle of its unit interval."""
        return self.from_unit((torch.arange(self.K, dtype=torch.float64) + 0.5) / self.K).float()

    @property
    def edges(self) -> Tensor:
        """``(K + 1,)`` float64 bin edges in axis units (``±inf`` at a Gaussian axis's ends)."""
        if self.kind == "gaussian":
            return gaussian_quantile_edges(self.K, self.sigma)
        return self.from_unit(torch.linspace(0.0, 1.0, self.K + 1, dtype=torch.float64))


def gaussian_quantile_edges(K: int, sigma: float = LAB_SIGMA) -> Tensor:
    """Return the edges of ``K`` bins at evenly spaced quantiles of N(0, σ²).

    Each bin holds ``1/K`` of the Gaussian's mass.

    Args:
        K: the number of bins, at least 2.
        sigma: σ, in axis units.

    Returns:
        ``(K + 1,)`` float64: ``σ Φ⁻¹(k / K)`` for ``k = 0 … K``, ``-inf`` and ``inf`` at the ends.

    Raises:
        ValueError: for ``K < 2``.

    Example:
        >>> [round(e, 3) for e in gaussian_quantile_edges(4, 25.0).tolist()]
        [-inf, -16.862, 0.0, 16.862, inf]
    """
    if K < 2:
        raise ValueError(f"need K >= 2; got {K}")
    return sigma * torch.special.ndtri(torch.arange(K + 1, dtype=torch.float64) / K)


def hue_chroma(ab: Tensor) -> tuple[Tensor, Tensor]:
    """Return Lab's polar coordinates: hue and chroma.

    Args:
        ab: ``(B, 2, H, W)`` in ab units.

    Returns:
        ``(hue, chroma)``, each ``(B, 1, H, W)``: hue ``atan2(b, a)`` in ``[0, 2π)``, chroma ``|ab|``.

    Raises:
        ValueError: for an input that is not ``(B, 2, H, W)``.

    Example:
        >>> h, c = hue_chroma(torch.tensor([0.0, -3.0]).view(1, 2, 1, 1))
        >>> round(h.item(), 4), c.item()
        (4.7124, 3.0)
    """
    check_image(ab, 2, "ab")
    a, b = ab[:, :1], ab[:, 1:]
    return torch.remainder(torch.atan2(b, a), 2 * math.pi), torch.sqrt(a * a + b * b)


def ab_from_hue_chroma(hue: Tensor, chroma: Tensor) -> Tensor:
    """Return ``ab = C (cos h, sin h)`` from hue and chroma.

    Args:
        hue: hue ``(B, 1, H, W)`` in radians.
        chroma: chroma ``(B, 1, H, W)``.

    Returns:
        ``ab`` ``(B, 2, H, W)``.

    Example:
        >>> ab_from_hue_chroma(torch.zeros(1, 1, 1, 1), torch.full((1, 1, 1, 1), 3.0)).flatten().tolist()
        [3.0, 0.0]
    """
    return torch.cat([chroma * torch.cos(hue), chroma * torch.sin(hue)], 1)


def one_hot_kl(logits: Tensor, index: Tensor) -> Tensor:
    """Compute the per-pixel ``KL(y ‖ softmax(logits))`` for one-hot ground truth ``y``.

    With ``y`` one-hot (the paper's ``R = 1``), ``Σ y log y = 0`` and the KL is ``-log p[index]``.

    Args:
        logits: ``(B, K, ...)``.
        index: the true bin ``(B, 1, ...)``, int64.

    Returns:
        ``(B, ...)``, float32.

    Example:
        >>> logits = torch.tensor([[0.0, 50.0]]).view(1, 2, 1)
        >>> one_hot_kl(logits, torch.tensor([[[1]]])).item() < 1e-6
        True
    """
    return -F.log_softmax(logits.float(), dim=1).gather(1, index).squeeze(1)


def _check_hist(p: Tensor, axis_k: int) -> None:
    if p.ndim != 4 or p.shape[1] != axis_k:
        raise ValueError(f"a histogram must be (B, K={axis_k}, H, W); got {tuple(p.shape)}")


def decode_sample(p: Tensor, axis: Axis, generator: torch.Generator | None = None) -> Tensor:
    """Decode a histogram by drawing a bin per pixel, independently: vivid and speckled.

    Args:
        p: a histogram ``(B, K, H, W)``.
        axis: its axis.
        generator: a generator on ``p``'s device, to make the draw repeatable.

    Returns:
        The drawn bins' centres ``(B, 1, H, W)``.

    Raises:
        ValueError: when ``p`` is not ``(B, K, H, W)`` with the axis's ``K``.
    """
    _check_hist(p, axis.K)
    b, k, h, w = p.shape
    flat = p.float().permute(0, 2, 3, 1).reshape(-1, k).clamp_min(0)
    idx = torch.multinomial(flat, 1, generator=generator).view(b, 1, h, w)
    return axis.centres.to(p.device)[idx]


def decode_mode(p: Tensor, axis: Axis) -> Tensor:
    """Decode a histogram by its mode: the centre of the most probable bin, ``(B, 1, H, W)``.

    Raises:
        ValueError: when ``p`` is not ``(B, K, H, W)`` with the axis's ``K``.
    """
    _check_hist(p, axis.K)
    return axis.centres.to(p.device)[p.argmax(1, keepdim=True)]


def decode_median(p: Tensor, axis: Axis, interpolate: bool = True) -> Tensor:
    """Decode a histogram by its median, where the cumulative histogram reaches ½.

    The median is linearly interpolated inside the bin that crosses ½, in the unit coordinate, so
    an unbounded Gaussian end bin has a finite median. It is undefined on a circle: hue takes
    :func:`hue_expectation`.

    Args:
        p: a histogram ``(B, K, H, W)``.
        axis: its axis, not circular.
        interpolate: ``False`` gives the centre of the crossing bin (the released code's ``median``).

    Returns:
        ``(B, 1, H, W)`` in axis units.

    Raises:
        ValueError: for a circular axis, or when ``p`` does not fit it.

    Example:
        >>> ax = Axis("linear", 2, scale=1.0)
        >>> hists = ([0.5, 0.5], [0.25, 0.75])
        >>> [round(decode_median(torch.tensor(q).view(1, 2, 1, 1), ax).item(), 4) for q in hists]
        [0.5, 0.6667]
        >>> decode_median(torch.tensor([0.25, 0.75]).view(1, 2, 1, 1), ax, interpolate=False).item()
        0.75
    """
    _check_hist(p, axis.K)
    if axis.kind == "circular":
        raise ValueError("the median of a circular histogram (hue) is undefined; use hue_expectation")
    p = p.float()
    cdf = p.cumsum(1)
    k = (cdf < 0.5).sum(1, keepdim=True).clamp(max=axis.K - 1)  # the first bin whose cdf reaches 1/2
    if not interpolate:
        return axis.from_unit((k.float() + 0.5) / axis.K)
    below = cdf.gather(1, k) - p.gather(1, k)  # mass before that bin
    inside = ((0.5 - below) / p.gather(1, k).clamp_min(1e-12)).clamp(0.0, 1.0)
    return axis.from_unit((k.float() + inside) / axis.K)


def decode_expectation(p: Tensor, axis: Axis) -> Tensor:
    """Decode a histogram by its expectation, ``Σ_k p_k · centre_k``, ``(B, 1, H, W)``.

    Raises:
        ValueError: for a circular axis (hue takes :func:`hue_expectation`), or when ``p`` does not fit it.
    """
    _check_hist(p, axis.K)
    if axis.kind == "circular":
        raise ValueError("the expectation of hue is the complex one: use hue_expectation")
    return torch.einsum("bkhw,k->bhw", p.float(), axis.centres.to(p.device)).unsqueeze(1)


def hue_expectation(p: Tensor, axis: Axis | None = None) -> tuple[Tensor, Tensor]:
    """Decode a hue histogram by its complex expectation ``z = Σ_k p_k e^{iθ_k}``.

    θ_k are the bins' centres. ``z`` averages unit vectors, so mass on either side of the 0/2π wrap
    averages to the wrap, not to π.

    Args:
        p: a hue histogram ``(B, K, H, W)``.
        axis: its circular axis; ``None`` takes :meth:`Axis.hue` with ``p``'s ``K``.

    Returns:
        ``(hue, certainty)``, each ``(B, 1, H, W)``: ``arg z`` in ``[0, 2π)`` and ``|z|`` in ``[0, 1]``.

    Raises:
        ValueError: for an axis that is not circular, or when ``p`` does not fit it.

    Example:
        >>> p = torch.zeros(1, 4, 1, 1); p[0, 0] = p[0, 3] = 0.5          # bins centred at 45° and 315°
        >>> h, r = hue_expectation(p)
        >>> round(math.degrees(h.item()) % 360, 3) in (0.0, 360.0), round(r.item(), 4)
        (True, 0.7071)
    """
    axis = axis or Axis.hue(p.shape[1])
    _check_hist(p, axis.K)
    if axis.kind != "circular":
        raise ValueError(f"hue_expectation needs a circular axis; got {axis.kind!r}")
    theta = axis.centres.to(p.device)  # float32: MPS has no float64
    re = torch.einsum("bkhw,k->bhw", p.float(), torch.cos(theta)).unsqueeze(1)
    im = torch.einsum("bkhw,k->bhw", p.float(), torch.sin(theta)).unsqueeze(1)
    return torch.remainder(torch.atan2(im, re), 2 * math.pi), torch.sqrt(re * re + im * im)


def chromatic_fading(chroma: Tensor, certainty: Tensor, eta: float = FADING_ETA) -> Tensor:
    """Fade chroma where the hue is uncertain: scale it by ``min(|z| / η, 1)``.

    The chroma is faded where the hue's complex expectation is short (its histogram spread around
    the circle) and untouched where ``|z| >= η``. This is the paper's form; the released code's
    divides ``|z|`` by ``K`` first (``docs/methods/larsson.md``).

    Args:
        chroma: chroma, any shape.
        certainty: ``|z|`` of :func:`hue_expectation`, the same shape.
        eta: η, ``> 0``.

    Returns:
        The faded chroma.

    Raises:
        ValueError: for ``eta <= 0``.

    Example:
        >>> chromatic_fading(torch.tensor([40.0, 40.0]), torch.tensor([0.015, 0.5])).tolist()
        [20.0, 40.0]
    """
    if not eta > 0:
        raise ValueError(f"eta must be > 0; got {eta}")
    return chroma * (certainty / eta).clamp(max=1.0)


def joint_index(ab: Tensor, axis: Axis) -> Tensor:
    """Return the joint cell of each pixel, ``K · index(a) + index(b)``, of ``K²`` cells.

    Args:
        ab: ``(B, 2, H, W)`` in ab units.
        axis: the axis of both ``a`` and ``b``.

    Returns:
        ``(B, 1, H, W)``, int64.

    Example:
        >>> joint_index(torch.tensor([-1000.0, 1000.0]).view(1, 2, 1, 1), Axis.gaussian(16)).item()
        15
    """
    check_image(ab, 2, "ab")
    return axis.index(ab[:, :1]) * axis.K + axis.index(ab[:, 1:])


def joint_centres(axis: Axis) -> Tensor:
    """Return the ab centre of every joint cell ``(K², 2)``, in the order of :func:`joint_index`."""
    c = axis.centres
    return torch.stack(torch.meshgrid(c, c, indexing="ij"), -1).reshape(-1, 2)
