"""What a method costs to train and to run: images per second and peak memory, measured.

:func:`measure` times ``repeats`` training steps (the method's own :meth:`train_step` with its
own optimisers) on a synthetic batch of ``batch_size`` crops of ``size``², and ``repeats``
colourisations of the same batch in eval mode, after ``warmup`` untimed ones, the device
synchronised around each. With ``isolate`` (the default) it runs in a fresh Python process,
inference first and training second, so that the memory it reports is that of this method
alone, not of whatever the calling notebook already holds:

* **CUDA**: the peak of ``torch.cuda.max_memory_allocated`` during each phase minus what the built
  model and the batch hold before it (as on the CPU: what the phase adds at peak);
* **CPU**: the process's resident-set high-water mark (``VmHWM``, reset once the model and the
  batch are built) after each phase minus its resident set before the first, i.e. what the
  model's activations, gradients and optimiser state add at peak over the built model and the
  batch. The training phase's number includes the inference phase's peak when that is higher
  (it rarely is). Where the mark cannot be reset (not Linux) the build's own peak may show
  through, and the ``memory`` field says so.

Weights do not change the cost, so the method is built without loading pretrained ones
(:func:`colorlab.backbones.skip_weights`).

Example:
    >>> r = measure("yuv_regression", "l2", {"base": 4}, batch_size=2, size=16, repeats=2, isolate=False)
    >>> sorted(r)[:4], len(r["train_seconds"]), r["isolated"]
    (['batch_size', 'device', 'infer_images_per_second', 'infer_seconds'], 2, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from . import progress, stats
from .backbones import skip_weights
from .color import rgb_to_lab, rgb_to_yuv
from .device import pick_device
from .measuring import MB, in_fresh_process, in_this_process, peak_rss_mb, reset_peak, rss_mb, timed

__all__ = ["measure", "compare", "on_device", "synthetic_batch"]

def synthetic_batch(space: str, batch_size: int, size: int, device: torch.device, seed: int = 0) -> dict[str, Any]:
    """A batch like :class:`colorlab.data.ColorDataset`'s: random RGB ``(B, 3, size, size)`` with its
    luminance and chroma in ``space`` (``"lab"`` or ``"yuv"``), smooth enough to have colour."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(batch_size, 3, max(1, size // 8), max(1, size // 8), generator=g)
    rgb = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    lum, chroma = (rgb_to_lab if space == "lab" else rgb_to_yuv)(rgb)
    keys = ("L", "ab") if space == "lab" else ("Y", "uv")
    batch = {"rgb": rgb, keys[0]: lum, keys[1]: chroma, "image": torch.arange(batch_size)}
    return {k: v.to(device) for k, v in batch.items()}


def _measure_here(name: str, variant: str, args: Mapping[str, Any], batch_size: int, size: int, repeats: int,
                  warmup: int, device: str) -> dict[str, Any]:
    from .methods import get

    dev = torch.device(device)
    torch.manual_seed(0)
    with skip_weights():
        method = get(name)(variant, **args)
    method.to(dev)
    batch = synthetic_batch(method.space, batch_size, size, dev)
    cuda = dev.type == "cuda"
    base = torch.cuda.memory_allocated(dev) / MB if cuda else rss_mb()  # the built model and the batch
    reset = cuda or reset_peak()  # else the peak may be the build's, not the phase's: reported as is

    def peak() -> float:
        if cuda:
            return torch.cuda.max_memory_allocated(dev) / MB - base
        return peak_rss_mb() - base

    method.eval()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    timed(lambda: method.colorize(batch), warmup, dev)
    infer = timed(lambda: method.colorize(batch), repeats, dev)
    peak_infer = peak()

    method.train()
    optimizers = method.configure_optimizers()
    step = iter(range(10**9))
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    timed(lambda: method.train_step(batch, optimizers, next(step)), warmup, dev)
    train = timed(lambda: method.train_step(batch, optimizers, next(step)), repeats, dev)
    return {"method": name, "variant": variant, "device": str(dev), "batch_size": batch_size, "size": size,
            "threads": torch.get_num_threads(), "train_seconds": train, "infer_seconds": infer,
            "train_images_per_second": batch_size / float(np.mean(train)),
            "infer_images_per_second": batch_size / float(np.mean(infer)),
            "peak_train_mb": peak(), "peak_infer_mb": peak_infer,
            "memory": "cuda max_memory_allocated above the built model" if cuda else "CPU resident-set high-water mark above the built model"
            + ("" if reset else " (not reset after building: an upper bound)")}


def measure(name: str, variant: str, args: Mapping[str, Any], *, batch_size: int, size: int, repeats: int = 5,
            warmup: int = 1, device: str = "cpu", isolate: bool = True) -> dict[str, Any]:
    """Training and inference cost of method ``name``/``variant`` built with ``args`` (see the module
    docstring): per-repeat seconds (``train_seconds``, ``infer_seconds``), the images per second of
    each (batch size over the mean of its repeats), and peak memory in MiB. State that :meth:`~colorlab.methods.base.Method.prepare`
    would compute from data (a class prior) keeps its initial values: it changes no cost.
    A bad method name, variant or argument is refused before any process starts."""
    if batch_size < 1 or size < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"need batch_size, size, repeats >= 1 and warmup >= 0; got {batch_size}, {size}, "
                         f"{repeats}, {warmup}")
    from .methods import get

    with torch.random.fork_rng(devices=[]), skip_weights():  # a bad name, variant or argument is refused here,
        multiple = get(name)(variant, **args).input_multiple  # before a process starts
    if size % multiple:
        raise ValueError(f"{name}/{variant}: the synthetic crops must be a multiple of {multiple}; got {size}")
    job = dict(name=name, variant=variant, args=dict(args), batch_size=batch_size, size=size, repeats=repeats,
               warmup=warmup, device=device)
    if not isolate:
        return {**in_this_process(_measure_here, job), "repeats": repeats, "isolated": False,
                "memory": "in the calling process: not that of this method alone"}
    measured = in_fresh_process("colorlab.cost:_measure_here", job, what=f"measuring {name}/{variant}")
    return {**measured, "repeats": repeats, "isolated": True}


def compare(name: str, configs: Mapping[str, tuple[str, Mapping[str, Any]]], *, batch_size: int, size: int,
            repeats: int = 5, devices: tuple[str, ...] | list[str] = ("cpu",), isolate: bool = True) -> pd.DataFrame:
    """The cost of each of method ``name``'s ``configs`` (label -> ``(variant, args)``) on each device
    (duplicates dropped), each by :func:`measure`: one row per config and device, ``variant`` holding
    the label, with the training and inference images per second over the mean of the timed steps and
    their 95 % bootstrap intervals over the ``repeats`` (``_lo``, ``_hi``; none with one repeat), and
    peak memory. Progress says which is being measured.

    Example:
        >>> t = compare("yuv_regression", {"narrow": ("l2", {"base": 2}), "wide": ("l2", {"base": 4})},
        ...             batch_size=2, size=16, repeats=2, isolate=False)
        >>> t["variant"].tolist(), bool((t["train_images_per_second_lo"] <= t["train_images_per_second"]).all())
        (['narrow', 'wide'], True)
    """
    rows = []
    for device in dict.fromkeys(str(pick_device(d)) for d in devices):
        for label, (variant, args) in configs.items():
            progress.phase(f"cost {name}/{label} on {device}")
            r = measure(name, variant, args, batch_size=batch_size, size=size, repeats=repeats, device=device,
                        isolate=isolate)
            for phase in ("train", "infer"):
                mean, lo, hi = stats.bootstrap_ci(r.pop(f"{phase}_seconds"))
                r[f"{phase}_images_per_second"] = batch_size / mean
                r[f"{phase}_images_per_second_lo"] = batch_size / hi
                r[f"{phase}_images_per_second_hi"] = batch_size / lo
            rows.append({**r, "variant": label})
    return pd.DataFrame(rows)


def on_device(table: pd.DataFrame, device: str) -> pd.DataFrame:
    """The rows of a :func:`compare` table measured on ``device``'s kind (``cuda`` matches ``cuda:0``).

    Example:
        >>> on_device(pd.DataFrame({"device": ["cpu", "cuda:0"]}), "cuda")["device"].tolist()
        ['cuda:0']
    """
    return table[table["device"].astype(str).str.split(":").str[0] == str(device).split(":")[0]]

