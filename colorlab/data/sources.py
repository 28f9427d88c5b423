"""Image sources and their leak-free train/test split rules.

:func:`load_images` turns a spec string (see :data:`SPECS`) into an :class:`ImageSet` of uint8
RGB ``(3, h, w)`` images cut to the split: the embedded ``samples``/``historical`` photos split
by region (:data:`TRAIN_FRACTION` of the columns for train), ``folder:PATH`` files held out
whole by a hash of their relative path (:data:`TEST_FRACTION`), and torchvision datasets by
their own splits (a copy under ``root`` or a download that fails fast when offline).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import threading
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from .decode import _resize, load_image, pil_to_tensor

__all__ = ["SPECS", "TRAIN_FRACTION", "TEST_FRACTION", "ImageSet", "load_images"]

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


def _prepare(img: Tensor, region: tuple[float, float], image_size: int | None, min_size: int) -> Tensor:
    """Cut the column ``region`` (fractions of W) from the original pixels, scale it by the
    factor that gives the whole image a shorter side of ``image_size``, then upscale it so its
    shorter side is at least ``min_size``; uint8 ``(3, H, W)`` in, uint8 ``(3, h, w)`` out.

    Example (the train region of a 40x100 image: 75 columns, halved, then upscaled to 32):
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

    A ``folder:`` of six images (written to a temporary directory) holds whole files out:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for k in range(6):
        ...         Image.new("RGB", (40, 30), (40 * k, 0, 0)).save(f"{d}/{k}.png")
        ...     train, test = load_images(f"folder:{d}", "train"), load_images(f"folder:{d}", "test")
        >>> test.split_rule, list(train.names), list(test.names), test[0].shape
        ('holdout', ['0.png', '1.png', '3.png', '4.png', '5.png'], ['2.png'], torch.Size([3, 30, 40]))
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
