"""Colourising people's own photos at full resolution with any trained model: ``colorlab colorize``.

The functional core is :func:`colorize_images`: each photo is reduced to its luminance, the
model predicts chroma at a **working size** (the photo scaled so its shorter side is ``size``,
never enlarged), that chroma is upsampled bilinearly to the photo's own size and joined with the
photo's **full-resolution luminance**, so a 4000×3000 photo comes back 4000×3000 and as sharp as
it went in (chroma is smooth; the detail is in the luminance, as in Zhang et al.'s demo). It is
method-agnostic: the model's own :meth:`~colorlab.methods.base.Method.colorize` runs at the
working size (whatever its decoding does: a saturation boost, an RGB head), and the chroma of its
output in the method's space (Lab ``ab`` or YUV ``uv``) is what is carried up.

**Colour inputs** are desaturated first: by default to the grayscale a photo editor makes
(ITU-R 601 luma, torchvision's ``rgb_to_grayscale``), so the output is what the model makes of
the black-and-white version of the photo, and is the same as if that grayscale file had been
given; with ``keep_luminance`` the original's own lightness (Lab ``L`` or YUV ``Y``) is kept, so
the output differs from the original in chroma only (for comparing against the true colours).
Grayscale inputs (real historical photos) are the same either way.

Around it, :func:`plan` turns the command line's inputs (files, folders searched recursively,
globs) into input/output pairs and checks everything before the first image is read: the model
(:func:`load_model`: a checkpoint file, ``METHOD/VARIANT`` for the newest checkpoint of the
results folder, or a released model such as ``zhang2016-released``), its decoding, the output
folder, name clashes, and that no input would be overwritten. :func:`run` then decodes the
photos one by one (EXIF orientation, 16-bit, CMYK, transparency: :func:`colorlab.data.decode.load_image`),
reports an unreadable, truncated or empty file in one line and goes on, writes each output
atomically, never over an existing file unless ``force``, and records what ran in
``colorize-<time>.json`` in the output folder.

Modules: :mod:`.core` (the functional core), :mod:`.model` (finding and loading a model),
:mod:`.job` (inputs, outputs, the run and its record), :mod:`.speed` (throughput and peak memory).

Example:
    >>> import torch
    >>> from colorlab.methods import build
    >>> m = build("yuv_regression", "l2", base=4).eval()
    >>> photo = torch.rand(3, 300, 200)
    >>> out = colorize_images(m, [photo], size=64)[0]
    >>> out.shape                       # full resolution out, whatever the working size
    torch.Size([3, 300, 200])
    >>> working_size((3000, 4000), 256), working_size((100, 50), 256)
    ((256, 341), (100, 50))
"""

from . import speed
from .core import (
    COMPARE_HEIGHT,
    DEFAULT_SIZE,
    colorize_images,
    comparison,
    desaturate,
    working_size,
)
from .job import (
    COMPARE_TAG,
    EMBEDDED,
    IMAGE_SUFFIXES,
    OUTPUT_SUFFIX,
    Job,
    Outcome,
    check_photos,
    collect_inputs,
    photo_inputs,
    plan,
    run,
)
from .model import Model, check_spec, describe, find_checkpoint, load_model

__all__ = [
    "DEFAULT_SIZE", "IMAGE_SUFFIXES", "OUTPUT_SUFFIX", "COMPARE_HEIGHT", "COMPARE_TAG", "Model", "Job", "Outcome",
    "working_size", "desaturate", "colorize_images", "comparison", "load_model", "find_checkpoint",
    "collect_inputs", "plan", "run", "check_spec", "describe", "EMBEDDED", "photo_inputs", "check_photos", "speed",
]
