"""How fast a model colourises photos at full resolution, and the memory it takes:
``colorlab colorize --speed``.

:func:`measure` loads a model as ``colorlab colorize`` does (:func:`~colorlab.colorize.model.load_model`:
a checkpoint file, ``METHOD/VARIANT`` or a released model), makes a synthetic colour photo of
``size`` × ``size`` pixels (smooth gradients, uint8, as a decoded file would be) and times
:func:`~colorlab.colorize.core.colorize_images` on it ``repeats`` times after ``warmup`` untimed
runs, the device synchronised around each: the whole path from the decoded photo to the
full-resolution RGB output (desaturation, the network at the working size, upsampling the chroma,
joining it with the full-resolution luminance), without reading or writing files. The working size
is the model's (the training photos' size its checkpoint records) or, with ``working="input"``,
the photo's own (the network at full resolution, as ``--size`` that large would run it).

With ``isolate`` (the default) each measurement runs in a fresh Python process so that its peak
memory is its own: on the CPU the resident-set high-water mark during the timed runs above the
resident set once the model is loaded and the photo made (:func:`colorlab.measuring.rss_mb`), on CUDA
``max_memory_allocated`` above what the model and the photo hold.

Example:
    >>> import tempfile, os
    >>> from colorlab import checkpoint
    >>> from colorlab.methods import build
    >>> path = os.path.join(tempfile.mkdtemp(), "m.pt")
    >>> checkpoint.save(path, build("yuv_regression", "l2", base=2), step=1, data={"image_size": 32})
    >>> r = measure(path, size=64, repeats=2, isolate=False)
    >>> (r["method"], r["input_size"], r["working_size"], len(r["seconds"]))
    ('yuv_regression', 64, 32, 2)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import progress, stats
from ..measuring import (
    MB,
    in_fresh_process,
    in_this_process,
    peak_rss_mb,
    reset_peak,
    rss_mb,
    timed,
)
from .core import colorize_images, working_size
from .model import load_model

__all__ = ["SIZES", "WORKING", "synthetic_photo", "measure", "table"]

#: Input photo sides measured by default (pixels, square photos).
SIZES = (256, 1024)
#: The working sizes: the model's own (``"model"``) or the photo's (``"input"``).
WORKING = ("model", "input")


def synthetic_photo(size: int, seed: int = 0) -> torch.Tensor:
    """A smooth colour photo ``(3, size, size)``, uint8.

    Example:
        >>> p = synthetic_photo(32)
        >>> p.shape, p.dtype, int(p.float().std(dim=(1, 2)).min()) > 10
        (torch.Size([3, 32, 32]), torch.uint8, True)
    """
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, 4, 4, generator=g)
    rgb = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)[0]
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8)


def _measure_here(spec: str, size: int, working: str, repeats: int, warmup: int, device: str,
                  weights: str | None, results: str | None, profile: str | None, decode: str | None,
                  working_size_: int | None) -> dict[str, Any]:
    dev = torch.device(device)
    model = load_model(spec, weights=weights, results=results, profile=profile, device=dev, size=working_size_)
    decode = model.method.check_decode(decode)
    work = size if working == "input" else model.size
    photo = synthetic_photo(size).to(dev)
    cuda = dev.type == "cuda"
    base = torch.cuda.memory_allocated(dev) / MB if cuda else rss_mb()
    reset = cuda or reset_peak()

    def run() -> None:
        colorize_images(model.method, [photo], size=work, decode=decode)

    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    timed(run, warmup, dev)
    seconds = timed(run, repeats, dev)
    peak = torch.cuda.max_memory_allocated(dev) / MB - base if cuda else peak_rss_mb() - base
    rec = model.record
    return {"spec": spec, "method": rec["method"], "variant": rec["variant"], "decode": decode,
            "checkpoint": rec.get("path", rec["checkpoint"]), "params": model.method.count_parameters(),
            "input_size": size, "working": working, "working_size": min(working_size((size, size), work)),
            "device": str(dev), "threads": torch.get_num_threads(), "seconds": seconds,
            "photos_per_second": 1.0 / float(np.mean(seconds)), "peak_mb": peak,
            "memory": ("cuda max_memory_allocated above the loaded model and the photo" if cuda else
                       "CPU resident-set high-water mark above the loaded model and the photo")
            + ("" if reset else " (not reset after loading: an upper bound)")}


def measure(spec: str, *, size: int, working: str = "model", repeats: int = 3, warmup: int = 1,
            device: str = "cpu", weights: str | None = None, results: str | os.PathLike | None = None,
            profile: str | None = None, decode: str | None = None, working_size: int | None = None,
            isolate: bool = True) -> dict[str, Any]:
    """One model colourising one ``size`` × ``size`` photo (see the module docstring): the seconds
    of each timed run, photos per second over their mean, peak memory in MiB, and what ran.
    ``weights``, ``results``, ``profile`` and ``working_size`` (the model's working size, instead of
    its checkpoint's) are :func:`~colorlab.colorize.model.load_model`'s; ``decode`` the model's
    decoding (its first by default). The model is checked here first, so a bad spec is refused
    before any process starts."""
    if size < 1 or repeats < 1 or warmup < 0 or working not in WORKING:
        raise ValueError(f"need size, repeats >= 1, warmup >= 0 and working in {WORKING}; got {size}, {repeats}, "
                         f"{warmup}, {working!r}")
    job = dict(spec=spec, size=size, working=working, repeats=repeats, warmup=warmup, device=device,
               weights=None if weights is None else str(weights), results=None if results is None else str(results),
               profile=profile, decode=decode, working_size_=working_size)
    if not isolate:
        return {**in_this_process(_measure_here, job), "repeats": repeats, "isolated": False}
    load_model(spec, weights=weights, results=results, profile=profile, size=working_size).method.check_decode(decode)
    measured = in_fresh_process("colorlab.colorize.speed:_measure_here", job, what=f"measuring {spec} at {size}²")
    return {**measured, "repeats": repeats, "isolated": True}


def table(specs: Sequence[str], *, sizes: Sequence[int] = SIZES, working: Sequence[str] = WORKING,
          on_row: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> pd.DataFrame:
    """:func:`measure` (with ``options``) for every model, photo size and working size: one row
    each, with seconds per photo as the mean over the repeats and its 95 % bootstrap interval
    (``seconds_lo``, ``seconds_hi``), photos per second and peak memory; each row is handed to
    ``on_row`` as soon as it is measured (to write it before the next); progress on the terminal."""
    rows = []
    for spec in specs:
        for size in sizes:
            for w in working:
                progress.phase(f"speed {spec} at {size}x{size}, working size: {w}")
                print(f"colorize --speed: {spec} at {size}x{size}, working size {w} ...", file=sys.stderr, flush=True)
                r = measure(spec, size=size, working=w, **options)
                mean, lo, hi = stats.bootstrap_ci(r.pop("seconds"))
                rows.append({**r, "seconds": mean, "seconds_lo": lo, "seconds_hi": hi})
                if on_row is not None:
                    on_row(rows[-1])
    return pd.DataFrame(rows)

