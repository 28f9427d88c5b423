"""One run of a notebook: a seed, a fold, its two splits and the device, fixed for the run.

:meth:`colorlab.study.Study.runs` yields them; training and evaluation take one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import data

__all__ = ["Run"]


@dataclass(frozen=True)
class Run:
    """One run of a notebook: its seed, its two splits and the device, fixed for the run.

    Args:
        index: which run of the study (0 for the first seed).
        count: how many runs the study has.
        seed: seeds the model's initialisation, the batch order and the augmentation.
        train_set: the run's training split.
        test_set: the run's test split (on a spec with folds, its held-out fold of whole photos).
        device: where the run trains and evaluates, resolved once for the study.
        context: the side of the whole photo each item carries, if any.
        folded: whether the splits are folds of whole photos where the spec has them.
        subset: what narrow subset the splits were restricted to (:meth:`Study.restrict`), if any.
    """

    index: int
    count: int
    seed: int
    train_set: data.ColorDataset
    test_set: data.ColorDataset
    device: torch.device
    context: int | None = None
    folded: bool = True
    subset: str | None = None

    @property
    def space(self) -> str:  # "lab" or "yuv": the colour space of the items
        return self.train_set.space

    @property
    def fold(self) -> tuple[int, int] | None:  # (held-out fold, folds); None where the test set is no fold
        return self.test_set.images.fold

    @property
    def held_out(self) -> int | None:  # the held-out fold's index; None where the test set is no fold
        return self.fold[0] if self.fold else None

    def describe(self) -> str:
        """One line: the run, its data and split, its sizes and the device."""
        d = self.train_set.describe()
        fold = f"fold {self.fold[0] + 1} of {self.fold[1]}, " if self.fold else ""
        run = f"run {self.index + 1} of {self.count} ({fold}seed {self.seed}): " if self.count > 1 else ""
        photos = f" of {len(self.test_set.images)} held-out photos" if self.fold else ""
        return (f"{run}{d['data_path']} | split: {d['split_rule']} | {len(self.train_set)} training images, "
                f"{len(self.test_set)} test crops{photos} | device {self.device}")
