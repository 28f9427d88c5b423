"""What a method costs to train and to run: images per second and peak memory, measured like a benchmark.

Notebook 04 compares its heads' costs with it, and notebook 07 its sparse and dense training
(through :mod:`colorlab.papers`). :func:`compare` times the configurations interleaved, step by step,
in several fresh processes, with an A/A check; docs/performance.md says how each figure is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import torch

from . import progress, stats
from .backbones import skip_weights
from .color import rgb_to_lab, rgb_to_yuv
from .device import pick_device
from .measuring import MB, in_fresh_process, in_this_process, peak_rss_mb, reset_peak, rss_mb, timed

__all__ = ["MIN_REPEATS", "MIN_PROCESSES", "AA_LABEL", "measure", "interleaved", "compare", "speed_ratio",
           "on_device", "synthetic_batch"]

#: The fewest timed repeats per process, and processes, a cost claim's verdict rests on.
MIN_REPEATS, MIN_PROCESSES = 20, 3
#: The label of the A/A twin: the first configuration built and timed a second time.
AA_LABEL = "A/A twin"


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


def _step(method: Any, batch: dict[str, Any], optimizers: Any, phase: str, index: int) -> None:
    if phase == "infer":
        method.colorize(batch)
    else:
        method.train_step(batch, optimizers, index)


def _interleaved_here(name: str, configs: Mapping[str, list[Any]], batch_size: int, size: int, repeats: int,
                      warmup: int, device: str) -> dict[str, dict[str, list[float]]]:
    from .methods import get

    dev = torch.device(device)
    built = {}
    for label, (variant, args) in configs.items():
        torch.manual_seed(0)
        with skip_weights():
            method = get(name)(variant, **args)
        method.to(dev)
        built[label] = (method, synthetic_batch(method.space, batch_size, size, dev), method.configure_optimizers())
    labels, out = list(built), {label: {"train_seconds": [], "infer_seconds": []} for label in built}
    for phase in ("infer", "train"):
        for method, _, _ in built.values():
            method.train(phase == "train")
        for r in range(warmup + repeats):
            for label in labels if r % 2 == 0 else labels[::-1]:  # ABBA: a drift hits both alike
                seconds = timed(partial(_step, *built[label], phase, r), 1, dev)[0]
                if r >= warmup:
                    out[label][f"{phase}_seconds"].append(seconds)
    return out


def interleaved(name: str, configs: Mapping[str, tuple[str, Mapping[str, Any]]], *, batch_size: int, size: int,
                repeats: int = MIN_REPEATS, processes: int = MIN_PROCESSES, warmup: int = 1, device: str = "cpu",
                isolate: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Time configurations of one method step by step, interleaved, in several processes, with an A/A twin.

    In each process every configuration and a second copy of the first (:data:`AA_LABEL`) are
    built, then their inference steps and then their training steps are timed in turn, A B B A
    (alternate repeats reversed), after ``warmup`` untimed rounds: a machine that slows down or
    speeds up slows all alike.

    Args:
        name: the method's registered name.
        configs: ``(variant, args)`` by label.
        batch_size: the crops in the batch.
        size: their side.
        repeats: the timed steps of each configuration and phase in each process.
        processes: the fresh processes (``isolate``) or runs in this process.
        warmup: the untimed rounds.
        device: where it runs.
        isolate: run each in a fresh process.

    Returns:
        ``{label: {"train_seconds", "infer_seconds"}}``, each ``(processes, repeats)``.

    Example:
        >>> t = interleaved("yuv_regression", {"narrow": ("l2", {"base": 2}), "wide": ("l2", {"base": 4})},
        ...                 batch_size=2, size=16, repeats=2, processes=1, isolate=False)
        >>> sorted(t), t["wide"]["train_seconds"].shape
        (['A/A twin', 'narrow', 'wide'], (1, 2))
    """
    if repeats < 1 or processes < 1 or warmup < 0 or not configs:
        raise ValueError(f"need configs, repeats and processes >= 1 and warmup >= 0; got {len(configs)} configs, "
                         f"{repeats}, {processes}, {warmup}")
    first = next(iter(configs))
    twin = {k: [v, dict(a)] for k, (v, a) in {**configs, AA_LABEL: configs[first]}.items()}
    job = dict(name=name, configs=twin, batch_size=batch_size, size=size, repeats=repeats, warmup=warmup,
               device=device)
    runs = [in_fresh_process("colorlab.cost:_interleaved_here", job, what=f"timing {name}") if isolate
            else in_this_process(_interleaved_here, job) for _ in range(processes)]
    phases = ("train_seconds", "infer_seconds")
    return {label: {k: np.array([run[label][k] for run in runs], dtype=float) for k in phases} for label in twin}


def speed_ratio(a: np.ndarray, b: np.ndarray) -> stats.Interval:
    """How many times faster ``a``'s steps are than ``b``'s: ``mean(b) / mean(a)``, with its bootstrap interval.

    Args:
        a: seconds per step ``(processes, repeats)``, timed interleaved with ``b``.
        b: the same shape.

    Returns:
        ``(ratio, low, high)``: processes and repeats resampled, the pairs together.

    Example:
        >>> r = speed_ratio(np.full((3, 20), 0.5), np.full((3, 20), 1.0))
        >>> r
        (2.0, 2.0, 2.0)
    """
    return stats.bootstrap(lambda x, y: np.nanmean(y, -1) / np.nanmean(x, -1), a, b)


def compare(name: str, configs: Mapping[str, tuple[str, Mapping[str, Any]]], *, batch_size: int, size: int,
            repeats: int = 5, processes: int = 1, devices: tuple[str, ...] | list[str] = ("cpu",),
            isolate: bool = True) -> pd.DataFrame:
    """The cost of several configurations of one method on each device: speed interleaved, memory each alone.

    The speed comes from :func:`interleaved`; the peak memory from :func:`measure`, each
    configuration in a process of its own (``isolate``) with one timed step.

    Args:
        name: the method's registered name.
        configs: ``(variant, args)`` by label; the first is the reference of the ratios.
        batch_size: the crops in the batch.
        size: their side.
        repeats: the timed steps of each phase in each process.
        processes: the processes (or runs in this process without ``isolate``).
        devices: the devices (duplicates dropped).
        isolate: measure in fresh processes.

    Returns:
        One row per configuration and device, ``variant`` holding the label: the training and
        inference images per second with their 95 % intervals (``_lo``, ``_hi``), each phase's
        ``<phase>_ratio`` (this configuration's speed over the first's, with its interval) and
        ``<phase>_aa_ratio`` (the first's over its A/A twin's: its interval must hold 1), peak
        memory, ``repeats``, ``processes`` and ``protocol``.

    Example:
        >>> t = compare("yuv_regression", {"narrow": ("l2", {"base": 2}), "wide": ("l2", {"base": 4})},
        ...             batch_size=2, size=16, repeats=2, isolate=False)
        >>> t["variant"].tolist(), float(t["train_ratio"].iloc[0]), bool((t["train_images_per_second_lo"] > 0).all())
        (['narrow', 'wide'], 1.0, True)
    """
    rows = []
    first = next(iter(configs))
    for device in dict.fromkeys(str(pick_device(d)) for d in devices):
        progress.phase(f"cost {name} on {device}: {', '.join(configs)} interleaved, {processes} x {repeats} steps")
        times = interleaved(name, configs, batch_size=batch_size, size=size, repeats=repeats, processes=processes,
                            device=device, isolate=isolate)
        protocol = (f"interleaved steps (A B B A), {repeats} timed repeats in each of {processes} "
                    f"{'fresh processes' if isolate else 'runs in one process'}, A/A check on {first}")
        for label, (variant, args) in configs.items():
            progress.phase(f"cost {name}/{label} on {device}: memory")
            r = measure(name, variant, args, batch_size=batch_size, size=size, repeats=1, device=device,
                        isolate=isolate)
            for phase in ("train", "infer"):
                r.pop(f"{phase}_seconds")
                seconds = times[label][f"{phase}_seconds"]
                mean, lo, hi = stats.bootstrap_ci(seconds)
                r |= {f"{phase}_images_per_second": batch_size / mean, f"{phase}_images_per_second_lo": batch_size / hi,
                      f"{phase}_images_per_second_hi": batch_size / lo}
                for key, (a, b) in {"ratio": (seconds, times[first][f"{phase}_seconds"]),
                                    "aa_ratio": (times[first][f"{phase}_seconds"],
                                                 times[AA_LABEL][f"{phase}_seconds"])}.items():
                    m, lo, hi = speed_ratio(a, b)
                    r |= {f"{phase}_{key}": m, f"{phase}_{key}_lo": lo, f"{phase}_{key}_hi": hi}
            rows.append({**r, "variant": label, "repeats": repeats, "processes": processes, "protocol": protocol})
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

