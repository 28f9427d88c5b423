"""One training loop for every method.

:func:`fit` calls a method's :meth:`~colorlab.methods.base.Method.train_step` (which owns its
optimisers: one for a regression, two alternating for a GAN) over a stream of batches, for a
number of steps or a wall-time budget, whichever ends first, and returns the loss history as a
:class:`pandas.DataFrame`. What it takes care of:

* the device: ``"auto"`` picks CUDA, then Apple's MPS, then the CPU; or force one;
* on CUDA, bf16 autocast (the method's :meth:`~colorlab.methods.base.Method.autocast`) and
  channels_last memory format;
* seeding, so a CPU run is repeatable;
* checkpoints (:mod:`colorlab.checkpoint`: the method's name, variant and arguments, its
  weights, every optimiser, step, settings, RNG state, history and data) written atomically
  every ``checkpoint_every`` steps and at the end; a run pointed at an existing checkpoint of
  the same settings resumes from it (a finished one is reused without training), and ends with
  the same weights as an uninterrupted run when the batch stream is a pure function of the step
  (:class:`colorlab.data.StepBatchSampler`). Nothing is destroyed: a checkpoint that cannot be
  read (``*.corrupt``), or holds other settings or weights that no longer fit the method
  (``*.replaced``), is named in a warning and moved aside before the run starts afresh; a foreign
  or newer-format file stops the run with an error naming it; ``resume=False`` refuses a path
  that exists;
* a NaN or infinite loss (or any other value the step logs) stops the run with
  :class:`FloatingPointError` naming it and the step;
* a tqdm progress bar showing the loss, and the steps on the terminal of ``colorlab run``
  (:mod:`colorlab.progress`).

Example:
    >>> from colorlab.methods import build
    >>> m = build("yuv_regression", base=4)
    >>> def batches(start_step):
    ...     while True:
    ...         yield {"Y": torch.rand(2, 1, 16, 16), "uv": torch.zeros(2, 2, 16, 16)}
    >>> hist = fit(m, batches, TrainConfig(steps=3, progress=False))
    >>> len(hist), hist.attrs["stopped_by"], m.training
    (3, 'steps', False)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from . import checkpoint, progress
from .data import to_device
from .device import pick_device, seed_everything
from .files import plain
from .methods import Method

__all__ = ["TrainConfig", "fit"]

Batch = Mapping[str, Any]


@dataclass
class TrainConfig:
    """Settings of one training run. ``steps`` bounds the step count, ``seconds`` (if set) the
    wall time; ``checkpoint`` (a path) enables checkpointing and resumption; ``extra`` describes
    the run beyond the method (batch size, data) and must match for a checkpoint to be resumed."""

    steps: int = 100
    seconds: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    checkpoint: str | None = None
    checkpoint_every: int = 50
    resume: bool = True
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be an integer >= 0; got {self.steps!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive; got {self.seconds}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1; got {self.checkpoint_every}")


def _channels_last(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.ndim == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


#: Settings that may change between a run and its resumption (how long, where, how shown). A
#: change of device resumes too (a run moved to another machine), though not bit for bit.
_RESUMABLE_CHANGES = ("steps", "seconds", "device", "checkpoint", "checkpoint_every", "resume", "progress")


def _incompatible(state: Mapping[str, Any], method: Method, config: TrainConfig) -> str:
    """Why a checkpoint cannot continue this run ("" when it can)."""
    if state["method"] != method.name or state["variant"] != method.variant:
        return f"it holds {state['method']}/{state['variant']}, not {method.name}/{method.variant}"
    saved, now = state.get("args", {}), plain(method.args)
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    saved_run, run = state.get("run", {}), plain(asdict(config))
    diff += sorted(k for k in run if k not in _RESUMABLE_CHANGES and saved_run.get(k) != run[k])
    if diff:
        return "its settings differ in " + ", ".join(diff)
    if int(state["step"]) > config.steps:
        return f"it is at step {state['step']}, beyond the {config.steps} steps asked for"
    return ""


def _move_aside(path: Path, suffix: str, why: str) -> None:
    aside = path.with_name(f"{path.name}.{suffix}")
    n = 1
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.{suffix}{n}"), n + 1
    path.replace(aside)
    message = f"{why}; moved it to {aside.name} and training from scratch"
    warnings.warn(message, stacklevel=4)
    progress.note(f"warning: {message}")  # and on the terminal of ``colorlab run``


def _resumable(path: Path | None, method: Method, config: TrainConfig, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint to resume from, or ``None`` (no file; an unreadable one or one of other
    settings, moved aside). A foreign or newer-format file raises; with ``resume=False`` an
    existing file raises rather than be overwritten."""
    if path is None or not path.exists():
        return None
    if not config.resume:
        raise FileExistsError(f"{path} exists and resume=False: give another checkpoint path or move it away")
    try:
        state = checkpoint.read(path, map_location=device)
    except checkpoint.UnreadableCheckpoint as e:
        _move_aside(path, "corrupt", str(e))
        return None
    if why := _incompatible(state, method, config):
        _move_aside(path, "replaced", f"not resuming from {path}: {why}")
        return None
    return state


def _restore(path: Path, state: dict[str, Any], method: Method, optimizers: Mapping[str, torch.optim.Optimizer]) -> bool:
    """Load a checkpoint's weights and optimiser states; ``False`` (file moved aside, the method's
    own initial weights put back: a failed ``load_state_dict`` has copied what fitted) when they
    no longer fit the method, as after a change of its code."""
    initial = {k: v.clone() for k, v in method.state_dict().items()}
    try:
        method.load_state_dict(state["state_dict"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as e:
        method.load_state_dict(initial)
        _move_aside(path, "replaced", f"not resuming from {path}: its weights do not fit {method.name} "
                                      f"({checkpoint._first_line(e)})")
        return False
    return True


def fit(method: Method, batches: Callable[[int], Iterable[Batch]], config: TrainConfig) -> pd.DataFrame:
    """Train ``method`` and return the history ``DataFrame`` (``step, loss, seconds`` and the other
    values its ``train_step`` returns), with ``attrs`` holding ``device``, ``steps``,
    ``train_seconds``, ``resumed_from`` and ``stopped_by`` (``"steps"`` or ``"seconds"``). The
    method ends in eval mode.

    Args:
        method: the method; moved to the device (and channels_last on CUDA). Call its
            :meth:`~colorlab.methods.base.Method.prepare` first when it needs the training data.
        batches: ``batches(start_step)`` returns an iterable of batch dicts starting at that step;
            resumption calls it with the checkpoint's step.
        config: see :class:`TrainConfig`.
    """
    device = pick_device(config.device)
    cuda = device.type == "cuda"
    channels_last = cuda and config.channels_last
    method.to(device)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    method.amp = cuda and config.amp
    optimizers = method.configure_optimizers()

    history: dict[str, list[float]] = {"step": [], "loss": [], "seconds": []}
    start_step, elapsed_before, resumed_from = 0, 0.0, None
    ckpt = Path(config.checkpoint) if config.checkpoint else None
    state = _resumable(ckpt, method, config, device)
    if state is not None and not _restore(ckpt, state, method, optimizers):
        state, optimizers = None, method.configure_optimizers()  # fresh optimisers for the initial weights
    if state is not None:
        torch.set_rng_state(state["rng"]["cpu"].cpu())
        if cuda and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu())
        history = {k: list(v) for k, v in state["history"].items()}
        start_step = resumed_from = int(state["step"])
        elapsed_before = float(state.get("train_seconds", 0.0))
    else:
        seed_everything(config.seed)
    method.check_trainable()
    saved = {"step": start_step if state is not None else None}

    def snapshot(step: int, seconds: float) -> None:
        if ckpt is None:
            return
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None}
        checkpoint.save(ckpt, method, optimizers=optimizers, step=step, train_seconds=seconds,
                        run={**asdict(config), "device_used": str(device)}, rng=rng, history=history,
                        data=config.extra.get("data"))
        saved["step"] = step

    t0 = time.perf_counter()
    step, stopped_by = start_step, "steps"
    method.train()
    bar = tqdm(total=config.steps, initial=start_step, desc="train", disable=not config.progress, leave=False)
    it: Iterator[Batch] = iter(batches(start_step))
    try:
        while step < config.steps:
            if config.seconds is not None and elapsed_before + time.perf_counter() - t0 >= config.seconds:
                stopped_by = "seconds"
                break
            batch = to_device(next(it), device)
            if channels_last:
                batch = _channels_last(batch)
            logs = {k: float(v) for k, v in method.train_step(batch, optimizers, step).items()}
            value = logs.pop("loss")
            bad = next((f"{k} is {v}" for k, v in {"loss": value, **logs}.items() if not math.isfinite(v)), None)
            if bad:
                last = ("no checkpoint path was set" if ckpt is None else
                        f"the last checkpoint, {ckpt}, holds step {saved['step']}" if saved["step"] is not None else
                        f"no checkpoint was written yet (every {config.checkpoint_every} steps to {ckpt})")
                raise FloatingPointError(f"{bad} at step {step + 1}; {last}")
            step += 1
            seconds = elapsed_before + time.perf_counter() - t0
            history["step"].append(step)
            history["loss"].append(value)
            history["seconds"].append(seconds)
            for k, v in logs.items():
                history.setdefault(k, [math.nan] * (len(history["step"]) - 1)).append(v)
            for v in history.values():  # a value logged at some steps only is NaN at the others
                if len(v) < len(history["step"]):
                    v.append(math.nan)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}")
            progress.step(step, config.steps, loss=value)
            if step % config.checkpoint_every == 0:
                snapshot(step, seconds)
    finally:
        bar.close()
    total = elapsed_before + time.perf_counter() - t0
    if step > start_step or resumed_from is None:
        snapshot(step, total)
    method.eval()
    df = pd.DataFrame(history)
    df.attrs.update(device=str(device), steps=step, train_seconds=total, resumed_from=resumed_from, stopped_by=stopped_by)
    return df
