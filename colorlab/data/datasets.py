"""Colourisation datasets: crops of an image set as float32 items in RGB plus Lab or YUV.

Training items are random crops with a random flip, drawn from a seed so that each item is a pure
function of its key; test items are fixed tiles.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from colorlab.color import rgb_to_lab, rgb_to_yuv

from .sources import ImageSet, _prepare, load_images

__all__ = ["ColorDataset", "load_dataset"]


class ColorDataset(Dataset):
    """Colourisation items from an :class:`~colorlab.data.images.ImageSet`.

    For ``"train"`` there is one item per image: a random ``crop x crop`` window plus a random
    horizontal flip. ``ds[(i, aug_seed)]`` draws both from ``torch.Generator().manual_seed(aug_seed)``
    only, so the item is a pure function of the key; ``ds[i]`` draws a seed from torch's global RNG.

    For ``"test"`` the items are fixed tiles: each image's grid of non-overlapping ``crop x crop``
    tiles (centred, row-major), all of them or ``max_tiles`` evenly spaced ones. A lazily decoded
    set gives ``max_tiles or 1`` tiles per image, so ``len`` needs no decoding.

    Args:
        images: the images, uint8 RGB ``(3, H, W)``; smaller ones are upscaled to the crop.
        split: ``"train"`` or ``"test"``.
        crop: the side of each item in pixels.
        space: ``"lab"``, ``"yuv"`` or ``"rgb"``: the colour space the items carry besides RGB.
        max_tiles: at most this many test tiles per image (``None``: all).
        seed: the default seed of :func:`~colorlab.data.sampling.make_loader`.
        context: add each item's whole image, scaled to ``context x context`` (``None``: not).

    Each item is a dict:

    * ``"rgb"``: float32 ``(3, crop, crop)`` in [0, 1];
    * with ``space="lab"``: ``"L"`` ``(1, crop, crop)`` in [0, 100] and ``"ab"`` ``(2, crop, crop)``;
    * with ``space="yuv"``: ``"Y"`` ``(1, crop, crop)`` in [0, 1] and ``"uv"`` ``(2, crop, crop)``;
    * ``"image"``: the index of the source image in ``images``;
    * with ``context``: ``"context"``, the luminance of the whole image (:meth:`context_of`).

    Raises:
        ValueError: for an unknown ``split`` or ``space``, no images, or a bad ``context``.

    Example:
        >>> from colorlab.data import load_images
        >>> ds = ColorDataset(load_images("ambiguous", "test"), "test", crop=32, space="yuv")
        >>> len(ds), sorted(ds[0]), ds[0]["uv"].shape
        (96, ['Y', 'image', 'rgb', 'uv'], torch.Size([2, 32, 32]))
    """

    def __init__(self, images: ImageSet, split: str, *, crop: int = 64, space: str = "lab",
                 max_tiles: int | None = None, seed: int = 0, context: int | None = None) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        if space not in ("lab", "yuv", "rgb"):
            raise ValueError(f"space must be 'lab', 'yuv' or 'rgb'; got {space!r}")
        if len(images) == 0:
            raise ValueError(f"no {split} images in {images.data_path}")
        if context is not None and (isinstance(context, bool) or not isinstance(context, int) or context < 1
                                    or space == "rgb"):
            raise ValueError(f"context must be None or a positive integer, with space 'lab' or 'yuv'; got "
                             f"context={context!r}, space={space!r}")
        self.images, self.split, self.crop, self.space, self.seed = images, split, crop, space, seed
        self.context = context
        self._contexts: dict[int, Tensor] = {}
        self.max_tiles = max_tiles
        self.tiles: list[tuple[int, int, int]] = []  # (image, j, k): tile j of k of the image
        if split == "test":
            for i in range(len(images)):
                if images.in_memory:
                    h, w = self._fetch(i)[1].shape[-2:]
                    k = (h // crop) * (w // crop)
                    k = min(k, max_tiles) if max_tiles else k
                else:
                    k = max_tiles or 1
                self.tiles += [(i, j, k) for j in range(k)]

    @property
    def data_path(self) -> str:
        return self.images.data_path

    def __len__(self) -> int:
        return len(self.images) if self.split == "train" else len(self.tiles)

    def _fetch(self, i: int) -> tuple[int, Tensor]:
        i, img = self.images.fetch(i)
        if min(img.shape[-2:]) < self.crop:  # an ImageSet built with a smaller min_size
            img = _prepare(img, (0.0, 1.0), None, self.crop)
        return i, img

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor | int]:
        index, aug_seed = key if isinstance(key, tuple) else (key, None)
        c = self.crop
        if self.split == "train":
            i, img = self._fetch(int(index))
            if aug_seed is None:
                aug_seed = int(torch.randint(0, 2**62, ()).item())
            g = torch.Generator().manual_seed(int(aug_seed))
            h, w = img.shape[-2:]
            top = int(torch.randint(0, h - c + 1, (), generator=g))
            left = int(torch.randint(0, w - c + 1, (), generator=g))
            patch = img[:, top : top + c, left : left + c]
            if torch.rand((), generator=g) < 0.5:
                patch = patch.flip(-1)
        else:
            i, j, k = self.tiles[index]
            i, img = self._fetch(i)
            h, w = img.shape[-2:]
            nh, nw = h // c, w // c
            t = (j * nh * nw) // k
            top, left = (h - nh * c) // 2 + (t // nw) * c, (w - nw * c) // 2 + (t % nw) * c
            patch = img[:, top : top + c, left : left + c]
        rgb = patch.float().div_(255.0)
        item: dict[str, Tensor | int] = {"rgb": rgb, "image": i}
        if self.context is not None:
            item["context"] = self.context_of(i, img)
        if self.space == "lab":
            L, ab = rgb_to_lab(rgb[None])
            item |= {"L": L[0], "ab": ab[0]}
        elif self.space == "yuv":
            Y, uv = rgb_to_yuv(rgb[None])
            item |= {"Y": Y[0], "uv": uv[0]}
        return item

    def over(self, images: ImageSet) -> ColorDataset:
        """A dataset like this one (split, crop, space, tiles, seed, context) over other ``images``."""
        return ColorDataset(images, self.split, crop=self.crop, space=self.space, max_tiles=self.max_tiles,
                            seed=self.seed, context=self.context)

    def context_of(self, i: int, img: Tensor | None = None) -> Tensor:
        """The luminance of image ``i``, scaled to ``context x context``.

        Args:
            i: the index of the image in ``images``.
            img: the image ``(3, H, W)`` uint8, when it is already decoded.

        Returns:
            ``(1, context, context)`` in the dataset's luminance units (L in [0, 100], or Y in [0, 1]).

        Raises:
            ValueError: if the dataset was built without ``context``.
        """
        if self.context is None:
            raise ValueError("this dataset was built without context=N")
        if i in self._contexts:
            return self._contexts[i]
        if img is None:
            i, img = self._fetch(i)
        small = F.interpolate(img[None].float().div(255.0), size=(self.context, self.context), mode="bilinear",
                              antialias=True, align_corners=False).clamp(0.0, 1.0)
        lum = (rgb_to_lab(small) if self.space == "lab" else rgb_to_yuv(small))[0][0]
        if self.images.in_memory:
            self._contexts[i] = lum
        return lum

    def describe(self) -> dict[str, Any]:
        """What ran: spec, split, data path, split rule, counts and crop settings."""
        im = self.images
        return {"spec": im.spec, "split": self.split, "data_path": im.data_path,
                "split_rule": im.split_rule, "region": list(im.region),
                "fold": list(im.fold) if im.fold is not None else None, "n_images": len(im),
                "n_items": len(self), "crop": self.crop, "image_size": im.image_size,
                "space": self.space, "context": self.context, "in_memory": im.in_memory,
                "names": list(im.names) if len(im) <= 20 else None, "problems": im.problems.counts()}

    def __repr__(self) -> str:
        return f"ColorDataset({self.describe()})"


def load_dataset(spec: str = "samples", split: str = "train", *, crop: int = 64,
                 image_size: int | None = None, space: str = "lab", root: str | os.PathLike | None = None,
                 max_images: int | None = None, seed: int = 0, max_tiles: int | None = None,
                 cache_limit: int = 2000, fold: tuple[int, int] | None = None,
                 context: int | None = None) -> ColorDataset:
    """Load a :class:`ColorDataset` of a data spec and split.

    The images come from :func:`~colorlab.data.sources.load_images` and are upscaled to at least
    ``crop``.

    Args:
        spec: the data spec (:data:`~colorlab.data.sources.SPECS`).
        split: ``"train"`` or ``"test"``.
        crop: the side of each item in pixels.
        image_size: resize each image so its shorter side is this (``None``: as it is).
        space: ``"lab"``, ``"yuv"`` or ``"rgb"``.
        root: where torchvision datasets are kept (``None``: :func:`~colorlab.data.sources.data_root`).
        max_images: keep the first images of the split.
        seed: the dataset's default seed for :func:`~colorlab.data.sampling.make_loader`.
        max_tiles: at most this many test tiles per image.
        cache_limit: a ``folder:`` of at most this many files is decoded into memory.
        fold: ``(i, k)`` holds out fold ``i`` of ``k`` folds of whole photos, where the spec has folds.
        context: add each item's whole image scaled to ``N x N``.

    Returns:
        The dataset.

    Raises:
        ValueError: for a bad split, space or context, or no images; and what
            :func:`~colorlab.data.sources.load_images` raises for the spec.

    Example:
        >>> test = load_dataset("samples", "test", crop=64)
        >>> test.describe()["data_path"], test.describe()["split_rule"]
        ('samples (embedded)', 'region')
    """
    images = load_images(spec, split, root=root, image_size=image_size, min_size=crop,
                         max_images=max_images, cache_limit=cache_limit, fold=fold)
    return ColorDataset(images, split, crop=crop, space=space, max_tiles=max_tiles, seed=seed, context=context)
