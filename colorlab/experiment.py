"""The evaluation steps every notebook shares: colourise a test set, score it, and the
reference rows (ground truth, gray, random colours) of Zhang et al.'s Table 1.

A *colouriser* is ``fn(batch) -> rgb``: it takes a batch dict on the device (with ``rgb``
and the luminance channels) and returns the colourised RGB ``(B, 3, H, W)`` in ``[0, 1]``.

Example:
    >>> gt, pred, ips = predict(lambda b: b["rgb"], loader)       # doctest: +SKIP
    >>> row = score(gt, pred, method="identity", variant="-")      # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .color import lab_to_rgb, rgb_to_gray, rgb_to_lab
from .data import to_device
from .metrics import evaluate, summarize
from .train import pick_device

__all__ = ["predict", "score", "reference_rows", "model_colorizer"]

Colorizer = Callable[[dict[str, Any]], Tensor]


@torch.no_grad()
def predict(
    colorize: Colorizer,
    loader: Iterable[dict[str, Any]],
    device: str | torch.device = "auto",
    progress: bool = False,
) -> tuple[Tensor, Tensor, float]:
    """Run ``colorize`` over a test loader; return ground-truth and predicted RGB (on the CPU,
    ``(N, 3, H, W)``) and the throughput in images per second (colouriser time only, with
    the device synchronised)."""
    dev = pick_device(device)
    gts, preds, seconds = [], [], 0.0
    for batch in tqdm(loader, desc="predict", disable=not progress, leave=False):
        batch = to_device(batch, dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        rgb = colorize(batch)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
        gts.append(batch["rgb"].float().cpu())
        preds.append(rgb.float().clamp(0, 1).cpu())
    if not gts:
        raise ValueError("the test loader yielded no batches")
    gt, pred = torch.cat(gts), torch.cat(preds)
    return gt, pred, gt.shape[0] / max(seconds, 1e-9)


def model_colorizer(model: nn.Module, to_rgb: Callable[[nn.Module, dict[str, Any]], Tensor]) -> Colorizer:
    """A colouriser from a model in eval mode and ``to_rgb(model, batch)``; on CUDA it runs in
    bf16 autocast like training."""
    model.eval()

    def colorize(batch: dict[str, Any]) -> Tensor:
        dev = batch["rgb"].device
        with torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else nullcontext():
            return to_rgb(model, batch).float()

    return colorize


def score(
    gt: Tensor,
    pred: Tensor,
    *,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
    **labels: Any,
) -> dict[str, Any]:
    """One table row: the labels (``method``, ``variant``, ...) then the aggregated metrics of
    :func:`colorlab.metrics.evaluate`."""
    return {**labels, **summarize(evaluate(gt, pred, prior, bins))}


def reference_rows(
    gt: Tensor,
    *,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
    seed: int = 0,
    **labels: Any,
) -> list[dict[str, Any]]:
    """The reference rows of Zhang et al. 2016, Table 1, on this test set:

    * ``ground_truth``: the test images themselves;
    * ``gray``: ``ab = 0`` (the grayscale input);
    * ``random``: the true ``L`` with the ``ab`` of another test image (a seeded random cyclic
      shift of the test set), as the paper's "random colours" copies the colours of a random image.
    """
    g = torch.Generator().manual_seed(seed)
    n = gt.shape[0]
    # a random cyclic shift: a permutation in which no image keeps its own colours
    shift = int(torch.randint(1, n, (1,), generator=g)) if n > 1 else 0
    perm = (torch.arange(n) + shift) % n
    L, ab = rgb_to_lab(gt)
    random_rgb = lab_to_rgb(L, ab[perm])
    rows = []
    for variant, pred in (("ground_truth", gt), ("gray", rgb_to_gray(gt)), ("random", random_rgb)):
        rows.append(score(gt, pred, prior=prior, bins=bins, method="reference", variant=variant, **labels))
    return rows
