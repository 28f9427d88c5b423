"""Issue 33's items 6 and 16, and a finished model reused: each method declares the crops it
takes, so ``colorlab run`` refuses a bad crop before any kernel starts; progress inside a notebook
that ``colorlab run`` executes is plain text that ends with the count reached; a finished
checkpoint reused says so."""

import pytest
import torch

from colorlab import progress, study
from colorlab.checks import RunRequest, plan_run
from colorlab.errors import UsageError
from colorlab.methods import METHODS, build
from colorlab.train import TrainConfig, fit


@pytest.mark.parametrize("only, params, says", [
    ("04", {"crop": 48}, "-p crop=48: notebook 04 trains unet, whose crops must be a multiple of 32"),
    ("06", {"crop": 40, "num_downs": 4},
     "-p crop=40: notebook 06 trains pix2pix, whose crops must be a multiple of 16"),
    ("07", {"crop": 48}, "notebook 07 trains larsson, whose crops must be a multiple of 32"),
])
def test_a_crop_a_method_cannot_take_is_refused_before_any_kernel(only, params, says, tmp_path):
    with pytest.raises(UsageError) as e:
        plan_run(RunRequest("smoke", [only], params, root=tmp_path))
    assert says in str(e.value)
    assert plan_run(RunRequest("smoke", [only], {**params, "crop": 64}, root=tmp_path)).params  # a good crop runs


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_declares_the_crop_multiple_its_network_has(name):
    cls = METHODS[name]
    for variant in cls.variants:
        built = build(name, variant, **cls.smoke_args)
        assert cls.crop_multiple(variant, cls.smoke_args) == built.input_multiple, variant


def test_progress_in_an_executed_notebook_is_plain_text_that_ends_with_the_count(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(progress.ENV, str(tmp_path / "events.jsonl"))  # as inside a notebook colorlab run executes
    m = build("yuv_regression", "l2", base=4)

    def batches(start):
        while True:
            yield {"Y": torch.rand(2, 1, 16, 16), "uv": torch.zeros(2, 2, 16, 16)}

    fit(m, batches, TrainConfig(steps=3, progress=True))
    out = capsys.readouterr()
    assert "train: 3/3 (100%), loss " in out.out and "\r" not in out.out + out.err
    assert isinstance(progress.bar(3, desc="x"), progress.TextBar)
    monkeypatch.delenv(progress.ENV)
    assert not isinstance(progress.bar(3, desc="x", disable=True), progress.TextBar)


def test_a_finished_checkpoint_reused_is_said_as_such(tmp_path, capsys):
    params = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0], steps=2, batch_size=2, crop=16,
                  image_size=48, max_tiles=1)
    for _ in range(2):
        s = study.start("01_reuse", params, root=tmp_path)
        s.train(s.datasets("yuv"), "yuv_regression", ["l1"], base=4, progress_bar=False)
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("l1: 2 steps in") for line in lines)
    assert any(line.startswith("l1: its finished checkpoint reused, 2 steps in") for line in lines), lines
    assert not any("resumed at step" in line for line in lines)


def test_the_notebooks_are_found_from_any_folder(tmp_path, monkeypatch):
    """checks is a package: the checkout's notebooks folder is two floors up from it."""
    from pathlib import Path

    from colorlab.checks import notebooks_dir

    monkeypatch.chdir(tmp_path)
    assert notebooks_dir() == Path(__file__).resolve().parent.parent / "notebooks"


def test_a_gallery_of_grayscale_photos_is_not_refused_as_colour_data(tmp_path):
    """``historical_spec`` names old photos to colourise: a folder of grayscale ones is what it should be,
    while the same folder as ``--data`` (colour training and testing) is refused before any work."""
    from PIL import Image

    old = tmp_path / "old"
    old.mkdir()
    for i in range(3):
        Image.new("L", (40, 30), 60 * i).save(old / f"{i}.png")
    plan = plan_run(RunRequest("smoke", ["04"], {"historical_spec": f"folder:{old}"}, root=tmp_path / "r"))
    assert plan.params["04_unet_resnet50"]["historical_spec"] == f"folder:{old}"
    with pytest.raises(UsageError, match="grayscale: 3"):
        plan_run(RunRequest("smoke", ["04"], {"data_spec": f"folder:{old}"}, root=tmp_path / "r"))


def test_a_damaged_prior_cache_is_computed_again_and_a_bad_weights_file_gets_no_unsafe_advice(tmp_path, capsys):
    from colorlab.abgrid import cached_prior
    from colorlab.backbones import backbone

    (tmp_path / "prior_demo-q2.pt").write_bytes(b"\x80\x02 not a prior")
    assert cached_prior("demo-q2", lambda: torch.tensor([0.25, 0.75]), tmp_path).tolist() == [0.25, 0.75]
    assert "prior cache" in capsys.readouterr().err
    assert cached_prior("demo-q2", lambda: torch.tensor([0.0, 1.0]), tmp_path).tolist() == [0.25, 0.75]  # replaced
    bad = tmp_path / "r50.pth"
    bad.write_bytes(b"random bytes, no weights")
    with pytest.raises(ValueError) as e:
        backbone("resnet50", str(bad))
    assert "not a file torch.save writes" in str(e.value) and "weights_only" not in str(e.value)


def test_run_settings_go_to_the_notebooks_that_declare_them_and_are_still_checked(tmp_path, monkeypatch):
    """``--data`` and ``--device`` are settings of the whole run: ``--only 99`` (which declares
    neither) takes them, a bad one is refused all the same; ``-p`` keeps its strict rule."""
    plan = plan_run(RunRequest("smoke", ["99"], root=tmp_path, settings={"data_spec": "samples", "device": "cpu"}))
    assert [b.name[:2] for b in plan.books] == ["99"] and "device" not in plan.params["99_results_summary"]
    with pytest.raises(UsageError, match="no such file"):
        plan_run(RunRequest("smoke", ["99"], root=tmp_path, settings={"data_spec": "folder:/no/such"}))
    with pytest.raises(UsageError, match="declares the parameter"):
        plan_run(RunRequest("smoke", ["99"], {"device": "cpu"}, root=tmp_path))


def test_the_kernels_keep_the_callers_data_folder(tmp_path, monkeypatch):
    from colorlab import runner
    from colorlab.data.sources import DATA_ENV

    plan = plan_run(RunRequest("smoke", ["01"], root=tmp_path))
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "datasets"))
    assert runner._kernel_env(plan)[DATA_ENV] == str(tmp_path / "datasets")
    monkeypatch.delenv(DATA_ENV)
    assert runner._kernel_env(plan)[DATA_ENV].endswith("/data")
