"""Rough edges of ``colorlab colorize`` and its checkpoints (issue 33, items 9, 11, 12, 13, 14).

A full disk while a checkpoint is written; full-resolution work in bands, equal to the whole-image
path and within a memory bound; files that are not colorlab checkpoints; ``--profile`` as a plain
name; which checkpoint ``METHOD/VARIANT`` takes, and ``--list-models``.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from colorlab import checkpoint, colorize, files
from colorlab.cli import main
from colorlab.colorize import core
from colorlab.errors import UsageError
from colorlab.methods import build

LEVELS = 255


def _photo(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A colour photo-like uint8 ``(3, h, w)``: smooth gradients with fine detail."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.stack([np.sin(x / w * 6 + k) * 0.4 + 0.4 * np.cos(y / h * 4 + 2 * k) for k in range(3)])
    out = (out - out.min()) / np.ptp(out) * 200 + rng.uniform(0, 55, size=(3, h, w))
    return torch.from_numpy(out.clip(0, 255).astype(np.uint8))


# ------------------------------------------------------------------------------ item 9: a full disk


class _FullDisk(io.FileIO):
    """A file on a disk that fills up after ``room`` bytes: the next write raises ENOSPC, as the kernel does."""

    room = 4096

    def write(self, data) -> int:
        n = len(memoryview(data))
        if self.tell() + n > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


@pytest.fixture()
def full_disk(monkeypatch):
    """Every atomic write goes to a disk with :attr:`_FullDisk.room` bytes free."""
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: io.BufferedWriter(_FullDisk(fd, "wb")))


class TestFullDisk:
    def test_a_checkpoint_on_a_full_disk_says_so_and_keeps_the_previous_file(self, tmp_path, monkeypatch):
        path = tmp_path / "checkpoints" / "zhang" / "class-3steps-abc.pt"
        checkpoint.save(path, build("zhang", "class", width=0.125), step=3)
        before = path.read_bytes()
        monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: io.BufferedWriter(_FullDisk(fd, "wb")))
        with pytest.raises(OSError) as caught:  # torch alone says "RuntimeError: [enforce fail ...] unexpected pos"
            checkpoint.save(path, build("zhang", "class", width=0.125), step=6)
        text = str(caught.value)
        assert caught.value.errno == errno.ENOSPC, text
        assert "no space left on device" in text and str(path.parent) in text and "unexpected pos" not in text
        assert path.read_bytes() == before  # the previous checkpoint, intact
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left
        assert checkpoint.read(path)["step"] == 3

    def test_any_atomic_write_on_a_full_disk_names_the_folder(self, tmp_path, full_disk):
        with pytest.raises(OSError, match=r"no space left on device: big\.json not written in .*sub/"):
            files.write_json(tmp_path / "sub" / "big.json", {"x": "y" * 10_000})
        assert list((tmp_path / "sub").iterdir()) == []


# ----------------------------------------------------------------- item 11: full resolution in bands


def _whole_image(method, photo: torch.Tensor, size: int, keep_luminance: bool = False) -> torch.Tensor:
    """Colourising as it was done before bands: every step on the whole photo at once (the reference)."""
    full = photo.float() / LEVELS
    gray = bool((full[0] == full[1]).all() and (full[1] == full[2]).all())
    seen = full if keep_luminance or gray else colorize.desaturate(full)
    hw = colorize.working_size(tuple(full.shape[-2:]), size)
    small = TF.resize(seen[None], list(hw), antialias=True).clamp(0, 1)
    rgb = method.colorize(small).float()
    chroma = (core.rgb_to_lab if method.space == "lab" else core.rgb_to_yuv)(rgb)[1]
    chroma = F.interpolate(chroma, size=tuple(full.shape[-2:]), mode="bilinear", align_corners=False)
    return method.to_rgb(method.luminance(seen[None]), chroma)[0].clamp(0, 1)


class TestBands:
    @pytest.mark.parametrize("name,variant,args", [("zhang", "class", {"width": 0.125}),
                                                   ("yuv_regression", "l2", {"base": 4})])
    @pytest.mark.parametrize("keep_luminance", [False, True])
    def test_bands_give_the_whole_image_result(self, name, variant, args, keep_luminance, monkeypatch):
        method = build(name, variant, **args).eval()
        photo = _photo(203, 317, seed=1)
        monkeypatch.setattr(core, "BAND_PIXELS", 317 * 7 + 5)  # bands of 7 rows, the last one short
        want = core.to_uint8(_whole_image(method, photo, 48, keep_luminance)).int()
        for dtype in (torch.float32, torch.uint8):
            got = colorize.colorize_images(method, [photo], size=48, keep_luminance=keep_luminance, dtype=dtype)[0]
            assert got.dtype == dtype and got.shape == photo.shape
            diff = (core.to_uint8(got).int() - want).abs()
            assert int(diff.max()) <= 1, (dtype, int(diff.max()))
            assert float((diff > 0).float().mean()) < 0.01  # float rounding only, at a few pixels

    def test_a_grayscale_photo_and_odd_shapes(self, monkeypatch):
        method = build("zhang", "l2", width=0.125).eval()
        monkeypatch.setattr(core, "BAND_PIXELS", 50)
        gray = _photo(61, 40, 2)[:1].expand(3, -1, -1)
        for photo in (gray, _photo(1, 90, 3), _photo(90, 1, 4), _photo(5, 5, 5)):
            want = core.to_uint8(_whole_image(method, photo, 16)).int()
            got = colorize.colorize_images(method, [photo], size=16, dtype=torch.uint8)[0].int()
            assert int((got - want).abs().max()) <= 1, tuple(photo.shape)

    @pytest.mark.slow
    def test_peak_memory_of_a_large_photo_stays_bounded(self):
        # 6000 × 4000 (24 megapixels) in a fresh process: the target, 2 GiB for a 48-megapixel photo, scaled to
        # 1 GiB. The float output alone is 275 MiB; the whole-image path took 3.9 GiB here (7.8 GiB at 8000 × 6000).
        script = """
import json, torch
from colorlab.measuring import peak_rss_mb, reset_peak, rss_mb
from colorlab.methods import build
from colorlab.colorize import colorize_images
torch.manual_seed(0)
m = build("zhang", "full", width=0.125).eval()
H, W = 4000, 6000
x = torch.linspace(0, 255, W).to(torch.uint8)
photo = torch.stack([x.expand(H, W), x.flip(0).expand(H, W), torch.full((H, W), 100, dtype=torch.uint8)]).contiguous()
colorize_images(m, [photo[:, :64, :64].clone()], size=192)
base = rss_mb()
reset_peak()
out = colorize_images(m, [photo], size=192)[0]
assert out.shape == photo.shape
print(json.dumps({"peak_mb": peak_rss_mb() - base}))
"""
        env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread: the memory is the same, the time robust to load
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"]
        assert peak < 1024, f"{peak:.0f} MiB above the loaded photo and model"


# ------------------------------------------------------- item 12: files that are not colorlab checkpoints


class _Runs:
    """A pickled object whose loading would create a file: it must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _untrusted(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.pt"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "pickle_header":  # random bytes after the header of a pickle, as torch's old format starts
        path.write_bytes(b"\x80\x02" + np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("not a checkpoint at all\n" * 20)
    else:  # a torch file holding an object that would run code when loaded
        torch.save({"format": checkpoint.FORMAT, "x": _Runs(tmp_path / "ran")}, path)
    return path


_ADVICE = ("weights_only", "Re-running", "trust", "torch.load", "arbitrary code")


class TestNotACheckpoint:
    @pytest.mark.parametrize("kind", ["random", "pickle_header", "text", "pickled_object"])
    def test_refused_as_not_a_colorlab_checkpoint_without_torchs_advice(self, kind, tmp_path, capsys):
        path = _untrusted(kind, tmp_path)
        with pytest.raises(checkpoint.CheckpointError) as caught:
            checkpoint.read(path)
        text = str(caught.value)
        assert f"{path}: " in text and "not a colorlab checkpoint" in text, text
        assert not any(a in text for a in _ADVICE), text
        with pytest.raises(UsageError) as caught:
            colorize.load_model(str(path))
        assert "not a colorlab checkpoint" in str(caught.value) and path.name in str(caught.value)
        photo = tmp_path / "p.png"
        Image.fromarray(_photo(20, 20).permute(1, 2, 0).numpy()).save(photo)
        rc = main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--checkpoint", str(path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and path.name in err[0] and "not a colorlab checkpoint" in err[0], err
        assert not any(a in err[0] for a in _ADVICE), err
        assert not (tmp_path / "ran").exists()  # nothing in the file was run


# ------------------------------------------------------------------- item 13: --profile is a plain name


class TestProfileName:
    @pytest.mark.parametrize("profile", ["../../etc", "../outside", ".hidden", "a/b", ""])
    def test_a_profile_that_is_no_plain_name_is_refused(self, profile, tmp_path, capsys):
        outside = tmp_path / "outside" / "checkpoints" / "zhang"  # what ../outside would reach
        outside.mkdir(parents=True)
        checkpoint.save(outside / "full-3steps-abc.pt", build("zhang", "full", width=0.125), step=3)
        results = tmp_path / "results"
        results.mkdir()
        with pytest.raises(UsageError, match="profile must be a plain name"):
            colorize.load_model("zhang/full", results=results, profile=profile)
        photo = tmp_path / "p.png"
        Image.fromarray(_photo(20, 20).permute(1, 2, 0).numpy()).save(photo)
        for argv in (["colorize", str(photo), "-o", str(tmp_path / "o"), "--checkpoint", "zhang/full"],
                     ["colorize", "--list-models"]):
            rc = main([*argv, "--results", str(results), "--profile", profile])
            err = capsys.readouterr().err
            assert rc == 2 and "profile must be a plain name" in err, err
        assert not (tmp_path / "o").exists()


# --------------------------------------------- item 14: which checkpoint METHOD/VARIANT takes; --list-models


def _train_record(results: Path, profile: str, notebook: str, models: dict[str, tuple[Path, int]]) -> None:
    """A notebook's metrics.json naming the checkpoints it trained: key -> (path, seed)."""
    folder = results / profile / notebook
    folder.mkdir(parents=True, exist_ok=True)
    recs = {k: {"method": p.parent.name, "variant": p.name.split("-")[0], "seed": seed,
                "checkpoint": p.relative_to(results).as_posix(), "steps": 0} for k, (p, seed) in models.items()}
    (folder / "metrics.json").write_text(json.dumps({"notebook": notebook, "profile": profile, "rows": [],
                                                     "info": {"models": recs}}))


def _save(results: Path, profile: str, tag: str, *, steps: int, seed: int, spec: str, age: float) -> Path:
    path = results / profile / "checkpoints" / "zhang" / f"full-{steps}steps-{tag}.pt"
    data = {"spec": spec, "split_rule": "generated" if spec == "ambiguous" else "region", "n_images": 10,
            "image_size": 48}
    checkpoint.save(path, build("zhang", "full", width=0.125), step=steps, run={"steps": steps, "seed": seed},
                    data=data)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


@pytest.fixture()
def study(tmp_path) -> dict[str, Path]:
    """A results folder where notebook 00 (generated squares) trained zhang/full last, and 03 (photos) before."""
    r = tmp_path / "results"
    ck = {"photos": _save(r, "quick", "p0", steps=400, seed=0, spec="samples", age=300),
          "photos_short": _save(r, "quick", "p0s", steps=200, seed=0, spec="samples", age=400),
          "photos_seed1": _save(r, "quick", "p1", steps=400, seed=1, spec="samples", age=200),
          "control": _save(r, "quick", "c0", steps=400, seed=0, spec="ambiguous", age=0),  # the newest
          "smoke": _save(r, "smoke", "s0", steps=2, seed=0, spec="samples", age=0)}
    _train_record(r, "quick", "00_positive_control", {"zhang/full/seed0": (ck["control"], 0)})
    _train_record(r, "quick", "03_zhang_classification", {"zhang/full/seed0": (ck["photos"], 0),
                                                          "zhang/full/seed1": (ck["photos_seed1"], 1)})
    return {"results": r, **ck}


class TestWhichCheckpoint:
    def test_method_variant_takes_the_photo_trained_seed_0_with_the_most_steps(self, study):
        model = colorize.load_model("zhang/full", results=study["results"])
        assert Path(model.record["path"]) == study["photos"].resolve()  # not notebook 00's newer control model
        assert "03_zhang_classification" in model.record["chosen"] and "seed 0" in model.record["chosen"]
        assert "generated" in model.record["chosen"]  # it says what was left out, and how to ask for it
        for age, p in enumerate(study[k] for k in ("photos", "photos_short", "photos_seed1", "control")):
            os.utime(p, (time.time() + age, time.time() + age))  # the order things ran in does not matter
        assert colorize.find_checkpoint("zhang/full", study["results"]) == study["photos"]

    def test_asking_for_a_notebook_or_a_seed(self, study):
        r = study["results"]
        assert colorize.find_checkpoint("zhang/full@00", r) == study["control"]
        assert colorize.find_checkpoint("zhang/full@00_positive_control", r, "quick") == study["control"]
        assert colorize.find_checkpoint("zhang/full@03", r) == study["photos"]
        assert colorize.find_checkpoint("zhang/full", r, seed=1) == study["photos_seed1"]
        assert colorize.find_checkpoint("zhang/full", r, profile="smoke") == study["smoke"]
        assert colorize.load_model("zhang/full@00", results=r).record["data"] == "ambiguous"
        with pytest.raises(UsageError, match=r"no notebook 05's 'zhang/full' of seed 0.*@NOTEBOOK"):
            colorize.find_checkpoint("zhang/full@05", r)
        assert colorize.check_spec("zhang/full@03") == "zhang/full@03"
        with pytest.raises(UsageError, match="after @ give the notebook"):
            colorize.check_spec("zhang/full@latest")

    def test_never_a_control_model_unless_asked(self, study):
        for key in ("photos", "photos_short", "photos_seed1", "smoke"):
            study[key].unlink()
        want = r"no photo-trained 'zhang/full' of seed 0; there: .*00_positive_control.*zhang/full@NOTEBOOK"
        with pytest.raises(UsageError, match=want):
            colorize.find_checkpoint("zhang/full", study["results"])

    def test_the_command_says_which_and_why(self, study, tmp_path, capsys):
        photo = tmp_path / "p.png"
        Image.fromarray(_photo(30, 40).permute(1, 2, 0).numpy()).save(photo)
        rc = main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--checkpoint", "zhang/full",
                   "--results", str(study["results"])])
        err = capsys.readouterr().err
        assert rc == 0, err
        line = next(ln for ln in err.splitlines() if ln.startswith("colorize: zhang/full is "))
        assert study["photos"].name in line and "03_zhang_classification" in line and "most steps" in line

    def test_list_models_names_notebook_seed_data_and_steps(self, study, capsys):
        assert main(["colorize", "--list-models", "--results", str(study["results"])]) == 0
        out = capsys.readouterr().out
        rows = {ln.split()[-1]: ln for ln in out.splitlines() if ln.strip().endswith(".pt")}
        line = rows[study["photos"].relative_to(study["results"]).as_posix()]
        assert line.lstrip().startswith("*")  # what zhang/full takes in quick
        assert all(w in line.split() for w in ("quick", "zhang/full", "03_zhang_classification", "0", "samples",
                                               "400"))
        control = rows[study["control"].relative_to(study["results"]).as_posix()]
        assert "00_positive_control" in control and "ambiguous" in control and "generated" in control
        assert not control.lstrip().startswith("*")
        assert "-" in rows[study["photos_short"].relative_to(study["results"]).as_posix()].split()  # no notebook

    def test_75_checkpoints_list_in_seconds(self, tmp_path, capsys):
        r = tmp_path / "results"
        m = build("yuv_regression", "l2", base=2)
        for i in range(75):
            checkpoint.save(r / "quick" / "checkpoints" / "yuv_regression" / f"l2-{i}steps-{i:03d}.pt", m, step=i,
                            run={"seed": i % 3}, data={"spec": "samples"})
        start = time.perf_counter()
        assert main(["colorize", "--list-models", "--results", str(r)]) == 0
        seconds = time.perf_counter() - start
        out = capsys.readouterr().out
        assert sum(ln.strip().endswith(".pt") for ln in out.splitlines()) == 75
        assert seconds < 10, seconds
