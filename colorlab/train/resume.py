"""Checkpoints inside a training run.

Which one a run resumes from (one of other settings moved aside, a foreign one refused), putting
its weights, optimisers and random state back, and writing new ones with every process's random
state (:class:`Saver`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint, distributed, progress
from ..files import plain
from ..methods import Method, StepMode
from .config import RANK_STREAMS, TrainConfig

__all__ = ["Saver", "resume", "restore_rng"]

#: Settings that may change between a run and its resumption (how long, where, how shown, how
#: often the host reads the device, compiled or not, Adam's kernel). A change of device resumes too
#: (a run moved to another machine), though not bit for bit.
_RESUMABLE_CHANGES = ("steps", "seconds", "device", "checkpoint", "checkpoint_every", "resume", "progress",
                      "sync_every", "compile", "fused_adam")


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
    warnings.warn(message, stacklevel=5)
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


def _restore(path: Path, state: dict[str, Any], method: Method,
             optimizers: Mapping[str, torch.optim.Optimizer]) -> bool:
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


def restore_rng(state: Mapping[str, Any], cuda: bool, rank: int, world: int) -> None:
    """Put back the random-number state a checkpoint saved.

    This process gets its own state when the checkpoint saved one per process for the same number
    of processes, else rank 0's (a warning says so), the other processes reseeded.

    Args:
        state: the checkpoint's entries.
        cuda: put back the CUDA generator's state too.
        rank: this process's rank.
        world: the number of processes.
    """
    rng = state["rng"]
    ranks = rng.get("ranks")
    own = bool(ranks) and len(ranks) == world
    if own:
        rng = ranks[rank]
    elif (world > 1 or ranks) and rank == 0:
        warnings.warn(f"the checkpoint was written by {len(ranks) if ranks else 1} training process(es), this run has "
                      f"{world}: resuming with rank 0's random state, the others reseeded, not bit for bit",
                      stacklevel=4)
    torch.set_rng_state(rng["cpu"].cpu())
    if cuda and rng.get("cuda") is not None:
        torch.cuda.set_rng_state(rng["cuda"].cpu())
    if rank and not own:  # a stream of its own (dropout), not a copy of rank 0's
        torch.manual_seed(int(state["step"]) * RANK_STREAMS + rank)


def _load_optimizers(optimizers: Mapping[str, torch.optim.Optimizer], saved: Mapping[str, Any]) -> None:
    """Load saved optimiser states, keeping each optimiser's own implementation (fused or not,
    chosen for this run's device) rather than the saved one's."""
    for name, opt in optimizers.items():
        kept = [{k: g[k] for k in ("fused", "foreach") if k in g} for g in opt.param_groups]
        opt.load_state_dict(saved[name])
        for group, impl in zip(opt.param_groups, kept, strict=True):
            group.update(impl)


class Saver:
    """Writes a run's checkpoints, and knows the last.

    Rank 0 writes, with every process's random state; every process takes part.

    Args:
        path: the checkpoint file (``None``: none is written).
        method: the method.
        optimizers: its optimisers, by name.
        config: the run's settings.
        device: this process's device.
        world: the number of processes.
        writer: whether this process writes (rank 0).
        step: the step of the checkpoint the run resumed from, if any.
    """

    def __init__(self, path: Path | None, method: Method, optimizers: Mapping[str, torch.optim.Optimizer],
                 config: TrainConfig, device: torch.device, world: int, writer: bool, step: int | None) -> None:
        self.path, self.method, self.optimizers, self.config = path, method, optimizers, config
        self.device, self.world, self.writer, self.step = device, world, writer, step

    def save(self, step: int, seconds: float, history: Mapping[str, list[float]]) -> None:
        """Write the checkpoint of ``step`` (after ``seconds`` of training, with the loss ``history``)."""
        if self.path is None:
            return
        cuda = self.device.type == "cuda"
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None}
        every = distributed.all_gather_object(rng) if self.world > 1 else None
        if self.writer:
            checkpoint.save(self.path, self.method, optimizers=self.optimizers, step=step, train_seconds=seconds,
                            run={**asdict(self.config), "device_used": str(self.device), "processes": self.world},
                            rng={**rng, **({"ranks": every} if every else {})}, history=history,
                            data=self.config.extra.get("data"))
        self.step = step
        distributed.barrier()

    def last(self) -> str:
        """Where the last checkpoint is, in words (for an error that stops the run)."""
        if self.path is None:
            return "no checkpoint path was set"
        if self.step is not None:
            return f"the last checkpoint, {self.path}, holds step {self.step}"
        return f"no checkpoint was written yet (every {self.config.checkpoint_every} steps to {self.path})"


def resume(path: Path | None, method: Method, mode: StepMode, config: TrainConfig, device: torch.device,
            rank: int) -> tuple[dict[str, torch.optim.Optimizer], dict[str, Any] | None]:
    """The method's optimisers, and the checkpoint state the run resumes from.

    Rank 0 decides (a file of other settings moved aside, a foreign one refused) and every process
    follows it.

    Args:
        path: the checkpoint file (``None``: none).
        method: the method; a checkpoint's weights are loaded into it.
        mode: how its steps run (:func:`colorlab.train.step_mode`), for its optimisers.
        config: the run's settings.
        device: this process's device.
        rank: this process's rank.

    Returns:
        ``(optimizers, state)``; ``state`` is ``None`` when the run starts afresh.

    Raises:
        CheckpointError: the file is foreign or of a newer format.
        FileExistsError: the file exists and ``config.resume`` is false.
        RuntimeError: rank 0 refused the checkpoint (on the other processes).
    """
    optimizers = method.configure_optimizers(mode)
    distributed.barrier()  # no process reads the checkpoint while another may still be writing it
    state, refused = None, None
    if rank == 0:
        try:
            state = _resumable(path, method, config, device)
            if state is not None and not _restore(path, state, method, optimizers):
                state, optimizers = None, method.configure_optimizers(mode)  # fresh optimisers for the initial weights
        except (OSError, ValueError) as e:  # a foreign or newer file, resume=False: every process stops
            refused = e
    resume, why = distributed.broadcast_object((state is not None, None if refused is None else str(refused)))
    if refused is not None:
        raise refused
    if why is not None:
        raise RuntimeError(f"rank 0 refused the checkpoint: {why}")
    if resume and rank:  # rank 0 checked it: the others load it
        state = checkpoint.read(path, map_location=device)
        method.load_state_dict(state["state_dict"])
        _load_optimizers(optimizers, state["optimizers"])
    return optimizers, state
