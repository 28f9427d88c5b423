"""Colourising people's own photos at full resolution with any trained model: ``colorlab colorize``.

The model predicts chroma at a small working size; the chroma is upsampled and joined with the
photo's own full-resolution luminance, band by band. Modules: :mod:`.core` (the functional core), :mod:`.model`
(finding and loading a model), :mod:`.job` (inputs, outputs, the run and its record) and
:mod:`.speed` (time and peak memory). docs/colorize.md describes the command.

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
from .model import Model, check_spec, choose_checkpoint, describe, find_checkpoint, list_checkpoints, load_model

__all__ = [
    "DEFAULT_SIZE", "IMAGE_SUFFIXES", "OUTPUT_SUFFIX", "COMPARE_HEIGHT", "COMPARE_TAG", "Model", "Job", "Outcome",
    "working_size", "desaturate", "colorize_images", "comparison", "load_model", "find_checkpoint", "choose_checkpoint",
    "list_checkpoints",
    "collect_inputs", "plan", "run", "check_spec", "describe", "EMBEDDED", "photo_inputs", "check_photos", "speed",
]
