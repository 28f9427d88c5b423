"""Image sets: the prepared images of one source and split, and what the source left out.

An :class:`ImageSet` holds images already cut to the split's region, resized and upscaled to the
crop, in memory or decoded lazily. :class:`DataProblems` lists the files that were skipped, left
out or changed, and :func:`fold_of` deals photos into folds.

Example:
    >>> import torch
    >>> imgs = ImageSet("demo", None, ["a"], "demo", "none", images=[torch.zeros(3, 4, 6, dtype=torch.uint8)])
    >>> len(imgs), imgs[0].shape, bool(imgs.problems)
    (1, torch.Size([3, 4, 6]), False)
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from .decode import _resize

__all__ = ["TRAIN_FRACTION", "DataProblems", "ImageSet", "fold_of"]

#: Region rule: train gets columns ``[0, int(W * TRAIN_FRACTION))``, test the rest.
TRAIN_FRACTION = 0.75
#: How many files of each kind a problem report names (the counts are always complete).
NAMED = 3


def _prepare(img: Tensor, region: tuple[float, float], image_size: int | None, min_size: int) -> Tensor:
    """Cut a column region from the original pixels, then resize and upscale it.

    The region is scaled by the factor that gives the whole image a shorter side of
    ``image_size``, then upscaled so its shorter side is at least ``min_size``. uint8
    ``(3, H, W)`` in, uint8 ``(3, h, w)`` out.

    Example:
        >>> import torch   # the train region of a 40x100 image: 75 columns, halved, then upscaled to 32
        >>> _prepare(torch.zeros(3, 40, 100, dtype=torch.uint8), (0.0, TRAIN_FRACTION), 20, 32).shape
        torch.Size([3, 32, 61])
    """
    H, W = img.shape[-2:]
    if region != (0.0, 1.0):
        if W < 2:
            raise ValueError(f"an image {W} pixel wide cannot be split by region")
        cut = min(max(int(W * TRAIN_FRACTION), 1), W - 1)
        img = img[..., :cut] if region[0] == 0.0 else img[..., cut:]
    s = image_size / min(H, W) if image_size else 1.0
    h, w = max(1, round(H * s)), max(1, round(img.shape[-1] * s))
    if min(h, w) < min_size:
        t = min_size / min(h, w)
        h, w = max(min_size, round(h * t)), max(min_size, round(w * t))
    return _resize(img, (h, w))


def fold_of(names: Sequence[str], folds: int) -> list[int]:
    """Deal names into folds of nearly equal size.

    The names are ordered by a SHA-1 hash of the name, then dealt round-robin. Fold sizes differ
    by at most one, and the folds depend only on the names and ``folds``, not on the order the
    names come in.

    Args:
        names: the photos' names.
        folds: the number of folds, at least 2.

    Returns:
        The fold (``0 .. folds - 1``) of each name, in the order of ``names``.

    Raises:
        ValueError: if ``folds`` is not an integer >= 2, or there are fewer names than folds.

    Example:
        >>> fold_of(["a", "b", "c", "d", "e"], 2)
        [1, 0, 0, 0, 1]
        >>> fold_of(["a"], 2)
        Traceback (most recent call last):
        ...
        ValueError: 2 folds need at least 2 photos; got 1
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2; got {folds!r}")
    if len(names) < folds:
        raise ValueError(f"{folds} folds need at least {folds} photos; got {len(names)}")
    order = sorted(range(len(names)), key=lambda j: hashlib.sha1(str(names[j]).encode()).hexdigest())
    out = [0] * len(names)
    for rank, j in enumerate(order):
        out[j] = rank % folds
    return out


class _Names(Sequence[str]):
    """Names ``prefix/0``, ``prefix/1``, ... without storing them (torchvision sets)."""

    def __init__(self, prefix: str, n: int) -> None:
        self.prefix, self.n = prefix, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [f"{self.prefix}/{j}" for j in range(self.n)[i]]
        return f"{self.prefix}/{range(self.n)[i]}"


@dataclass
class DataProblems:
    """What a source left out or changed, file by file.

    Args:
        unreadable: files skipped, each with the reason: ``(name, why)``.
        grayscale: images left out of a colour set: no pixel with ``|a|`` or ``|b|`` above
            :data:`colorlab.color.GRAY_THRESHOLD`.
        small: images whose shorter side was below the crop and that were upscaled:
            ``(name, height, width)`` before upscaling.

    Example:
        >>> p = DataProblems(unreadable=[("x.jpg", "truncated")], small=[("t.png", 1, 1)])
        >>> p.summary(12)
        '1 of 12 files unreadable, skipped (x.jpg: truncated); 1 image smaller than the crop, upscaled (t.png 1x1)'
    """

    unreadable: list[tuple[str, str]] = field(default_factory=list)
    grayscale: list[str] = field(default_factory=list)
    small: list[tuple[str, int, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unreadable or self.grayscale or self.small)

    def counts(self) -> dict[str, int]:
        """How many files of each kind: ``{"unreadable": n, "grayscale": n, "small": n}``."""
        return {"unreadable": len(self.unreadable), "grayscale": len(self.grayscale), "small": len(self.small)}

    def summary(self, total: int | None = None) -> str:
        """Say in one line what was left out, naming the first :data:`NAMED` files of each kind.

        Args:
            total: the number of files looked at, to say "n of total" (``None``: not said).

        Returns:
            The line, or ``""`` when there is nothing.
        """
        def named(items: list[str]) -> str:
            more = f", and {len(items) - NAMED} more" if len(items) > NAMED else ""
            return "(" + ", ".join(items[:NAMED]) + more + ")"

        parts = []
        if self.unreadable:
            of = f" of {total}" if total is not None else ""
            parts.append(f"{len(self.unreadable)}{of} files unreadable, skipped "
                         + named([f"{n}: {why}" for n, why in self.unreadable]))
        if self.grayscale:
            n = len(self.grayscale)
            parts.append(f"{n} grayscale image{'s' * (n != 1)} left out of colour training and testing "
                         + named(self.grayscale))
        if self.small:
            n = len(self.small)
            parts.append(f"{n} image{'s' * (n != 1)} smaller than the crop, upscaled "
                         + named([f"{name} {h}x{w}" for name, h, w in self.small]))
        return "; ".join(parts)

    def as_dict(self, limit: int = 50) -> dict[str, Any]:
        """The counts and the first ``limit`` files of each kind, for ``metrics.json``.

        Args:
            limit: the most files listed per kind.

        Returns:
            ``{"counts": ..., "unreadable": [...], "grayscale": [...], "small": [...]}``.
        """
        return {"counts": self.counts(),
                "unreadable": [{"file": n, "why": w} for n, w in self.unreadable[:limit]],
                "grayscale": self.grayscale[:limit],
                "small": [{"file": n, "height": h, "width": w} for n, h, w in self.small[:limit]]}


class ImageSet(Sequence[Tensor]):
    """The images of one source and split, prepared for the crops.

    ``images[i]`` is uint8 RGB ``(3, h, w)``, already cut to the split's region, resized to
    ``image_size`` and upscaled to at least ``min_size``. The images are either in memory
    (decoded once at load) or decoded lazily by ``load(i)``. Lazily, a file that fails is replaced
    by the next good one (:meth:`fetch`), counted in ``failed``, recorded in ``problems`` and
    warned about once per process.

    Args:
        spec: the data spec the images come from.
        split: ``"train"``, ``"test"`` or ``None`` (whole images).
        names: each image's name.
        data_path: where the images come from, in words.
        split_rule: ``"region"``, ``"folds"``, ``"holdout"``, ``"generated"``, ``"torchvision"`` or
            ``"none"``.
        region: the column fractions of each image this split keeps.
        images: the prepared images, in memory; give this or ``load``.
        load: a function that decodes image ``i`` (uint8 ``(3, H, W)``, not yet prepared).
        image_size: the shorter side each image is resized to (``None``: as it is).
        min_size: the shorter side each image is upscaled to at least.
        problems: what the source left out (:class:`DataProblems`).

    Besides these, ``fold`` is ``(i, k)`` for a split by folds (else ``None``) and ``failed`` holds
    the indices of the lazily decoded files that failed.

    Raises:
        ValueError: unless exactly one of ``images`` and ``load`` is given.
    """

    def __init__(self, spec: str, split: str | None, names: Sequence[str], data_path: str,
                 split_rule: str, region: tuple[float, float] = (0.0, 1.0), *,
                 images: list[Tensor] | None = None, load: Callable[[int], Tensor] | None = None,
                 image_size: int | None = None, min_size: int = 1, problems: DataProblems | None = None) -> None:
        if (images is None) == (load is None):
            raise ValueError("give exactly one of images and load")
        self.spec, self.split, self.names, self.data_path = spec, split, names, data_path
        self.split_rule, self.region = split_rule, region
        self.image_size, self.min_size = image_size, min_size
        self._images, self._load = images, load
        self.failed: set[int] = set()
        self.problems = problems if problems is not None else DataProblems()
        self.fold: tuple[int, int] | None = None  # (i, k): fold i of k, for a split by folds
        self._warned = False

    @property
    def in_memory(self) -> bool:
        """Whether the images are held in memory (else they are decoded lazily)."""
        return self._images is not None

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):  # type: ignore[override]
        return self.fetch(i)[1]

    def fetch(self, i: int) -> tuple[int, Tensor]:
        """Get image ``i``, or the next good one when it cannot be decoded.

        Args:
            i: the index of the image.

        Returns:
            ``(j, image)``: the index of the image returned and the image, uint8 ``(3, h, w)``.

        Raises:
            IndexError: if ``i`` is out of range.
            RuntimeError: if no readable image is left.
        """
        if self._images is not None:
            return i, self._images[i]
        assert self._load is not None
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"image index {i} out of range for {n} images")
        i %= n
        for k in range(n):
            j = (i + k) % n
            if j in self.failed:
                continue
            try:
                img = self._load(j)
                return j, _prepare(img, self.region, self.image_size, self.min_size)
            except OSError as e:
                self.failed.add(j)
                self.problems.unreadable.append((str(self.names[j]), str(e)))
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"{e}; replaced by the next readable image (further failures "
                                  f"are counted in ImageSet.failed, not warned)", stacklevel=2)
        raise RuntimeError(f"no readable image left in {self.data_path}")

    def __repr__(self) -> str:
        return (f"ImageSet({self.data_path!r}, split={self.split!r}, n={len(self)}, "
                f"rule={self.split_rule!r}, in_memory={self.in_memory})")
