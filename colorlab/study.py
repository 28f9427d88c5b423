"""What every notebook does, in the order a paper's method section reads: parameters, data,
train the variants, evaluate, figures, save.

A notebook calls :func:`start` right after its ``parameters`` cell; the parameters become the
run's config as they are (nothing retyped), and the :class:`Study` it returns knows the
profile, device, data and where results and checkpoints go::

    s = study.start("01_yuv_regression", globals())
    train_set, test_set = s.datasets("yuv")
    models = s.train("yuv_regression", ["l1", "l2"], base=base, lr=lr)
    ev = s.evaluate(models)
    s.save(ev.table, {"colorizations": viz.colorization_rows(ev.gt, ...)})

**Checkpoints are keyed by the settings that made them**:
``results/<profile>/checkpoints/<method>/<variant>-<steps>steps-<digest>.pt``, the digest
covering the method's arguments, the seed, the batch size and the training data. A run with
other settings trains into another file and never overwrites a finished one; the same settings
find the finished file and reuse it (or resume an interrupted one). **A notebook that builds on
another's model** (:meth:`Study.reuse`) loads the checkpoint that notebook recorded, read-only:
it never trains over it.

Example:
    >>> import tempfile
    >>> params = dict(profile="smoke", data_spec="samples", device="cpu", seed=0, steps=2, batch_size=2, crop=16,
    ...               image_size=48, max_tiles=1)
    >>> s = start("00_example", params, root=tempfile.mkdtemp())
    >>> s.params["steps"], s.device
    (2, 'cpu')
    >>> train_set, test_set = s.datasets("yuv")  # doctest: +ELLIPSIS
    samples (embedded) | split: region | 8 training images, 8 test crops | device cpu
    >>> models = s.train("yuv_regression", ["l1"], base=4, progress_bar=False)  # doctest: +ELLIPSIS
    l1: 2 steps in ... s, final loss ...
    >>> ev = s.evaluate(models)
    >>> ev.table[["method", "variant", "decode"]].values.tolist()[:2]
    [['yuv_regression', 'l1', 'direct'], ['reference', 'ground_truth', nan]]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from . import checkpoint, data, evaluate, methods, progress, results
from .claims import judge
from .device import pick_device, seed_everything
from .files import plain
from .methods import Method, Trained
from .train import TrainConfig, fit

__all__ = ["parameters", "start", "Study", "Evaluation"]

#: Names in a notebook's namespace that IPython puts there, never parameters.
_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open", "display"})
#: Characters of the settings digest in a checkpoint's name.
_DIGEST = 10
#: Test batches of the evaluation loader.
EVAL_BATCH = 32


def _is_literal(v: Any) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_literal(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_literal(x) for k, x in v.items())
    return False


def parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters in a notebook's namespace right after its ``parameters`` cell: every public
    name bound to a literal (numbers, strings, ``None``, lists and dicts of them). Modules,
    functions and IPython's own names are left out.

    Example:
        >>> parameters({"steps": 3, "lr": 1e-3, "In": ["x"], "_": 1, "pd": pd})
        {'steps': 3, 'lr': 0.001}
    """
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and k not in _IPYTHON_NAMES and _is_literal(v)}


def _positive_int(params: Mapping[str, Any], name: str, optional: bool = False) -> None:
    v = params.get(name)
    if v is None and (optional or name not in params):
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"parameter {name} must be a positive integer{' or None' if optional else ''}; got {v!r}")


def _check(params: Mapping[str, Any]) -> None:
    """The shared parameters' types and ranges, before any work starts."""
    profile = params.get("profile")
    if not isinstance(profile, str) or not profile or any(c in profile for c in "/\\") or profile.startswith("."):
        raise ValueError(f"parameter profile must be a plain folder name; got {profile!r}")
    for name in ("steps", "batch_size", "crop"):
        _positive_int(params, name)
    for name in ("image_size", "max_tiles"):
        _positive_int(params, name, optional=True)
    if "seed" in params and (isinstance(params["seed"], bool) or not isinstance(params["seed"], int)):
        raise ValueError(f"parameter seed must be an integer; got {params['seed']!r}")
    if "data_spec" in params and not isinstance(params["data_spec"], str):
        raise ValueError(f"parameter data_spec must be a string; got {params['data_spec']!r}")


def start(notebook: str, namespace: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> Study:
    """A :class:`Study` for ``notebook`` (its results folder name, e.g. ``"01_yuv_regression"``)
    with the parameters found in ``namespace`` (pass ``globals()``); checks them first."""
    return Study(notebook, parameters(namespace), root=root)


@dataclass
class Evaluation:
    """The rows of an evaluation, the ground truth ``(N, 3, H, W)`` and each prediction by
    ``(label, decode)``."""

    table: pd.DataFrame
    gt: Tensor
    predictions: dict[tuple[str, str], Tensor]


class Study:
    """One notebook's run: its parameters, data, trained and reused models and results."""

    def __init__(self, notebook: str, params: Mapping[str, Any], *, root: str | os.PathLike | None = None) -> None:
        _check(params)
        self.notebook, self.params, self.root = notebook, dict(params), root
        results.run_dir(notebook, params["profile"], root)  # checks the names
        self.profile: str = params["profile"]
        self.seed: int = params.get("seed", 0)
        self.device = str(pick_device(params.get("device", "auto")))
        self.train_set: data.ColorDataset | None = None
        self.test_set: data.ColorDataset | None = None
        self.models: dict[str, dict[str, Any]] = {}

    def _say(self, text: str) -> None:
        """Print ``text`` in the notebook and show it on the terminal of ``colorlab run``."""
        print(text)
        progress.note(text)

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

    def datasets(self, space: str) -> tuple[data.ColorDataset, data.ColorDataset]:
        """The training and test splits of ``data_spec`` at ``crop``/``image_size``, items in
        ``space`` (``"lab"`` or ``"yuv"``); the test split keeps at most ``max_tiles`` tiles per image."""
        spec, crop, image_size = self._need("data_spec", "crop", "image_size")
        max_tiles = self.params.get("max_tiles")
        progress.phase("data")
        self.train_set = data.load_dataset(spec, "train", crop=crop, image_size=image_size, space=space, seed=self.seed)
        self.test_set = data.load_dataset(spec, "test", crop=crop, image_size=image_size, space=space, max_tiles=max_tiles)
        d = self.train_set.describe()
        self._say(f"{d['data_path']} | split: {d['split_rule']} | {len(self.train_set)} training images, "
                  f"{len(self.test_set)} test crops | device {self.device}")
        if self.train_set.images.problems:
            self._say(f"data: {self.train_set.images.problems.summary()}")
        return self.train_set, self.test_set

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
        return {**{k: d[k] for k in ("spec", "data_path", "split_rule", "region", "n_images", "crop", "image_size",
                                     "space")}, "names": hashlib.sha1(listed).hexdigest()}

    def checkpoint_path(self, method: Method, steps: int, batch_size: int) -> Path:
        """Where ``method`` trained with these settings on this study's data is kept."""
        key = {"method": method.name, "variant": method.variant, "args": method.args, "steps": steps,
               "seed": self.seed, "batch_size": batch_size, "data": self._data_key()}
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
        if self.train_set.crop % cls.input_multiple:
            raise ValueError(f"{method} needs a crop that is a multiple of {cls.input_multiple}; got crop={self.train_set.crop}")
        with torch.random.fork_rng(devices=[]):  # every variant's arguments checked before any trains
            for variant in variants:
                cls(variant, **args)
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
            self.models[f"{m.name}/{variant}"] = {"method": m.name, "variant": m.variant, "args": m.args,
                                    "checkpoint": self._relative(path), "resumed_from": hist.attrs["resumed_from"],
                                    "steps": hist.attrs["steps"], **prepared}
            how = (f"resumed at step {hist.attrs['resumed_from']}, " if hist.attrs["resumed_from"] else "")
            self._say(f"{variant}: {how}{hist.attrs['steps']} steps in {hist.attrs['train_seconds']:.1f} s, "
                      f"final loss {hist['loss'].iloc[-1]:.4f}" if len(hist) else f"{variant}: no steps")
        return out

    def reuse(self, notebook: str, model: str) -> Trained:
        """The model that ``notebook`` trained and recorded in this profile, ``model`` being its
        variant (``"l1"``) or ``"method/variant"``, loaded read-only from its checkpoint (never
        trained further). Its training data must be this study's (same data, crop and image size):
        call :meth:`datasets` first."""
        if self.test_set is None:
            raise RuntimeError(f"{self.notebook}: call datasets() first; a reused model's training data is checked against it")
        hint = f"run it first (colorlab run --profile {self.profile} --only {notebook[:2]} {self.notebook[:2]})"
        try:
            rec = results.load(notebook, self.profile, self.root)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.notebook} uses notebook {notebook}'s {model!r} model, but {notebook} has "
                                    f"no results in profile {self.profile!r}: {hint}") from e
        recorded = rec.get("info", {}).get("models", {})
        keys = [k for k in recorded if k == model or k.split("/")[-1] == model]
        if len(keys) != 1:
            why = "several" if keys else "no"
            raise KeyError(f"{notebook} recorded {why} {model!r} model(s); it has: {', '.join(recorded) or 'none'}")
        path = results.results_root(self.root) / recorded[keys[0]]["checkpoint"]
        if not path.is_file():
            raise FileNotFoundError(f"{notebook}'s {model!r} checkpoint {self._relative(path)} is missing (checkpoints "
                                    f"are not in git): {hint}")
        state = checkpoint.read(path)
        had, wants = state.get("data", {}), self.test_set.describe()
        diff = [k for k in ("data_path", "crop", "image_size") if had.get(k) != wants[k]]
        if diff:
            raise ValueError(f"{notebook}'s {model!r} model was trained on " + ", ".join(f"{k}={had.get(k)!r}" for k in diff)
                             + "; this run has " + ", ".join(f"{k}={wants[k]!r}" for k in diff)
                             + f": run {notebook} with the same data first")
        trained = Trained(checkpoint.rebuild(state, path), checkpoint.history(state), path)
        self.models[keys[0]] = {"method": state["method"], "variant": state["variant"], "args": state["args"],
                                "checkpoint": self._relative(path), "from_notebook": notebook, "steps": state["step"]}
        self._say(f"{model}: notebook {notebook}'s model, {state['step']} steps, loaded read-only from "
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
    ) -> Evaluation:
        """Score every model on the test split, by each of ``decodings`` (default: all of the
        model's), rows labelled ``variant`` = the dict key; then Zhang et al.'s reference rows
        (ground truth, gray, random colours) unless ``references`` is false. ``prior`` and
        ``bins`` add the rebalanced AuC."""
        loader = self.test_loader()
        progress.phase("evaluate")
        rows, preds, gt = [], {}, None
        labels = {"data": self.test_set.data_path, "seed": self.seed}
        for label, trained in models.items():
            for dec in decodings or trained.method.decodings:
                row, gt, preds[(label, dec)] = evaluate.score_method(
                    trained, loader, decode=dec, prior=prior, bins=bins, device=self.device,
                    labels={"variant": label, **labels})
                rows.append(row)
        if gt is None:
            raise ValueError("nothing to evaluate: no models given")
        if references:
            rows += evaluate.reference_rows(gt, prior=prior, bins=bins, device=self.device, **labels)
        return Evaluation(pd.DataFrame(rows), gt, preds)

    def judge(self, table: pd.DataFrame, *method_names: str) -> pd.DataFrame:
        """The verdicts of these methods' claims on this notebook's rows, printed and returned."""
        claims = [c for name in method_names for c in methods.get(name).__dict__.get("claims", ())]
        verdicts = judge(table.assign(notebook=self.notebook), claims, self.profile)
        for v in verdicts.itertuples():
            print(f"{v.verdict.upper()}: {v.claim}\n    {v.evidence}")
        return verdicts

    # ----------------------------------------------------------------------------- save

    def save(self, table: pd.DataFrame, figures: Mapping[str, Any] | None = None, **info: Any) -> Path:
        """Write the rows, the parameters as the config, the figures and the environment record to
        ``results/<profile>/<notebook>/``, with what ran: data, models and their checkpoints."""
        progress.phase("save")
        record = {"train": self.train_set.describe() if self.train_set is not None else None,
                  "test": self.test_set.describe() if self.test_set is not None else None,
                  "data_problems": self.train_set.images.problems.as_dict() if self.train_set is not None else None,
                  "models": self.models, **info}
        out = results.save(self.notebook, table, self.params, figures, profile=self.profile, info=record,
                           device=self.device, root=self.root)
        self._say(f"saved to {self._relative(out)}/ under the results folder")
        return out
