"""``colorlab bench``: what every registered method costs to train and to run on this machine.

Each method is built at a *setting*, ``paper`` (the network its source trains) or ``tiny`` (its
``smoke_args``), and each measurement runs in a fresh process. :func:`run` makes every row and
:func:`figure` draws them. docs/performance.md says what each row means.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .. import progress
from ..device import pick_device, synchronize
from ..measuring import in_fresh_process, in_this_process
from .config import INFER_SIZES, PEAK_FLOPS, SETTINGS, SIZE, device_label, method_config, peak_flops
from .measure import EVAL_MMAP_THRESHOLD, worker

__all__ = ["SETTINGS", "PEAK_FLOPS", "peak_flops", "method_config", "train_row", "infer_row", "data_row", "eval_row",
           "run", "figure", "device_label"]

#: Synthetic JPEGs made for the data pipeline when no folder is given: how many and how large.
SYNTHETIC_PHOTOS = 48
SYNTHETIC_SIDE = 512


def _isolated(job: dict[str, Any], isolate: bool) -> dict[str, Any]:
    kind = job.pop("kind")
    here = worker(kind)
    if not isolate:
        return {**in_this_process(here, job), "isolated": False}
    env = {}
    if kind == "eval":
        job.pop("name", None)
        env["MALLOC_MMAP_THRESHOLD_"] = str(EVAL_MMAP_THRESHOLD)
    what = f"bench {kind} {job.get('name', '')} at {job['size']}²"
    return {**in_fresh_process(f"{here.__module__}:{here.__name__}", job, what=what, env=env), "isolated": True}


def train_row(name: str, *, setting: str = "paper", size: int = SIZE, batch_size: int = 8, repeats: int = 5,
              warmup: int = 1, device: str = "cpu", compile: bool = False, plain: bool = False,
              isolate: bool = True) -> dict[str, Any]:
    """Measure one method's training steps: their time, FLOPs, MFU and peak memory.

    Args:
        name: the method's registered name.
        setting: ``paper`` or ``tiny`` (:func:`method_config`).
        size: the crops' side.
        batch_size: the crops in a batch.
        repeats: the timed steps.
        warmup: the untimed steps before them (at least one with ``compile``).
        device: where it runs.
        compile: the networks through :func:`torch.compile`.
        plain: fp32, NCHW and Adam unfused, as the official recipes train (a baseline), instead of
            the training loop's way.
        isolate: measure in a fresh process.

    Returns:
        The row (``kind`` ``train``).

    Example:
        >>> t = train_row("yuv_regression", setting="tiny", size=16, batch_size=2, repeats=1, warmup=0, isolate=False)
        >>> t["kind"], t["flops_per_step"] > 0, t["images_per_second"] > 0
        ('train', True, True)
    """
    return _isolated(dict(kind="train", name=name, setting=setting, size=size, batch_size=batch_size,
                          repeats=repeats, warmup=warmup, device=device, compile=compile, plain=plain), isolate)


def infer_row(name: str, *, setting: str = "paper", size: int = 256, repeats: int = 5, warmup: int = 1,
              device: str = "cpu", isolate: bool = True) -> dict[str, Any]:
    """Measure one method's inference: ``colorize`` of one ``size``² photo, the network at full size.

    Args:
        name: the method's registered name.
        setting: ``paper`` or ``tiny`` (:func:`method_config`).
        size: the photo's side.
        repeats: the timed runs.
        warmup: the untimed runs before them.
        device: where it runs.
        isolate: measure in a fresh process.

    Returns:
        The row (``kind`` ``infer``).
    """
    return _isolated(dict(kind="infer", name=name, setting=setting, size=size, repeats=repeats, warmup=warmup,
                          device=device), isolate)


def _synthetic_folder(folder: Path, n: int, side: int) -> Path:
    """``n`` JPEGs of ``side`` × ``3/4 side`` made from the embedded sample photos (shifted crops)."""
    from PIL import Image

    from ..data.sources import embedded_files

    photos = [Image.open(p).convert("RGB") for p in embedded_files("samples").values()]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = photos[i % len(photos)].resize((side + 64, side * 3 // 4 + 48))
        dx, dy = (i * 7) % 64, (i * 5) % 48
        im.crop((dx, dy, dx + side, dy + side * 3 // 4)).save(folder / f"photo{i:03d}.jpg", quality=90)
    return folder


def data_row(folder: str | os.PathLike | None = None, *, crop: int = SIZE, batch_size: int = 32, batches: int = 20,
             device: str = "cpu", num_workers: int | None = None) -> dict[str, Any]:
    """Measure the data pipeline alone, in this process.

    Training batches of random crops are decoded from JPEGs by :func:`colorlab.data.make_loader`
    and moved to the device. The clock starts once the workers have started and what they fetched
    ahead is consumed.

    Args:
        folder: the JPEGs (``None``: 48 of 512 × 384, made from the embedded photos).
        crop: the crops' side.
        batch_size: the crops in a batch.
        batches: the timed batches.
        device: where the batches go.
        num_workers: the loader's workers (``None``: the loader's own choice).

    Returns:
        The row (``kind`` ``data``), with images per second, the workers and pinned memory.
    """
    from ..data import load_dataset, make_loader, to_device

    dev = pick_device(device)
    with tempfile.TemporaryDirectory(prefix="colorlab-bench-photos-") as tmp:
        where = Path(folder) if folder is not None else _synthetic_folder(Path(tmp), SYNTHETIC_PHOTOS, SYNTHETIC_SIDE)
        ds = load_dataset(f"folder:{where}", "train", crop=crop, cache_limit=0)
        loader = make_loader(ds, batch_size, train=True, num_workers=num_workers, device=dev)
        it = iter(loader)
        for _ in range(1 + loader.num_workers * (loader.prefetch_factor or 0)):  # what the workers fetched ahead
            to_device(next(it), dev)
        t0 = time.perf_counter()
        for _ in range(batches):
            to_device(next(it), dev)
        synchronize(dev)
        seconds = time.perf_counter() - t0
        workers, pinned, files = loader.num_workers, bool(loader.pin_memory), len(ds.images)
        del it, loader  # the workers stop before their files are removed
    return {"kind": "data", "method": "data pipeline", "variant": f"{files} JPEGs", "setting": "-", "size": crop,
            "batch_size": batch_size, "device": str(dev), "threads": torch.get_num_threads(),
            "images_per_second": batches * batch_size / seconds, "step_seconds": seconds / batches,
            "workers": workers, "pinned": pinned, "repeats": batches}


def eval_row(n: int, *, size: int = 64, batch_size: int = 64, keep: int | None = None, streamed: bool = True,
             device: str = "cpu") -> dict[str, Any]:
    """Measure the peak memory of scoring synthetic test images and the reference rows, in a fresh process.

    Args:
        n: the test images.
        size: their side.
        batch_size: the test batches.
        keep: the images kept, streamed (default: :data:`colorlab.evaluate.KEEP_IMAGES`).
        streamed: as a notebook scores them; ``False``: as before streaming, every image held.
        device: where it runs.

    Returns:
        The row (``kind`` ``eval``), measured with glibc's mmap threshold fixed
        (:data:`~colorlab.bench.measure.EVAL_MMAP_THRESHOLD`).
    """
    from ..evaluate import KEEP_IMAGES

    job = {"kind": "eval", "n": n, "size": size, "batch_size": batch_size,
           "keep": (keep or KEEP_IMAGES) if streamed else None, "device": device}
    return _isolated({**job, "name": "eval"}, True)


def run(methods: Sequence[str] | None = None, *, setting: str = "paper", sizes: Sequence[int] | None = None,
        batch_sizes: Sequence[int] = (1, 8), infer_sizes: Sequence[int] = INFER_SIZES, repeats: int = 5,
        device: str = "cpu", compile: bool = False, data: str | None = None, data_batches: int = 20,
        eval_images: Sequence[int] = (), plain: Sequence[tuple[str, int]] = (), isolate: bool = True,
        on_row: Callable[[dict[str, Any]], None] | None = None) -> pd.DataFrame:
    """Every measurement of ``colorlab bench``, with progress on the terminal.

    Args:
        methods: the methods (default: every registered one).
        setting: ``paper`` or ``tiny`` (:func:`method_config`).
        sizes: the training crops' sides (default: 256 and each method's own crop with ``paper``).
        batch_sizes: the training batch sizes.
        infer_sizes: the photos' sides for inference.
        repeats: the timed steps of each measurement.
        device: where it runs.
        compile: also measure training with :func:`torch.compile`.
        data: a folder of JPEGs for the data pipeline (default: made from the embedded photos).
        data_batches: the data pipeline's timed batches.
        eval_images: the test-set sizes evaluation's memory is measured at (streamed, and every
            image kept at the smallest).
        plain: ``(method, batch size)`` pairs also measured the plain way, at the method's own crop
            (the official recipes' baselines).
        isolate: measure each method in a fresh process.
        on_row: gets each row as it is measured.

    Returns:
        One row per measurement, ``kind`` saying which: ``train``, ``infer``, ``data`` or ``eval``.
    """
    from ..methods import METHODS

    names = list(methods) if methods else list(METHODS)
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:
        rows.append(row)
        if on_row is not None:
            on_row(row)

    for name in names:
        _, _, own = method_config(name, setting)
        for size in dict.fromkeys(sizes or (SIZE if setting == "paper" else own, own)):
            for b in batch_sizes:
                for compiled in (False, True) if compile else (False,):
                    progress.phase(f"bench train {name} {size}² batch {b}" + (" compiled" if compiled else ""))
                    progress.say(f"bench: train {name} at {size}², batch {b}" + (", compiled" if compiled else ""),
                                 warning=True)
                    keep(train_row(name, setting=setting, size=size, batch_size=b, repeats=repeats, device=device,
                                   compile=compiled, isolate=isolate))
        for b in [b for m, b in plain if m == name]:
            progress.say(f"bench: train {name} at {own}², batch {b}, the plain recipe", warning=True)
            keep(train_row(name, setting=setting, size=own, batch_size=b, repeats=repeats, device=device, plain=True,
                           isolate=isolate))
        for size in infer_sizes:
            progress.say(f"bench: infer {name} at {size}²", warning=True)
            keep(infer_row(name, setting=setting, size=size, repeats=repeats, device=device, isolate=isolate))
    progress.say("bench: data pipeline", warning=True)
    crop = max(sizes or (SIZE,)) if setting == "paper" else min(r["size"] for r in rows if r["kind"] == "train")
    row = data_row(data, crop=crop, batch_size=max(batch_sizes), batches=data_batches, device=device)
    fastest = max((r["images_per_second"] for r in rows if r["kind"] == "train" and r["size"] == crop), default=None)
    keep({**row, "fastest_train_images_per_second": fastest,
          "input_bound": bool(fastest is not None and row["images_per_second"] < fastest)})
    for i, n in enumerate(sorted(eval_images)):
        for streamed in (True, False) if i == 0 else (True,):
            progress.say(f"bench: evaluation of {n} images, " + ("streamed" if streamed else "every image kept"),
                         warning=True)
            keep(eval_row(n, streamed=streamed, device=device))
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame) -> Any:
    """Draw a :func:`run` table.

    Training images per second are bars by method and configuration, the data pipeline's rate a
    line across them. Inference latency is drawn at each photo size, and evaluation's peak memory
    against the test set's size when it was measured.

    Args:
        table: the rows.

    Returns:
        The matplotlib figure.

    Example:
        >>> t = pd.DataFrame([{"kind": "train", "method": "m", "size": 8, "batch_size": 2, "compiled": False,
        ...                    "images_per_second": 40.0, "device": "cpu"},
        ...                   {"kind": "data", "size": 8, "images_per_second": 100.0}])
        >>> ax = figure(t).axes[0]
        >>> [float(p.get_height()) for p in ax.patches], ax.get_lines()[0].get_ydata()[0]
        ([40.0], 100.0)
    """
    import matplotlib.pyplot as plt

    train, infer, data, ev = (table[table["kind"] == k] if "kind" in table else table.iloc[0:0]
                              for k in ("train", "infer", "data", "eval"))
    fig, axes = plt.subplots(1, 3 if len(ev) else 2, figsize=(18 if len(ev) else 13, 4.6),
                             gridspec_kw={"width_ratios": [2, 1, 1] if len(ev) else [2, 1]})
    ax = axes[0]  # one group of bars per method, one bar per configuration (crop, batch, compiled, recipe)
    config = [f"{r.size}², batch {r.batch_size}" + (", compiled" if r.compiled else "")
              + (", plain" if getattr(r, "recipe", "fast") == "plain" else "") for r in train.itertuples()]
    keys, names = list(dict.fromkeys(config)), list(dict.fromkeys(train["method"]))
    width = 0.8 / max(1, len(keys))
    colours = plt.get_cmap("tab20")
    for j, key in enumerate(keys):
        sel = [c == key for c in config]
        xs = [names.index(m) - 0.4 + (j + 0.5) * width for m in train["method"][sel]]
        ax.bar(xs, train["images_per_second"][sel], width, color=colours(j % 20), label=key)
    ax.set_xticks(range(len(names)), names, rotation=30, fontsize=7)
    ax.set_ylabel("training images / s")
    ax.set_yscale("log")
    if not data.empty:
        ax.axhline(float(data["images_per_second"].iloc[0]), color="tab:red", linestyle="--",
                   label=f"data pipeline, {int(data['size'].iloc[0])}² crops")
    if len(train) or not data.empty:
        ax.legend(fontsize=6, ncol=2)
    ax.set_title(f"training ({train['device'].iloc[0] if len(train) else '?'})", fontsize=9)
    ax = axes[1]
    for size, g in infer.groupby("size"):
        ax.plot(g["method"], g["step_seconds"], "o-", label=f"{size}²")
    ax.set_yscale("log")
    ax.set_ylabel("seconds per photo")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    if len(infer):
        ax.legend(fontsize=7)
    ax.set_title("inference latency, one photo", fontsize=9)
    if len(ev):
        ax = axes[2]
        for variant, g in ev.groupby("variant"):
            ax.plot(g["n_images"], g["peak_mb"], "o-", label=variant)
        ax.set_xscale("log")
        ax.set_xlabel("test images")
        ax.set_ylabel("peak memory, MiB")
        ax.legend(fontsize=7)
        ax.set_title("evaluation's memory", fontsize=9)
    fig.tight_layout()
    return fig


