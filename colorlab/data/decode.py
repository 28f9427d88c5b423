"""Finding image files and decoding them to uint8 RGB tensors ``(3, H, W)``, and the resize used on them.

Any Pillow image becomes 8-bit RGB: EXIF orientation applied, transparency composited over white,
grayscale replicated, high bit depths scaled. A file is decoded completely or not at all. Folders are
walked by one rule for ``folder:`` data and ``colorlab colorize`` alike (:func:`walk_folder`).
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

__all__ = ["pil_to_tensor", "load_image", "photo_suffixes", "Walk", "walk_folder", "match_pattern", "glob_files"]

_HIGH_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
#: Formats Pillow registers an opener for that are no photographs here: stubs that need a handler
#: of their own (BUFR, GRIB, HDF5, WMF), PostScript (needs Ghostscript) and a video's first header.
NOT_PHOTOS = frozenset({"BUFR", "GRIB", "HDF5", "WMF", "EPS", "MPEG"})
#: A file or folder whose name starts with this is hidden, and left out of a walk.
HIDDEN_PREFIX = "."
#: How many links leading out of a folder :meth:`Walk.note` names (the count is complete).
NAMED_LINKS = 3
#: A glob pattern's segment that stands for any number of folders.
ANY_FOLDERS = "**"


def photo_suffixes() -> frozenset[str]:
    """List the file endings of the formats Pillow opens as photographs.

    This is what a ``folder:`` is searched for. Formats that are no photographs here (BUFR, GRIB,
    HDF5, WMF, EPS, MPEG) are left out.

    Returns:
        The endings, lower case, with the dot (``".jpg"``).

    Example:
        >>> {".jpg", ".png", ".tif"} <= photo_suffixes(), ".pdf" in photo_suffixes(), ".mpg" in photo_suffixes()
        (True, False, False)
    """
    Image.init()
    return frozenset(e.lower() for e, fmt in Image.registered_extensions().items()
                     if fmt in Image.OPEN and fmt not in NOT_PHOTOS)


@dataclass
class Walk:
    """The files found under a folder (:func:`walk_folder`).

    Args:
        names: each real file once, by its path relative to the folder (``/``-separated), sorted.
        left_out: the symbolic links skipped because they lead out of the folder or to nothing, each as
            ``(name, where it leads)``.
    """

    names: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def note(self) -> str:
        """Say in one line which links were skipped (``""`` when none were).

        Returns:
            The line, naming the first :data:`NAMED_LINKS` links.

        Example:
            >>> Walk(["a.png"], [("out", "/etc")]).note()
            '1 symbolic link leading out of the folder skipped (out -> /etc)'
        """
        n = len(self.left_out)
        if not n:
            return ""
        more = f", and {n - NAMED_LINKS} more" if n > NAMED_LINKS else ""
        shown = ", ".join(f"{name} -> {to}" for name, to in self.left_out[:NAMED_LINKS])
        return f"{n} symbolic link{'s' * (n != 1)} leading out of the folder skipped ({shown}{more})"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk_folder(root: str | os.PathLike, suffixes: frozenset[str] | None = None, *,
                max_parts: int | None = None) -> Walk:
    """List the files under a folder, each real file once, following the links that stay inside it.

    The one rule for symbolic links, shared by ``folder:`` data and ``colorlab colorize``: links are
    followed; a link whose target (resolved) lies outside ``root`` or does not exist is skipped and
    listed in :attr:`Walk.left_out`; every real file is counted once, by its resolved path, under its
    shortest name (fewest folders, then first in sorted order, so the name does not depend on the order
    of the walk); each real folder is entered once, so a link loop is visited once. The walk is breadth
    first and linear in the number of real files and folders. Hidden files and folders (a name starting
    with ``.``) are left out, and folders that cannot be read are passed over.

    Args:
        root: the folder.
        suffixes: the endings kept (lower case, with the dot; ``None``: every file).
        max_parts: the most parts a name may have (``1``: the folder's own files; ``None``: any depth).

    Returns:
        The files' names relative to ``root`` and the links left out.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "sub").mkdir(); (d / "x.png").write_bytes(b"")
        0
        >>> (d / "self").symlink_to("."); (d / "sub" / "up").symlink_to(".."); (d / "sub" / "out").symlink_to("/")
        >>> walk_folder(d).names, walk_folder(d).left_out
        (['x.png'], [('sub/out', '/')])
    """
    real_root = os.path.realpath(root)
    entered, best = {real_root}, {}
    out = Walk()
    level: list[tuple[tuple[str, ...], str]] = [((), real_root)]  # (name, real path) of the folders to enter
    while level:
        deeper = []
        for parts, real in level:
            try:
                with os.scandir(real) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                name = (*parts, e.name)
                if e.name.startswith(HIDDEN_PREFIX):
                    continue
                if e.is_symlink():
                    target = os.path.realpath(e.path)
                    is_dir, is_file = os.path.isdir(target), os.path.isfile(target)
                    if not _inside(target, real_root) or not (is_dir or is_file):
                        out.left_out.append(("/".join(name), target))
                        continue
                else:
                    target = os.path.join(real, e.name)
                    is_dir, is_file = e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)
                if is_dir and target not in entered and (max_parts is None or len(name) < max_parts):
                    entered.add(target)
                    deeper.append((name, target))
                elif (is_file and (max_parts is None or len(name) <= max_parts)
                      and (suffixes is None or os.path.splitext(e.name)[1].lower() in suffixes)):
                    key = (len(name), name)
                    best[target] = min(best.get(target, key), key)
        level = deeper
    out.names = sorted("/".join(parts) for _, parts in best.values())
    return out


def match_pattern(pattern: str, name: str) -> bool:
    """Whether a relative path matches a glob pattern, as :mod:`glob` matches it.

    ``**`` as a whole segment matches any number of folders, none included (at the end, any file
    below); ``*``, ``?`` and ``[...]`` (``[!...]`` negated) match within one segment. Case counts.

    Args:
        pattern: the pattern, ``/``-separated, relative.
        name: the path, ``/``-separated, relative.

    Returns:
        ``True`` when it matches.

    Example:
        >>> [match_pattern("**/*.png", n) for n in ("a.png", "x/y/a.png", "x/a.jpg")]
        [True, True, False]
        >>> match_pattern("x/*.png", "x/y/a.png"), match_pattern("[ab]?/**", "b1/c/d.png")
        (False, True)
    """
    pats, parts = [p for p in pattern.split("/") if p], name.split("/")

    @functools.cache
    def from_(i: int, j: int) -> bool:  # pats[i:] against parts[j:]
        if i == len(pats):
            return j == len(parts)
        if pats[i] == ANY_FOLDERS:  # the last one stands for the file's name too: one part at least
            return any(from_(i + 1, k) for k in range(j + (i == len(pats) - 1), len(parts) + 1))
        return j < len(parts) and fnmatch.fnmatchcase(parts[j], pats[i]) and from_(i + 1, j + 1)

    return from_(0, 0)


def glob_files(pattern: str) -> tuple[Path, Walk]:
    """The files a glob pattern names, found by :func:`walk_folder` (its rule for links) and :func:`match_pattern`.

    The folder walked is the pattern's leading part without wildcards; a pattern without ``**`` is
    walked only as deep as it has segments.

    Args:
        pattern: the pattern (``~`` not expanded).

    Returns:
        The folder walked and the walk, cut to the names that match (``base / name`` is each file).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "a").mkdir(); (d / "a" / "x.png").write_bytes(b""); (d / "y.png").write_bytes(b"")
        0
        0
        >>> (d / "a" / "loop").symlink_to("..")
        >>> base, walk = glob_files(f"{d}/**/*.png")
        >>> base == d, walk.names
        (True, ['a/x.png', 'y.png'])
    """
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) and not any(c in parts[fixed] for c in "*?["):
        fixed += 1
    base, rest = Path(*parts[:fixed]) if fixed else Path(), "/".join(parts[fixed:])
    segments = [s for s in rest.split("/") if s]
    if not base.is_dir() or not segments:
        return base, Walk()
    walk = walk_folder(base, max_parts=None if ANY_FOLDERS in segments else len(segments))
    walk.names = [n for n in walk.names if match_pattern(rest, n)]
    return base, walk


def pil_to_tensor(img: Image.Image) -> Tensor:
    """Convert any Pillow image to uint8 RGB.

    EXIF orientation is applied. Transparency (LA, RGBA, PA, palette with a transparent index) is
    composited over white. Grayscale is replicated to three channels. CMYK, YCbCr and the like go
    through Pillow's conversion. 16-bit and 32-bit integer images (``I;16*``, ``I``) are scaled by
    ``255 / 65535``, so the full range is kept rather than clipped at 255; ``I`` above 65535 is
    scaled by its maximum. Float images (``F``) are taken as [0, 1] when they fit, else as
    [0, 255] or 16-bit by their maximum.

    Args:
        img: a Pillow image of any mode.

    Returns:
        uint8 RGB ``(3, H, W)`` in [0, 255].

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
    """Fully decode an image file to uint8 RGB (see :func:`pil_to_tensor`).

    Pillow is made to decode every byte: a truncated file is an error, never padded.

    Args:
        path: the image file.

    Returns:
        uint8 RGB ``(3, H, W)`` in [0, 255].

    Raises:
        OSError: naming the file, when it cannot be opened or decoded.

    Example:
        >>> import importlib.util, pathlib   # scikit-image's astronaut, one of the ``samples`` photos
        >>> skimage_dir = pathlib.Path(importlib.util.find_spec("skimage").origin).parent
        >>> img = load_image(skimage_dir / "data" / "astronaut.png")
        >>> img.shape, img.dtype
        (torch.Size([3, 512, 512]), torch.uint8)
        >>> load_image(skimage_dir / "no-such-photo.jpg")
        Traceback (most recent call last):
        ...
        OSError: cannot read image '...no-such-photo.jpg': FileNotFoundError: ...
    """
    try:
        with Image.open(path) as img:
            img.load()
            return pil_to_tensor(img)
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, ...
        raise OSError(f"cannot read image {os.fspath(path)!r}: {type(e).__name__}: {e}") from e


def _resize(img: Tensor, size: tuple[int, int]) -> Tensor:
    """Antialiased bilinear resize of a uint8 ``(3, H, W)`` image to ``size = (h, w)``.

    Resampled in float32 and rounded once to uint8 (torchvision's own uint8 path rounds
    differently); an image already of that size is returned as it is.

    Example:
        >>> img = torch.arange(48, dtype=torch.uint8).reshape(3, 4, 4) * 5
        >>> _resize(img, (2, 2))[0].tolist()
        [[18, 26], [49, 57]]
        >>> _resize(img, (4, 4)) is img
        True
    """
    if tuple(img.shape[-2:]) == size:
        return img
    out = TF.resize(img.float()[None], list(size), antialias=True)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)
