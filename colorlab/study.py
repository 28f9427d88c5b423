"""What every notebook does, in the order a paper's method section reads: parameters, data,
train the variants, evaluate, figures, save.

A notebook calls :func:`start` right after its ``parameters`` cell; the parameters become the
run's config as they are (nothing retyped), and the :class:`Study` it returns knows the
profile, device, data and where results and checkpoints go. **Every model is trained once per
seed** of the ``seeds`` parameter (a *run*); on ``samples`` each run also holds out its own fold
of whole photos (cross-fitting: with ``k = max(2, len(seeds))`` folds, run ``i`` tests on fold
``i``, so with ``k`` seeds every photo is scored once by a model that never saw it); on the other
sources the test set is fixed and the seeds vary::

    s = study.start("01_yuv_regression", globals())
    for seed in s.runs("yuv"):
        models = s.train("yuv_regression", ["l1", "l2"], base=base, lr=lr)
        ev = s.evaluate(models)
    s.table()            # one row per model: means with 95 % intervals over seeds and photos
    s.judge("yuv_regression")
    s.save({"colorizations": viz.colorization_rows(ev.gt, ...)})

Each evaluation is kept per photo (:attr:`Study.units`, see :mod:`colorlab.evidence`); the
claims' rules decide on intervals computed from those rows.

**Checkpoints are keyed by the settings that made them**:
``results/<profile>/checkpoints/<method>/<variant>-<steps>steps-<digest>.pt``, the digest
covering the method's arguments, the seed, the batch size and the training data (its fold
included). A run with other settings trains into another file and never overwrites a finished
one; the same settings find the finished file and reuse it (or resume an interrupted one). **A
notebook that builds on another's model** (:meth:`Study.reuse`) loads the checkpoint that
notebook recorded for the same seed, read-only: it never trains over it.

Example:
    >>> import tempfile
    >>> params = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0, 1], steps=2, batch_size=2,
    ...               crop=16, image_size=48, max_tiles=1)
    >>> s = start("00_example", params, root=tempfile.mkdtemp())
    >>> for seed in s.runs("yuv"):  # doctest: +ELLIPSIS
    ...     models = s.train("yuv_regression", ["l1"], base=4, progress_bar=False)
    ...     ev = s.evaluate(models)
    run 1 of 2 (seed 0): samples (embedded) | split: folds | ... training images, ... test crops of 4 held-out photos | device cpu
    l1: 2 steps in ... s, final loss ...
    run 2 of 2 (seed 1): ...
    l1: 2 steps in ... s, final loss ...
    >>> s.table()[["method", "variant", "n_seeds", "n_photos"]].values.tolist()[:2]
    [['yuv_regression', 'l1', 2, 8], ['reference', 'ground_truth', 2, 8]]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from . import checkpoint, data, evaluate, evidence, methods, metrics, progress, results
from .backbones import skip_weights
from .checks import check_params
from .claims import judge
from .device import pick_device, seed_everything
from .evaluate import Evaluation
from .files import plain
from .methods import Method, Trained
from .profiles import parameters
from .train import TrainConfig, fit

__all__ = ["parameters", "start", "Study", "Evaluation"]

#: Characters of the settings digest in a checkpoint's name.
_DIGEST = 10
#: Test batches of the evaluation loader.
EVAL_BATCH = 32


def start(notebook: str, namespace: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> Study:
    """A :class:`Study` for ``notebook`` (its results folder name, e.g. ``"01_yuv_regression"``)
    with the parameters found in ``namespace`` (pass ``globals()``); checks them first."""
    return Study(notebook, parameters(namespace), root=root)


class Study:
    """One notebook's run: its parameters, data, trained and reused models and results."""

    def __init__(self, notebook: str, params: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> None:
        check_params(params)
        self.notebook, self.params, self.root = notebook, dict(params), root
        results.run_dir(notebook, params["profile"], root)  # checks the names
        self.profile: str = params["profile"]
        self.seeds: list[int] = list(params["seeds"]) if "seeds" in params else [params.get("seed", 0)]
        self.seed: int = self.seeds[0]
        self.run: int = 0
        self.device = str(pick_device(params.get("device", "auto")))
        self.train_set: data.ColorDataset | None = None
        self.test_set: data.ColorDataset | None = None
        self.models: dict[str, dict[str, Any]] = {}
        self._rows: list[pd.DataFrame] = []
        self._units: list[pd.DataFrame] = []
        self._runs: list[dict[str, Any]] = []

    # --------------------------------------------------------------------------- places

    @property
    def profile_dir(self) -> Path:
        return results.profile_dir(self.profile, self.root)

    @property
    def cache_dir(self) -> Path:
        """``results/<profile>/cache``: priors and other data-derived state."""
        return self.profile_dir / "cache"

    def _relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, results.results_root(self.root))).as_posix()

    # ----------------------------------------------------------------------------- data

    def _need(self, *names: str) -> list[Any]:
        missing = [n for n in names if n not in self.params]
        if missing:
            raise KeyError(f"{self.notebook}: the parameters cell lacks {', '.join(missing)}")
        return [self.params[n] for n in names]

    @property
    def folds(self) -> int:
        """How many folds of whole photos the runs hold out on a spec with folds: ``max(2, len(seeds))``."""
        return max(2, len(self.seeds))

    def runs(self, space: str, *, context: int | None = None, folds: bool = True) -> Iterator[int]:
        """One run per seed: sets :attr:`seed`, loads that run's splits (:meth:`datasets`; on a
        spec with folds, run ``i`` holds out fold ``i`` unless ``folds`` is false) and yields the
        seed. Train and evaluate inside the loop; :meth:`table`, :meth:`judge` and :meth:`save`
        use every run."""
        for i, seed in enumerate(self.seeds):
            self.run, self.seed = i, seed
            self.datasets(space, context=context, folds=folds)
            yield seed

    def datasets(self, space: str, *, context: int | None = None,
                 folds: bool = True) -> tuple[data.ColorDataset, data.ColorDataset]:
        """The current run's training and test splits of ``data_spec`` at ``crop``/``image_size``,
        items in ``space`` with each whole photo at ``context²`` if asked (:class:`colorlab.data.ColorDataset`),
        at most ``max_tiles`` test tiles per photo. On a spec with folds (:data:`colorlab.data.sources.FOLDED`)
        the run's fold of whole photos is held out, unless ``folds`` is false (``samples``: then by region)."""
        spec, crop, image_size = self._need("data_spec", "crop", "image_size")
        fold = (self.run, self.folds) if folds and spec.strip().lower() in data.sources.FOLDED else None
        progress.phase("data")
        kw = dict(crop=crop, image_size=image_size, space=space, fold=fold, context=context)
        self.train_set = data.load_dataset(spec, "train", seed=self.seed, **kw)
        self.test_set = data.load_dataset(spec, "test", max_tiles=self.params.get("max_tiles"), **kw)
        self._describe_run()
        return self.train_set, self.test_set

    def restrict(self, subset: str) -> str | None:
        """Keep only the images of ``subset`` (:mod:`colorlab.data.subsets`) in the current run's
        splits, each still held out by the spec's rule; returns what the subset is, or ``None``
        (said) when the source has none or a split would be empty. An unknown name raises ``ValueError``."""
        if self.train_set is None or self.test_set is None:
            raise RuntimeError(f"{self.notebook}: call datasets() first")
        spec = self.params["data_spec"]
        chosen = data.resolve_subset(subset, spec)
        if chosen is None:
            progress.say(f"subset {subset!r}: {spec} has no narrow subset; the comparison is not run")
            return None
        if typos := chosen.unknown(self.train_set.images.names, self.test_set.images.names):
            raise ValueError(f"subset {subset!r} names images that {spec} does not have: {', '.join(typos)}")
        tr, te = (data.restrict(d.images, chosen) for d in (self.train_set, self.test_set))
        if not len(tr) or not len(te):
            progress.say(f"subset: {chosen.description} has no {'training' if not len(tr) else 'test'} image in this "
                      f"run's split; the comparison is not run in it")
            return None
        self.train_set, self.test_set = self.train_set.over(tr), self.test_set.over(te)
        self._describe_run()
        return chosen.description

    def _describe_run(self) -> None:
        fold = self.test_set.images.fold
        d = self.train_set.describe()
        run = f"run {self.run + 1} of {len(self.seeds)} (seed {self.seed}): " if len(self.seeds) > 1 else ""
        photos = f" of {len(self.test_set.images)} held-out photos" if fold else ""
        progress.say(f"{run}{d['data_path']} | split: {d['split_rule']} | {len(self.train_set)} training images, "
                  f"{len(self.test_set)} test crops{photos} | device {self.device}")
        if self.train_set.images.problems:
            progress.say(f"data: {self.train_set.images.problems.summary()}")

    def test_loader(self) -> Any:
        """One sequential pass over the test split."""
        if self.test_set is None:
            raise RuntimeError(f"{self.notebook}: call datasets() first")
        return data.make_loader(self.test_set, EVAL_BATCH, train=False)

    # ------------------------------------------------------------------------- training

    def _data_key(self) -> dict[str, Any]:
        d = self.train_set.describe()
        names = self.train_set.images.names
        listed = json.dumps(list(names) if isinstance(names, list) else len(names)).encode()
        key = {**{k: d[k] for k in ("spec", "data_path", "split_rule", "region", "fold", "n_images", "crop",
                                    "image_size", "space")}, "names": hashlib.sha1(listed).hexdigest()}
        if d.get("context") is not None:  # items with the whole image: other data (keys without it unchanged)
            key["context"] = d["context"]
        return key

    def checkpoint_path(self, method: Method, steps: int, batch_size: int) -> Path:
        """Where ``method`` trained with these settings on this study's data is kept."""
        key = {"method": method.name, "variant": method.variant, "args": method.key_args(), "steps": steps,
               "seed": self.seed, "batch_size": batch_size, "data": self._data_key()}
        if provenance := method.provenance():  # pretrained weights: a model started from others is another model
            key["provenance"] = provenance
        digest = hashlib.sha1(json.dumps(plain(key), sort_keys=True).encode()).hexdigest()[:_DIGEST]
        return self.profile_dir / "checkpoints" / method.name / f"{method.variant}-{steps}steps-{digest}.pt"

    def train(self, method: str, variants: Sequence[str], *, progress_bar: bool = True, **args: Any) -> dict[str, Trained]:
        """Train each variant of ``method`` with ``args`` for ``steps`` steps of ``batch_size``
        training crops, the same seed for all; a finished checkpoint of the same settings is
        reused and an interrupted one resumed."""
        steps, batch_size = self._need("steps", "batch_size")
        if self.train_set is None:
            raise RuntimeError(f"{self.notebook}: call datasets() first")
        cls = methods.get(method)
        if self.train_set.space != cls.space:
            raise ValueError(f"{method} trains on {cls.space} items; datasets() was called with {self.train_set.space!r}")
        with torch.random.fork_rng(devices=[]), skip_weights():  # every variant's arguments checked before any trains
            for variant in variants:
                if self.train_set.crop % (multiple := cls(variant, **args).input_multiple):
                    raise ValueError(f"{method} needs a crop that is a multiple of {multiple}; got crop={self.train_set.crop}")
        out = {}
        for variant in variants:
            progress.phase(f"train {method}/{variant}")
            seed_everything(self.seed)
            m = cls(variant, **args)
            prepared = m.prepare(self.train_set, cache_dir=self.cache_dir)
            path = self.checkpoint_path(m, steps, batch_size)
            cfg = TrainConfig(steps=steps, seed=self.seed, device=self.device, progress=progress_bar,
                              checkpoint=str(path), checkpoint_every=max(1, min(100, steps)),
                              extra={"batch_size": batch_size, "data": self.train_set.describe()})
            train_set = self.train_set
            hist = fit(m, lambda start, ts=train_set: data.make_loader(ts, batch_size, train=True, seed=self.seed,
                                                                      start_step=start), cfg)
            out[variant] = Trained(m, hist, path)
            key = f"{m.name}/{variant}/seed{self.seed}"
            if key in self.models and self.models[key]["checkpoint"] != self._relative(path):
                key += f"/{path.stem.rsplit('-', 1)[-1]}"  # the same variant and seed on other data (a subset, say)
            self.models[key] = {
                                    "method": m.name, "variant": m.variant, "args": m.args, "seed": self.seed,
                                    "checkpoint": self._relative(path), "resumed_from": hist.attrs["resumed_from"],
                                    "steps": hist.attrs["steps"], **prepared, **m.provenance()}
            how = (f"resumed at step {hist.attrs['resumed_from']}, " if hist.attrs["resumed_from"] else "")
            progress.say(f"{variant}: {how}{hist.attrs['steps']} steps in {hist.attrs['train_seconds']:.1f} s, "
                      f"final loss {hist['loss'].iloc[-1]:.4f}" if len(hist) else f"{variant}: no steps")
        return out

    def reuse(self, notebook: str, model: str) -> Trained:
        """The model that ``notebook`` trained and recorded in this profile for the current seed,
        ``model`` being its variant (``"l1"``) or ``"method/variant"``, loaded read-only from its
        checkpoint (never trained further). Its training data must be this run's (same data, fold,
        crop and image size): call it inside :meth:`runs`."""
        if self.test_set is None:
            raise RuntimeError(f"{self.notebook}: call datasets() first; a reused model's training data is checked against it")
        hint = f"run it first (colorlab run --profile {self.profile} --only {notebook[:2]} {self.notebook[:2]})"
        try:
            rec = results.load(notebook, self.profile, self.root)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.notebook} uses notebook {notebook}'s {model!r} model, but {notebook} has "
                                    f"no results in profile {self.profile!r}: {hint}") from e
        recorded = rec.get("info", {}).get("models", {})
        keys = [k for k, r in recorded.items()
                if model in (r.get("variant"), f"{r.get('method')}/{r.get('variant')}") and r.get("seed", 0) == self.seed]
        if len(keys) != 1:
            why = "several" if keys else "no"
            raise KeyError(f"{notebook} recorded {why} {model!r} model(s) for seed {self.seed}; it has: "
                           f"{', '.join(recorded) or 'none'}" + ("" if keys else f": {hint}"))
        path = results.results_root(self.root) / recorded[keys[0]]["checkpoint"]
        if not path.is_file():
            raise FileNotFoundError(f"{notebook}'s {model!r} checkpoint {self._relative(path)} is missing (checkpoints "
                                    f"are not in git): {hint}")
        state = checkpoint.read(path)
        had, wants = state.get("data", {}), self.test_set.describe()
        diff = [k for k in ("data_path", "split_rule", "fold", "crop", "image_size") if had.get(k) != wants.get(k)]
        if diff:
            raise ValueError(f"{notebook}'s {model!r} model was trained on " + ", ".join(f"{k}={had.get(k)!r}" for k in diff)
                             + "; this run has " + ", ".join(f"{k}={wants[k]!r}" for k in diff)
                             + f": run {notebook} with the same data first")
        trained = Trained(checkpoint.rebuild(state, path), checkpoint.history(state), path)
        self.models[keys[0]] = {"method": state["method"], "variant": state["variant"], "args": state["args"],
                                "seed": self.seed, "checkpoint": self._relative(path), "from_notebook": notebook,
                                "steps": state["step"]}
        progress.say(f"{model}: notebook {notebook}'s model, {state['step']} steps, loaded read-only from "
                  f"{self._relative(path)}")
        return trained

    # ----------------------------------------------------------------------- evaluation

    def evaluate(
        self,
        models: Mapping[str, Trained],
        *,
        decodings: Sequence[str] | None = None,
        prior: Tensor | None = None,
        bins: Tensor | None = None,
        references: bool = True,
        options: Mapping[str, Any] | None = None,
        labels: Mapping[str, Any] | None = None,
        per_model: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Evaluation:
        """Score every model on the current run's test split, by each of ``decodings`` (default:
        all of the model's) with decoding ``options``, rows labelled ``variant`` = the dict key and
        ``labels`` (which may rename ``method`` or ``decode``) and ``per_model[key]`` (columns of one
        model's rows: a cost measured per head, say); then Zhang et al.'s reference rows
        (ground truth, gray, random colours) unless ``references`` is false. ``prior`` and
        ``bins`` add the rebalanced AuC. The rows are kept per photo for :meth:`table` and
        :meth:`judge`."""
        loader = self.test_loader()
        progress.phase("evaluate")
        rows, preds, units, gt, counts = [], {}, [], None, {}
        names = self.test_set.images.names
        tile_units = [str(names[i]) for i, _, _ in self.test_set.tiles]
        fold = self.test_set.images.fold
        run = {"data": self.test_set.data_path, "seed": self.seed, "fold": fold[0] if fold else None,
               "folds": fold[1] if fold else None}
        for label, trained in models.items():
            for dec in decodings or trained.method.decodings:
                scored = evaluate.score_method(trained, loader, decode=dec, options=options, prior=prior, bins=bins,
                                               device=self.device, labels={"variant": label, **run, **(labels or {}),
                                                                           **(per_model or {}).get(label, {})})
                gt, preds[(label, dec)] = scored.gt, scored.pred
                counts |= {"truth": scored.gt_counts, (label, dec): scored.pred_counts}
                rows.append(scored.row)
                head = {k: v for k, v in scored.row.items() if not evidence._is_metric(k) and k != "n_images"}
                units += evidence.unit_rows(scored.per_image, tile_units, **head)
        if gt is None:
            raise ValueError("nothing to evaluate: no models given")
        if references:  # batch by batch, as the models: memory stays flat with the test set's size
            refs = evaluate.stream_references(loader, self.seed, self.device, prior=prior, bins=bins)
            for variant, per_image in refs.items():
                head = {"method": "reference", "variant": variant, **run}
                rows.append({**head, **metrics.summarize(per_image)})
                units += evidence.unit_rows(per_image, tile_units, **head)
        table, unit_table = pd.DataFrame(rows), pd.DataFrame(units)
        self._rows.append(table)
        self._units.append(unit_table)
        return Evaluation(table, gt, preds, unit_table, counts)

    @property
    def units(self) -> pd.DataFrame:
        """Every evaluation of every run so far, one row per model row, seed and photo."""
        return pd.concat(self._units, ignore_index=True) if self._units else pd.DataFrame()

    def table(self) -> pd.DataFrame:
        """One row per model row over every run: means over seeds and photos, 95 % intervals
        (``<metric>_lo``, ``<metric>_hi``), the seeds and the number of held-out photos
        (:func:`colorlab.evidence.summary`)."""
        return evidence.summary(self.units)

    def judge(self, *method_names: str) -> pd.DataFrame:
        """The verdicts of these methods' claims that this notebook tests, on its rows of every
        run so far, printed and returned."""
        number = self.notebook.split("_")[0]
        claims = [c for name in method_names for c in methods.get(name).__dict__.get("claims", ())
                  if c.notebook == number]
        verdicts = judge(self.units.assign(notebook=self.notebook), claims, self.profile)
        for v in verdicts.itertuples():
            print(f"{v.verdict.upper()}: {v.claim}\n    {v.evidence}\n    ({v.measured_on})")
        return verdicts

    # ----------------------------------------------------------------------------- save

    def save(self, figures: Mapping[str, Any] | None = None, **info: Any) -> Path:
        """Write the summary rows (:meth:`table`) and the per-photo rows of every run, the
        parameters as the config, the figures and the environment record to
        ``results/<profile>/<notebook>/``, with what ran: data, folds, models and their checkpoints."""
        progress.phase("save")
        record = {"train": self.train_set.describe() if self.train_set is not None else None,
                  "test": self.test_set.describe() if self.test_set is not None else None,
                  "seeds": self.seeds, "folds": self.folds if self.test_set is not None
                  and self.test_set.images.fold else None,
                  "data_problems": self.train_set.images.problems.as_dict() if self.train_set is not None else None,
                  "models": self.models, **info}
        out = results.save(self.notebook, self.table(), self.params, figures, profile=self.profile, info=record,
                           device=self.device, root=self.root, units=self.units)
        progress.say(f"saved to {self._relative(out)}/ under the results folder")
        return out
