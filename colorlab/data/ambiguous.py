"""``ambiguous``: a generated positive control where the right answer is known.

Each image is a grid of textured squares. A square's texture tells its kind, but its colour is
bluish or yellowish at random, and the two colours have the same L* and the same luma Y', so no
input can tell them apart. L2 regression must then predict their average (nearly gray), and a
classifier's mode one of them: the mechanism source 000 describes. ``docs/data.md`` describes
the images and how the colours are chosen.

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
    """Two 8-bit sRGB colours of opposite chroma whose L* and luma Y' agree.

    The bluish colour is the gray of L* ``lstar`` plus ``step`` along the blue-yellow axis. The
    yellowish one is the gray minus it, corrected by Newton's method until both luminances match;
    then the 8-bit neighbour that matches best is taken. Results are cached.

    Args:
        lstar: the CIE L* of the gray the two colours lie around, in [0, 100].
        step: how far each colour lies from that gray, in sRGB units of [0, 1].

    Returns:
        ``(bluish, yellowish)``, each an ``(r, g, b)`` tuple of ints in [0, 255].

    Raises:
        ValueError: if the bluish colour leaves the sRGB gamut.

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
    """Draw ``n`` images of the positive control from ``seed``.

    Image ``k`` comes from its own generator stream, so the first images are the same whatever
    ``n`` is, and streams of different seeds never meet.

    Args:
        n: how many images, at least 1.
        seed: the seed of the stream; the train split uses :data:`SEED`, the test split ``SEED + 1``.
        side: the side of each image in pixels, at least one cell (16).
        mode_prob: the probability of a square's first (bluish) colour, in [0, 1].

    Returns:
        uint8 RGB images ``(n, 3, side, side)`` in [0, 255].

    Raises:
        ValueError: if ``n``, ``side`` or ``mode_prob`` is out of range.

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
    """The ``ambiguous`` images of a split, as an :class:`~colorlab.data.images.ImageSet`.

    Args:
        split: ``"train"`` (:data:`N_TRAIN` images from :data:`SEED`), ``"test"`` (:data:`N_TEST`
            images from ``SEED + 1``) or ``None`` (both).
        n: how many images to take per split instead of the default count.
        image_size: resize each image so its shorter side is this; ``None`` keeps 64.
        min_size: upscale each image so its shorter side is at least this.

    Returns:
        The images, uint8 RGB ``(3, H, W)``, with split rule ``"generated"``.

    Raises:
        ValueError: if ``split`` is not ``"train"``, ``"test"`` or ``None``.

    Example:
        >>> load_ambiguous("test", n=3).names
        ['ambiguous-test-000', 'ambiguous-test-001', 'ambiguous-test-002']
    """
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
