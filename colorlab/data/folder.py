"""``folder:PATH``: any directory tree of images, whole files held out for testing.

The folder is listed, checked and split here. Whole files are held out by a hash of their path,
and what was left out on the way (unreadable files, grayscale images, images smaller than the
crop) is collected in :class:`~colorlab.data.images.DataProblems`. ``docs/data.md`` gives the
rules.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for k in range(5):
    ...         Image.new("RGB", (40, 30), (40 * k, 90, 0)).save(f"{d}/{k}.png")
    ...     Image.new("L", (40, 30), 128).save(f"{d}/gray.png")
    ...     train = load_folder(d, "train", None, 16)
    >>> list(train.names), train.problems.grayscale
    (['0.png', '1.png', '3.png', '4.png'], ['gray.png'])
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from .. import progress
from ..color import grayscale_mask, rgb_to_lab
from .decode import load_image, photo_suffixes, walk_folder
from .images import NAMED, TRAIN_FRACTION, DataProblems, ImageSet, _prepare

__all__ = ["TEST_FRACTION", "MIN_SIDE", "load_folder", "check_folder"]

#: Hold-out rule of ``folder:``: the share of files whose path hash sends them to test.
TEST_FRACTION = 0.1
#: Pillow modes with no colour: such files are grayscale whatever their pixels.
_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
#: :func:`check_folder` looks at most this many files for one that opens.
_CHECK_FILES = 20
#: Up to this many files a folder's headers are all read before training (the rest are found
#: unreadable lazily, when a batch meets them).
HEADER_LIMIT = 200_000
#: A photo needs at least this many pixels on each side to be split by region (the fallback of a folder with
#: one colour photo: its columns are cut in two).
MIN_SIDE = 2


def _list_folder(root: Path) -> tuple[list[Path], list[str], str]:
    """Image files under ``root`` (:func:`~colorlab.data.decode.walk_folder`: sorted by relative path, hidden
    ones skipped, links inside followed, each real file once), their names, and the links left out, in words."""
    if not root.exists():
        raise FileNotFoundError(f"folder:{root}: no such file or directory")
    if root.is_file():
        return [root], [root.name], ""
    walk = walk_folder(root, photo_suffixes())
    if not walk.names:
        raise ValueError(f"folder:{root}: no image files (extensions Pillow reads) found"
                         + (f"; {walk.note()}" if walk.left_out else ""))
    return [root / n for n in walk.names], walk.names, walk.note()


def _unusable(root: Path, total: int, grayscale: Sequence[str], small: Sequence[tuple[str, int, int]],
              unreadable: Sequence[tuple[str, str]]) -> str:
    """Why a folder has too few usable colour photos, in one line naming the files of each kind."""
    def named(items: Sequence[str]) -> str:
        more = f", and {len(items) - NAMED} more" if len(items) > NAMED else ""
        return f"{len(items)} ({', '.join(items[:NAMED])}{more})"

    kinds = [("too small", [f"{n} {h}x{w}" for n, h, w in small]), ("grayscale", list(grayscale)),
             ("unreadable", [f"{n}: {why}" for n, why in unreadable])]
    found = "; ".join(f"{what}: {named(items)}" for what, items in kinds if items)
    return (f"folder:{root}: a folder needs at least two usable colour photos, or one at least {MIN_SIDE}x{MIN_SIDE} "
            f"pixels to split by region; of its {total} image file{'s' * (total != 1)}, {found}")


def _hash01(name: str) -> float:
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big") / 2.0**64


def _holdout(names: Sequence[str]) -> set[int]:
    """Indices of the test images: hash < TEST_FRACTION, at least one test and one train."""
    h = [_hash01(n) for n in names]
    order = sorted(range(len(h)), key=h.__getitem__)
    test = {i for i in order if h[i] < TEST_FRACTION} or {order[0]}
    return test - {order[-1]} if len(test) == len(h) else test


def _header(path: Path) -> tuple[int, int, str] | str:
    """``(height, width, mode)`` from the file's header, or why it cannot be opened."""
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0], img.mode
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, ...
        return f"{type(e).__name__}: {e}"


def _is_gray(img: Tensor) -> bool:
    """No pixel of a uint8 ``(3, H, W)`` image has colour (the loss's and the prior's test)."""
    return bool(grayscale_mask(rgb_to_lab(img[None].float().div(255.0))[1])[0])


def _load_path(files: Sequence[Path], i: int) -> Tensor:
    return load_image(files[i])


def load_folder(path: str, split: str | None, image_size: int | None, min_size: int, *,
                cache_limit: int = 2000, cache_bytes: int = 2**31, colour_only: bool = True) -> ImageSet:
    """Load the images of ``folder:path`` for a split.

    Every image file under ``path`` (recursive, hidden files skipped; symbolic links followed inside
    the folder, each real file once: :func:`~colorlab.data.decode.walk_folder`) is listed in sorted
    order. A file is a test image when a SHA-1 hash of its relative path falls in the lowest
    :data:`TEST_FRACTION`, with at least one test and one train image when two or more are
    readable; a single image is split by region instead (it needs :data:`MIN_SIDE` pixels a side).
    A folder of at most ``cache_limit`` files (and under ``cache_bytes`` of pixels when
    ``image_size`` is not set) is decoded once into memory; a larger one is decoded lazily, after
    its headers are checked (up to :data:`HEADER_LIMIT` files). The problems found, and the links
    left out, are in one warning; the problems also in ``.problems``.

    Args:
        path: the folder (or a single image file).
        split: ``"train"``, ``"test"`` or ``None`` (all images).
        image_size: resize each image so its shorter side is this (``None``: as it is).
        min_size: upscale each image so its shorter side is at least this.
        cache_limit: the most files decoded into memory.
        cache_bytes: the most bytes of pixels decoded into memory when ``image_size`` is not set.
        colour_only: leave grayscale images out.

    Returns:
        The images, uint8 RGB ``(3, H, W)``, with split rule ``"holdout"`` (or ``"region"`` for a
        single image, ``"none"`` without a split).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the folder holds no image file, no readable colour image, or a single one too
            small to split.
    """
    root = Path(path).expanduser()
    files, rel, links = _list_folder(root)
    problems = DataProblems()
    sizes: dict[int, tuple[int, int]] = {}
    decoded: dict[int, Tensor] = {}
    first = torch.empty(0)
    in_memory = False
    good = list(range(len(files)))
    if len(files) <= max(cache_limit, HEADER_LIMIT):
        # without image_size, or above cache_limit, the headers are read (no decoding) to see
        # whether the folder fits in memory and which files are unreadable, grayscale or small
        heads = None if image_size and len(files) <= cache_limit else [_header(f) for f in files]
        in_memory = len(files) <= cache_limit and (
            heads is None or 3 * sum(h[0] * h[1] for h in heads if isinstance(h, tuple)) <= cache_bytes)
        good = []
        for i, f in enumerate(files):
            if in_memory:  # kept at image_size; full size only the first, for the region fallback
                try:
                    img = load_image(f)
                except OSError as e:
                    problems.unreadable.append((rel[i], str(e).split(": ", 1)[-1]))
                    continue
                prepared = _prepare(img, (0.0, 1.0), image_size, 1)
                gray, (h, w) = colour_only and _is_gray(prepared), tuple(img.shape[-2:])  # original size
            else:
                head = heads[i]
                if isinstance(head, str):
                    problems.unreadable.append((rel[i], head))
                    continue
                h, w, mode = head
                gray = colour_only and mode in _GRAY_MODES
            if gray:
                problems.grayscale.append(rel[i])
                continue
            sizes[i] = h, w
            if min(h, w) < min_size:
                problems.small.append((rel[i], h, w))
            if in_memory:
                first = img if not decoded else first
                decoded[i] = prepared
            good.append(i)
    if problems or links:
        warnings.warn(f"folder:{root}: " + "; ".join(x for x in (problems.summary(len(files)), links) if x),
                      stacklevel=3)
    if not good:
        raise ValueError(f"folder:{root}: none of the {len(files)} image files is a readable colour image "
                         f"({problems.summary(len(files))})")
    if split is not None and len(good) == 1 and min(sizes.get(good[0], (MIN_SIDE, MIN_SIDE))) < MIN_SIDE:
        raise ValueError(_unusable(root, len(files), problems.grayscale,
                                   [(rel[good[0]], *sizes[good[0]])], problems.unreadable))
    region, rule = (0.0, 1.0), "none"
    if split is not None and len(good) == 1:
        region, rule = ((0.0, TRAIN_FRACTION) if split == "train" else (TRAIN_FRACTION, 1.0)), "region"
    elif split is not None:
        test = {good[k] for k in _holdout([rel[i] for i in good])}
        good = [i for i in good if (i in test) == (split == "test")]
        rule = "holdout"
    kw: dict[str, Any] = dict(region=region, image_size=image_size, min_size=min_size, problems=problems)
    names, data_path = [rel[i] for i in good], f"folder:{root}"
    if in_memory:
        if rule == "region":
            imgs = [_prepare(first, region, image_size, min_size)]
        else:
            imgs = [_prepare(decoded.pop(i), region, None, min_size) for i in good]
        return ImageSet(f"folder:{path}", split, names, data_path, rule, images=imgs, **kw)
    load = partial(_load_path, [files[i] for i in good])
    return ImageSet(f"folder:{path}", split, names, data_path, rule, load=load, **kw)


def check_folder(path: str | os.PathLike, cwd: str | os.PathLike | None = None, *, colour: bool = True) -> Path:
    """Check an image folder before any work starts, and make its path absolute.

    The folder must exist and hold image files, one of its first 20 files must open, and it must hold
    at least two colour photos, or one of at least :data:`MIN_SIDE` pixels on each side. This is quick:
    it lists the folder (:func:`~colorlab.data.decode.walk_folder`) and reads headers, and decodes
    nothing. Headers are read until that many colour photos are found (from the image mode: ``L``,
    ``LA``, ``I``, ``I;16``, ``1`` and the like are grayscale), at most :data:`HEADER_LIMIT`. Links
    leading out of the folder are skipped and said on stderr.

    Args:
        path: the folder; a relative path is taken from ``cwd``.
        cwd: the directory relative paths start from (``None``: the current directory).
        colour: whether the folder is for colour training and testing; ``False`` (photos to
            colourise, a gallery of old ones): only that image files are there and open.

    Returns:
        The absolute, resolved path.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: if the path is empty, the folder holds no image file that opens, or too few usable
            colour photos (naming the grayscale, too small and unreadable files).

    Example:
        >>> check_folder("/nonexistent/photos")
        Traceback (most recent call last):
        ...
        FileNotFoundError: folder:/nonexistent/photos: no such file or directory
    """
    if not str(path).strip():
        raise ValueError("folder: needs a path, as in folder:data/photos")
    root = Path(path).expanduser()
    if not root.is_absolute():
        root = Path(cwd or os.getcwd()) / root
    root = root.resolve()
    files, rel, links = _list_folder(root)
    if links:
        progress.say(f"folder:{root}: {links}", warning=True)
    gray: list[str] = []
    small: list[tuple[str, int, int]] = []
    unreadable: list[tuple[str, str]] = []
    for i, f in enumerate(files[:HEADER_LIMIT]):
        head = _header(f)
        if isinstance(head, str):
            unreadable.append((rel[i], head))
            if len(unreadable) == i + 1 == min(_CHECK_FILES, len(files)):  # none of the first opens
                raise ValueError(f"folder:{root}: none of the first {len(unreadable)} of its {len(files)} image "
                                 f"files opens (first: {Path(unreadable[0][0]).name}: {unreadable[0][1]})")
        elif not colour:
            return root
        elif head[2] in _GRAY_MODES:
            gray.append(rel[i])
        elif min(head[:2]) < MIN_SIDE and not small:  # one tiny colour photo: usable with another
            small.append((rel[i], *head[:2]))
        else:
            return root
    if len(files) > HEADER_LIMIT:
        return root  # too many to read every header here: the notebook finds the rest as it loads them
    raise ValueError(_unusable(root, len(files), gray, small, unreadable))
