"""What every notebook does: parameters, data, train the variants, evaluate, judge, save.

A notebook calls :func:`start` right after its ``parameters`` cell. The :class:`Study` it gets
yields one :class:`Run` per seed, trains and evaluates in each, then judges and saves over all of
them. docs/methods.md shows a notebook; docs/data.md how the runs split the photos.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from . import checkpoint, data, evaluate, evidence, metrics, papers, progress, results
from .backbones import skip_weights
from .checks import check_params
from .claims import judge
from .device import pick_device
from .evaluate import Evaluation
from .files import plain
from .methods import Method, Trained, get
from .profiles import parameters
from .runs import Run
from .train import TrainConfig, fit, new_method

__all__ = ["parameters", "start", "Study", "Run", "Evaluation"]

#: Characters of the settings digest in a checkpoint's name.
_DIGEST = 10
#: Test batches of the evaluation loader.
EVAL_BATCH = 32


def start(notebook: str, namespace: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> Study:
    """Start a notebook's :class:`Study`, its parameters checked first (:func:`colorlab.checks.check_params`).

    Args:
        notebook: its results folder's name, e.g. ``"01_yuv_regression"``.
        namespace: where its parameters are (pass ``globals()``; :func:`parameters`).
        root: the results folder (:func:`colorlab.results.results_root`).

    Example:
        >>> import tempfile
        >>> params = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0, 1], steps=2, batch_size=2,
        ...               crop=16, image_size=48, max_tiles=1)
        >>> s = start("00_example", params, root=tempfile.mkdtemp())
        >>> for run in s.runs("yuv"):  # doctest: +ELLIPSIS
        ...     models = s.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False)
        ...     ev = s.evaluate(run, models)
        run 1 of 2 (fold 1 of 2, seed 0): samples (embedded) | split: folds | ... photos | device cpu
        l1: 2 steps in ... s, final loss ...
        run 2 of 2 (fold 2 of 2, seed 1): ...
        l1: 2 steps in ... s, final loss ...
        >>> s.table()[["method", "variant", "n_seeds", "n_photos"]].values.tolist()[:2]
        [['yuv_regression', 'l1', 2, 8], ['reference', 'ground_truth', 2, 8]]
    """
    return Study(notebook, parameters(namespace), root=root)


class Study:
    """One notebook's study: its parameters (checked), device, runs, models and results; :func:`start` makes one."""

    def __init__(self, notebook: str, params: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> None:
        check_params(params)
        self.notebook, self.params, self.root = notebook, dict(params), root
        results.run_dir(notebook, params["profile"], root)  # checks the names
        self.profile: str = params["profile"]
        self.seeds: list[int] = list(params["seeds"]) if "seeds" in params else [params.get("seed", 0)]
        self.device: torch.device = pick_device(params.get("device", "auto"))
        self.models: dict[str, dict[str, Any]] = {}
        self.last_run: Run | None = None
        self._units: list[pd.DataFrame] = []

    @property
    def profile_dir(self) -> Path:
        return results.profile_dir(self.profile, self.root)

    @property
    def cache_dir(self) -> Path:  # priors and other data-derived state
        return self.profile_dir / "cache"

    def _relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, results.results_root(self.root))).as_posix()

    def _need(self, *names: str) -> list[Any]:
        missing = [n for n in names if n not in self.params]
        if missing:
            raise KeyError(f"{self.notebook}: the parameters cell lacks {', '.join(missing)}")
        return [self.params[n] for n in names]

    @property
    def folds(self) -> int:
        """How many folds of whole photos the runs hold out on a spec with folds.

        The ``folds`` parameter, each fold trained once per seed; without it ``max(2, len(seeds))``, each
        seed training one fold (the seeds are then the folds)."""
        return int(self.params["folds"]) if self.params.get("folds") else max(2, len(self.seeds))

    def plan(self, *, folds: bool = True) -> list[tuple[int, int | None]]:
        """The runs as ``(seed, fold)``: every fold with every seed when the ``folds`` parameter is set, else one fold
        per seed; ``fold`` is ``None`` (one run per seed, one test set) on a spec without folds or with ``folds``
        false.

        Example:
            >>> s = Study("00_x", dict(profile="smoke", data_spec="photos", seeds=[0, 1], folds=3))
            >>> s.plan()
            [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
            >>> s.plan(folds=False)
            [(0, None), (1, None)]
        """
        spec = str(self.params.get("data_spec", "")).strip().lower()
        if not folds or spec not in data.sources.FOLDED:
            return [(seed, None) for seed in self.seeds]
        if self.params.get("folds"):
            return [(seed, fold) for fold in range(self.folds) for seed in self.seeds]
        return [(seed, index) for index, seed in enumerate(self.seeds)]

    def runs(self, space: str, *, context: int | None = None, folds: bool = True) -> Iterator[Run]:
        """One :class:`Run` per seed and fold (:meth:`plan`, :meth:`datasets`): train and evaluate inside the loop.

        Args:
            space: the items' colour space, ``"lab"`` or ``"yuv"``.
            context: the side of the whole photo each item carries, if any.
            folds: hold out folds of whole photos where the spec has them.
        """
        for index in range(len(self.plan(folds=folds))):
            yield self.datasets(space, index=index, context=context, folds=folds)

    def datasets(self, space: str, *, index: int = 0, context: int | None = None, folds: bool = True) -> Run:
        """Run ``index`` of :meth:`runs`: the splits of ``data_spec`` at ``crop`` and ``image_size``.

        The test split has at most ``max_tiles`` tiles per photo. On a spec with folds (``data.sources.FOLDED``) the
        run's fold of whole photos is held out, unless ``folds`` is false (``samples``: then by region)."""
        spec, crop, image_size = self._need("data_spec", "crop", "image_size")
        plan = self.plan(folds=folds)
        seed, held_out = plan[index]
        fold = (held_out, self.folds) if held_out is not None else None
        progress.phase("data")
        kw = dict(crop=crop, image_size=image_size, space=space, fold=fold, context=context)
        run = Run(index, len(plan), seed, data.load_dataset(spec, "train", seed=seed, **kw),
                  data.load_dataset(spec, "test", max_tiles=self.params.get("max_tiles"), **kw), self.device,
                  context, folds)
        return self._begin(run)

    def in_space(self, run: Run, space: str) -> Run:
        """The same run (seed, fold, photos) with its items in another colour space."""
        return self.datasets(space, index=run.index, context=run.context, folds=run.folded)

    def restrict(self, run: Run, subset: str) -> Run | None:
        """``run`` with only the images of ``subset`` (:mod:`colorlab.data.subsets`) in its splits.

        Each split is held out as before and :attr:`Run.subset` says what the subset is. ``None`` (said)
        when the source has none or a split would be empty.

        Raises:
            ValueError: the subset names images the source does not have.
        """
        spec = self.params["data_spec"]
        chosen = data.resolve_subset(subset, spec)
        if chosen is None:
            progress.say(f"subset {subset!r}: {spec} has no narrow subset; the comparison is not run")
            return None
        if typos := chosen.unknown(run.train_set.images.names, run.test_set.images.names):
            raise ValueError(f"subset {subset!r} names images that {spec} does not have: {', '.join(typos)}")
        tr, te = (data.restrict(d.images, chosen) for d in (run.train_set, run.test_set))
        if not len(tr) or not len(te):
            progress.say(f"subset: {chosen.description} has no {'training' if not len(tr) else 'test'} image in "
                         f"this run's split; the comparison is not run in it")
            return None
        narrow = dataclasses.replace(run, train_set=run.train_set.over(tr), test_set=run.test_set.over(te),
                                     subset=chosen.description)
        return self._begin(narrow)

    def _begin(self, run: Run) -> Run:
        progress.say(run.describe())
        if run.train_set.images.problems:
            progress.say(f"data: {run.train_set.images.problems.summary()}")
        self.last_run = run
        return run

    @staticmethod
    def _data_key(run: Run) -> dict[str, Any]:
        d = run.train_set.describe()
        names = run.train_set.images.names
        listed = json.dumps(list(names) if isinstance(names, list) else len(names)).encode()
        key = {**{k: d[k] for k in ("spec", "data_path", "split_rule", "region", "fold", "n_images", "crop",
                                    "image_size", "space")}, "names": hashlib.sha1(listed).hexdigest()}
        if d.get("context") is not None:  # items with the whole image: other data (keys without it unchanged)
            key["context"] = d["context"]
        return key

    def checkpoint_path(self, run: Run, method: Method, steps: int, batch_size: int) -> Path:
        """Where ``method`` trained with these settings on ``run``'s data is kept (docs/running.md)."""
        key = {"method": method.name, "variant": method.variant, "args": method.key_args(), "steps": steps,
               "seed": run.seed, "batch_size": batch_size, "data": self._data_key(run)}
        if provenance := method.provenance():  # pretrained weights: a model started from others is another model
            key["provenance"] = provenance
        digest = hashlib.sha1(json.dumps(plain(key), sort_keys=True).encode()).hexdigest()[:_DIGEST]
        return self.profile_dir / "checkpoints" / method.name / f"{method.variant}-{steps}steps-{digest}.pt"

    def train(self, run: Run, method: str, variants: Sequence[str], *, progress_bar: bool = True,
              **args: Any) -> dict[str, Trained]:
        """Train each variant of ``method`` with ``args`` on ``run``, for the notebook's ``steps`` and ``batch_size``.

        The run's seed seeds each; a finished checkpoint of the same settings is reused, an interrupted one resumed.

        Returns:
            The trained models, by variant.

        Raises:
            ValueError: the run's colour space is not the method's, or its crop is no multiple of its input size.
        """
        steps, batch_size = self._need("steps", "batch_size")
        cls = get(method)
        if run.space != cls.space:
            raise ValueError(f"{method} trains on {cls.space} items; this run's are {run.space!r}")
        with torch.random.fork_rng(devices=[]), skip_weights():  # every variant's arguments checked before any trains
            for variant in variants:
                if run.train_set.crop % (multiple := cls(variant, **args).input_multiple):
                    raise ValueError(f"{method} needs a crop that is a multiple of {multiple}; "
                                     f"got crop={run.train_set.crop}")
        return {variant: self._train_one(run, method, variant, args, steps, batch_size, progress_bar)
                for variant in variants}

    def _train_one(self, run: Run, method: str, variant: str, args: Mapping[str, Any], steps: int,
                   batch_size: int, progress_bar: bool) -> Trained:
        progress.phase(f"train {method}/{variant}")
        m = new_method(method, variant, args, seed=run.seed)
        prepared = m.prepare(run.train_set, cache_dir=self.cache_dir)
        path = self.checkpoint_path(run, m, steps, batch_size)
        cfg = TrainConfig(steps=steps, seed=run.seed, device=str(run.device), progress=progress_bar,
                          checkpoint=str(path), checkpoint_every=max(1, min(100, steps)),
                          extra={"batch_size": batch_size, "data": run.train_set.describe()})
        hist = fit(m, lambda start: data.make_loader(run.train_set, batch_size, train=True, seed=run.seed,
                                                     start_step=start), cfg)
        key = f"{m.name}/{variant}/seed{run.seed}"
        if self.params.get("folds") and run.fold:  # several folds per seed
            key += f"/fold{run.held_out}"
        if key in self.models and self.models[key]["checkpoint"] != self._relative(path):
            key += f"/{path.stem.rsplit('-', 1)[-1]}"  # the same variant and seed on other data (a subset, say)
        self.models[key] = {"method": m.name, "variant": m.variant, "args": m.args, "seed": run.seed,
                            "fold": run.held_out, "checkpoint": self._relative(path),
                            "resumed_from": hist.attrs["resumed_from"],
                            "steps": hist.attrs["steps"], **prepared, **m.provenance()}
        resumed = hist.attrs["resumed_from"]
        how = ("its finished checkpoint reused, " if resumed is not None and resumed == hist.attrs["steps"] else
               f"resumed at step {resumed}, " if resumed else "")
        progress.say(f"{variant}: {how}{hist.attrs['steps']} steps in {hist.attrs['train_seconds']:.1f} s, "
                     f"final loss {hist['loss'].iloc[-1]:.4f}" if len(hist) else f"{variant}: no steps")
        return Trained(m, hist, path)

    def reuse(self, run: Run, notebook: str, model: str) -> Trained:
        """The ``model`` (``"l1"`` or ``"method/variant"``) that ``notebook`` trained for ``run``'s seed, read-only.

        Its training data must be the run's (data, fold, crop and image size).

        Raises:
            FileNotFoundError: the notebook has no results, or the checkpoint is missing.
            KeyError: it recorded no such model for the seed, or several.
            ValueError: the model was trained on other data.
        """
        hint = f"run it first (colorlab run --profile {self.profile} --only {notebook[:2]} {self.notebook[:2]})"
        try:
            rec = results.load(notebook, self.profile, self.root)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.notebook} uses notebook {notebook}'s {model!r} model, but {notebook} has "
                                    f"no results in profile {self.profile!r}: {hint}") from e
        recorded = rec.get("info", {}).get("models", {})
        keys = [k for k, r in recorded.items() if model in (r.get("variant"), f"{r.get('method')}/{r.get('variant')}")
                and r.get("seed", 0) == run.seed]
        if len(keys) > 1:  # several folds per seed: this run's fold (the data check below catches other data)
            keys = [k for k in keys if recorded[k].get("fold") == run.held_out]
        if len(keys) != 1:
            why = "several" if keys else "no"
            raise KeyError(f"{notebook} recorded {why} {model!r} model(s) for seed {run.seed}; it has: "
                           f"{', '.join(recorded) or 'none'}" + ("" if keys else f": {hint}"))
        path = results.results_root(self.root) / recorded[keys[0]]["checkpoint"]
        if not path.is_file():
            raise FileNotFoundError(f"{notebook}'s {model!r} checkpoint {self._relative(path)} is missing (checkpoints "
                                    f"are not in git): {hint}")
        state = checkpoint.read(path)
        had, wants = state.get("data", {}), run.test_set.describe()
        diff = [k for k in ("data_path", "split_rule", "fold", "crop", "image_size") if had.get(k) != wants.get(k)]
        if diff:
            raise ValueError(f"{notebook}'s {model!r} model was trained on "
                             + ", ".join(f"{k}={had.get(k)!r}" for k in diff)
                             + "; this run has " + ", ".join(f"{k}={wants[k]!r}" for k in diff)
                             + f": run {notebook} with the same data first")
        trained = Trained(checkpoint.rebuild(state, path), checkpoint.history(state), path)
        self.models[keys[0]] = {"method": state["method"], "variant": state["variant"], "args": state["args"],
                                "seed": run.seed, "fold": run.held_out, "checkpoint": self._relative(path),
                                "from_notebook": notebook,
                                "steps": state["step"]}
        progress.say(f"{model}: notebook {notebook}'s model, {state['step']} steps, loaded read-only from "
                     f"{self._relative(path)}")
        return trained

    def evaluate(self, run: Run, models: Mapping[str, Trained], *, decodings: Sequence[str] | None = None,
                 prior: Tensor | None = None, bins: Tensor | None = None, references: bool = True,
                 options: Mapping[str, Any] | None = None, labels: Mapping[str, Any] | None = None,
                 per_model: Mapping[str, Mapping[str, Any]] | None = None) -> Evaluation:
        """Score every model on ``run``'s test split, then Zhang et al.'s reference rows.

        The rows are also kept per photo, for :meth:`table` and :meth:`judge`.

        Args:
            run: the run.
            models: the models by label; the label is the rows' ``variant``.
            decodings: the decodings to score (default: all of each model's), with ``options``.
            prior: with ``bins``, adds the rebalanced AuC.
            references: add the reference rows (ground truth, gray, random colours).
            labels: columns of every row (they may rename ``method`` or ``decode``).
            per_model: columns of one model's rows, by label (a cost measured per head, say).
        """
        loader = data.make_loader(run.test_set, EVAL_BATCH, train=False)  # one pass, in order
        progress.phase("evaluate")
        rows, preds, units, gt, counts = [], {}, [], None, {}
        names = run.test_set.images.names
        tile_units = [str(names[i]) for i, _, _ in run.test_set.tiles]
        fold = run.fold
        head = {"data": run.test_set.data_path, "seed": run.seed, "fold": run.held_out,
                "folds": fold[1] if fold else None}
        for label, trained in models.items():
            for dec in decodings or trained.method.decodings:
                scored = evaluate.score_method(trained, loader, decode=dec, options=options, prior=prior, bins=bins,
                                               device=run.device, labels={"variant": label, **head, **(labels or {}),
                                                                          **(per_model or {}).get(label, {})})
                gt, preds[(label, dec)] = scored.gt, scored.pred
                counts |= {"truth": scored.gt_counts, (label, dec): scored.pred_counts}
                rows.append(scored.row)
                columns = {k: v for k, v in scored.row.items() if not evidence._is_metric(k) and k != "n_images"}
                units += evidence.unit_rows(scored.per_image, tile_units, **columns)
        if gt is None:
            raise ValueError("nothing to evaluate: no models given")
        if references:  # batch by batch, as the models: memory stays flat with the test set's size
            refs = evaluate.stream_references(loader, run.seed, run.device, prior=prior, bins=bins)
            for variant, per_image in refs.items():
                columns = {"method": "reference", "variant": variant, **head}
                rows.append({**columns, **metrics.summarize(per_image)})
                units += evidence.unit_rows(per_image, tile_units, **columns)
        table, unit_table = pd.DataFrame(rows), pd.DataFrame(units)
        self._units.append(unit_table)
        return Evaluation(table, gt, preds, unit_table, counts)

    @property
    def units(self) -> pd.DataFrame:
        """Every evaluation of every run so far, one row per model row, seed and photo."""
        return pd.concat(self._units, ignore_index=True) if self._units else pd.DataFrame()

    def table(self) -> pd.DataFrame:
        """One row per model row over every run: means over seeds and photos, 95 % intervals (``<metric>_lo``,
        ``<metric>_hi``), the seeds and the number of held-out photos (:func:`colorlab.evidence.summary`)."""
        return evidence.summary(self.units)

    def judge(self, paper: str | None = None) -> pd.DataFrame:
        """The verdicts, printed, of the claims of ``paper`` (default: this notebook's) that this notebook tests."""
        chosen = papers.get(paper) if paper is not None else papers.for_notebook(self.notebook)
        number = self.notebook.split("_")[0]
        claims = [c for c in (chosen.claims if chosen is not None else ()) if c.notebook == number]
        verdicts = judge(self.units.assign(notebook=self.notebook), claims, self.profile)
        for v in verdicts.itertuples():
            print(f"{v.verdict.upper()}: {v.claim}\n    {v.evidence}\n    ({v.measured_on})")
        return verdicts

    def save(self, figures: Mapping[str, Any] | None = None, **info: Any) -> Path:
        """Write the summary rows (:meth:`table`) and the per-photo rows of every run, the parameters as the config, the
        figures and the environment record to ``results/<profile>/<notebook>/``, with what ran: data, folds, models."""
        progress.phase("save")
        last = self.last_run
        record = {"train": last.train_set.describe() if last is not None else None,
                  "test": last.test_set.describe() if last is not None else None,
                  "seeds": self.seeds, "folds": self.folds if last is not None and last.fold else None,
                  "data_problems": last.train_set.images.problems.as_dict() if last is not None else None,
                  "models": self.models, **info}
        out = results.save(self.notebook, self.table(), self.params, figures, profile=self.profile, info=record,
                           device=str(self.device), root=self.root, units=self.units)
        progress.say(f"saved to {self._relative(out)}/ under the results folder")
        return out
