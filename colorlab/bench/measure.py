"""The measurements of :mod:`colorlab.bench`, each made in this process.

A method's training steps (with their FLOPs), its inference on one photo, and evaluation over a
synthetic test set. :mod:`colorlab.bench` runs each through
:func:`colorlab.measuring.in_fresh_process`, so that its peak memory is its alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import cost
from ..backbones import skip_weights
from ..measuring import MB, peak_rss_mb, reset_peak, rss_mb, timed
from .config import method_config, peak_flops

__all__ = ["worker", "SyntheticTest", "EVAL_MMAP_THRESHOLD"]

#: glibc's ``MALLOC_MMAP_THRESHOLD_`` for the evaluation measurement: large blocks always mapped
#: and unmapped, so the resident set's high-water mark is the memory in use, not the allocator's
#: (it slows allocation, so these rows report no time).
EVAL_MMAP_THRESHOLD = 131072


def _train_here(name: str, setting: str, size: int, batch_size: int, repeats: int, warmup: int, device: str,
                compile: bool, plain: bool = False) -> dict[str, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    from ..methods import get
    from ..train import TrainConfig, channels_last_batch, compile_networks, step_mode

    dev = torch.device(device)
    variant, args, _ = method_config(name, setting)
    torch.manual_seed(0)
    with skip_weights():
        method = get(name)(variant, **args)
    cuda = dev.type == "cuda"
    # the training loop's way on this device; plain: fp32, NCHW, Adam unfused
    config = TrainConfig(amp=not plain, fused_adam=not plain, channels_last=not plain)
    mode, channels_last = step_mode(config, dev), cuda and config.channels_last
    method.to(dev)
    batch = cost.synthetic_batch(method.space, batch_size, size, dev)
    if channels_last:
        method.to(memory_format=torch.channels_last)
        batch = channels_last_batch(batch)
    method.train()
    optimizers = method.configure_optimizers(mode)
    step = iter(range(10**9))
    with FlopCounterMode(display=False) as counter:  # one step, counted (also warms up)
        method.train_step(batch, optimizers, next(step), mode)
    flops = counter.get_total_flops()
    if compile:
        compile_networks(method)
    base = torch.cuda.memory_allocated(dev) / MB if cuda else rss_mb()
    reset = cuda or reset_peak()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    compile_seconds = sum(timed(lambda: method.train_step(batch, optimizers, next(step), mode),
                                max(warmup, 1 if compile else 0), dev))
    seconds = timed(lambda: method.train_step(batch, optimizers, next(step), mode), repeats, dev)
    peak_mb = torch.cuda.max_memory_allocated(dev) / MB - base if cuda else peak_rss_mb() - base
    mean = float(np.mean(seconds))
    peak = peak_flops(dev)
    return {"kind": "train", "method": name, "variant": variant, "setting": setting, "size": size,
            "batch_size": batch_size, "compiled": compile, "device": str(dev), "threads": torch.get_num_threads(),
            "params": method.count_parameters(), "step_seconds": mean, "step_seconds_min": float(np.min(seconds)),
            "images_per_second": batch_size / mean, "flops_per_step": flops, "flops_per_second": flops / mean,
            "mfu": flops / mean / peak if peak else float("nan"), "peak_mb": peak_mb,
            "warmup_seconds": compile_seconds, "repeats": repeats,
            "precision": "bf16 autocast" if mode.amp else "fp32", "channels_last": channels_last,
            "recipe": "plain" if plain else "fast",
            "memory": ("cuda max_memory_allocated" if cuda else "CPU resident-set high-water mark")
            + " above the built model and batch" + ("" if reset else " (not reset: an upper bound)")}


def _infer_here(name: str, setting: str, size: int, repeats: int, warmup: int, device: str) -> dict[str, Any]:
    from ..methods import get

    dev = torch.device(device)
    variant, args, _ = method_config(name, setting)
    torch.manual_seed(0)
    with skip_weights():
        method = get(name)(variant, **args)
    method.to(dev).eval()
    rgb = cost.synthetic_batch(method.space, 1, size, dev)["rgb"]
    cuda = dev.type == "cuda"
    base = torch.cuda.memory_allocated(dev) / MB if cuda else rss_mb()
    reset = cuda or reset_peak()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    timed(lambda: method.colorize(rgb), warmup, dev)
    seconds = timed(lambda: method.colorize(rgb), repeats, dev)
    peak_mb = torch.cuda.max_memory_allocated(dev) / MB - base if cuda else peak_rss_mb() - base
    return {"kind": "infer", "method": name, "variant": variant, "setting": setting, "size": size, "batch_size": 1,
            "compiled": False, "device": str(dev), "threads": torch.get_num_threads(),
            "params": method.count_parameters(), "step_seconds": float(np.mean(seconds)),
            "step_seconds_min": float(np.min(seconds)), "images_per_second": 1.0 / float(np.mean(seconds)),
            "peak_mb": peak_mb, "repeats": repeats, "precision": "fp32",
            "memory": "above the built model and photo" + ("" if reset else " (not reset: an upper bound)")}


class SyntheticTest(torch.utils.data.Dataset):
    """Smooth synthetic colour test tiles, made on demand; item ``i`` is always the same.

    Args:
        n: the tiles.
        size: their side.
    """

    def __init__(self, n: int, size: int) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        b = cost.synthetic_batch("lab", 1, self.size, torch.device("cpu"), seed=i)
        return {k: v[0] for k, v in b.items() if k in ("rgb", "L", "ab")}


def _eval_here(n: int, size: int, batch_size: int, keep: int | None, device: str) -> dict[str, Any]:
    """A tiny model and the reference rows scored on ``n`` synthetic images: streamed
    (``keep`` images kept) or, with ``keep=None``, as before streaming: every image held, the
    reference rows computed from the whole ground truth."""
    from ..evaluate import reference_predictions, score_method, stream_references
    from ..methods import Trained, build
    from ..metrics import evaluate

    dev = torch.device(device)
    torch.manual_seed(0)
    trained = Trained(build("zhang", "class", **build("zhang").smoke_args).eval(), pd.DataFrame({"loss": []}))
    loader = torch.utils.data.DataLoader(SyntheticTest(n, size), batch_size=batch_size)
    base = rss_mb()
    reset = reset_peak()
    scored = score_method(trained, loader, decode="annealed", device=dev, keep=keep)
    if keep is not None:
        stream_references(loader, 0, dev)
    else:
        for pred in reference_predictions(scored.gt, 0).values():
            evaluate(scored.gt, pred)
    return {"kind": "eval", "method": "zhang (tiny) + references", "setting": "tiny", "size": size,
            "variant": "streamed" if keep is not None else "every image kept (before)", "batch_size": batch_size,
            "device": str(dev), "n_images": n, "kept_images": int(scored.gt.shape[0]), "peak_mb": peak_rss_mb() - base,
            "memory": "CPU resident-set high-water mark above the start, glibc's mmap threshold fixed at "
                      f"{EVAL_MMAP_THRESHOLD} bytes (the resident set follows the memory in use)"
                      + ("" if reset else " (not reset)")}


def worker(kind: str) -> Callable[..., dict[str, Any]]:
    """The function that makes one kind of measurement.

    Args:
        kind: ``train``, ``infer`` or ``eval``.

    Returns:
        It; it takes JSON values and returns the row, for :func:`colorlab.measuring.in_fresh_process`.
    """
    return {"train": _train_here, "infer": _infer_here, "eval": _eval_here}[kind]

