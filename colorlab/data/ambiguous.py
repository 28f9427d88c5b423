"""``ambiguous``: a generated positive control where the right answer is known.

Each image is a grid of textured squares separated by thin neutral gray lines. A square's *kind*
fixes its luminance texture (horizontal stripes or a checkerboard, each at its own two
luminances), and its colour is drawn, independently for every square, from two colours of
opposite chroma (bluish or yellowish) that have *the same luminance in every input a method can
see*: the same CIE L* (Lab methods) and the same BT.601 luma Y' (YUV methods and
:func:`colorlab.color.rgb_to_gray`), to within a fraction of one 8-bit level (:func:`palette`).
The first colour is drawn with probability :data:`MODE_PROB`. The input therefore says which
kind a square is but nothing about which colour it has, so:

* the L2 regression optimum is the conditional mean, ``p * c1 + (1 - p) * c2``: with
  ``p = 0.5`` a square's predicted chroma is nearly zero, desaturated, whatever the network;
* the mode of a classifier's per-pixel distribution is one of the true colours, chroma ratio 1.

This is the mechanism source 000 describes (regression averages the modes and desaturates,
classification keeps a true colour); a method that does not show it here cannot show it on
photographs either. The images are drawn with torch's generator, image ``k`` of seed ``s`` from
its own stream, so every install produces the same pixels and the first images do not depend on
how many are drawn; train and test come from disjoint streams.

Example:
    >>> train = load_ambiguous("train", n=4)
    >>> test = load_ambiguous("test", n=2)
    >>> len(train), train[0].shape, train[0].dtype, test.names[0], test.split_rule
    (4, torch.Size([3, 64, 64]), torch.uint8, 'ambiguous-test-000', 'generated')
    >>> bool((load_ambiguous("train", n=1)[0] == train[0]).all())  # the same pixels every time
    True
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import Tensor

from ..color import rgb_to_lab
from .images import DataProblems, ImageSet, _prepare

__all__ = ["SIDE", "N_TRAIN", "N_TEST", "SEED", "KINDS", "MODE_PROB", "palette", "generate", "load_ambiguous"]

#: Bumped whenever the generated pixels change, so checkpoints keyed by the data never mix versions.
VERSION = 1
#: Side of every generated image, in pixels.
SIDE = 64
#: Images in the train and test splits.
N_TRAIN, N_TEST = 96, 24
#: Seed of the train split; the test split uses ``SEED + 1`` (disjoint streams).
SEED = 0
#: Per kind: the CIE L* of its light and dark texture stripes.
KINDS = {"stripes": (66.0, 52.0), "checks": (72.0, 58.0)}
#: How far (in sRGB, 0..1) each colour lies from the gray of its luminance, along :data:`_AXIS`.
STEP = 0.25
#: Probability of a square's first (bluish) colour; 0.5 makes the two colours equally likely.
MODE_PROB = 0.5
#: Luminance (L*) of the gray lines and their per-pixel noise in 8-bit levels.
BACKGROUND_L, BACKGROUND_NOISE = 45.0, 6.0
#: The squares sit on a grid of cells this many pixels apart, separated by gray lines this wide.
CELL, BORDER = 16, 2
#: Period of the luminance textures, in pixels.
PERIOD = 4
#: Seeds ``seed * _STREAM + k`` draw image ``k``; streams of different seeds never meet below this many images.
_STREAM = 1_000_003
#: BT.601 luma weights (on gamma-encoded RGB, as kornia's YUV and grayscale) and the linear-light
#: luminance weights L* follows; the only RGB direction along which neither changes (to first
#: order) is their cross product, a blue-yellow axis.
_LUMA = np.array([0.299, 0.587, 0.114])
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
_AXIS = np.cross(_LUMA, _LUMINANCE) / np.linalg.norm(np.cross(_LUMA, _LUMINANCE))


def _lstar(rgb: np.ndarray) -> np.ndarray:
    """L* of sRGB colours ``(n, 3)`` in [0, 1]."""
    x = torch.as_tensor(rgb, dtype=torch.float32).T.reshape(1, 3, -1, 1)
    return rgb_to_lab(x)[0].reshape(-1).double().numpy()


def _gray(lstar: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _lstar(np.full((1, 3), mid))[0] < lstar else (lo, mid)
    return mid


@cache
def palette(lstar: float, step: float = STEP) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Two 8-bit sRGB colours of opposite chroma around the gray of L* ``lstar`` (bluish first)
    whose L* and luma Y' agree as closely as 8-bit values allow.

    The bluish colour is the gray plus ``step`` along the blue-yellow axis; the yellowish one,
    the gray minus it, corrected in the two luminance directions by Newton's method until both
    luminances match, then the 8-bit neighbour that matches best is taken.

    Example:
        >>> blue, yellow = palette(60.0)
        >>> rgb = np.array([blue, yellow]) / 255
        >>> bool(abs(np.diff(_lstar(rgb))[0]) < 0.1), bool(abs(np.diff(rgb @ _LUMA)[0]) * 255 < 0.3)
        (True, True)
    """
    m = np.full(3, _gray(lstar))
    c1 = np.round((m + step * _AXIS) * 255) / 255
    target = np.array([_lstar(c1[None])[0], c1 @ _LUMA])

    def miss(c: np.ndarray) -> np.ndarray:
        return np.array([_lstar(c[None])[0], c @ _LUMA]) - target

    basis = np.stack([_LUMA, _LUMINANCE], 1)
    c2 = m - step * _AXIS
    for _ in range(8):
        jac = np.stack([(miss(c2 + 1e-4 * basis[:, j]) - miss(c2)) / 1e-4 for j in range(2)], 1)
        c2 = c2 - basis @ np.linalg.solve(jac, miss(c2))
    base = np.round(c2 * 255)
    offsets = np.stack(np.meshgrid(*[np.arange(-2, 3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    cands = np.clip(base + offsets, 0, 255) / 255
    err = np.abs(_lstar(cands) - target[0]) / 0.1 + np.abs(cands @ _LUMA - target[1]) * 255 / 0.3
    best = cands[int(np.argmin(err))]
    if np.any(c1 < 0) or np.any(c1 > 1):
        raise ValueError(f"ambiguous: L* {lstar} with step {step} leaves the sRGB gamut")
    as_int = lambda c: tuple(int(v) for v in np.round(c * 255))  # noqa: E731
    return as_int(c1), as_int(best)


def _texture(kind: str, side: int) -> Tensor:
    """``True`` where the light stripes of ``kind`` are, ``(side, side)``."""
    i = torch.arange(side) // (PERIOD // 2)
    if kind == "stripes":
        return (i % 2 == 0)[:, None].expand(side, side)
    return (i[:, None] + i[None, :]) % 2 == 0


def generate(n: int, seed: int, side: int = SIDE, mode_prob: float = MODE_PROB) -> Tensor:
    """``n`` images as uint8 RGB ``(n, 3, side, side)``, drawn from ``seed``.

    Example:
        >>> imgs = generate(2, seed=0, side=32)
        >>> imgs.shape, imgs.dtype
        (torch.Size([2, 3, 32, 32]), torch.uint8)
    """
    if n < 1 or n >= _STREAM or side < CELL:
        raise ValueError(f"ambiguous: need n >= 1 and side >= {CELL}; got n={n}, side={side}")
    if not 0.0 <= mode_prob <= 1.0:
        raise ValueError(f"ambiguous: mode_prob must be in [0, 1]; got {mode_prob}")
    gray = round(_gray(BACKGROUND_L) * 255)
    colours = {kind: [palette(level) for level in levels] for kind, levels in KINDS.items()}
    out = torch.empty(n, 3, side, side, dtype=torch.uint8)
    kinds = list(KINDS)
    inner = CELL - BORDER
    for k in range(n):  # image k has its own stream: the first images are the same whatever n is
        g = torch.Generator().manual_seed(seed * _STREAM + k)
        noise = BACKGROUND_NOISE * torch.randn(1, side, side, generator=g)
        img = (gray + noise).round().clamp(0, 255).expand(3, side, side).clone()
        for y in range(0, side - inner + 1, CELL):
            for x in range(0, side - inner + 1, CELL):
                kind = kinds[int(torch.randint(len(kinds), (1,), generator=g))]
                which = 0 if bool(torch.rand(1, generator=g) < mode_prob) else 1
                light, dark = (torch.tensor(colours[kind][level][which], dtype=torch.float32) for level in (0, 1))
                on = _texture(kind, inner)
                img[:, y:y + inner, x:x + inner] = torch.where(on, light[:, None, None], dark[:, None, None])
        out[k] = img.to(torch.uint8)
    return out


def load_ambiguous(split: str | None, n: int | None = None, image_size: int | None = None,
                   min_size: int = 1) -> ImageSet:
    """The ``ambiguous`` images of ``split`` (``"train"``: :data:`N_TRAIN` from :data:`SEED`,
    ``"test"``: :data:`N_TEST` from ``SEED + 1``, ``None``: both), ``n`` to take fewer or more,
    resized to a shorter side of ``image_size`` and at least ``min_size``."""
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None; got {split!r}")
    parts = [("train", N_TRAIN, SEED), ("test", N_TEST, SEED + 1)]
    names, images = [], []
    for name, count, seed in parts:
        if split not in (None, name):
            continue
        imgs = generate(n if n is not None else count, seed)
        names += [f"ambiguous-{name}-{i:03d}" for i in range(len(imgs))]
        images += [_prepare(img, (0.0, 1.0), image_size, min_size) for img in imgs]
    return ImageSet("ambiguous", split, names, f"ambiguous (generated v{VERSION}, seed {SEED})", "generated",
                    (0.0, 1.0), images=images, image_size=image_size, min_size=min_size, problems=DataProblems())
