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
* **no host–device synchronisation in the hot loop on CUDA**: the values a step logs stay on the
  device and are copied to the host together every :attr:`TrainConfig.sync_every` steps (and
  before each checkpoint), where the non-finite check, the history, the progress bar and the
  wall-time budget read them (on the CPU, where nothing is asynchronous, every step);
* **several processes** under ``torchrun`` (:mod:`colorlab.distributed`): each takes its share of
  every global batch (:class:`colorlab.data.StepBatchSampler`), gradients are averaged over the
  processes at every optimiser step, the logged values too, rank 0's initial weights are copied
  to the others, only rank 0 writes checkpoints (with every process's random-number state, so
  resumption stays exact) and shows progress. For a loss that is a plain mean over the batch and
  a network without batch norm, the same global batch gives one process's loss history to float
  rounding (``tests/test_distributed.py``); batch norm, and losses averaged over a masked part
  of each share (colour pixels), use each process's share, as with DDP;
* ``compile=True``: the method's networks through :func:`torch.compile` (measured against eager
  mode by ``colorlab bench``);
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

from . import checkpoint, distributed, progress
from .data import complete, to_device
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
    sync_every: int | None = None
    compile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be an integer >= 0; got {self.steps!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive; got {self.seconds}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1; got {self.checkpoint_every}")
        if self.sync_every is not None and self.sync_every < 1:
            raise ValueError(f"sync_every must be >= 1 or None; got {self.sync_every}")


def _channels_last(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.ndim == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


#: Settings that may change between a run and its resumption (how long, where, how shown, how
#: often the host reads the device, compiled or not). A change of device resumes too (a run moved
#: to another machine), though not bit for bit.
_RESUMABLE_CHANGES = ("steps", "seconds", "device", "checkpoint", "checkpoint_every", "resume", "progress",
                      "sync_every", "compile")
#: Steps between two reads of the logged values on an asynchronous device (CUDA, MPS).
SYNC_EVERY_ASYNC = 25
#: Seeds of the other processes' random streams: ``seed * _RANK_STREAMS + rank``.
_RANK_STREAMS = 1_000_003


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
        _load_optimizers(optimizers, state["optimizers"])
    except (KeyError, RuntimeError, ValueError) as e:
        method.load_state_dict(initial)
        _move_aside(path, "replaced", f"not resuming from {path}: its weights do not fit {method.name} "
                                      f"({checkpoint._first_line(e)})")
        return False
    return True


def _restore_rng(state: Mapping[str, Any], cuda: bool, rank: int, world: int) -> None:
    """Put back the random-number state a checkpoint saved: this process's own when it saved one
    per process for the same number of processes, else rank 0's (a warning says so)."""
    rng = state["rng"]
    ranks = rng.get("ranks")
    own = bool(ranks) and len(ranks) == world
    if own:
        rng = ranks[rank]
    elif (world > 1 or ranks) and rank == 0:
        warnings.warn(f"the checkpoint was written by {len(ranks) if ranks else 1} training process(es), this run has "
                      f"{world}: resuming with rank 0's random state, the others reseeded, not bit for bit", stacklevel=3)
    torch.set_rng_state(rng["cpu"].cpu())
    if cuda and rng.get("cuda") is not None:
        torch.cuda.set_rng_state(rng["cuda"].cpu())
    if rank and not own:  # a stream of its own (dropout), not a copy of rank 0's
        torch.manual_seed(int(state["step"]) * _RANK_STREAMS + rank)


def _load_optimizers(optimizers: Mapping[str, torch.optim.Optimizer], saved: Mapping[str, Any]) -> None:
    """Load saved optimiser states, keeping each optimiser's own implementation (fused or not,
    chosen for this run's device) rather than the saved one's."""
    for name, opt in optimizers.items():
        kept = [{k: g[k] for k in ("fused", "foreach") if k in g} for g in opt.param_groups]
        opt.load_state_dict(saved[name])
        for group, impl in zip(opt.param_groups, kept, strict=True):
            group.update(impl)


def _compiled(method: Method) -> None:
    """Each network (direct child module with parameters) of ``method`` compiled in place."""
    for _, child in method.named_children():
        if any(True for _ in child.parameters()):
            child.compile()


def fit(method: Method, batches: Callable[[int], Iterable[Batch]], config: TrainConfig) -> pd.DataFrame:
    """Train ``method`` and return the history ``DataFrame`` (``step, loss, seconds`` and the other
    values its ``train_step`` returns), with ``attrs`` holding ``device``, ``steps``,
    ``train_seconds``, ``resumed_from``, ``stopped_by`` (``"steps"`` or ``"seconds"``) and
    ``processes``. The method ends in eval mode.

    Args:
        method: the method; moved to the device (and channels_last on CUDA). Call its
            :meth:`~colorlab.methods.base.Method.prepare` first when it needs the training data.
        batches: ``batches(start_step)`` returns an iterable of batch dicts starting at that step;
            resumption calls it with the checkpoint's step. Under ``torchrun`` each process's
            iterable gives its own share of every step's batch (:func:`colorlab.data.make_loader` does).
        config: see :class:`TrainConfig`.
    """
    device = pick_device(config.device)
    rank, world = distributed.setup(device)
    writer = rank == 0
    cuda = device.type == "cuda"
    if cuda and device.index is not None:
        torch.cuda.set_device(device)
    sync_every = config.sync_every or (1 if device.type == "cpu" else SYNC_EVERY_ASYNC)
    log_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    channels_last = cuda and config.channels_last
    method.to(device)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    method.amp = cuda and config.amp
    optimizers = method.configure_optimizers()

    history: dict[str, list[float]] = {"step": [], "loss": [], "seconds": []}
    start_step, elapsed_before, resumed_from = 0, 0.0, None
    ckpt = Path(config.checkpoint) if config.checkpoint else None
    distributed.barrier()  # no process reads the checkpoint while another may still be writing it
    state, refused = None, None
    if writer:
        try:
            state = _resumable(ckpt, method, config, device)
            if state is not None and not _restore(ckpt, state, method, optimizers):
                state, optimizers = None, method.configure_optimizers()  # fresh optimisers for the initial weights
        except (OSError, ValueError) as e:  # a foreign or newer file, resume=False: every process stops
            refused = e
    resume, why = distributed.broadcast_object((state is not None, None if refused is None else str(refused)))
    if refused is not None:
        raise refused
    if why is not None:
        raise RuntimeError(f"rank 0 refused the checkpoint: {why}")
    if resume and not writer:  # rank 0 checked it: the others load it
        state = checkpoint.read(ckpt, map_location=device)
        method.load_state_dict(state["state_dict"])
        _load_optimizers(optimizers, state["optimizers"])
    if state is not None:
        _restore_rng(state, cuda, rank, world)
        history = {k: list(v) for k, v in state["history"].items()}
        start_step = resumed_from = int(state["step"])
        elapsed_before = float(state.get("train_seconds", 0.0))
    else:
        seed_everything(config.seed)
        if rank:  # each process its own random stream (dropout); rank 0 the one a single process has
            torch.manual_seed(config.seed * _RANK_STREAMS + rank)
        distributed.broadcast_module(method)  # every process starts from rank 0's weights, as DDP does
    method.check_trainable()
    if config.compile:
        _compiled(method)
    saved = {"step": start_step if state is not None else None}

    def snapshot(step: int, seconds: float) -> None:
        if ckpt is None:
            return
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None}
        every = distributed.all_gather_object(rng) if world > 1 else None
        if writer:
            checkpoint.save(ckpt, method, optimizers=optimizers, step=step, train_seconds=seconds,
                            run={**asdict(config), "device_used": str(device), "processes": world},
                            rng={**rng, **({"ranks": every} if every else {})}, history=history,
                            data=config.extra.get("data"))
        saved["step"] = step
        distributed.barrier()

    t0 = time.perf_counter()
    step, stopped_by = start_step, "steps"
    pending: list[tuple[int, float, Tensor]] = []  # (step, seconds, logged values on the device), not yet read
    names: list[str] = []
    method.train()
    bar = tqdm(total=config.steps, initial=start_step, desc="train", disable=not config.progress or not writer,
               leave=False)

    def flush() -> None:
        """Read the logged values of the pending steps (one copy to the host), check them, record them."""
        if not pending:
            return
        values = torch.stack([v for _, _, v in pending]).tolist()
        for (at, seconds, _), row in zip(pending, values, strict=True):
            logs = dict(zip(names, row, strict=True))
            value = logs.pop("loss")
            bad = next((f"{k} is {v}" for k, v in {"loss": value, **logs}.items() if not math.isfinite(v)), None)
            if bad:
                last = ("no checkpoint path was set" if ckpt is None else
                        f"the last checkpoint, {ckpt}, holds step {saved['step']}" if saved["step"] is not None else
                        f"no checkpoint was written yet (every {config.checkpoint_every} steps to {ckpt})")
                raise FloatingPointError(f"{bad} at step {at}; {last}")
            history["step"].append(at)
            history["loss"].append(value)
            history["seconds"].append(seconds)
            for k, v in logs.items():
                history.setdefault(k, [math.nan] * (len(history["step"]) - 1)).append(v)
            for v in history.values():  # a value logged at some steps only is NaN at the others
                if len(v) < len(history["step"]):
                    v.append(math.nan)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}")
            if writer:
                progress.step(at, config.steps, loss=value)
        pending.clear()

    def out_of_time() -> bool:  # rank 0's clock decides for every process
        if config.seconds is None:
            return False
        late = elapsed_before + time.perf_counter() - t0 >= config.seconds
        return bool(distributed.broadcast_object(late)) if world > 1 else late

    it: Iterator[Batch] = iter(batches(start_step))
    try:
        while step < config.steps:
            if (world == 1 or (step - start_step) % sync_every == 0) and out_of_time():  # the clock needs no sync
                stopped_by = "seconds"
                break
            batch = complete(to_device(next(it), device), method.space)  # colour converted here when the items are RGB
            if channels_last:
                batch = _channels_last(batch)
            logs = method.train_step(batch, optimizers, step)
            if set(logs) != set(names):  # the first step, or a step that logs other values
                flush()
                names[:] = ["loss", *(k for k in logs if k != "loss")]  # in the order the method logs them
            row = torch.stack([logs[k].detach().to(device, log_dtype).reshape(()) if isinstance(logs[k], Tensor)
                               else torch.tensor(float(logs[k]), device=device, dtype=log_dtype) for k in names])
            step += 1
            pending.append((step, elapsed_before + time.perf_counter() - t0, distributed.average(row)))
            if step % config.checkpoint_every == 0 or len(pending) >= sync_every or step == config.steps:
                flush()
            if step % config.checkpoint_every == 0:
                snapshot(step, elapsed_before + time.perf_counter() - t0)
        flush()
    finally:
        bar.close()
    total = elapsed_before + time.perf_counter() - t0
    if step > start_step or resumed_from is None:
        snapshot(step, total)
    method.eval()
    df = pd.DataFrame(history)
    df.attrs.update(device=str(device), steps=step, train_seconds=total, resumed_from=resumed_from, stopped_by=stopped_by,
                    processes=world)
    return df
