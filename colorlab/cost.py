"""What a method costs to train and to run: images per second and peak memory, measured.

Notebook 04 compares its heads' costs with it, and notebook 07 its sparse and dense training
(through :mod:`colorlab.papers`). docs/performance.md says how each figure is measured.
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
    """A synthetic batch like :class:`colorlab.data.ColorDataset`'s, smooth enough to have colour.

    Args:
        space: ``"lab"`` or ``"yuv"``.
        batch_size: the images in it.
        size: their side.
        device: where the batch goes.
        seed: draws the colours.

    Returns:
        ``rgb`` ``(B, 3, size, size)`` in ``[0, 1]``, its luminance and chroma (``L`` and ``ab``, or
        ``Y`` and ``uv``) and ``image``, the images' indices.

    Example:
        >>> b = synthetic_batch("lab", 2, 16, torch.device("cpu"))
        >>> sorted(b), tuple(b["ab"].shape)
        (['L', 'ab', 'image', 'rgb'], (2, 2, 16, 16))
    """
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
            "memory": "cuda max_memory_allocated above the built model" if cuda
            else "CPU resident-set high-water mark above the built model"
            + ("" if reset else " (not reset after building: an upper bound)")}


def measure(name: str, variant: str, args: Mapping[str, Any], *, batch_size: int, size: int, repeats: int = 5,
            warmup: int = 1, device: str = "cpu", isolate: bool = True) -> dict[str, Any]:
    """The training and inference cost of one method on a synthetic batch (docs/performance.md).

    ``repeats`` training steps (the method's own, with its own optimisers) and ``repeats``
    colourisations are timed after ``warmup`` untimed ones. Pretrained weights are not loaded, and
    state that :meth:`~colorlab.methods.base.Method.prepare` would compute from data (a class prior)
    keeps its initial values: neither changes the cost.

    Args:
        name: the method's registered name.
        variant: its variant.
        args: its arguments.
        batch_size: the crops in the batch.
        size: their side; a multiple of the method's input size.
        repeats: the timed steps of each phase.
        warmup: the untimed steps before them.
        device: where it runs.
        isolate: measure in a fresh process, so that the memory is this method's alone.

    Returns:
        The seconds of each repeat (``train_seconds``, ``infer_seconds``), the images per second of
        each phase (the batch size over the mean of its repeats), the peak memory in MiB of each
        (``peak_train_mb``, ``peak_infer_mb``), what ``memory`` means, and what ran.

    Raises:
        ValueError: a bad size, repeats or warmup, or a bad method name, variant or argument,
            refused before any process starts.
        RuntimeError: the fresh process failed.

    Example:
        >>> r = measure("yuv_regression", "l2", {"base": 4}, batch_size=2, size=16, repeats=2, isolate=False)
        >>> sorted(r)[:4], len(r["train_seconds"]), r["isolated"]
        (['batch_size', 'device', 'infer_images_per_second', 'infer_seconds'], 2, False)
    """
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
    """The cost of several configurations of one method on each device, each by :func:`measure`.

    Args:
        name: the method's registered name.
        configs: ``(variant, args)`` by label.
        batch_size: the crops in the batch.
        size: their side.
        repeats: the timed steps of each phase.
        devices: the devices (duplicates dropped).
        isolate: measure each in a fresh process.

    Returns:
        One row per configuration and device, ``variant`` holding the label: the training and
        inference images per second over the mean of the timed steps with their 95 % bootstrap
        intervals over the repeats (``_lo``, ``_hi``; none with one repeat), and peak memory.

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
    """The rows of a :func:`compare` table measured on a kind of device.

    Args:
        table: the table.
        device: the device; its kind counts (``cuda`` matches ``cuda:0``).

    Example:
        >>> on_device(pd.DataFrame({"device": ["cpu", "cuda:0"]}), "cuda")["device"].tolist()
        ['cuda:0']
    """
    return table[table["device"].astype(str).str.split(":").str[0] == str(device).split(":")[0]]

