"""Source 003's pix2pix claims, their rules, and how a GAN's training is read (notebook 06).

:data:`CLAIMS` holds three claims: the adversarial term brings the colour distribution closer to
the truth's, it makes the results more colourful, and L1 alone is the more accurate per pixel.
:func:`test_set_histograms`, :func:`distribution_table` and :func:`distribution_plot` measure the colour
distribution pooled over a test set; :func:`discriminator_health` and :func:`training_plot` read the
training. There are no published rows. The claims, the measures and why: ``docs/methods/pix2pix.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['pix2pix_gan_distribution', 'pix2pix_gan_colourful', 'pix2pix_l1_accurate']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from torch import Tensor

from ..claims import Claim, Verdict, combine, difference_of, margins_for, missing, verdict_of
from ..color import rgb_to_lab
from ..distributions import HIST_EDGES, ab_histograms, histogram_intersection, histogram_kl
from ..evidence import fmt, select
from .base import Paper, SourceNetwork

__all__ = ["CLAIMS", "PAPER", "ROWS", "DECODE", "D_WINS", "D_CHANCE", "TRUTH", "test_set_histograms",
           "pooled_histograms", "distribution_table", "distribution_plot", "discriminator_health", "training_plot"]

_SOURCE = "003"
_NOTEBOOK = "06"
_M = "pix2pix"
#: The rows of the comparison, label -> variant.
ROWS = {"L1": "l1", "L1 + GAN": "l1_gan", "GAN": "gan"}
#: Mean accuracy on real and on fake pairs above which the discriminator wins outright (both).
D_WINS = 0.95
#: Mean of the two accuracies at or below which the discriminator is no better than chance.
D_CHANCE = 0.55
#: Share of the last steps whose accuracies :func:`discriminator_health` averages.
LAST_SHARE = 0.25
#: The label of the ground truth's histograms.
TRUTH = "ground truth"


#: The decoding the claims are judged on: the paper's inference (dropout on, each image's own statistics).
DECODE = "paper"


def _row(variant: str) -> dict[str, str]:
    return {"method": _M, "variant": variant, "decode": DECODE}


def _absent(df: pd.DataFrame, *variants: str) -> list[str]:
    return [f"pix2pix/{v}/{DECODE}" for v in variants if select(df, **_row(v)).empty]


# ------------------------------------------------------------------------------------ claims


def _decisive(verdict: str, parts: Sequence[tuple[str, str]]) -> str:
    """The interval of the first part whose verdict is the claim's (reproduced: the first part)."""
    return next((shown for v, shown in parts if v == verdict), parts[0][1])


def gan_distribution(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the adversarial term brings the colour distribution closer to the truth's.

    L1 + GAN minus L1 alone, paired on seeds and photos, on the ``a`` and ``b`` marginals per photo:
    the histogram intersection with the truth's (claimed to rise by more than the intersection
    margin) and the KL divergence from it (claimed to fall by more than the KL margin). Reproduced
    when both intervals clear their margins on the claimed side.

    Args:
        df: notebook 06's per-photo result rows (decoding :data:`DECODE`).
        margins: the claim's (``hist_intersection``, ``hist_kl``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> gan_distribution(rows, margins_for("hist_intersection", "hist_kl")).evidence
        'rows missing: pix2pix/l1_gan/paper, pix2pix/l1/paper'
    """
    if absent := _absent(df, "l1_gan", "l1"):
        return missing(*absent)
    inter = difference_of(df, "hist_intersection", _row("l1_gan"), _row("l1"))
    kl = difference_of(df, "hist_kl", _row("l1_gan"), _row("l1"))
    parts = ((verdict_of(inter, ">", margins["hist_intersection"]), fmt(inter)),
             (verdict_of(kl, "<", margins["hist_kl"]), fmt(kl)))
    verdict = combine(*(v for v, _ in parts))
    return Verdict(f"L1 + GAN minus L1: histogram intersection {fmt(inter)}, KL {fmt(kl)} nats (each must clear its "
                   f"margin: intersection {margins['hist_intersection']:g}, KL {margins['hist_kl']:g} nats)", verdict,
                   _decisive(verdict, parts))


def gan_colourful(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the results are more colourful with the adversarial term than with L1 alone.

    L1 + GAN minus L1 alone on colourfulness, paired, claimed to clear the colourfulness margin; the
    chroma ratio's difference is shown.

    Args:
        df: notebook 06's per-photo result rows.
        margins: the claim's (``colorfulness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    if absent := _absent(df, "l1_gan", "l1"):
        return missing(*absent)
    cf = difference_of(df, "colorfulness", _row("l1_gan"), _row("l1"))
    cr = difference_of(df, "chroma_ratio", _row("l1_gan"), _row("l1"))
    return Verdict(f"L1 + GAN minus L1: colourfulness {fmt(cf, 1)} (reproduced when it clears "
                   f"{margins['colorfulness']:g}), chroma ratio {fmt(cr, 2)}",
                   verdict_of(cf, ">", margins["colorfulness"]), fmt(cf, 1))


def l1_accurate(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether L1 alone is the more accurate per pixel.

    L1 alone minus L1 + GAN on AuC and on PSNR, each claimed to clear its margin: reproduced when
    both do, not reproduced when either lies below zero or wholly inside its margin.

    Args:
        df: notebook 06's per-photo result rows.
        margins: the claim's (``auc``, ``psnr``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    if absent := _absent(df, "l1", "l1_gan"):
        return missing(*absent)
    auc = difference_of(df, "auc", _row("l1"), _row("l1_gan"))
    psnr = difference_of(df, "psnr", _row("l1"), _row("l1_gan"))
    parts = ((verdict_of(auc, ">", margins["auc"]), fmt(auc)), (verdict_of(psnr, ">", margins["psnr"]), fmt(psnr, 2)))
    verdict = combine(*(v for v, _ in parts))
    return Verdict(f"L1 minus L1 + GAN: AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB (each must clear its margin: AuC "
                   f"{margins['auc']:g}, PSNR {margins['psnr']:g} dB)", verdict, _decisive(verdict, parts))


CLAIMS = (
    Claim("pix2pix_gan_distribution", _SOURCE, _NOTEBOOK,
          "The adversarial term brings the colour distribution of the results closer to the truth's than L1 alone "
          "(histogram intersection up, KL down)", gan_distribution,
          margins=margins_for("hist_intersection", "hist_kl"), rule_version=2),
    Claim("pix2pix_gan_colourful", _SOURCE, _NOTEBOOK,
          "With the adversarial term the results are more colourful than with L1 alone", gan_colourful,
          margins=margins_for("colorfulness"), rule_version=2),
    Claim("pix2pix_l1_accurate", _SOURCE, _NOTEBOOK,
          "L1 alone is the more accurate per pixel (AuC and PSNR above L1 + GAN's)", l1_accurate,
          margins=margins_for("auc", "psnr"), rule_version=2),
)


# ------------------------------------------------------------------- colour distributions


def test_set_histograms(gt: Tensor, predictions: Mapping[str, Tensor],
                    edges: tuple[float, ...] = HIST_EDGES) -> dict[str, Tensor]:
    """Count the marginal histograms of ``a`` and ``b`` pooled over a test set.

    Args:
        gt: the ground truth, RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        predictions: label -> RGB ``(N, 3, H, W)`` in ``[0, 1]``.
        edges: the ``K + 1`` bin edges in Lab units.

    Returns:
        Label -> pixel counts ``(2, K)`` (``a``, ``b``), the truth's under :data:`TRUTH`.

    Example:
        >>> import torch
        >>> rgb = torch.rand(2, 3, 4, 4)
        >>> h = test_set_histograms(rgb, {"copy": rgb})
        >>> sorted(h), tuple(h[TRUTH].shape), round(float(h[TRUTH][0].sum()))
        (['copy', 'ground truth'], (2, 23), 32)
    """
    out = {}
    for label, rgb in {TRUTH: gt, **predictions}.items():
        ab = rgb_to_lab(rgb.float().clamp(0, 1))[1]
        out[label] = ab_histograms(ab, edges).sum(0) * ab[0, 0].numel()
    return out


def pooled_histograms(evaluation: Any, rows: Mapping[str, tuple[str, str]]) -> dict[str, Tensor]:
    """Take :func:`test_set_histograms` of a whole test set from an evaluation's pooled counts.

    The counts cover every test tile of :class:`colorlab.evaluate.Evaluation`, not only those kept
    for figures.

    Args:
        evaluation: the evaluation, with its ``counts``.
        rows: label -> ``(model label, decoding)``.

    Returns:
        Label -> pixel counts ``(2, K)``, the truth's under :data:`TRUTH`.

    Example:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> ev = SimpleNamespace(counts={"truth": torch.ones(2, 3), ("l1", "direct"): torch.zeros(2, 3)})
        >>> sorted(pooled_histograms(ev, {"L1": ("l1", "direct")}))
        ['L1', 'ground truth']
    """
    return {TRUTH: evaluation.counts["truth"], **{label: evaluation.counts[key] for label, key in rows.items()}}


def _norm(h: Tensor) -> Tensor:
    return h / h.sum(-1, keepdim=True).clamp_min(1.0)


def distribution_table(runs: Sequence[Mapping[str, Tensor]]) -> pd.DataFrame:
    """Tabulate each prediction's pooled colour distribution against the truth's.

    Args:
        runs: one :func:`test_set_histograms` per run (seed).

    Returns:
        One row per prediction: the intersection with the truth's and the KL divergence from it, of
        the pooled ``a`` and ``b`` histograms; the mean over runs and, with several, the smallest and
        largest (``_min``, ``_max``).

    Raises:
        ValueError: when no runs are given.

    Example:
        >>> import torch
        >>> h = {TRUTH: torch.ones(2, 4), "flat": torch.ones(2, 4)}
        >>> distribution_table([h])[["row", "intersection_a"]].values.tolist()
        [['flat', 1.0]]
    """
    if not runs:
        raise ValueError("distribution_table: no runs")
    rows = []
    for label in [k for k in runs[0] if k != TRUTH]:
        vals: dict[str, list[float]] = {}
        for run in runs:
            p, q = _norm(run[TRUTH]), _norm(run[label])
            for axis, i in (("a", 0), ("b", 1)):
                vals.setdefault(f"intersection_{axis}", []).append(float(histogram_intersection(p[i], q[i])))
                vals.setdefault(f"kl_{axis}", []).append(float(histogram_kl(p[i], q[i])))
        row: dict[str, object] = {"row": label, "runs": len(runs)}
        for k, v in vals.items():
            row[k] = float(np.mean(v))
            if len(v) > 1:
                row[f"{k}_min"], row[f"{k}_max"] = float(np.min(v)), float(np.max(v))
        rows.append(row)
    return pd.DataFrame(rows)


def distribution_plot(runs: Sequence[Mapping[str, Tensor]], edges: tuple[float, ...] = HIST_EDGES) -> Figure:
    """Plot the paper's Fig. 7 for colourisation: the log probability of ``a`` and of ``b``.

    Args:
        runs: one :func:`test_set_histograms` per run; their test sets are pooled.
        edges: the bin edges the histograms were counted with.

    Returns:
        The figure: two panels, the truth's line in black and one line per prediction.
    """
    total = {k: sum(run[k] for run in runs) for k in runs[0]}
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for i, (ax, axis) in enumerate(zip(axes, ("a", "b"), strict=True)):
        for label, h in total.items():
            p = _norm(h)[i].numpy()
            ax.plot(centres, np.log10(np.where(p > 0, p, np.nan)), label=label,
                    color="black" if label == TRUTH else None, linewidth=2 if label == TRUTH else 1.2)
        ax.set_xlabel(f"{axis} (Lab)")
        ax.set_title(f"distribution of {axis} over the test set", fontsize=10)
    axes[0].set_ylabel("log10 probability")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------- the training


def discriminator_health(histories: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Say whether each adversarial run's discriminator is neither winning outright nor useless.

    Args:
        histories: label -> loss history; runs without a discriminator are left out.

    Returns:
        One row per run: the discriminator's mean accuracy on real and on fake pairs over the last
        :data:`LAST_SHARE` of its steps; ``won_steps``, the share of all steps at which it was right
        on more than :data:`D_WINS` of both; and the last quarter's ``state``. The state is
        ``wins outright`` (both above :data:`D_WINS`: the generator gets no useful gradient),
        ``useless`` (their mean at or below :data:`D_CHANCE`), ``one-sided`` (right on one kind, at
        or below chance on the other: it calls nearly everything real, or fake) or ``balanced``.

    Example:
        >>> h = pd.DataFrame({"step": [1, 2, 3, 4], "d_real_acc": [1.0] * 4, "d_fake_acc": [1.0] * 4,
        ...                   "d_loss": [0.1] * 4, "g_gan": [3.0] * 4})
        >>> discriminator_health({"L1 + GAN": h})[["run", "won_steps", "state"]].values.tolist()
        [['L1 + GAN', 1.0, 'wins outright']]
    """
    rows = []
    for label, h in histories.items():
        if "d_real_acc" not in h or h["d_real_acc"].isna().all():
            continue
        last = h.iloc[int(len(h) * (1 - LAST_SHARE)):]
        real, fake = float(last["d_real_acc"].mean()), float(last["d_fake_acc"].mean())
        won = float(((h["d_real_acc"] > D_WINS) & (h["d_fake_acc"] > D_WINS)).mean())
        state = ("wins outright" if real > D_WINS and fake > D_WINS else
                 "useless" if (real + fake) / 2 <= D_CHANCE else
                 "one-sided" if min(real, fake) <= 0.5 else "balanced")
        rows.append({"run": label, "steps": int(h["step"].iloc[-1]), "d_real_acc": real, "d_fake_acc": fake,
                     "won_steps": won, "d_loss": float(last["d_loss"].mean()), "g_gan": float(last["g_gan"].mean()),
                     "state": state})
    return pd.DataFrame(rows, columns=["run", "steps", "d_real_acc", "d_fake_acc", "won_steps", "d_loss", "g_gan",
                                       "state"])


def _smooth(v: pd.Series) -> pd.Series:
    return v.rolling(max(1, len(v) // 20), min_periods=1).mean()


def training_plot(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """Plot a GAN's training curves, smoothed over a twentieth of the run, one line per run.

    Args:
        histories: label -> loss history.

    Returns:
        The figure: four panels over the steps: the generator's GAN term, the L1 term (unweighted),
        the discriminator's loss, and its accuracy on real (solid) and fake (dashed) pairs.
    """
    panels = (("g_gan", "generator: GAN term"), ("g_l1", "generator: L1 term (unweighted)"),
              ("d_loss", "discriminator: loss"), ("d_real_acc", "discriminator: accuracy, real — / fake --"))
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    colours = {label: f"C{i}" for i, label in enumerate(histories)}  # one colour per run in every panel
    for ax, (col, title) in zip(axes, panels, strict=True):
        for label, h in histories.items():
            if col not in h or h[col].isna().all():
                continue
            ax.plot(h["step"], _smooth(h[col]), label=label, color=colours[label], linewidth=1.2)
            if col == "d_real_acc":
                ax.plot(h["step"], _smooth(h["d_fake_acc"]), linestyle="--", color=colours[label], linewidth=1.2)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    axes[3].set_ylim(-0.02, 1.02)
    axes[3].axhline(0.5, color="gray", linewidth=0.6)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


PAPER = Paper(
    name="pix2pix", notebook=_NOTEBOOK,
    title="pix2pix (Isola et al. 2017): a U-Net generator and a PatchGAN in Lab, L1 + GAN",
    source="003_e839476f13f96d58.txt", methods=("pix2pix",), claims=CLAIMS,
    network=SourceNetwork("pix2pix", variant="l1_gan"),  # the generator with its discriminator
)
