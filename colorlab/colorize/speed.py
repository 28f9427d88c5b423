"""How fast a model colourises photos at full resolution, and the memory it takes: ``colorlab colorize --speed``.

:func:`measure` times the whole path from a decoded synthetic photo to the full-resolution output, without reading or
writing files; :func:`table` does it for several models and sizes. docs/colorize.md says how, and what it measured.
"""

from __future__ import annotations

import os
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
    """A smooth synthetic colour photo, as a decoded file would be.

    Args:
        size: its side, pixels.
        seed: draws its colours.

    Returns:
        RGB ``(3, size, size)``, uint8.

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
                  working_size_: int | None, seed: int = 0) -> dict[str, Any]:
    dev = torch.device(device)
    model = load_model(spec, weights=weights, results=results, profile=profile, device=dev, size=working_size_,
                       seed=seed)
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
            seed: int = 0, isolate: bool = True) -> dict[str, Any]:
    """Time one model colourising one synthetic ``size`` × ``size`` photo, and its peak memory.

    :func:`~colorlab.colorize.core.colorize_images` runs ``repeats`` times after ``warmup`` untimed runs, the device
    synchronised around each. The model is checked here first, so a bad spec is refused before any process starts.

    Args:
        spec: the model (:func:`~colorlab.colorize.model.load_model`).
        size: the photo's side, pixels.
        working: ``"model"``, the model's working size, or ``"input"``, the photo's own (the network at full size).
        repeats: the timed runs.
        warmup: the untimed runs before them.
        device: where it runs.
        weights: :func:`~colorlab.colorize.model.load_model`'s, as are ``results`` and ``profile``.
        results: the results folder ``METHOD/VARIANT`` is looked up in.
        profile: the profile ``METHOD/VARIANT`` is taken from.
        decode: the model's decoding (default: its first).
        working_size: the model's working size, instead of its checkpoint's.
        seed: the training seed ``METHOD/VARIANT`` is taken with.
        isolate: measure in a fresh process, so that the peak memory is its own.

    Returns:
        The seconds of each timed run, photos per second over their mean, the peak memory in MiB, what ``memory``
        means, and what ran.

    Raises:
        ValueError: a bad size, repeats, warmup or ``working``, or an unknown decoding.
        UsageError: a bad model spec.
        RuntimeError: the fresh process failed.

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
    if size < 1 or repeats < 1 or warmup < 0 or working not in WORKING:
        raise ValueError(f"need size, repeats >= 1, warmup >= 0 and working in {WORKING}; got {size}, {repeats}, "
                         f"{warmup}, {working!r}")
    job = dict(spec=spec, size=size, working=working, repeats=repeats, warmup=warmup, device=device,
               weights=None if weights is None else str(weights), results=None if results is None else str(results),
               profile=profile, decode=decode, working_size_=working_size, seed=seed)
    if not isolate:
        return {**in_this_process(_measure_here, job), "repeats": repeats, "isolated": False}
    load_model(spec, weights=weights, results=results, profile=profile, size=working_size,
               seed=seed).method.check_decode(decode)
    measured = in_fresh_process("colorlab.colorize.speed:_measure_here", job, what=f"measuring {spec} at {size}²")
    return {**measured, "repeats": repeats, "isolated": True}


def table(specs: Sequence[str], *, sizes: Sequence[int] = SIZES, working: Sequence[str] = WORKING,
          on_row: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> pd.DataFrame:
    """:func:`measure` for every model, photo size and working size, with progress on the terminal.

    Args:
        specs: the models.
        sizes: the photos' sides.
        working: the working sizes (:data:`WORKING`).
        on_row: gets each row as soon as it is measured (to write it before the next).
        options: :func:`measure`'s other arguments.

    Returns:
        One row each: seconds per photo as the mean over the repeats with its 95 % bootstrap interval
        (``seconds_lo``, ``seconds_hi``), photos per second, peak memory and what ran.
    """
    rows = []
    for spec in specs:
        for size in sizes:
            for w in working:
                progress.phase(f"speed {spec} at {size}x{size}, working size: {w}")
                progress.say(f"colorize --speed: {spec} at {size}x{size}, working size {w} ...", warning=True)
                r = measure(spec, size=size, working=w, **options)
                mean, lo, hi = stats.bootstrap_ci(r.pop("seconds"))
                rows.append({**r, "seconds": mean, "seconds_lo": lo, "seconds_hi": hi})
                if on_row is not None:
                    on_row(rows[-1])
    return pd.DataFrame(rows)

