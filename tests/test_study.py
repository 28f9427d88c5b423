"""colorlab.study: parameters captured as the config, checkpoints keyed by their settings,
another notebook's model reused read-only, and what a run records."""

import hashlib
import json
import math

import pandas as pd
import pytest
import torch

from colorlab import study

BASE = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0], steps=2, batch_size=2, crop=16,
            image_size=48, max_tiles=1)


def _study(tmp_path, name="01_a", **changes):
    return study.start(name, {**BASE, **changes}, root=tmp_path)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _train(s, **args):
    """The first run's model; the run is ``s.last_run``."""
    run = s.datasets("yuv")
    return s.train(run, "yuv_regression", ["l1"], progress_bar=False, **{"base": 4, **args})["l1"]


def test_parameters_are_the_literals_of_the_namespace():
    ns = {"steps": 3, "image_size": None, "boost_factors": [1.0, 2.0], "opts": {"a": 1}, "name": "x",
          "In": ["cell"], "Out": {}, "_": 5, "_i1": "x", "math": math, "pd": pd, "fn": len, "t": torch.zeros(1)}
    assert study.parameters(ns) == {"steps": 3, "image_size": None, "boost_factors": [1.0, 2.0],
                                    "opts": {"a": 1}, "name": "x"}


@pytest.mark.parametrize("bad, match", [
    ({"profile": "../escaped"}, "profile"), ({"profile": ""}, "profile"), ({"steps": "abc"}, "steps"),
    ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"), ({"batch_size": True}, "batch_size"), ({"crop": -8}, "crop"),
    ({"image_size": 0}, "image_size"), ({"max_tiles": "all"}, "max_tiles"), ({"seed": "0"}, "seed"),
    ({"data_spec": 3}, "data_spec"),
])
def test_bad_parameters_are_refused_before_any_work(tmp_path, bad, match):
    with pytest.raises(ValueError, match=f"parameter {match}"):
        _study(tmp_path, **bad)
    assert not any(tmp_path.iterdir())


def test_a_run_of_the_wrong_space_is_clear(tmp_path):
    s = _study(tmp_path)
    run = s.datasets("lab")
    with pytest.raises(ValueError, match="yuv items; this run's are 'lab'"):
        s.train(run, "yuv_regression", ["l1"])
    assert s.in_space(run, "yuv").space == "yuv" and s.in_space(run, "yuv").seed == run.seed


def test_checkpoints_are_keyed_by_their_settings(tmp_path, capsys, monkeypatch):
    first = _train(_study(tmp_path))
    assert first.checkpoint.parent == tmp_path / "smoke" / "checkpoints" / "yuv_regression"
    assert first.checkpoint.name.startswith("l1-2steps-") and first.history.attrs["resumed_from"] is None
    kept = _digest(first.checkpoint)
    again = _train(_study(tmp_path))  # the same settings: the finished checkpoint is reused, not retrained
    assert again.checkpoint == first.checkpoint and again.history.attrs["resumed_from"] == 2
    others = [_train(_study(tmp_path, steps=3)), _train(_study(tmp_path), base=8), _train(_study(tmp_path, seeds=[1])),
              _train(_study(tmp_path, batch_size=4)), _train(_study(tmp_path, image_size=64))]
    paths = {first.checkpoint, *(t.checkpoint for t in others)}
    assert len(paths) == 6 and all(t.history.attrs["resumed_from"] is None for t in others)
    assert _digest(first.checkpoint) == kept  # never overwritten by a run with other settings
    s = _study(tmp_path)
    run = s.datasets("yuv")
    names = run.train_set.images.names
    names[0] = "another_photo"  # the same number of images, one of them another: other data
    renamed = s.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False)["l1"]
    assert renamed.checkpoint != first.checkpoint


def test_reuse_loads_read_only_and_checks_the_data(tmp_path, capsys):
    a = _study(tmp_path, "01_a")
    trained = _train(a)
    a.evaluate(a.last_run, {"l1": trained})
    a.save()
    before = (_digest(trained.checkpoint), trained.checkpoint.stat().st_mtime_ns)

    b = _study(tmp_path, "02_b")
    run = b.datasets("yuv")
    reused = b.reuse(run, "01_a", "l1")
    assert b.reuse(run, "01_a", "yuv_regression/l1").checkpoint == reused.checkpoint
    assert not reused.method.training and reused.checkpoint == trained.checkpoint
    assert reused.history.attrs["steps"] == 2 and list(reused.history["loss"]) == list(trained.history["loss"])
    for x, y in zip(trained.method.state_dict().values(), reused.method.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    assert "loaded read-only" in capsys.readouterr().out
    b.evaluate(run, {"l1": reused})
    b.save()
    assert (_digest(trained.checkpoint), trained.checkpoint.stat().st_mtime_ns) == before
    record = json.loads((tmp_path / "smoke" / "02_b" / "metrics.json").read_text())["info"]["models"][
        "yuv_regression/l1/seed0"
    ]
    assert record["from_notebook"] == "01_a" and record["checkpoint"].startswith("smoke/checkpoints/")

    with pytest.raises(KeyError, match="no 'l2' model.*for seed 0; it has: yuv_regression/l1/seed0"):
        b.reuse(run, "01_a", "l2")
    with pytest.raises(FileNotFoundError, match="run it first"):
        b.reuse(run, "01_missing", "l1")
    c = _study(tmp_path, "02_c", crop=32)
    with pytest.raises(ValueError, match="crop=16.*this run has crop=32"):
        c.reuse(c.datasets("yuv"), "01_a", "l1")
    trained.checkpoint.unlink()  # a fresh clone: results are committed, checkpoints are not
    with pytest.raises(FileNotFoundError, match="checkpoint .* is missing.*--only 01 02"):
        b.reuse(run, "01_a", "l1")


def test_every_variant_is_checked_before_any_trains(tmp_path):
    s = _study(tmp_path)
    run = s.datasets("lab")
    with pytest.raises(ValueError, match=r"k \(soft-encoding neighbours\) must be in \[1, Q=262\]"):
        s.train(run, "zhang", ["l2", "class"], width=0.125, k=0, progress_bar=False)  # l2 would train; class cannot
    with pytest.raises(ValueError, match="variant 'l2' sets head"):
        s.train(run, "zhang", ["full", "l2"], width=0.125, head="class", progress_bar=False)
    assert not (tmp_path / "smoke" / "checkpoints").exists()
    odd = _study(tmp_path, crop=12)
    with pytest.raises(ValueError, match="multiple of 8; got crop=12"):
        odd.train(odd.datasets("yuv"), "yuv_regression", ["l1"], base=4)


def test_records_of_two_methods_with_one_variant_name_are_kept_apart(tmp_path, capsys):
    s = _study(tmp_path)
    run = s.datasets("yuv")
    s.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False)
    s.train(run, "saturation_boost", ["yuv"], base=4, progress_bar=False)
    s.train(run, "saturation_boost", ["hsv"], base=4, progress_bar=False)
    assert sorted(s.models) == ["saturation_boost/hsv/seed0", "saturation_boost/yuv/seed0", "yuv_regression/l1/seed0"]


def test_evaluate_labels_rows_and_adds_references(tmp_path, capsys):
    s = _study(tmp_path)
    trained = _train(s)
    run = s.last_run
    ev = s.evaluate(run, {"mine": trained})
    t = ev.table
    assert list(t["variant"]) == ["mine", "ground_truth", "gray", "random"]
    row = t.iloc[0]
    assert (row["method"], row["decode"], row["steps"], row["device"]) == ("yuv_regression", "direct", 2, "cpu")
    assert row["data"] == "samples (embedded)" and row["n_images"] == len(run.test_set) == ev.gt.shape[0]
    assert set(ev.predictions) == {("mine", "direct")} and ev.predictions[("mine", "direct")].shape == ev.gt.shape
    assert len(s.evaluate(run, {"mine": trained}, references=False).table) == 1
    with pytest.raises(ValueError, match="unknown decoding"):
        s.evaluate(run, {"mine": trained}, decodings=["annealed"])
    assert set(ev.units["unit"]) == set(run.test_set.images.names) and len(ev.units) == 4 * len(run.test_set.images)
    verdicts = s.judge()  # the claims of notebook 01's paper, not the control's
    assert list(verdicts["key"]) == ["regression_desaturates", "batchnorm"]
    assert "rows missing" in capsys.readouterr().out  # no l2 or instance-norm rows here


def test_save_records_the_parameters_data_and_models(tmp_path, capsys):
    s = _study(tmp_path, lr_note="kept as given")
    trained = _train(s)
    s.evaluate(s.last_run, {"l1": trained})
    out = s.save(extra={"a": 1})
    assert json.loads((out / "config.json").read_text()) == {**BASE, "lr_note": "kept as given"}
    info = json.loads((out / "metrics.json").read_text())["info"]
    assert info["extra"] == {"a": 1} and info["train"]["split_rule"] == "folds" and info["test"]["crop"] == 16
    model = info["models"]["yuv_regression/l1/seed0"]
    assert model["args"]["base"] == 4 and (tmp_path / model["checkpoint"]).is_file()
    assert "saved to smoke/01_a/" in capsys.readouterr().out


def test_data_problems_reach_the_terminal_metrics_and_summary(tmp_path, monkeypatch, capsys):
    """A 1-pixel image, a grayscale 16-bit PNG and a corrupt JPEG in a colour folder: counted in
    ``metrics.json``, shown on the runner's terminal and listed in ``summary.md``."""
    import numpy as np
    from PIL import Image

    from colorlab import progress, report

    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(d / f"c{i}.png")
    Image.new("RGB", (1, 1), (200, 30, 30)).save(d / "tiny.png")
    Image.fromarray(np.array([[0, 30000, 65535]] * 3, np.uint16)).save(d / "gray16.png")
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(d / "whole.jpg")
    (d / "broken.jpg").write_bytes((d / "whole.jpg").read_bytes()[:500])
    (d / "whole.jpg").unlink()
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv(progress.ENV, str(events))
    s = _study(tmp_path, data_spec=f"folder:{d}")
    with pytest.warns(UserWarning, match="unreadable"):
        trained = _train(s)
    s.evaluate(s.last_run, {"l1": trained})
    s.save()
    terminal, printed = "\n".join(progress.Reader(events).poll()), capsys.readouterr().out
    for shown in ("broken.jpg", "gray16.png", "tiny.png 1x1"):
        assert shown in terminal and shown in printed, terminal
    counts = json.loads((tmp_path / "smoke" / "01_a" / "metrics.json").read_text())["info"]["data_problems"]["counts"]
    assert counts == {"unreadable": 1, "grayscale": 1, "small": 1}
    summary = report.write("smoke", tmp_path).read_text()
    assert "1 unreadable (broken.jpg), 1 grayscale (gray16.png), 1 smaller than the crop and upscaled (tiny.png)" \
        in " ".join(summary.split())


def test_runs_hold_out_each_fold_once_and_reuse_finds_each_seeds_model(tmp_path, capsys):
    """Three seeds on samples: each run holds out its own fold of whole photos, so every photo is
    scored once by a model that never saw it; a later notebook reuses each seed's own model."""
    a = _study(tmp_path, "01_a", seeds=[0, 1, 2])
    held_out, trained_on = [], []
    for run in a.runs("yuv"):
        held_out.append(set(run.test_set.images.names))
        trained_on.append(set(run.train_set.images.names))
        a.evaluate(run, a.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False))
    assert all(not (h & t) for h, t in zip(held_out, trained_on, strict=True))
    assert set().union(*held_out) == trained_on[-1] | held_out[-1] and sum(map(len, held_out)) == 8
    table = a.table()
    row = table[table["variant"] == "l1"].iloc[0]
    assert (row["n_seeds"], row["n_photos"], row["seeds"]) == (3, 8, "0,1,2")
    assert row["auc_lo"] <= row["auc"] <= row["auc_hi"]
    a.save()
    units = json.loads((tmp_path / "smoke" / "01_a" / "metrics.json").read_text())["units"]
    assert len({(u["seed"], u["unit"]) for u in units if u["variant"] == "l1"}) == 8

    b = _study(tmp_path, "02_b", seeds=[0, 1, 2])
    for run in b.runs("yuv"):
        assert b.reuse(run, "01_a", "l1").checkpoint.name == next(
            p for k, p in ((k, r["checkpoint"]) for k, r in a.models.items()) if k.endswith(f"seed{run.seed}")
        ).split("/")[-1]
    c = _study(tmp_path, "02_c", seeds=[0, 1])  # two folds, not three: other training photos
    for run in c.runs("yuv"):
        with pytest.raises(ValueError, match="fold"):
            c.reuse(run, "01_a", "l1")
        break


def test_folds_that_seeds_replicate_score_every_photo_with_every_seed(tmp_path, capsys):
    """``folds=2`` with two seeds: four runs, each photo held out by one fold and scored by both of its
    seeds' models; the summary says so, and a later notebook reuses each (fold, seed)'s own model."""
    a = _study(tmp_path, "01_a", seeds=[0, 1], folds=2)
    assert a.plan() == [(0, 0), (1, 0), (0, 1), (1, 1)]
    runs = []
    for run in a.runs("yuv"):
        runs.append((run.fold, run.seed, set(run.test_set.images.names), set(run.train_set.images.names)))
        a.evaluate(run, a.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False))
    assert [(f, s) for f, s, _, _ in runs] == [((0, 2), 0), ((0, 2), 1), ((1, 2), 0), ((1, 2), 1)]
    assert runs[0][2] == runs[1][2] and not runs[0][2] & runs[0][3]  # both seeds of a fold hold out the same photos
    assert "run 2 of 4 (fold 1 of 2, seed 1)" in capsys.readouterr().out
    row = a.table().query("variant == 'l1'").iloc[0]
    assert (row["n_seeds"], row["n_photos"], row["seeds_per_photo"]) == (2, 8, 2)
    assert row["auc_sd_seeds"] >= 0 and row["auc_sd_photos"] > 0
    assert len(a.models) == 4 and {r["fold"] for r in a.models.values()} == {0, 1}
    a.save()
    b = _study(tmp_path, "02_b", seeds=[0, 1], folds=2)
    for run in b.runs("yuv"):
        key = next(k for k, r in a.models.items() if (r["seed"], r["fold"]) == (run.seed, run.fold[0]))
        assert b.reuse(run, "01_a", "l1").checkpoint.name == a.models[key]["checkpoint"].split("/")[-1]


def test_reuse_of_a_model_trained_without_folds_names_the_other_data(tmp_path, capsys):
    """01 trained on a region split (no fold), 02 on folds: the model is found, and refused for its data."""
    a = _study(tmp_path, "01_a")
    run = next(a.runs("yuv", folds=False))
    a.train(run, "yuv_regression", ["l1"], base=4, progress_bar=False)
    a.save()
    b = _study(tmp_path, "02_b")
    with pytest.raises(ValueError, match="split_rule='region'.*this run has split_rule='folds'"):
        b.reuse(next(b.runs("yuv")), "01_a", "l1")


def test_folds_on_a_spec_without_folds_is_one_run_per_seed(tmp_path):
    s = _study(tmp_path, data_spec="ambiguous", seeds=[0, 1], folds=4)
    assert s.plan() == [(0, None), (1, None)]


@pytest.mark.parametrize("folds", [1, 0, 2.5, "4", True])
def test_bad_folds_are_refused(tmp_path, folds):
    with pytest.raises(ValueError, match="parameter folds"):
        _study(tmp_path, folds=folds)


@pytest.mark.parametrize("seeds", [[], [0, 0], [-1], "0", [True]])
def test_bad_seeds_are_refused(tmp_path, seeds):
    with pytest.raises(ValueError, match="parameter seeds"):
        _study(tmp_path, seeds=seeds)
