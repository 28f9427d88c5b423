"""Image sources and their leak-free train/test split rules.

:func:`load_images` turns a spec string (:data:`SPECS`) into an
:class:`~colorlab.data.images.ImageSet` cut to a split, and :func:`check_spec` checks a spec in
seconds, without decoding, before any work starts. Each source keeps its test pixels out of
training by its own rule: folds of whole photos, a region, a hash of the path, a seed stream or the
dataset's own split (``docs/data.md``).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import warnings
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image  # noqa: F401 (the examples use it)
from torch import Tensor

from ..files import checkout_root
from .ambiguous import load_ambiguous
from .decode import load_image, pil_to_tensor
from .folder import TEST_FRACTION, check_folder, load_folder
from .images import TRAIN_FRACTION, ImageSet, _Names, _prepare, fold_of

__all__ = ["SPECS", "TRAIN_FRACTION", "TEST_FRACTION", "DATA_ENV", "FOLDED", "ImageSet", "load_images", "check_spec",
           "reachable", "embedded_files", "data_root"]

#: Spec strings accepted by :func:`load_images` (``folder:PATH`` takes any path).
SPECS = ("samples", "photos", "historical", "ambiguous", "folder:PATH", "stl10", "places365", "cifar10",
         "flowers102")
#: Specs whose photos are split into folds of whole photos when a fold is asked for (the others have
#: a fixed test set: ``folder:`` by hash, ``ambiguous`` by seed stream, torchvision by its own split).
FOLDED = ("samples", "photos")
#: The photos ``photos`` adds to ``samples``: the checkout's ``data/photos/``, taken from Debian packages,
#: each file's source and licence in its ``SOURCES.csv`` (docs/data.md).
PHOTOS_DIR = Path(__file__).resolve().parents[2] / "data" / "photos"
#: The photo files ``photos`` reads from :data:`PHOTOS_DIR`.
PHOTO_SUFFIXES = (".jpg", ".png")
#: Where torchvision datasets live when this is set (``colorlab run`` sets it to the checkout's ``data/``).
DATA_ENV = "COLORLAB_DATA"

_SKIMAGE = {"astronaut": "astronaut.png", "coffee": "coffee.png", "chelsea": "chelsea.png",
            "rocket": "rocket.jpg", "motorcycle": "motorcycle_left.png"}
_HISTORICAL = {"camera": "camera.png", "coins": "coins.png", "moon": "moon.png",
               "page": "page.png", "text": "text.png", "clock": "clock_motion.png"}
# name -> (torchvision class, host probed before downloading, split kwargs for train/test)
_TORCHVISION = {
    "stl10": ("STL10", "ai.stanford.edu", 80, {"train": {"split": "train"}, "test": {"split": "test"}}),
    "cifar10": ("CIFAR10", "www.cs.toronto.edu", 443, {"train": {"train": True}, "test": {"train": False}}),
    "flowers102": ("Flowers102", "www.robots.ox.ac.uk", 443,
                   {"train": {"split": "train"}, "test": {"split": "test"}}),
    "places365": ("Places365", "data.csail.mit.edu", 80,
                  {"train": {"split": "train-standard", "small": True}, "test": {"split": "val", "small": True}}),
}


def embedded_files(spec: str) -> dict[str, Path]:
    """Find the offline photos of ``samples``, ``photos`` or ``historical`` that this install ships.

    The packages are located without importing them. Photos that the installed wheels do not
    ship are left out with a warning. ``photos`` is ``samples`` and the files of :data:`PHOTOS_DIR`
    (named by their stem), in name order.

    Args:
        spec: ``"historical"``, ``"photos"``, or anything else for ``samples``.

    Returns:
        The path of each photo that exists, by name.

    Example:
        >>> list(embedded_files("samples"))[:3]
        ['astronaut', 'coffee', 'chelsea']
        >>> photos = embedded_files("photos")
        >>> len(photos) >= 38, list(photos)[8]
        (True, 'lomiri_aitzgorri')

    Raises:
        FileNotFoundError: ``photos`` without :data:`PHOTOS_DIR` (it comes with the checkout).
    """
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
        if spec == "photos":
            if not PHOTOS_DIR.is_dir():
                raise FileNotFoundError(f"photos: {PHOTOS_DIR} is missing; it comes with a clone of the repository "
                                        "(pip install -e . from the checkout), or use --data samples")
            paths |= {p.stem: p for p in sorted(PHOTOS_DIR.glob("*")) if p.suffix.lower() in PHOTO_SUFFIXES}
    missing = [k for k, p in paths.items() if not p.is_file()]
    if missing:
        warnings.warn(f"{spec}: not shipped in the installed wheels, left out: {missing}", stacklevel=3)
    return {k: p for k, p in paths.items() if k not in missing}


def _tv_load(ds: Any, i: int) -> Tensor:
    x = ds[i][0]
    if isinstance(x, (str, os.PathLike)):
        return load_image(x)
    return pil_to_tensor(x)


def _keep_path(p: str) -> str:
    return p


def reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    The name lookup is included in the time: the probe runs in a daemon thread that is waited for
    at most ``timeout`` seconds.

    Args:
        host: the host name.
        port: the port.
        timeout: the most seconds to wait.

    Returns:
        ``True`` when the connection opened.
    """
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


def _load_torchvision(name: str, split: str, root: str, probe_only: bool = False) -> tuple[Any, str]:
    """The torchvision dataset ``name`` for ``split``: the copy under ``root`` if present,
    else a download; offline this fails within seconds with a RuntimeError. ``probe_only``:
    return ``(None, "reachable")`` instead of downloading."""
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
    if not reachable(host, port):
        raise RuntimeError(hint)
    if probe_only:
        return None, "reachable"
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30.0)
    try:
        os.makedirs(base, exist_ok=True)
        return cls(base, download=True, **kw), "downloaded"
    except Exception as e:
        raise RuntimeError(f"{hint} ({type(e).__name__}: {e})") from e
    finally:
        socket.setdefaulttimeout(old)


def data_root() -> Path:
    """Where torchvision datasets are kept.

    Returns:
        ``$COLORLAB_DATA`` when it is set, else ``data/`` at the top of the checkout that holds
        the current directory, else ``./data``.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return (checkout_root() or Path.cwd()) / "data"


def check_spec(spec: str, root: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None, *,
               colour: bool = True) -> str:
    """Check a data spec in seconds, without decoding images, and make it absolute.

    The embedded photos must be installed; a ``folder:`` must exist, hold image files that open, and
    hold at least two colour photos or one that can be split by region, read from the file headers
    (:func:`~colorlab.data.folder.check_folder`; symbolic links are followed inside the folder only,
    each real file once, a loop once); a torchvision set must be under ``root`` or its host reachable.

    Args:
        spec: the data spec (:data:`SPECS`).
        root: where torchvision datasets are kept (``None``: :func:`data_root`).
        cwd: the directory a relative ``folder:`` path is taken from (``None``: the current one).
        colour: whether the data are for colour training and testing (``False``: a gallery of
            photos to colourise, whose folder only has to hold images that open).

    Returns:
        The spec, normalised: lower case, and a ``folder:`` with its absolute path.

    Raises:
        KeyError: for an unknown spec.
        FileNotFoundError: for a missing folder, or embedded photos that are not installed.
        ValueError: for a folder with no image file that opens, or with too few usable colour photos
            (only grayscale ones, or a single one too small to split).
        RuntimeError: for a torchvision set that is neither under ``root`` nor reachable.

    Example:
        >>> check_spec("samples")
        'samples'
        >>> check_spec("imagenet")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: "unknown data spec 'imagenet'; known: samples, photos, historical, ambiguous, folder:PATH, stl10, ..."
    """
    key = spec.strip()
    if key.lower().startswith("folder:"):
        return f"folder:{check_folder(key[len('folder:'):], cwd, colour=colour)}"
    if key.lower() in ("samples", "photos", "historical"):
        if not embedded_files(key.lower()):
            raise FileNotFoundError(f"{key}: none of its photos is installed (scikit-image, scikit-learn, matplotlib)")
        return key.lower()
    if key.lower() == "ambiguous":
        return "ambiguous"
    if key.lower() in _TORCHVISION:
        _load_torchvision(key.lower(), "train", os.fspath(root or data_root()), probe_only=True)
        return key.lower()
    raise KeyError(f"unknown data spec {spec!r}; known: {', '.join(SPECS)}")


def load_images(spec: str = "samples", split: str | None = None, *, root: str | os.PathLike | None = None,
                image_size: int | None = None, min_size: int = 1, max_images: int | None = None,
                cache_limit: int = 2000, cache_bytes: int = 2**31,
                fold: tuple[int, int] | None = None) -> ImageSet:
    """Load the images of a data spec for a split.

    ``fold=(i, k)`` splits a spec of :data:`FOLDED` into ``k`` folds of whole photos
    (:func:`~colorlab.data.images.fold_of`): test is fold ``i``, train the other photos, so every
    photo is held out whole by exactly one of the ``k`` folds. Without a fold, ``samples`` is split
    by region (the "seen scenes" view): train is the left :data:`TRAIN_FRACTION` of every photo's
    columns, test the rest. Other specs ignore ``fold``: their test set is fixed. A ``folder:``
    leaves its grayscale images out, and what was left out or upscaled is in ``.problems``
    (:mod:`~colorlab.data.folder`).

    Args:
        spec: the data spec (:data:`SPECS`).
        split: ``"train"``, ``"test"`` or ``None`` (whole images, all of them; torchvision sets
            default to train).
        root: where torchvision datasets are kept (``None``: :func:`data_root`).
        image_size: scale each image so its shorter side is this (antialiased; ``None``: as it is).
        min_size: upscale any image or region whose shorter side is smaller than this.
        max_images: keep the first images of the split.
        cache_limit: a ``folder:`` of at most this many files is decoded once and kept in memory;
            a larger one is decoded lazily.
        cache_bytes: the most bytes of pixels a ``folder:`` keeps in memory when ``image_size`` is
            not set.
        fold: ``(i, k)``: hold out fold ``i`` of ``k`` folds of whole photos.

    Returns:
        The images, uint8 RGB ``(3, h, w)``, cut to the split.

    Raises:
        ValueError: for a bad split or fold, or an empty folder.
        FileNotFoundError: for a missing folder.
        KeyError: for an unknown spec.
        RuntimeError: when a torchvision set is neither under ``root`` nor downloadable.

    Example:
        >>> imgs = load_images("samples", "test")
        >>> imgs.names[0], imgs[0].dtype, imgs.split_rule
        ('astronaut', torch.uint8, 'region')
        >>> held_out = [list(load_images("samples", "test", fold=(i, 3)).names) for i in range(3)]
        >>> sorted(sum(held_out, [])) == sorted(load_images("samples").names)  # each photo held out once
        True
        >>> load_images("samples", "train", fold=(0, 3)).split_rule
        'folds'

    A ``folder:`` of six images (written to a temporary directory) holds whole files out:

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for k in range(6):
        ...         Image.new("RGB", (40, 30), (40 * k + 40, 0, 0)).save(f"{d}/{k}.png")
        ...     train, test = load_images(f"folder:{d}", "train"), load_images(f"folder:{d}", "test")
        >>> test.split_rule, list(train.names), list(test.names), test[0].shape
        ('holdout', ['0.png', '1.png', '3.png', '4.png', '5.png'], ['2.png'], torch.Size([3, 30, 40]))
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None; got {split!r}")
    key = spec.strip()
    kw: dict[str, Any] = dict(image_size=image_size, min_size=min_size)
    if key.lower().startswith("folder:"):
        imgs = load_folder(key[len("folder:"):], split, image_size, min_size, cache_limit=cache_limit,
                           cache_bytes=cache_bytes)
    elif key.lower() in ("samples", "photos", "historical"):
        key = key.lower()
        paths = list(embedded_files(key).items())[:max_images]
        region, rule = (0.0, 1.0), "none"
        if split is not None and fold is not None and key in FOLDED:
            i, k = fold
            folds = fold_of([name for name, _ in paths], k)
            if not 0 <= i < k:
                raise ValueError(f"fold {i} is not one of the {k} folds (0..{k - 1})")
            paths = [(n, p) for (n, p), f in zip(paths, folds, strict=True) if (f == i) == (split == "test")]
            rule = "folds"
        elif split is not None:
            region, rule = ((0.0, TRAIN_FRACTION) if split == "train" else (TRAIN_FRACTION, 1.0)), "region"
        images = [_prepare(load_image(p), region, image_size, min_size) for _, p in paths]
        out = ImageSet(key, split, [k for k, _ in paths], f"{key} (embedded)", rule, region, images=images, **kw)
        out.fold = fold if rule == "folds" else None
        return out
    elif key.lower() == "ambiguous":
        imgs = load_ambiguous(split, image_size=image_size, min_size=min_size)
    elif key.lower() in _TORCHVISION:
        key = key.lower()
        ds, how = _load_torchvision(key, split or "train", os.fspath(root or data_root()))
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
