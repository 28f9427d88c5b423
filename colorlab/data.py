"""Image sources, leak-free train/test splits and reproducible colourisation batches.

Images are uint8 RGB tensors ``(3, H, W)``; dataset items are dicts of float32 crops.
Sources (the ``spec`` strings, see :data:`SPECS`):

* ``"samples"`` (default, offline): eight natural colour photos shipped inside installed
  wheels: scikit-image's astronaut, coffee, chelsea, rocket and motorcycle (the left view of
  the stereo pair, shipped in the wheel, no download), scikit-learn's china and flower and
  matplotlib's grace_hopper. Split by region: train = the left three quarters of every photo,
  test = the right quarter.
* ``"historical"`` (offline): real grayscale photographs from scikit-image (camera, coins,
  moon, page, text, clock) as RGB with the channel replicated; no colour ground truth.
* ``"folder:PATH"``: every file under PATH (recursive, hidden files skipped) with an extension
  Pillow can open, in sorted order. Whole images are held out: a file is a test image when a
  SHA-1 hash of its relative path falls in the lowest 10%, with at least one test and one
  train image when there are two or more readable images; a single image is split by region.
* ``"stl10"``, ``"places365"`` (small, 256x256), ``"cifar10"``, ``"flowers102"``: torchvision
  datasets under ``root``, downloaded when missing; train/test map to the dataset's own splits
  (stl10 train/test, places365 train-standard/val, cifar10 train/test, flowers102 train/test).

The region is cut in the original pixel grid and only then resized (``image_size``) or
upscaled (to at least ``crop``), so resampling never mixes train and test pixels.

Example:
    >>> ds = load_dataset("samples", "train", crop=64)
    >>> item = ds[(0, 1234)]                     # (image index, augmentation seed): pure
    >>> item["rgb"].shape, item["L"].shape, item["ab"].shape
    (torch.Size([3, 64, 64]), torch.Size([1, 64, 64]), torch.Size([2, 64, 64]))
    >>> batch = next(iter(make_loader(ds, 16, train=True, start_step=100)))
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from colorlab.color import rgb_to_lab, rgb_to_yuv

__all__ = [
    "SPECS", "TRAIN_FRACTION", "TEST_FRACTION", "ImageSet", "ColorDataset", "StepBatchSampler",
    "pil_to_tensor", "load_image", "load_images", "load_dataset", "make_loader", "to_device",
]

#: Spec strings accepted by :func:`load_images` (``folder:PATH`` takes any path).
SPECS = ("samples", "historical", "folder:PATH", "stl10", "places365", "cifar10", "flowers102")
#: Region rule: train gets columns ``[0, int(W * TRAIN_FRACTION))``, test the rest.
TRAIN_FRACTION = 0.75
#: Hold-out rule of ``folder:``: the share of files whose path hash sends them to test.
TEST_FRACTION = 0.1

_SKIMAGE = {"astronaut": "astronaut.png", "coffee": "coffee.png", "chelsea": "chelsea.png",
            "rocket": "rocket.jpg", "motorcycle": "motorcycle_left.png"}
_HISTORICAL = {"camera": "camera.png", "coins": "coins.png", "moon": "moon.png",
               "page": "page.png", "text": "text.png", "clock": "clock_motion.png"}
# name -> (torchvision class, host probed before downloading, split kwargs for train/test)
_TORCHVISION = {
    "stl10": ("STL10", "ai.stanford.edu", 80, {"train": {"split": "train"}, "test": {"split": "test"}}),
    "cifar10": ("CIFAR10", "www.cs.toronto.edu", 443, {"train": {"train": True}, "test": {"train": False}}),
    "flowers102": ("Flowers102", "www.robots.ox.ac.uk", 443, {"train": {"split": "train"}, "test": {"split": "test"}}),
    "places365": ("Places365", "data.csail.mit.edu", 80,
                  {"train": {"split": "train-standard", "small": True}, "test": {"split": "val", "small": True}}),
}
_HIGH_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


# ----------------------------------------------------------------------------- decoding
def pil_to_tensor(img: Image.Image) -> Tensor:
    """Any Pillow image to uint8 RGB ``(3, H, W)``.

    EXIF orientation is applied; transparency (LA, RGBA, PA, palette with a transparent
    index) is composited over white; grayscale is replicated to three channels; CMYK, YCbCr
    and the like go through Pillow's conversion. 16-bit and 32-bit integer images (``I;16*``,
    ``I``) are scaled by ``255 / 65535`` (the full range is kept, not clipped at 255; ``I``
    above 65535 is scaled by its maximum); float images (``F``) are taken as ``[0, 1]`` when
    they fit, else as ``[0, 255]`` or 16-bit by their maximum.

    Example:
        >>> pil_to_tensor(Image.new("I;16", (2, 1), 65535))[:, 0, 0].tolist()
        [255, 255, 255]
    """
    img = ImageOps.exif_transpose(img)
    if img.mode in _HIGH_BIT:
        a = np.asarray(img, dtype=np.float64)
        top = float(a.max(initial=0.0))
        if img.mode == "F":
            scale = 255.0 if top <= 1.0 else (1.0 if top <= 255.0 else 255.0 / max(top, 65535.0))
        else:
            scale = 255.0 / max(top, 65535.0)
        a = np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
        return torch.from_numpy(a).unsqueeze(0).expand(3, -1, -1).contiguous()
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("L", "1") and "transparency" in img.info:
        img = img.convert("LA")
    if img.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    if img.mode != "RGB":
        img = img.convert("RGB")
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def load_image(path: str | os.PathLike) -> Tensor:
    """Fully decode an image file to uint8 RGB ``(3, H, W)`` (see :func:`pil_to_tensor`).

    Raises ``OSError`` naming the file when it cannot be opened or decoded, truncated files
    included (Pillow is made to decode every byte; truncation is never tolerated).

    Example:
        >>> load_image("photo.jpg").shape  # doctest: +SKIP
        torch.Size([3, 480, 640])
    """
    try:
        with Image.open(path) as img:
            img.load()
            return pil_to_tensor(img)
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, ...
        raise OSError(f"cannot read image {os.fspath(path)!r}: {type(e).__name__}: {e}") from e


def _resize(img: Tensor, size: tuple[int, int]) -> Tensor:
    """Antialiased bilinear resize of a uint8 ``(3, H, W)`` image to ``size = (h, w)``."""
    if tuple(img.shape[-2:]) == size:
        return img
    out = F.interpolate(img[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)


def _prepare(img: Tensor, region: tuple[float, float], image_size: int | None, min_size: int) -> Tensor:
    """Cut the column ``region`` (fractions of W) from the original pixels, scale it by the
    factor that gives the whole image a shorter side of ``image_size``, then upscale it so its
    shorter side is at least ``min_size``."""
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


# ----------------------------------------------------------------------------- image sets
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


class ImageSet(Sequence[Tensor]):
    """The images of one source and split: ``images[i]`` is uint8 ``(3, h, w)``, already cut
    to the split's region, resized to ``image_size`` and upscaled to at least ``min_size``.

    Either in memory (``in_memory``; decoded once at load) or decoded lazily by ``load(i)``;
    lazily, a file that fails is replaced by the next good one (:meth:`fetch`), counted in
    ``failed`` and warned about once per process.

    Attributes: ``spec``, ``split`` (``None``: whole images), ``names``, ``data_path``,
    ``split_rule`` (``"region"``, ``"holdout"``, ``"torchvision"``, ``"none"``), ``region``.
    """

    def __init__(self, spec: str, split: str | None, names: Sequence[str], data_path: str,
                 split_rule: str, region: tuple[float, float] = (0.0, 1.0), *,
                 images: list[Tensor] | None = None, load: Callable[[int], Tensor] | None = None,
                 image_size: int | None = None, min_size: int = 1) -> None:
        if (images is None) == (load is None):
            raise ValueError("give exactly one of images and load")
        self.spec, self.split, self.names, self.data_path = spec, split, names, data_path
        self.split_rule, self.region = split_rule, region
        self.image_size, self.min_size = image_size, min_size
        self._images, self._load = images, load
        self.failed: set[int] = set()
        self._warned = False

    @property
    def in_memory(self) -> bool:
        return self._images is not None

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):  # type: ignore[override]
        return self.fetch(i)[1]

    def fetch(self, i: int) -> tuple[int, Tensor]:
        """``(j, image)``: image ``i``, or when it cannot be decoded the next good ``j``."""
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
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"{e}; replaced by the next readable image (further failures "
                                  f"are counted in ImageSet.failed, not warned)", stacklevel=2)
        raise RuntimeError(f"no readable image left in {self.data_path}")

    def __repr__(self) -> str:
        return (f"ImageSet({self.data_path!r}, split={self.split!r}, n={len(self)}, "
                f"rule={self.split_rule!r}, in_memory={self.in_memory})")


def _embedded(spec: str) -> dict[str, Path]:
    """Paths of the offline photos of ``samples`` / ``historical`` that exist on this install."""
    def package_dir(name: str) -> Path:  # located without importing the package
        spec_ = importlib.util.find_spec(name)
        if spec_ is None or not spec_.submodule_search_locations:
            return Path("/nonexistent") / name
        return Path(list(spec_.submodule_search_locations)[0])

    sk = package_dir("skimage") / "data"
    if spec == "historical":
        paths = {k: sk / v for k, v in _HISTORICAL.items()}
    else:
        paths = {k: sk / v for k, v in _SKIMAGE.items()}
        sl = package_dir("sklearn") / "datasets" / "images"
        paths |= {"china": sl / "china.jpg", "flower": sl / "flower.jpg"}
        paths["grace_hopper"] = package_dir("matplotlib") / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    missing = [k for k, p in paths.items() if not p.is_file()]
    if missing:
        warnings.warn(f"{spec}: not shipped in the installed wheels, left out: {missing}", stacklevel=3)
    return {k: p for k, p in paths.items() if k not in missing}


def _list_folder(root: Path) -> list[Path]:
    """Image files under ``root`` (recursive, sorted by relative path, hidden ones skipped)."""
    if not root.exists():
        raise FileNotFoundError(f"folder:{root}: no such file or directory")
    if root.is_file():
        return [root]
    exts = {e.lower() for e, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    out = []
    for d, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        out += [Path(d, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in exts]
    if not out:
        raise ValueError(f"folder:{root}: no image files (extensions Pillow reads) found")
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def _hash01(name: str) -> float:
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big") / 2.0**64


def _holdout(names: Sequence[str]) -> set[int]:
    """Indices of the test images: hash < TEST_FRACTION, at least one test and one train."""
    h = [_hash01(n) for n in names]
    order = sorted(range(len(h)), key=h.__getitem__)
    test = {i for i in order if h[i] < TEST_FRACTION} or {order[0]}
    return test - {order[-1]} if len(test) == len(h) else test


def _header_pixels(path: Path) -> int | None:
    try:
        with Image.open(path) as img:
            return img.size[0] * img.size[1]
    except Exception:
        return None


def _load_folder(path: str, split: str | None, image_size: int | None, min_size: int,
                 cache_limit: int, cache_bytes: int) -> ImageSet:
    root = Path(path).expanduser()
    files = _list_folder(root)
    rel = [f.relative_to(root).as_posix() if f != root else f.name for f in files]
    decoded: dict[int, Tensor] = {}
    first = torch.empty(0)
    bad: list[str] = []
    in_memory = False
    if len(files) <= cache_limit:  # without image_size, headers tell whether it fits in memory
        px = None if image_size else [_header_pixels(f) for f in files]
        in_memory = px is None or 3 * sum(p or 0 for p in px) <= cache_bytes
        if in_memory:  # kept at image_size; full size only the first, for the region fallback
            for i, f in enumerate(files):
                try:
                    img = load_image(f)
                except OSError as e:
                    bad.append(str(e))
                    continue
                first = img if not decoded else first
                decoded[i] = _prepare(img, (0.0, 1.0), image_size, 1)
            good = sorted(decoded)
        else:
            assert px is not None
            good = [i for i, p in enumerate(px) if p is not None]
            bad = [f"cannot read image {str(files[i])!r}" for i, p in enumerate(px) if p is None]
    else:
        good = list(range(len(files)))
    if bad:
        warnings.warn(f"skipped {len(bad)} of {len(files)} unreadable images in folder:{root} "
                      f"(first: {bad[0]})", stacklevel=3)
    if not good:
        raise ValueError(f"folder:{root}: none of the {len(files)} image files is readable")
    region, rule = (0.0, 1.0), "none"
    if split is not None and len(good) == 1:
        region, rule = ((0.0, TRAIN_FRACTION) if split == "train" else (TRAIN_FRACTION, 1.0)), "region"
    elif split is not None:
        test = {good[k] for k in _holdout([rel[i] for i in good])}
        good = [i for i in good if (i in test) == (split == "test")]
        rule = "holdout"
    kw: dict[str, Any] = dict(region=region, image_size=image_size, min_size=min_size)
    names, data_path = [rel[i] for i in good], f"folder:{root}"
    if in_memory:
        if rule == "region":
            imgs = [_prepare(first, region, image_size, min_size)]
        else:
            imgs = [_prepare(decoded.pop(i), region, None, min_size) for i in good]
        return ImageSet(f"folder:{path}", split, names, data_path, rule, images=imgs, **kw)
    load = partial(_load_path, [files[i] for i in good])
    return ImageSet(f"folder:{path}", split, names, data_path, rule, load=load, **kw)


def _load_path(files: Sequence[Path], i: int) -> Tensor:
    return load_image(files[i])


def _tv_load(ds: Any, i: int) -> Tensor:
    x = ds[i][0]
    if isinstance(x, (str, os.PathLike)):
        return load_image(x)
    return pil_to_tensor(x)


def _keep_path(p: str) -> str:
    return p


def _reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    """TCP connect to ``host:port``; DNS included, bounded by ``timeout`` (a daemon thread)."""
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(ok)


def _load_torchvision(name: str, split: str, root: str) -> tuple[Any, str]:
    """The torchvision dataset ``name`` for ``split``: the copy under ``root`` if present,
    else a download; offline this fails within seconds with a RuntimeError."""
    import torchvision.datasets as tvd

    cls_name, host, port, splits = _TORCHVISION[name]
    cls = getattr(tvd, cls_name)
    kw = dict(splits[split])
    base = os.path.join(root, "places365") if name == "places365" else root
    if name == "places365":
        kw["loader"] = _keep_path
    try:
        ds = cls(base, download=False, **kw)
        if name != "places365" or os.path.isdir(ds.images_dir):
            return ds, "cached"
    except (RuntimeError, OSError):
        pass
    hint = (f"cannot download torchvision dataset {name!r} into {base!r}: {host} is not "
            f"reachable (offline?). Use --data folder:PATH (your own images) or --data samples "
            f"(offline photos) instead, or place the dataset under {base!r}.")
    if not _reachable(host, port):
        raise RuntimeError(hint)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30.0)
    try:
        os.makedirs(base, exist_ok=True)
        return cls(base, download=True, **kw), "downloaded"
    except Exception as e:
        raise RuntimeError(f"{hint} ({type(e).__name__}: {e})") from e
    finally:
        socket.setdefaulttimeout(old)


def load_images(spec: str = "samples", split: str | None = None, *, root: str | os.PathLike = "data",
                image_size: int | None = None, min_size: int = 1, max_images: int | None = None,
                cache_limit: int = 2000, cache_bytes: int = 2**31) -> ImageSet:
    """Load the images of ``spec`` for ``split`` (``"train"``, ``"test"`` or ``None``: whole
    images, all of them; torchvision sets default to train). See the module docstring.

    ``image_size`` scales each image so its shorter side is ``image_size`` (antialiased) and
    ``min_size`` upscales any image or region whose shorter side is smaller; ``max_images``
    keeps the first images of the split. A ``folder:`` with at most ``cache_limit`` files (and
    under ``cache_bytes`` of pixels when ``image_size`` is not set) is decoded once and kept in
    memory, a larger one is decoded lazily. Raises ``FileNotFoundError``/``ValueError`` for a
    missing or empty folder, ``KeyError`` for an unknown spec, ``RuntimeError`` when a
    torchvision set is neither under ``root`` nor downloadable.

    Example:
        >>> imgs = load_images("samples", "test")
        >>> imgs.names[0], imgs[0].dtype, imgs.split_rule
        ('astronaut', torch.uint8, 'region')
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None; got {split!r}")
    key = spec.strip()
    kw: dict[str, Any] = dict(image_size=image_size, min_size=min_size)
    if key.lower().startswith("folder:"):
        imgs = _load_folder(key[len("folder:"):], split, image_size, min_size, cache_limit, cache_bytes)
    elif key.lower() in ("samples", "historical"):
        key = key.lower()
        paths = list(_embedded(key).items())[:max_images]
        region, rule = (0.0, 1.0), "none"
        if split is not None:
            region, rule = ((0.0, TRAIN_FRACTION) if split == "train" else (TRAIN_FRACTION, 1.0)), "region"
        images = [_prepare(load_image(p), region, image_size, min_size) for _, p in paths]
        return ImageSet(key, split, [k for k, _ in paths], f"{key} (embedded)", rule, region,
                        images=images, **kw)
    elif key.lower() in _TORCHVISION:
        key = key.lower()
        ds, how = _load_torchvision(key, split or "train", os.fspath(root))
        n = len(ds) if max_images is None else min(len(ds), max_images)
        return ImageSet(key, split, _Names(f"{key}/{split or 'train'}", n), f"torchvision:{key} ({how})",
                        "torchvision", load=partial(_tv_load, ds), **kw)
    else:
        raise KeyError(f"unknown data spec {spec!r}; known: {', '.join(SPECS)}")
    if max_images is not None and max_images < len(imgs):
        imgs.names = list(imgs.names[:max_images])
        if imgs._images is not None:
            imgs._images = imgs._images[:max_images]
    return imgs


# ----------------------------------------------------------------------------- datasets
class ColorDataset(Dataset):
    """Colourisation items from an :class:`ImageSet`.

    train: one item per image: a random ``crop x crop`` window plus a random horizontal flip.
    ``ds[(i, aug_seed)]`` draws both from ``torch.Generator().manual_seed(aug_seed)`` only, so
    the item is a pure function of the key; ``ds[i]`` draws a seed from torch's global RNG.

    test: fixed tiles: each image's grid of non-overlapping ``crop x crop`` tiles (centred,
    row-major), all of them or ``max_tiles`` evenly spaced ones; a lazily decoded set gives
    ``max_tiles or 1`` tiles per image (so ``len`` needs no decoding).

    Items: ``"rgb"`` float32 ``(3, crop, crop)`` in ``[0, 1]``; with ``space="lab"`` also
    ``"L"`` ``(1, crop, crop)`` in ``[0, 100]`` and ``"ab"`` ``(2, crop, crop)``; with ``"yuv"``
    ``"Y"`` in ``[0, 1]`` and ``"uv"``; ``"rgb"`` alone with ``space="rgb"``; and ``"image"``,
    the index of the source image in ``images``.
    """

    def __init__(self, images: ImageSet, split: str, *, crop: int = 64, space: str = "lab",
                 max_tiles: int | None = None, seed: int = 0) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        if space not in ("lab", "yuv", "rgb"):
            raise ValueError(f"space must be 'lab', 'yuv' or 'rgb'; got {space!r}")
        if len(images) == 0:
            raise ValueError(f"no {split} images in {images.data_path}")
        self.images, self.split, self.crop, self.space, self.seed = images, split, crop, space, seed
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
        if self.space == "lab":
            L, ab = rgb_to_lab(rgb[None])
            item |= {"L": L[0], "ab": ab[0]}
        elif self.space == "yuv":
            Y, uv = rgb_to_yuv(rgb[None])
            item |= {"Y": Y[0], "uv": uv[0]}
        return item

    def describe(self) -> dict[str, Any]:
        """What ran: spec, split, data path, split rule, counts and crop settings."""
        im = self.images
        return {"spec": im.spec, "split": self.split, "data_path": im.data_path,
                "split_rule": im.split_rule, "region": list(im.region), "n_images": len(im),
                "n_items": len(self), "crop": self.crop, "image_size": im.image_size,
                "space": self.space, "in_memory": im.in_memory,
                "names": list(im.names) if len(im) <= 20 else None}

    def __repr__(self) -> str:
        return f"ColorDataset({self.describe()})"


def load_dataset(spec: str = "samples", split: str = "train", *, crop: int = 64,
                 image_size: int | None = None, space: str = "lab", root: str | os.PathLike = "data",
                 max_images: int | None = None, seed: int = 0, max_tiles: int | None = None,
                 cache_limit: int = 2000) -> ColorDataset:
    """A :class:`ColorDataset` over ``load_images(spec, split, ...)`` with images upscaled to
    at least ``crop``. ``seed`` is the dataset's default seed for :func:`make_loader`.

    Example:
        >>> test = load_dataset("samples", "test", crop=64)
        >>> test.describe()["data_path"], test.describe()["split_rule"]
        ('samples (embedded)', 'region')
    """
    images = load_images(spec, split, root=root, image_size=image_size, min_size=crop,
                         max_images=max_images, cache_limit=cache_limit)
    return ColorDataset(images, split, crop=crop, space=space, max_tiles=max_tiles, seed=seed)


# ----------------------------------------------------------------------------- batching
def _mix(*xs: int) -> int:
    """A 62-bit hash of integers (splitmix64 chain), stable across runs and platforms."""
    z = 0x9E3779B97F4A7C15
    for x in xs:
        z = (z ^ (x & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
    return z >> 2


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Infinite batches of ``(index, aug_seed)`` keys; the batch of step ``s`` is a pure function
    of ``(seed, s)``, so starting at ``start_step=k`` resumes a run exactly at step ``k``.

    Items are drawn without replacement through a fresh permutation per epoch (epoch ``e``
    permutes with seed ``mix(seed, e)``); batches run on across epoch ends.

    Example:
        >>> a = StepBatchSampler(10, 4, seed=0)
        >>> b = StepBatchSampler(10, 4, seed=0, start_step=3)
        >>> it = iter(a); _ = [next(it) for _ in range(3)]
        >>> next(it) == next(iter(b))
        True
    """

    def __init__(self, n_items: int, batch_size: int, seed: int = 0, start_step: int = 0) -> None:
        if n_items < 1 or batch_size < 1 or start_step < 0:
            raise ValueError(f"need n_items, batch_size >= 1 and start_step >= 0; got "
                             f"{n_items}, {batch_size}, {start_step}")
        self.n_items, self.batch_size, self.seed, self.start_step = n_items, batch_size, seed, start_step
        self._perm: tuple[int, list[int]] = (-1, [])

    def _order(self, epoch: int) -> list[int]:
        if self._perm[0] != epoch:
            g = torch.Generator().manual_seed(_mix(self.seed, epoch))
            self._perm = (epoch, torch.randperm(self.n_items, generator=g).tolist())
        return self._perm[1]

    def batch(self, step: int) -> list[tuple[int, int]]:
        """The keys of step ``step`` (0-based)."""
        out = []
        for pos in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, k = divmod(pos, self.n_items)
            out.append((self._order(epoch)[k], _mix(self.seed, 1, step, pos)))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield self.batch(step)
            step += 1


def make_loader(dataset: ColorDataset, batch_size: int, *, train: bool, seed: int | None = None,
                start_step: int = 0, num_workers: int | None = None,
                device: str | torch.device | None = None) -> DataLoader:
    """A DataLoader: infinite :class:`StepBatchSampler` batches for ``train`` (``seed``
    defaults to ``dataset.seed``), else one sequential pass. ``num_workers`` defaults to 0 for
    in-memory images, else ``min(4, cpus - 1)``; memory is pinned only for a CUDA ``device``
    (``None``: when CUDA is available).

    Example:
        >>> batch = next(iter(make_loader(load_dataset(), 8, train=True)))
        >>> batch["rgb"].shape
        torch.Size([8, 3, 64, 64])
    """
    if num_workers is None:
        num_workers = 0 if dataset.images.in_memory else min(4, max(1, (os.cpu_count() or 1) - 1))
    cuda = torch.device(device).type == "cuda" if device is not None else torch.cuda.is_available()
    kw: dict[str, Any] = dict(num_workers=num_workers, pin_memory=cuda and torch.cuda.is_available(),
                              persistent_workers=num_workers > 0)
    if train:
        sampler = StepBatchSampler(len(dataset), batch_size, dataset.seed if seed is None else seed, start_step)
        return DataLoader(dataset, batch_sampler=sampler, **kw)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, **kw)


def to_device(batch: Any, device: str | torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device`` with ``non_blocking=True``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch
