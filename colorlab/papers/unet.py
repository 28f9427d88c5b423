"""Source 001's claims about its U-Net, their rules, each head's cost and a gallery (notebook 04).

:data:`CLAIMS` holds three claims: regression gives better results than classification,
regression is cheaper, and the class head's decodings order by vividness. :func:`measure_cost`
measures each head's speed and memory, and :func:`cost_labels` adds them to the result rows.
:func:`gallery` shows historical photographs colourised. The source publishes no numbers, so
there are no published rows. The rules in words: ``docs/methods/unet.md``.

Example:
    >>> [c.key for c in CLAIMS]
    ['unet_regression_better', 'unet_regression_cheaper', 'unet_decoding_vividness']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .. import cost, stats, viz
from ..claims import (
    INCONCLUSIVE,
    Claim,
    Verdict,
    combine,
    difference_of,
    interval_of,
    margins_for,
    missing,
    pretrained,
    verdict_of,
)
from ..data import ImageSet
from ..evaluate import colorize_images
from ..evidence import fmt, select
from .base import Paper, SourceNetwork, cost_verdict, reciprocal

__all__ = ["CLAIMS", "PAPER", "COST_PREFIX", "measure_cost", "cost_labels", "cost_plot", "gallery"]

_SOURCE = "001"
_NOTEBOOK = "04"
#: Prefix of the cost columns in the result rows.
COST_PREFIX = "cost_"
_REGRESS = {"method": "unet", "variant": "regress"}


def _cls(decode: str) -> dict[str, str]:
    return {"method": "unet", "variant": "class", "decode": decode}


def _class_decodings(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(select(df, method="unet", variant="class")["decode"].astype(str)))


def _encoder(df: pd.DataFrame) -> tuple[bool, str]:
    """Whether every U-Net row had an ImageNet-initialised encoder, and the records seen."""
    return pretrained(select(df, method="unet"), "encoder_weights")


# ------------------------------------------------------------------------------------ claims


def regression_is_better(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether regression gives better results than classification, however it is decoded.

    Regression minus each decoding of the class head, paired on seeds and photos: AuC and PSNR
    higher by more than their margins, and the colourfulness gap to the truth's smaller in size
    (``|gap|`` of the class head minus the regression's clears the ``abs_gap`` margin). Reproduced
    when regression beats every decoding on all three; not reproduced when some decoding beats it
    on one, or a difference lies wholly inside its margin. The interval shown is the first
    comparison whose own verdict is the claim's. The source's finding was made with an
    ImageNet-pretrained encoder: with a randomly initialised one, the outcome is shown and the
    verdict is inconclusive.

    Args:
        df: notebook 04's per-photo result rows.
        margins: the claim's (``auc``, ``psnr``, ``abs_gap``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> regression_is_better(rows, margins_for("auc", "psnr", "abs_gap")).evidence
        'rows missing: unet/regress, unet/class'
    """
    decodes = _class_decodings(df)
    if select(df, **_REGRESS).empty or not decodes:
        return missing("unet/regress", "unet/class")
    df = df.assign(colorfulness_abs_gap=df["colorfulness_gap"].abs())
    parts, tests = [], []  # tests: (verdict, "metric vs decoding interval")
    for d in decodes:
        auc = difference_of(df, "auc", _REGRESS, _cls(d))
        psnr = difference_of(df, "psnr", _REGRESS, _cls(d))
        gap = difference_of(df, "colorfulness_abs_gap", _cls(d), _REGRESS)
        tests += [(verdict_of(auc, ">", margins["auc"]), f"AuC vs {d} {fmt(auc)}"),
                  (verdict_of(psnr, ">", margins["psnr"]), f"PSNR vs {d} {fmt(psnr, 2)}"),
                  (verdict_of(gap, ">", margins["abs_gap"]), f"|gap| vs {d} {fmt(gap, 1)}")]
        parts.append(f"vs {d}: AuC {fmt(auc)}, PSNR {fmt(psnr, 2)} dB; |colourfulness gap| class minus "
                     f"regression {fmt(gap, 1)}")
    verdict = combine(*(v for v, _ in tests))
    evidence = ("regression minus classification: " + "; ".join(parts)
                + f" (each must clear its margin: AuC {margins['auc']:g}, PSNR {margins['psnr']:g} dB, "
                  f"|gap| {margins['abs_gap']:g})")
    interval = next(text for v, text in tests if v == verdict)  # the comparison that decided it
    semantic, weights = _encoder(df)
    if not semantic:
        return Verdict(f"{evidence}. The rule alone would say {verdict.upper()}, but the encoder was not ImageNet-"
                f"pretrained ({weights}): the source's finding is about a pretrained ResNet-50, so no verdict",
                INCONCLUSIVE, interval)
    return Verdict(evidence + f" (encoder: {weights})", verdict, interval)


def _col(row: pd.Series, name: str) -> stats.Interval:
    c = COST_PREFIX + name
    return float(row[c]), float(row[c + "_lo"]), float(row[c + "_hi"])


def regression_is_cheaper(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether regression is cheaper than classification, in images per second, measured as a benchmark.

    For training and for inference: regression's speed over the class head's, timed interleaved
    step by step in several processes (:func:`colorlab.cost.compare`), with its interval. Reproduced
    when both intervals lie above 1; not reproduced when either lies below; inconclusive across 1,
    when the A/A check fails (:func:`cost_verdict`), or with fewer than
    :data:`colorlab.cost.MIN_REPEATS` repeats in :data:`colorlab.cost.MIN_PROCESSES` processes. Peak
    memory is shown, not judged. The timing is its own protocol: the claim declares no margins, and
    ``claims.csv`` says the protocol instead of photos and seeds.

    Args:
        df: notebook 04's result rows, with the cost columns of :func:`cost_labels`.
        margins: the claim's (none; not read).

    Returns:
        The :class:`~colorlab.claims.Verdict`.
    """
    reg, cls = select(df, **_REGRESS), select(df, method="unet", variant="class")
    col = f"{COST_PREFIX}train_ratio"
    if reg.empty or cls.empty or col not in df or reg[col].isna().all() or cls[col].isna().all():
        return missing("the interleaved cost of unet/regress and unet/class (measure_cost)")
    r, c = reg.dropna(subset=[col]).iloc[0], cls.dropna(subset=[col]).iloc[0]
    parts, verdicts, notes = [], [], []
    for phase in ("train", "infer"):
        speedup = reciprocal(_col(c, f"{phase}_ratio"))  # from the class head's speed over regression's
        v, note = cost_verdict(speedup, _col(r, f"{phase}_aa_ratio"))
        verdicts.append(v)
        notes += [f"{phase}: {note}"] if note else []
        a, b = _col(r, f"{phase}_images_per_second"), _col(c, f"{phase}_images_per_second")
        parts.append(f"{phase} x{speedup[0]:.2f} [{speedup[1]:.2f}, {speedup[2]:.2f}] ({a[0]:.1f} vs {b[0]:.1f} "
                     f"images/s)")
    mem = (f"peak memory training {r[COST_PREFIX + 'peak_train_mb']:.0f} vs {c[COST_PREFIX + 'peak_train_mb']:.0f} "
           f"MiB, inference {r[COST_PREFIX + 'peak_infer_mb']:.0f} vs {c[COST_PREFIX + 'peak_infer_mb']:.0f} MiB")
    where = (f"{r[COST_PREFIX + 'device']}, batch {int(r[COST_PREFIX + 'batch_size'])} of "
             f"{int(r[COST_PREFIX + 'size'])}²")
    evidence = f"regression's speed over classification's on {where}: " + "; ".join(parts + notes) + f"; {mem}"
    verdict = combine(*verdicts)
    repeats, processes = int(r[COST_PREFIX + "repeats"]), int(r[COST_PREFIX + "processes"])
    if repeats < cost.MIN_REPEATS or processes < cost.MIN_PROCESSES:
        verdict, evidence = INCONCLUSIVE, evidence + (f" ({repeats} repeats x {processes} processes, fewer than "
                                                      f"{cost.MIN_REPEATS} x {cost.MIN_PROCESSES}: no verdict)")
    return Verdict(evidence, verdict, "; ".join(p.split(" (")[0] for p in parts),
                   measured_on=f"synthetic batches on {r[COST_PREFIX + 'device']}: {r[COST_PREFIX + 'protocol']}")


def decodings_order_by_vividness(df: pd.DataFrame, margins: Mapping[str, float]) -> Verdict:
    """Judge whether the class head's decodings order by vividness: mode, annealed mean, expectation.

    Paired on seeds and photos: the mode is more colourful than the annealed mean, and the annealed
    mean more colourful than the expectation, each difference clearing the colourfulness margin.
    The sample's and the truth's colourfulness are shown.

    Args:
        df: notebook 04's per-photo result rows.
        margins: the claim's (``colorfulness``).

    Returns:
        The :class:`~colorlab.claims.Verdict`.

    Example:
        >>> rows = pd.DataFrame(columns=["method", "variant", "decode"])
        >>> decodings_order_by_vividness(rows, margins_for("colorfulness")).evidence
        'rows missing: unet/class/mode, unet/class/annealed, unet/class/expectation'
    """
    need = ("mode", "annealed", "expectation")
    absent = [f"unet/class/{d}" for d in need if select(df, **_cls(d)).empty]
    if absent:
        return missing(*absent)
    a = difference_of(df, "colorfulness", _cls("mode"), _cls("annealed"))
    b = difference_of(df, "colorfulness", _cls("annealed"), _cls("expectation"))
    means = {d: interval_of(df, "colorfulness", **_cls(d))[0] for d in _class_decodings(df)}
    truth = select(df, method="reference", variant="ground_truth")
    shown = ", ".join(f"{d} {v:.1f}" for d, v in sorted(means.items(), key=lambda kv: -kv[1]))
    if not truth.empty:
        shown += f"; ground truth {interval_of(df, 'colorfulness', method='reference', variant='ground_truth')[0]:.1f}"
    margin = margins["colorfulness"]
    evidence = (f"colourfulness mode minus annealed {fmt(a, 1)}, annealed minus expectation {fmt(b, 1)} ({shown}; "
                f"each must clear {margin:g})")
    return Verdict(evidence, combine(verdict_of(a, ">", margin), verdict_of(b, ">", margin)),
                   f"{fmt(a, 1)} | {fmt(b, 1)}")


CLAIMS: tuple[Claim, ...] = (
    Claim("unet_regression_better", _SOURCE, _NOTEBOOK,
          "regression gives better results than classification: higher AuC and PSNR and a colourfulness closer "
          "to the truth's than every decoding of the class head (with a pretrained ResNet-50 encoder)",
          regression_is_better, margins=margins_for("auc", "psnr", "abs_gap"), rule_version=2),
    Claim("unet_regression_cheaper", _SOURCE, _NOTEBOOK,
          "regression is cheaper: more training and inference images per second than classification",
          regression_is_cheaper),
    Claim("unet_decoding_vividness", _SOURCE, _NOTEBOOK,
          "the class head's decodings order by vividness: mode, then annealed mean, then expectation",
          decodings_order_by_vividness, margins=margins_for("colorfulness"), rule_version=2),
)


# -------------------------------------------------------------------------------------- cost


def measure_cost(args: Mapping[str, Any], variants: Sequence[str] = ("regress", "class"), *, batch_size: int,
                 size: int, repeats: int = 5, processes: int = 1, devices: Sequence[str] = ("cpu",),
                 isolate: bool = True) -> pd.DataFrame:
    """Measure each head's cost on each device, the heads timed interleaved (:func:`colorlab.cost.compare`).

    Args:
        args: the U-Net's arguments.
        variants: the heads to measure; the first is the reference of the speed ratios.
        batch_size: images per timed step.
        size: the crop side in pixels.
        repeats: timed steps per head and phase in each process.
        processes: the processes the timing is repeated in.
        devices: the devices; duplicates are dropped.
        isolate: measure in fresh processes.

    Returns:
        One row per head and device: the images per second of training and inference with their
        95 % intervals, the speed over the first head's and the A/A check, and peak memory.
    """
    return cost.compare("unet", {v: (v, args) for v in variants}, batch_size=batch_size, size=size, repeats=repeats,
                        processes=processes, devices=devices, isolate=isolate)


def cost_labels(table: pd.DataFrame, device: str) -> dict[str, dict[str, Any]]:
    """Turn the cost measured on one device into columns for each head's result rows.

    Args:
        table: the rows of :func:`measure_cost`.
        device: the device whose rows to take (``cuda`` matches ``cuda:0``).

    Returns:
        ``{variant: columns}`` for :meth:`colorlab.study.Study.evaluate`'s ``per_model``, each
        column prefixed with :data:`COST_PREFIX`.

    Example:
        >>> row = {"method": "unet", "variant": "regress", "device": "cpu", "train_images_per_second": 3.0}
        >>> t = pd.DataFrame([row])
        >>> cost_labels(t, "cpu")
        {'regress': {'cost_device': 'cpu', 'cost_train_images_per_second': 3.0}}
    """
    mine = cost.on_device(table, device)
    skip = ("method", "variant", "memory", "threads", "train_seconds", "infer_seconds")
    return {r["variant"]: {COST_PREFIX + k: v for k, v in r.items() if k not in skip}
            for r in mine.to_dict("records")}


def cost_plot(table: pd.DataFrame) -> Figure:
    """Plot bars of training and inference images per second, with their intervals, and peak memory.

    Args:
        table: the rows of :func:`measure_cost`.

    Returns:
        The figure, one bar per head and device in each panel.
    """
    labels = [f"{r.variant}\n{r.device}" for r in table.itertuples()]
    panels = {"training images/s": "train_images_per_second", "inference images/s": "infer_images_per_second",
              "peak memory, training (MiB)": "peak_train_mb", "peak memory, inference (MiB)": "peak_infer_mb"}
    return viz.bar_panels(table, labels, panels)


# ------------------------------------------------------------------------------ the gallery


def gallery(models: Mapping[str, tuple[Any, str]], images: ImageSet | Sequence[Any], *,
            max_side: int | None = 512, device: str = "cpu", title: str | None = None) -> Figure:
    """Show photographs without ground truth as the networks see them, then colourised by each model.

    Args:
        models: ``{"label": (method, decoding)}``.
        images: the photographs: an :class:`~colorlab.data.ImageSet` or RGB ``(3, H, W)`` images
            (uint8 or in ``[0, 1]``).
        max_side: each image is scaled down to this longer side; ``None`` keeps its size.
        device: where to colourise.
        title: the figure's title.

    Returns:
        The figure: a row for the input and one per model, titled by the set's names when it has
        them.

    Raises:
        ValueError: when no models are given.
    """
    if not models:
        raise ValueError("gallery: no models")
    rows: dict[str, list[Any]] = {}
    for label, (method, decode) in models.items():
        rows["input"], rows[label] = colorize_images(method, images, decode, max_side=max_side, device=device)
    rows = {"input": rows.pop("input"), **rows}
    names = getattr(images, "names", None)
    return viz.gallery(rows, names=[str(n) for n in names] if names is not None else None, title=title)


PAPER = Paper(
    name="unet", notebook=_NOTEBOOK,
    title="U-Net with a ResNet-50 encoder: regression on ab versus classification over ~200 ab classes",
    source="001_2b44bd87656f3372.txt", methods=("unet",), claims=CLAIMS, network=SourceNetwork("unet", crop=224),
)
