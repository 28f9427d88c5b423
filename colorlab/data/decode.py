"""Decoding image files to uint8 RGB tensors ``(3, H, W)``, and the resize used on them.

Any Pillow image becomes 8-bit RGB: EXIF orientation applied, transparency composited over white,
grayscale replicated, high bit depths scaled. A file is decoded completely or not at all.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

__all__ = ["pil_to_tensor", "load_image", "photo_suffixes"]

_HIGH_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
#: Formats Pillow registers an opener for that are no photographs here: stubs that need a handler
#: of their own (BUFR, GRIB, HDF5, WMF), PostScript (needs Ghostscript) and a video's first header.
NOT_PHOTOS = frozenset({"BUFR", "GRIB", "HDF5", "WMF", "EPS", "MPEG"})


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
