"""Larsson et al.'s claims (source 004), their rules, their cost and figures (notebook 07).

:data:`CLAIMS` holds five claims; each rule takes notebook 07's per-photo rows and returns a
:class:`~colorlab.claims.Verdict`. :func:`measure_sampling` and :func:`sampling_labels` measure
sparse against dense reading; :func:`histogram_plot` and :func:`certainty_plot` draw the histograms
and what chromatic fading takes away. The rules in words: ``docs/methods/larsson.md``.

Example:
    >>> [c.key for c in CLAIMS]  # doctest: +NORMALIZE_WHITESPACE
    ['larsson_histograms_beat_l2', 'larsson_lab_expectation_best', 'larsson_hue_chroma_median_best',
     'larsson_fading', 'larsson_sparse_cheaper']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .. import cost, viz
from ..claims import (
    INCONCLUSIVE,
    Claim,
    Published,
    Verdict,
    combine,
    difference_of,
    margins_for,
    missing,
    pretrained,
    verdict_of,
)
from ..color import rgb_to_lab
from ..evidence import fmt, select
from ..methods import get
from ..methods.larsson.histograms import (
    FADING_ETA,
    chromatic_fading,
    decode_expectation,
    decode_median,
    decode_mode,
    hue_chroma,
    hue_expectation,
)
from ..methods.larsson.network import INPUT_MULTIPLE
from .base import Paper, SourceNetwork, cost_verdict, reciprocal

__all__ = ["CLAIMS", "PAPER", "PUBLISHED", "SAMPLING_PREFIX", "measure_sampling", "sampling_labels",
           "sampling_plot", "histogram_plot", "certainty_plot"]

_SOURCE = "004"
_NOTEBOOK = "07"
_M = "larsson"
#: Prefix of the sparse-versus-dense cost columns in the result rows.
SAMPLING_PREFIX = "sampling_"
#: The decoding of each histogram head the paper prefers (the L2 head's only one is ``direct``).
PREFERRED = {"l2": "direct", "lab": "expectation", "lab_joint": "expectation", "hue_chroma": "median_fading"}
_MARGINS_SHOWN = " (each must clear its margin: RMSE {rmse:g}, PSNR {psnr:g} dB)"  # .format(**margins)


def _row(variant: str, decode: str) -> dict[str, str]:
    return {"method": _M, "variant": variant, "decode": decode}


def _absent(df: pd.DataFrame, *rows: tuple[str, str]) -> list[str]:
    return [f"{_M}/{v}/{d}" for v, d in rows if select(df, **_row(v, d)).empty]


def _better(df: pd.DataFrame, a: Mapping[str, str], b: Mapping[str, str], label: str,
            margins: Mapping[str, float]) -> list[tuple[str, str]]:
    """``a`` more accurate than ``b``: (verdict, shown) for RMSE lower and PSNR higher by their margins, paired."""
    rmse = difference_of(df, "rmse", a, b)
    psnr = difference_of(df, "psnr", a, b)
    return [(verdict_of(rmse, "<", margins["rmse"]), f"RMSE {label} {fmt(rmse, 2)}"),
            (verdict_of(psnr, ">", margins["psnr"]), f"PSNR {label} {fmt(psnr, 2)} dB")]


def _verdict(tests: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The combined verdict of several parts, and the interval of the first part whose own verdict it is."""
    verdict = combine(*(v for v, _ in tests))
    return verdict, next((shown for v, shown in tests if v == verdict), tests[0][1])


# ------------------------------------------------------------------------------------ claims


def histograms_beat_l2(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge "histograms beat L2": the Lab expectation minus the L2 head, RMSE lower and PSNR higher.

    Paired on seeds and photos, each clearing its margin; the joint and hue/chroma heads are shown
    beside it. The paper's finding was made with an ImageNet-pretrained VGG-16: with a random trunk, no verdict.
    """
    absent = _absent(df, ("l2", "direct"), ("lab", "expectation"))
    if absent:
        return missing(*absent)
    tests = _better(df, _row("lab", "expectation"), _row("l2", "direct"), "minus L2", margins)
    verdict, decisive = _verdict(tests)
    others = []
    for head in ("lab_joint", "hue_chroma"):
        if not select(df, **_row(head, PREFERRED[head])).empty:
            r = difference_of(df, "rmse", _row(head, PREFERRED[head]), _row("l2", "direct"))
            others.append(f"{head}/{PREFERRED[head]} minus L2: RMSE {fmt(r, 2)}")
    evidence = "Lab histograms (expectation): " + ", ".join(s for _, s in tests) + _MARGINS_SHOWN.format(**margins) + (
        f"; {'; '.join(others)}" if others else "")
    semantic, weights = pretrained(select(df, method=_M), "backbone_weights")
    if not semantic:
        return Verdict(f"{evidence}. The rule alone would say {verdict.upper()}, but the VGG-16 was not "
                       f"ImageNet-pretrained ({weights}): the paper's finding is about a pretrained network, so no "
                       f"verdict", INCONCLUSIVE, decisive)
    return Verdict(evidence + f" (trunk: {weights})", verdict, decisive)


def _best_decoding(df: pd.DataFrame, variant: str, best: str, others: Sequence[str], what: str,
                   margins: Mapping[str, float]) -> Verdict:
    absent = _absent(df, (variant, best), *((variant, d) for d in others))
    if absent:
        return missing(*absent)
    tests = [t for d in others for t in _better(df, _row(variant, best), _row(variant, d), f"vs {d}", margins)]
    verdict, decisive = _verdict(tests)
    shown = ", ".join(s for _, s in tests) + _MARGINS_SHOWN.format(**margins)
    return Verdict(f"{what} minus each other decoding: {shown}", verdict, decisive)


def lab_expectation_best(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge the Lab head's expectation against its median, mode and a sample: RMSE lower, PSNR higher.

    All six paired intervals must clear their margins (``rmse``, ``psnr``) on the claimed side to reproduce.
    """
    return _best_decoding(df, "lab", "expectation", ("median", "mode", "sample"), "Lab expectation", margins)


def hue_chroma_median_best(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge the chroma's median with the hue's expectation against the other hue/chroma decodings.

    RMSE lower and PSNR higher than the chroma's expectation (same hue), the mode and a sample, each
    by more than its margin (``margins``: the claim's ``rmse``, ``psnr``); no fading.
    """
    return _best_decoding(df, "hue_chroma", "median", ("expectation", "mode", "sample"),
                          "chroma median + hue expectation", margins)


def fading_removes_uncertain_colour(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge the paper's chromatic fading against its even control: RMSE lower by the claim's margin, paired.

    The control (``median_fading_uniform``) takes the same share of each image's chroma away evenly
    from every pixel. Where no pixel's hue certainty falls below η, nothing fades: no verdict.
    """
    absent = _absent(df, ("hue_chroma", "median_fading"), ("hue_chroma", "median_fading_uniform"),
                     ("hue_chroma", "median"))
    if absent:
        return missing(*absent)

    def versus(fading: str, control: str, plain: str) -> tuple[tuple[float, float, float], str]:
        rmse = difference_of(df, "rmse", _row("hue_chroma", fading), _row("hue_chroma", control))
        cf = difference_of(df, "colorfulness", _row("hue_chroma", fading), _row("hue_chroma", plain))
        return rmse, f"RMSE minus the even control {fmt(rmse, 3)} (colourfulness taken away {fmt(cf, 2)})"

    rmse, shown = versus("median_fading", "median_fading_uniform", "median")
    verdict = INCONCLUSIVE if rmse[1] == rmse[2] == 0.0 else verdict_of(rmse, "<", margins["rmse"])  # 0: none faded
    evidence = f"the paper's fading: {shown} (reproduced when it falls by more than {margins['rmse']:g})"
    if not _absent(df, ("hue_chroma", "released"), ("hue_chroma", "released_uniform")):
        evidence += ("; the released code's (|z| / K), not judged: "
                     + versus("released", "released_uniform", "median")[1])
    return Verdict(evidence, verdict, f"RMSE minus the even control {fmt(rmse, 3)}")


def _ips(row: pd.Series, which: str, phase: str, what: str = "images_per_second") -> tuple[float, float, float]:
    c = f"{SAMPLING_PREFIX}{which}_{phase}_{what}"
    return float(row[c]), float(row[c + "_lo"]), float(row[c + "_hi"])


def sparse_is_cheaper(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge sparse against dense hypercolumn reading by training speed, timed interleaved as a benchmark.

    Sparse's speed over dense's (:func:`colorlab.cost.compare`) by :func:`~colorlab.papers.base.cost_verdict`; no
    verdict under :data:`colorlab.cost.MIN_REPEATS` x :data:`colorlab.cost.MIN_PROCESSES`. No margins.
    """
    p = SAMPLING_PREFIX
    rows = select(df, method=_M)
    if f"{p}dense_train_ratio" not in rows or rows[f"{p}dense_train_ratio"].isna().all():
        return missing("the interleaved sparse and dense cost (measure_sampling)")
    r = rows.dropna(subset=[f"{p}dense_train_ratio"]).iloc[0]
    speedup = reciprocal(_ips(r, "dense", "train", "ratio"))  # from dense's speed over sparse's
    verdict, note = cost_verdict(speedup, _ips(r, "sparse", "train", "aa_ratio"))
    s, d = _ips(r, "sparse", "train"), _ips(r, "dense", "train")
    shown = f"x{speedup[0]:.2f} [{speedup[1]:.2f}, {speedup[2]:.2f}] ({s[0]:.1f} vs {d[0]:.1f} images/s)"
    evidence = (f"training, sparse ({int(r[p + 'samples'])} pixels per image) over dense on {r[p + 'device']}, batch "
                f"{int(r[p + 'batch_size'])} of {int(r[p + 'size'])}², {r[p + 'variant']} head: {shown}"
                f"{'; ' + note if note else ''}; peak memory {r[p + 'sparse_peak_train_mb']:.0f} vs "
                f"{r[p + 'dense_peak_train_mb']:.0f} MiB")
    repeats, processes = int(r[p + "repeats"]), int(r[p + "processes"])
    if repeats < cost.MIN_REPEATS or processes < cost.MIN_PROCESSES:
        verdict, evidence = INCONCLUSIVE, evidence + f" ({repeats} repeats x {processes} processes: no verdict)"
    return Verdict(evidence, verdict, shown.split(" (")[0], measured_on=f"synthetic batches: {r[p + 'protocol']}")


CLAIMS: tuple[Claim, ...] = (
    Claim("larsson_histograms_beat_l2", _SOURCE, _NOTEBOOK,
          "predicting per-pixel histograms beats L2 regression: the Lab histograms' expectation has a lower RMSE and "
          "a higher PSNR than the L2 head (with an ImageNet-pretrained VGG-16)", histograms_beat_l2,
          margins=margins_for("rmse", "psnr"), rule_version=2),
    Claim("larsson_lab_expectation_best", _SOURCE, _NOTEBOOK,
          "for Lab histograms the expectation is the best decoding (lower RMSE, higher PSNR than the median, the mode "
          "and a sample)", lab_expectation_best, margins=margins_for("rmse", "psnr"), rule_version=2),
    Claim("larsson_hue_chroma_median_best", _SOURCE, _NOTEBOOK,
          "for hue/chroma the chroma's median with the hue's complex expectation is the best decoding (lower RMSE, "
          "higher PSNR than the chroma's expectation, the mode and a sample)", hue_chroma_median_best,
          margins=margins_for("rmse", "psnr"), rule_version=2),
    Claim("larsson_fading", _SOURCE, _NOTEBOOK,
          "chromatic fading takes colour away where the hue is uncertain: lower RMSE than taking the same share of "
          "colour away evenly", fading_removes_uncertain_colour, margins=margins_for("rmse"), rule_version=2),
    Claim("larsson_sparse_cheaper", _SOURCE, _NOTEBOOK,
          "reading the hypercolumn at a sparse set of pixels trains faster than reading it at every pixel",
          sparse_is_cheaper),
)

#: Zhang et al. 2016, Table 1's row for Larsson et al.'s released model, beside the hue/chroma head
#: decoded as the released code does.
PUBLISHED: tuple[Published, ...] = (
    Published("Zhang et al. 2016, Table 1", "Larsson et al. 2016", {"auc": 91.7}, _NOTEBOOK,
              _row("hue_chroma", "released"),
              "ImageNet val (Zhang et al.'s protocol), the released model trained on ImageNet, full-width VGG-16",
              {"auc": 100.0}),
)


# ------------------------------------------------------------------------------ sparse or dense


def measure_sampling(args: Mapping[str, Any], variant: str = "lab", *, batch_size: int, size: int, repeats: int = 5,
                     processes: int = 1, devices: Sequence[str] = ("cpu",), isolate: bool = True) -> pd.DataFrame:
    """Measure the cost of ``variant`` reading the hypercolumn sparsely and densely, the same network.

    Args:
        args: the method's arguments; ``variant``: the head; ``size``: the crop side, a multiple of 32
            (else ``ValueError``); the others as :func:`colorlab.cost.compare` takes them.

    Returns:
        Rows ``sparse`` and ``dense`` per device, with ``head`` and the pixels read per crop (``samples``).
    """
    if size % INPUT_MULTIPLE:
        raise ValueError(f"{_M}: the crop must be a multiple of {INPUT_MULTIPLE}; got {size}")
    samples = get(_M).resolve(variant, args)[1]["samples"]
    configs = {s: (variant, {**args, "sampling": s}) for s in ("sparse", "dense")}
    return cost.compare(_M, configs, batch_size=batch_size, size=size, repeats=repeats, processes=processes,
                        devices=list(devices), isolate=isolate).assign(head=variant, samples=samples)


def sampling_labels(table: pd.DataFrame, device: str) -> dict[str, Any]:
    """Turn the sparse and dense cost on ``device`` into ``sampling_`` columns (``{}`` if none).

    Example:
        >>> common = {"device": "cpu", "head": "lab", "samples": 8, "batch_size": 2, "size": 32, "repeats": 3,
        ...           "processes": 1, "protocol": "interleaved"}
        >>> t = pd.DataFrame([{"variant": v, **common, "train_images_per_second": x}
        ...                   for v, x in (("sparse", 9.0), ("dense", 3.0))])
        >>> sorted(sampling_labels(t, "cpu"))[:3]
        ['sampling_batch_size', 'sampling_dense_train_images_per_second', 'sampling_device']
    """
    mine = cost.on_device(table, device)
    if mine.empty:
        return {}
    first = mine.iloc[0]
    out = {f"{SAMPLING_PREFIX}{k}": first[k] for k in ("device", "batch_size", "size", "repeats", "processes",
                                                        "protocol", "samples")}
    out[f"{SAMPLING_PREFIX}variant"] = first["head"]
    for r in mine.to_dict("records"):
        for k, v in r.items():
            if k.startswith(("train_", "infer_", "peak_")):
                out[f"{SAMPLING_PREFIX}{r['variant']}_{k}"] = v
    return out


def sampling_plot(table: pd.DataFrame) -> Figure:
    """Plot training images per second (with intervals) and peak training memory, sparse against dense."""
    labels = [f"{r.variant}\n{r.device}" for r in table.itertuples()]
    return viz.bar_panels(table, labels, {"training images/s": "train_images_per_second",
                                          "peak memory, training (MiB)": "peak_train_mb"})


# ------------------------------------------------------------------------------------ figures


def _pixels(p: Tensor, n: int) -> list[tuple[int, int]]:
    """``n`` pixels of a histogram map ``(K, H, W)``: the most and least certain and one between, by entropy."""
    ent = -(p.clamp_min(1e-12).log() * p).sum(0).flatten()
    picks = ent.argsort()[torch.linspace(0, ent.numel() - 1, n).round().long()]
    w = p.shape[-1]
    return [(int(i) // w, int(i) % w) for i in picks]


def _histograms_of(method: Any, rgb: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """``L``, ``ab`` and the predicted histograms of ``rgb`` ``(B, 3, H, W)``, read as
    :meth:`~colorlab.methods.base.Method.colorize` reads them (padded, cropped back)."""
    L, ab = rgb_to_lab(rgb.float().to(next(method.parameters()).device))
    hist = method.histograms(method.pad_input(L))
    return L, ab, {k: v[..., :L.shape[-2], :L.shape[-1]] for k, v in hist.items()}


def histogram_plot(method: Any, rgb: Tensor, n_pixels: int = 3) -> Figure:
    """Plot a few pixels' predicted histograms, with where each decoding lands and where the truth is.

    Args:
        method: a trained :class:`~colorlab.methods.larsson.Larsson` with a ``lab`` or ``hue_chroma``
            head (another raises ``ValueError``).
        rgb: RGB ``(B, 3, H, W)`` in ``[0, 1]``; its first image is read.
        n_pixels: how many pixels, from the least uncertain to the most by entropy.
    """
    if method.args["head"] not in ("lab", "hue_chroma"):
        raise ValueError(f"histogram_plot draws the marginal heads (lab, hue_chroma); got {method.args['head']!r}")
    _, ab, hist = _histograms_of(method, rgb[:1])
    axes_of = ({"a": method.lab_axis, "b": method.lab_axis} if method.args["head"] == "lab"
               else {"hue": method.hue_axis, "chroma": method.chroma_axis})
    truth = {"a": ab[:, :1], "b": ab[:, 1:]} if "a" in axes_of else dict(zip(("hue", "chroma"), hue_chroma(ab),
                                                                          strict=True))
    first = next(iter(axes_of))
    pixels = _pixels(hist[first][0].cpu(), n_pixels)
    fig, grid = plt.subplots(len(pixels), len(axes_of), figsize=(4.2 * len(axes_of), 2.0 * len(pixels)), squeeze=False)
    for row, (y, x) in enumerate(pixels):
        for col, (name, axis) in enumerate(axes_of.items()):
            ax = grid[row, col]
            p = hist[name][:, :, y:y + 1, x:x + 1]
            centres = axis.centres.numpy()
            scale = np.degrees(1.0) if axis.kind == "circular" else 1.0
            ax.bar(np.arange(axis.K), p.flatten().cpu().numpy(), color="tab:gray", width=0.9)
            marks = {"mode": decode_mode(p, axis)}
            if axis.kind == "circular":
                marks["expectation"] = hue_expectation(p, axis)[0]
            else:
                marks |= {"median": decode_median(p, axis), "expectation": decode_expectation(p, axis)}
            marks["truth"] = truth[name][:, :, y:y + 1, x:x + 1]
            for label, v in marks.items():
                ax.axvline(_bin_position(float(v.flatten()[0]), axis), color=MARK_COLOURS[label], label=label,
                           linestyle="--" if label == "truth" else "-", linewidth=1.4)
            ticks = np.linspace(0, axis.K - 1, 5).round().astype(int)
            ax.set_xticks(ticks, [f"{centres[t] * scale:.0f}" for t in ticks], fontsize=7)
            ax.set_title(f"pixel ({y}, {x}): {name}" + (" (degrees)" if axis.kind == "circular" else ""), fontsize=9)
            if row == 0 and col == len(axes_of) - 1:
                ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


#: The colour of each decoding's mark in :func:`histogram_plot`, the same in every panel.
MARK_COLOURS = {"mode": "tab:orange", "median": "tab:green", "expectation": "tab:blue", "truth": "black"}


def _bin_position(value: float, axis: Any) -> float:
    """Where ``value`` falls on the bar chart's axis of bin numbers (bin ``k`` centred at ``k``)."""
    return float(axis.to_unit(torch.tensor([value], dtype=torch.float64))[0]) * axis.K - 0.5


def certainty_plot(method: Any, rgb: Tensor, max_images: int = 4, eta: float = FADING_ETA) -> Figure:
    """Plot, per image, the hue's certainty ``|z|`` and the chroma chromatic fading takes away.

    Args:
        method: a trained ``hue_chroma`` :class:`~colorlab.methods.larsson.Larsson` (else ``ValueError``).
        rgb: RGB ``(B, 3, H, W)`` in ``[0, 1]``, up to ``max_images`` of it drawn.
        eta: chromatic fading's η; the paper's and the released code's fading share one colour scale.
    """
    if method.args["head"] != "hue_chroma":
        raise ValueError(f"certainty_plot needs the hue_chroma head; got {method.args['head']!r}")
    imgs = rgb[:max_images]
    _, _, p = _histograms_of(method, imgs)
    _, certainty = hue_expectation(p["hue"], method.hue_axis)
    chroma = decode_median(p["chroma"], method.chroma_axis)
    removed = {f"the paper's (η = {eta})": chroma - chromatic_fading(chroma, certainty, eta),
               "the released code's (|z| / K)": chroma - chromatic_fading(chroma, certainty / method.hue_axis.K, eta)}
    top = max(1.0, max(float(r.max()) for r in removed.values()))
    fig, grid = plt.subplots(len(imgs), 2 + len(removed), figsize=(10, 2.4 * len(imgs)), squeeze=False)
    for i in range(len(imgs)):
        grid[i, 0].imshow(imgs[i].permute(1, 2, 0).cpu().clamp(0, 1).numpy())
        im = grid[i, 1].imshow(certainty[i, 0].cpu().numpy(), vmin=0, vmax=1, cmap="viridis")
        fig.colorbar(im, ax=grid[i, 1], fraction=0.046)
        for j, r in enumerate(removed.values()):
            im = grid[i, 2 + j].imshow(r[i, 0].cpu().numpy(), vmin=0, vmax=top, cmap="magma")
            fig.colorbar(im, ax=grid[i, 2 + j], fraction=0.046)
        for ax in grid[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(grid[0], ("original", "hue certainty |z|", *(f"chroma faded away,\n{k}" for k in removed)),
                         strict=True):
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


PAPER = Paper(
    name="larsson", notebook=_NOTEBOOK,
    title="Larsson et al. 2016: VGG-16 hypercolumns predicting per-pixel colour histograms",
    source="004_78c25fa47f845dd8.txt", methods=("larsson",), claims=CLAIMS, published=PUBLISHED,
    network=SourceNetwork("larsson", variant="hue_chroma", crop=352),  # the paper's main head, the full profile's crop
)
