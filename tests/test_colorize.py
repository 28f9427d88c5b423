"""``colorlab colorize``: full-resolution outputs, a folder of mixed real files (JPEG, PNG, 16-bit,
CMYK, RGBA, grayscale, EXIF-rotated, 1 pixel, 6000×4000, a corrupt and an empty file), bad
checkpoints and output folders refused before any photo is read, nothing overwritten."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from colorlab import checkpoint, colorize
from colorlab.cli import main
from colorlab.color import rgb_to_lab
from colorlab.errors import UsageError
from colorlab.methods import METHODS, build

BIG = (4000, 6000)  # (H, W) of the large photo


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour photo-like image (gradients and blobs), uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.stack(
        [np.sin(x / max(w, 1) * 6 + k) * 0.5 + 0.5 * np.cos(y / max(h, 1) * 4 + 2 * k) for k in range(3)], -1
    )
    out = (out - out.min()) / max(float(np.ptp(out)), 1e-6)
    return (out * 200 + rng.uniform(0, 55, size=(1, 1, 3))).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> dict[str, Path]:
    """A folder of mixed photos, as a user's might be; name -> path."""
    d = tmp_path_factory.mktemp("photos")
    (d / "scans").mkdir()
    files = {
        "colour.jpg": d / "colour.jpg", "gray.png": d / "scans" / "gray.png", "deep.png": d / "deep16.png",
        "cmyk.jpg": d / "cmyk.jpg", "rgba.png": d / "rgba.png", "exif.jpg": d / "exif.jpg",
        "pixel.png": d / "pixel.png", "big.jpg": d / "big.jpg", "corrupt.jpg": d / "corrupt.jpg",
        "empty.jpg": d / "empty.jpg",
    }
    Image.fromarray(_photo(120, 160, 1)).save(files["colour.jpg"], quality=90)
    Image.fromarray(_photo(90, 70, 2)[..., 1]).save(files["gray.png"])
    Image.fromarray(_photo(50, 80, 3)[..., 0].astype(np.uint16) * 257).save(files["deep.png"])
    Image.fromarray(_photo(64, 48, 4)).convert("CMYK").save(files["cmyk.jpg"])
    rgba = np.dstack([_photo(40, 60, 5), np.full((40, 60), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(files["rgba.png"])
    exif = Image.fromarray(_photo(30, 50, 6)).getexif()
    exif[0x0112] = 6  # rotated 90°: the photo is 50 high and 30 wide once turned
    Image.fromarray(_photo(30, 50, 6)).save(files["exif.jpg"], exif=exif)
    Image.fromarray(np.full((1, 1, 3), 90, np.uint8)).save(files["pixel.png"])
    Image.fromarray(_photo(*BIG, 7)).save(files["big.jpg"], quality=85)
    files["corrupt.jpg"].write_bytes(files["colour.jpg"].read_bytes()[:600])
    files["empty.jpg"].write_bytes(b"")
    (d / "notes.txt").write_text("not a photo: left out of the folder")
    (d / ".hidden.jpg").write_bytes(b"")  # hidden files are left out too
    return files


def _expected_size(path: Path) -> tuple[int, int]:
    """(W, H) of a photo once its EXIF orientation is applied."""
    from PIL import ImageOps
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).size


# ------------------------------------------------------------------------------ the functional core


class TestColorizeImages:
    def test_full_resolution_and_working_size(self, monkeypatch):
        m = build("yuv_regression", "l2", base=4).eval()
        seen = []
        original = type(m).colorize

        def spy(self, batch, decode=None, **kw):
            seen.append(tuple(batch.shape))
            return original(self, batch, decode, **kw)

        monkeypatch.setattr(type(m), "colorize", spy)
        out = colorize.colorize_images(m, [torch.rand(3, 300, 200)], size=64)
        assert out[0].shape == (3, 300, 200)
        assert seen == [(1, 3, 96, 64)]  # the network ran at the working size, not at 300x200

    def test_luminance_is_the_inputs_at_full_resolution(self):
        m = build("zhang", "l2", width=0.125).eval()
        photo = torch.from_numpy(_photo(256, 320, 9)).permute(2, 0, 1)
        gray = colorize.desaturate(photo.float() / 255)
        out = colorize.colorize_images(m, [photo], size=32)[0]
        dl = (rgb_to_lab(out[None])[0] - rgb_to_lab(gray[None])[0]).abs()
        assert float(dl.median()) < 0.5  # sharp: the fine detail of L survives (gamut clipping aside)

    def test_keep_luminance(self):
        m = build("zhang", "l2", width=0.125).eval()
        photo = torch.from_numpy(_photo(64, 64, 3)).permute(2, 0, 1)
        a = colorize.colorize_images(m, [photo], size=32)[0]
        b = colorize.colorize_images(m, [photo], size=32, keep_luminance=True)[0]
        assert not torch.allclose(a, b, atol=1e-3)  # a colour photo: 601 luma is not Lab L
        la = rgb_to_lab(b[None])[0]
        lo = rgb_to_lab((photo.float() / 255)[None])[0]
        assert float((la - lo).abs().median()) < 0.5
        gray = colorize.desaturate(photo.float() / 255)
        ga = colorize.colorize_images(m, [gray], size=32)[0]
        gb = colorize.colorize_images(m, [gray], size=32, keep_luminance=True)[0]
        torch.testing.assert_close(ga, gb, atol=1e-5, rtol=0)  # a grayscale photo: the same either way

    def test_small_photo_agrees_with_the_methods_own_colorize(self):
        m = build("zhang", "class", width=0.125).eval()
        gray = colorize.desaturate(torch.rand(3, 24, 40))
        out = colorize.colorize_images(m, [gray], size=256)[0]
        own = m.colorize(gray[None])[0]
        # where the method's output is in the sRGB gamut its chroma survives RGB -> Lab -> RGB exactly;
        # where it was clipped, taking its ab from the clipped RGB moves a pixel by up to a few levels
        diff = (out - own).abs().amax(0)
        assert float(diff.quantile(0.95)) < 2e-3, float(diff.quantile(0.95))
        assert float(diff.max()) < 0.05, float(diff.max())

    def test_batches_agree_with_one_at_a_time(self):
        m = build("zhang", "class", width=0.125).eval()
        photos = [torch.rand(3, 40, 60), torch.rand(3, 80, 120), torch.rand(3, 40, 60), torch.rand(3, 5, 5)]
        together = colorize.colorize_images(m, photos, size=40)
        for p, t in zip(photos, together, strict=True):
            torch.testing.assert_close(colorize.colorize_images(m, [p], size=40)[0], t, atol=1e-5, rtol=0)

    def test_uint8_and_float_inputs(self):
        m = build("zhang", "l2", width=0.125).eval()
        u = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
        torch.testing.assert_close(
            colorize.colorize_images(m, [u])[0], colorize.colorize_images(m, [u.float() / 255])[0]
        )

    @pytest.mark.parametrize("shape", [(1, 1), (1, 7), (300, 2)])
    def test_odd_sizes(self, shape):
        m = build("zhang", "class", width=0.125).eval()
        assert colorize.colorize_images(m, [torch.rand(3, *shape)], size=16)[0].shape == (3, *shape)

    def test_bad_photo_and_size(self):
        m = build("zhang", "l2", width=0.125).eval()
        with pytest.raises(ValueError, match=r"photo 0: expected RGB \(3, H, W\)"):
            colorize.colorize_images(m, [torch.rand(1, 8, 8)])
        with pytest.raises(ValueError, match="size must be a positive integer"):
            colorize.working_size((8, 8), 0)

    def test_comparison_draws_input_gray_and_output(self):
        photo = torch.zeros(3, 20, 10)
        photo[0] = 1.0  # red
        result = torch.zeros(3, 20, 10)
        result[2] = 1.0  # blue
        panel = colorize.comparison(photo, colorize.desaturate(photo), result, height=20)
        assert panel.shape == (3, 20, 30)
        left, mid, right = panel[..., :10], panel[..., 10:20], panel[..., 20:]
        assert torch.allclose(left[0], torch.ones(20, 10)) and float(left[1:].abs().max()) == 0
        assert torch.allclose(mid[0], mid[1]) and torch.allclose(mid[1], mid[2])  # the gray the model saw
        assert abs(float(mid.mean()) - 0.2989) < 1e-3
        assert torch.allclose(right[2], torch.ones(20, 10)) and float(right[:2].abs().max()) == 0

    @pytest.mark.parametrize("name", list(METHODS))
    def test_every_methods_checkpoint_colorizes(self, name, tmp_path):
        cls = METHODS[name]
        m = build(name, None, **cls.smoke_args)
        path = tmp_path / f"{name}.pt"
        checkpoint.save(path, m, step=1, run={"steps": 1}, data={"spec": "samples", "image_size": 32})
        model = colorize.load_model(str(path))
        assert model.size == 32 and model.record["method"] == name
        out = colorize.colorize_images(model.method, [torch.rand(3, 50, 70)], size=model.size)[0]
        assert out.shape == (3, 50, 70) and out.isfinite().all() and 0 <= float(out.min()) <= float(out.max()) <= 1


# ------------------------------------------------------------------------------------- the command


def _read(path: Path) -> tuple[tuple[int, int], str]:
    with Image.open(path) as im:
        return im.size, im.mode


class TestCommand:
    def test_mixed_folder(self, mixed, zhang_ckpt, tmp_path, capsys):
        out = tmp_path / "out"
        folder = mixed["colour.jpg"].parent
        rc = main(["colorize", str(folder), "-o", str(out), "--checkpoint", str(zhang_ckpt), "--batch", "2"])
        err = capsys.readouterr().err
        assert rc == 1  # the corrupt and the empty file
        bad = [ln for ln in err.splitlines() if "unreadable" in ln]
        assert len(bad) == 2
        assert any("corrupt.jpg" in ln and "truncated" in ln.lower() for ln in bad), bad
        assert any("empty.jpg" in ln and "empty file (0 bytes)" in ln for ln in bad), bad
        for key in ("colour.jpg", "gray.png", "deep.png", "cmyk.jpg", "rgba.png", "exif.jpg", "pixel.png", "big.jpg"):
            src = mixed[key]
            dst = out / src.relative_to(folder).with_suffix(".png")
            size, mode = _read(dst)
            assert (size, mode) == (_expected_size(src), "RGB"), key  # the input's size, orientation applied
        assert _expected_size(mixed["exif.jpg"]) == (30, 50)
        assert not (out / "notes.png").exists() and not (out / "corrupt.png").exists()
        assert len(list(out.glob("colorize-*.json"))) == 1
        # the big photo's detail is its own: outputs are sharp at 6000x4000
        big = np.asarray(Image.open(out / "big.png").convert("L"), dtype=np.float32)
        src = np.asarray(Image.open(mixed["big.jpg"]).convert("L"), dtype=np.float32)
        assert np.median(np.abs(big - src)) < 3

    def test_nothing_overwritten_without_force(self, mixed, zhang_ckpt, tmp_path, capsys):
        out = tmp_path / "out"
        args = [
            "colorize",
            str(mixed["colour.jpg"]),
            str(mixed["gray.png"]),
            "-o",
            str(out),
            "--checkpoint",
            str(zhang_ckpt),
        ]
        assert main(args) == 0
        target = out / "colour.png"
        target.write_bytes(b"the user's own edit")
        capsys.readouterr()
        assert main(args) == 0
        err = capsys.readouterr().err
        assert "colour.jpg: skipped" in err and "--force" in err
        assert target.read_bytes() == b"the user's own edit"
        assert main([*args, "--force"]) == 0
        assert _read(target)[0] == (160, 120)

    def test_compare_image(self, mixed, zhang_ckpt, tmp_path):
        out = tmp_path / "out"
        assert (
            main(["colorize", str(mixed["colour.jpg"]), "-o", str(out), "--checkpoint", str(zhang_ckpt), "--compare"])
            == 0
        )
        (w, h), _ = _read(out / "colour_compare.png")
        assert h == colorize.COMPARE_HEIGHT and w == 3 * round(160 * colorize.COMPARE_HEIGHT / 120)
        panel = np.asarray(Image.open(out / "colour_compare.png"), dtype=np.int16)
        third = w // 3
        mid = panel[:, third + 2:2 * third - 2]
        assert np.abs(mid[..., 0] - mid[..., 1]).max() <= 1  # the middle panel is the grayscale the model saw

    def test_output_never_replaces_an_input(self, tmp_path, zhang_ckpt, capsys):
        Image.fromarray(_photo(20, 20)).save(tmp_path / "p.png")
        rc = main(["colorize", str(tmp_path), "-o", str(tmp_path), "--checkpoint", str(zhang_ckpt), "--force"])
        assert rc == 2 and "would overwrite an input" in capsys.readouterr().err

    def test_clashing_names_keep_their_endings(self, tmp_path):
        for name in ("a.jpg", "a.png"):
            Image.fromarray(_photo(20, 20)).save(tmp_path / name)
        job = colorize.plan([tmp_path], tmp_path / "out")
        assert sorted(d.name for _, d in job.pairs) == ["a.jpg.png", "a.png.png"]

    def test_globs_and_missing_inputs(self, mixed, tmp_path):
        job = colorize.plan([str(mixed["colour.jpg"].parent / "*.png")], tmp_path / "o")
        assert {s.name for s, _ in job.pairs} == {"deep16.png", "rgba.png", "pixel.png"}
        with pytest.raises(UsageError, match="no file matches"):
            colorize.plan([str(tmp_path / "*.tif")], tmp_path / "o")
        with pytest.raises(UsageError, match="does not exist"):
            colorize.plan([tmp_path / "nope.jpg"], tmp_path / "o")

    def test_newest_checkpoint_by_method_and_variant(self, tmp_path, capsys):
        d = tmp_path / "results" / "quick" / "checkpoints" / "zhang"
        d.mkdir(parents=True)
        for i, steps in enumerate((5, 7)):
            p = d / f"class-{steps}steps-abc{i}.pt"
            checkpoint.save(p, build("zhang", "class", width=0.125), step=steps, run={"steps": steps})
            os.utime(p, (time.time() + i, time.time() + i))
        model = colorize.load_model("zhang/class", results=tmp_path / "results")
        assert model.record["steps"] == 7 and model.size == colorize.DEFAULT_SIZE
        with pytest.raises(UsageError, match="no checkpoint 'zhang/full'.*there: zhang/class"):
            colorize.load_model("zhang/full", results=tmp_path / "results")


class TestRefusedBeforeWork:
    """Each of these ends with exit 2 and one line naming the problem, before any photo is read."""

    @pytest.fixture(autouse=True)
    def no_photo_read(self, monkeypatch):
        def refuse(path):
            raise AssertionError(f"a photo was read before the request was checked: {path}")
        monkeypatch.setattr("colorlab.data.decode.load_image", refuse)

    def _refused(self, argv, capsys, *needles):
        rc = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2, err
        assert len(err) == 1 and all(n in err[0] for n in needles), err

    @pytest.mark.parametrize("kind", ["foreign", "corrupt", "empty", "unknown_method", "newer"])
    def test_bad_checkpoint(self, kind, mixed, tmp_path, zhang_ckpt, capsys):
        path = tmp_path / f"{kind}.pt"
        if kind == "foreign":
            torch.save({"weights": torch.zeros(2)}, path)
            needle = "not a colorlab checkpoint"
        elif kind == "corrupt":
            path.write_bytes(zhang_ckpt.read_bytes()[:5000])
            needle = "not a readable checkpoint"
        elif kind == "empty":
            path.write_bytes(b"")
            needle = "not a readable checkpoint"
        else:
            state = torch.load(zhang_ckpt, weights_only=True)
            if kind == "unknown_method":
                state["method"], needle = "hypercolumns9000", "unknown method 'hypercolumns9000'"
            else:
                state["version"], needle = checkpoint.VERSION + 1, "newer than this colorlab reads"
            torch.save(state, path)
        self._refused(["colorize", str(mixed["colour.jpg"]), "-o", str(tmp_path / "o"), "--checkpoint", str(path)],
                      capsys, str(path), needle)

    def test_missing_checkpoint(self, mixed, tmp_path, capsys):
        self._refused(["colorize", str(mixed["colour.jpg"]), "-o", str(tmp_path / "o"), "--checkpoint",
                       str(tmp_path / "none.pt")], capsys, "none.pt", "no checkpoint")

    def test_output_folder_is_a_file(self, mixed, tmp_path, zhang_ckpt, capsys):
        (tmp_path / "f").write_text("x")
        self._refused(
            ["colorize", str(mixed["colour.jpg"]), "-o", str(tmp_path / "f"), "--checkpoint", str(zhang_ckpt)],
            capsys,
            "is a file, not a folder",
        )
        self._refused(["colorize", str(mixed["colour.jpg"]), "-o", str(tmp_path / "f" / "sub"), "--checkpoint",
                       str(zhang_ckpt)], capsys, "not writable", "is not a writable folder")

    def test_output_folder_not_writable(self, mixed, tmp_path, zhang_ckpt, capsys, monkeypatch):
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: the permission check is what is tested
            real = os.access
            monkeypatch.setattr(colorize.job.os, "access", lambda p, mode: False if Path(p) == ro else real(p, mode))
        try:
            self._refused(
                ["colorize", str(mixed["colour.jpg"]), "-o", str(ro / "sub"), "--checkpoint", str(zhang_ckpt)],
                capsys,
                "not writable",
            )
        finally:
            ro.chmod(0o755)

    def test_unknown_decoding(self, mixed, tmp_path, zhang_ckpt, capsys):
        self._refused(["colorize", str(mixed["colour.jpg"]), "-o", str(tmp_path / "o"), "--checkpoint", str(zhang_ckpt),
                       "--decode", "rainbow"], capsys, "unknown decoding 'rainbow'", "annealed, mode, mean")

    def test_missing_arguments_and_bad_numbers(self, mixed, tmp_path, zhang_ckpt, capsys):
        photo = str(mixed["colour.jpg"])
        self._refused(["colorize", photo, "--checkpoint", str(zhang_ckpt)], capsys, "-o OUTDIR")
        self._refused(["colorize", photo, "-o", str(tmp_path)], capsys, "--checkpoint")
        self._refused(["colorize", photo, "-o", str(tmp_path), "--checkpoint", str(zhang_ckpt), "--batch", "0"],
                      capsys, "--batch")
        self._refused(["colorize", photo, "-o", str(tmp_path), "--checkpoint", str(zhang_ckpt), "--size", "0"],
                      capsys, "--size")
        self._refused(["colorize", photo, "-o", str(tmp_path), "--checkpoint", str(zhang_ckpt), "--weights", "x.pth"],
                      capsys, "--weights is for a released model")


# ------------------------------------------------------------------ specs a notebook or a run checks


class TestSpecs:
    def test_model_specs(self, tmp_path, zhang_ckpt, monkeypatch):
        assert colorize.check_spec("zhang2017-released") == "zhang2017-released"
        assert colorize.check_spec("pix2pix/gan") == "pix2pix/gan"  # may be trained later in the same run
        with pytest.raises(UsageError, match="zhang has no variant 'fancy'; known: full, class, l2"):
            colorize.check_spec("zhang/fancy")
        monkeypatch.chdir(zhang_ckpt.parent)
        assert colorize.check_spec(zhang_ckpt.name) == str(zhang_ckpt.resolve())
        with pytest.raises(UsageError, match="no checkpoint .*nope.pt.*zhang2016-released"):
            colorize.check_spec("nope.pt", cwd=tmp_path)

    def test_photo_specs(self, mixed, tmp_path, monkeypatch):
        names = sorted(Path(p).stem for p in colorize.photo_inputs("historical"))
        assert names == ["camera", "clock_motion", "coins", "moon", "page", "text"]
        assert len(colorize.plan(colorize.photo_inputs("samples"), tmp_path / "o").pairs) == 8
        folder = mixed["colour.jpg"].parent
        monkeypatch.chdir(folder.parent)
        assert colorize.check_photos(f"folder:{folder.name}") == f"folder:{folder}"
        assert colorize.check_photos(f"{folder.name}/*.png") == f"{folder}/*.png"
        with pytest.raises(UsageError, match="no file matches"):
            colorize.check_photos(f"{folder.name}/*.tif")
        with pytest.raises(UsageError, match="photos must be"):
            colorize.check_photos("")

    def test_a_named_profile_else_the_longest_trained(self, tmp_path):
        paths = {}
        for i, profile in enumerate(("quick", "smoke")):  # smoke's is the newer one
            d = tmp_path / profile / "checkpoints" / "zhang"
            d.mkdir(parents=True)
            paths[profile] = d / "class-3steps-abc.pt"
            checkpoint.save(paths[profile], build("zhang", "class", width=0.125), step=3, run={"steps": 3})
            os.utime(paths[profile], (time.time() + i, time.time() + i))
        assert colorize.find_checkpoint("zhang/class", tmp_path) == paths["quick"]  # trained beats newer smoke
        assert colorize.find_checkpoint("zhang/class", tmp_path, profile="smoke") == paths["smoke"]
        with pytest.raises(UsageError, match="in .*/full/checkpoints/ .*--profile full"):
            colorize.find_checkpoint("zhang/class", tmp_path, profile="full")

    def test_describe_says_where_the_model_came_from(self, tmp_path):
        path = tmp_path / "half.pt"
        checkpoint.save(path, build("zhang", "class", width=0.125), step=3, run={"steps": 10},
                        data={"spec": "folder:/photos", "image_size": 64})
        text = colorize.describe(colorize.load_model(str(path)))
        assert text.startswith("zhang/class: ") and "3 steps (UNFINISHED: 10 planned) on folder:/photos" in text
        assert text.endswith("working size 64")


# ------------------------------------------------------------------------------------ --speed


class TestSpeed:
    def test_measure_here_and_isolated(self, zhang_ckpt):
        here = colorize.speed.measure(str(zhang_ckpt), size=80, repeats=2, isolate=False)
        assert (here["method"], here["working_size"], here["isolated"]) == ("zhang", 48, False)
        assert len(here["seconds"]) == 2 and all(s > 0 for s in here["seconds"])
        alone = colorize.speed.measure(str(zhang_ckpt), size=80, working="input", repeats=1)
        assert (alone["working_size"], alone["isolated"]) == (80, True) and alone["peak_mb"] > 0
        with pytest.raises(UsageError, match="no checkpoint"):  # refused before a process starts
            colorize.speed.measure("nope.pt", size=80)

    def test_command_writes_the_table_and_refuses_what_it_cannot_do(self, zhang_ckpt, tmp_path, capsys, mixed):
        out = tmp_path / "speed"
        args = ["colorize", "--speed", "--checkpoint", str(zhang_ckpt), "--checkpoint", "zhang/class", "-o", str(out),
                "--speed-sizes", "40", "--repeats", "1", "--results", str(tmp_path / "none")]
        assert main(args) == 2 and "no checkpoint 'zhang/class'" in capsys.readouterr().err  # checked before any
        assert not out.exists()
        assert main(args[:4] + args[6:]) == 0
        table = pd.read_csv(out / "speed.csv")
        assert table[["input_size", "working_size"]].values.tolist() == [[40, 40], [40, 40]]
        assert (out / "environment.json").is_file()
        assert main(args[:4] + args[6:]) == 2 and "exists" in capsys.readouterr().err
        assert main(["colorize", str(mixed["colour.jpg"]), "--speed", "--checkpoint", str(zhang_ckpt), "-o",
                     str(out)]) == 2
        assert main(["colorize", str(mixed["colour.jpg"]), "--checkpoint", str(zhang_ckpt), "--checkpoint",
                     str(zhang_ckpt), "-o", str(out)]) == 2
        assert "several only with --speed" in capsys.readouterr().err


# ------------------------------------------------------------------- what a second read found


def _save_photos(folder: Path, *names: str, size=(20, 30)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(_photo(*size, seed=i)).save(folder / name)


class TestNothingLost:
    def test_a_comparison_image_never_takes_another_photos_name(self, tmp_path):
        _save_photos(tmp_path / "in", "a.jpg", "a_compare.jpg")
        colorize.plan([tmp_path / "in"], tmp_path / "out")  # without --compare the names are distinct
        with pytest.raises(UsageError, match="would both be written to .*a_compare.png"):
            colorize.plan([tmp_path / "in"], tmp_path / "out", compare=True)

    def test_names_that_differ_in_case_only_are_refused(self, tmp_path):
        _save_photos(tmp_path / "in", "Photo.jpg")
        _save_photos(tmp_path / "in2", "photo.png")
        with pytest.raises(UsageError, match="would both be written to"):
            colorize.plan([tmp_path / "in" / "Photo.jpg", tmp_path / "in2" / "photo.png"], tmp_path / "out")

    def test_an_output_folder_inside_the_input_folder_is_not_read_back(self, tmp_path, zhang_ckpt, capsys):
        _save_photos(tmp_path / "nest", "a.jpg")
        args = ["colorize", str(tmp_path / "nest"), "-o", str(tmp_path / "nest" / "colorized"), "--checkpoint",
                str(zhang_ckpt)]
        assert main(args) == 0
        _save_photos(tmp_path / "nest", "b.jpg")
        capsys.readouterr()
        assert main(args) == 0  # a.jpg kept as it was, b.jpg colourised, nothing read from colorized/
        err = capsys.readouterr().err
        assert "1 written, 0 failed, 1 kept" in err and "a.jpg: skipped" in err
        assert sorted(p.name for p in (tmp_path / "nest" / "colorized").glob("*.png")) == ["a.png", "b.png"]

    def test_a_folder_gives_photos_only(self, tmp_path):
        _save_photos(tmp_path / "in", "a.jpg")
        for junk in ("notes.pdf", "clip.mpg", "figure.eps", "data.h5"):
            (tmp_path / "in" / junk).write_bytes(b"not a photo")
        assert [s.name for s, _ in colorize.plan([tmp_path / "in"], tmp_path / "out").pairs] == ["a.jpg"]

    def test_failures_reach_say_and_a_failed_write_leaves_nothing(self, tmp_path, zhang_ckpt, monkeypatch):
        _save_photos(tmp_path / "in", "a.jpg", "b.jpg")
        (tmp_path / "in" / "c.jpg").write_bytes(b"")
        model = colorize.load_model(str(zhang_ckpt))
        said = []
        real = colorize.job.comparison

        def broken(original, seen, result, *a, **k):
            if original.shape[-1] == 30 and not said:  # the first comparison image cannot be written
                raise OSError("disk full")
            return real(original, seen, result, *a, **k)

        monkeypatch.setattr(colorize.job, "comparison", broken)
        job = colorize.plan([tmp_path / "in"], tmp_path / "out", compare=True)
        out = colorize.run(model, job, compare=True, say=said.append, progress_bar=False)
        assert [p.name for p, _ in out.failed] == ["a.jpg", "c.jpg"] and [p.name for p in out.written] == ["b.png"]
        assert "a.jpg: not written (cannot write" in said[0] and "disk full" in said[0]
        assert "c.jpg: unreadable (empty file (0 bytes))" in said[1]
        assert not (tmp_path / "out" / "a.png").exists()  # a rerun colourises it again
        assert len(colorize.plan([tmp_path / "in"], tmp_path / "out", compare=True).pairs) == 2

    def test_a_batch_that_fails_is_retried_one_photo_at_a_time(self, tmp_path, zhang_ckpt, monkeypatch):
        _save_photos(tmp_path / "in", "a.jpg", "b.jpg", "c.jpg")
        model = colorize.load_model(str(zhang_ckpt))
        real = type(model.method).colorize

        def small_memory(self, batch, decode=None, **kw):
            if batch.shape[0] > 1:
                raise RuntimeError("CUDA out of memory (made up)")
            return real(self, batch, decode, **kw)

        monkeypatch.setattr(type(model.method), "colorize", small_memory)
        out = colorize.run(model, colorize.plan([tmp_path / "in"], tmp_path / "out"), batch=3, progress_bar=False)
        assert len(out.written) == 3 and not out.failed

    def test_an_interrupted_run_is_recorded(self, tmp_path, zhang_ckpt, monkeypatch):
        _save_photos(tmp_path / "in", "a.jpg", "b.jpg")
        model = colorize.load_model(str(zhang_ckpt))
        real, calls = colorize.job.colorize_images, []

        def then_ctrl_c(*a, **k):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real(*a, **k)

        monkeypatch.setattr(colorize.job, "colorize_images", then_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            colorize.run(model, colorize.plan([tmp_path / "in"], tmp_path / "out"), progress_bar=False)
        (manifest,) = (tmp_path / "out").glob("colorize-*.json")
        rec = json.loads(manifest.read_text())
        assert rec["interrupted"] is True and rec["written"] == 1

    def test_the_comparison_shows_what_the_model_saw(self, tmp_path, zhang_ckpt):
        red = np.zeros((40, 40, 3), np.uint8)
        red[..., 0] = 200
        (tmp_path / "in").mkdir()
        Image.fromarray(red).save(tmp_path / "in" / "red.png")
        for keep in (False, True):
            out = tmp_path / f"out{keep}"
            argv = ["colorize", str(tmp_path / "in"), "-o", str(out), "--checkpoint", str(zhang_ckpt), "--compare"]
            assert main(argv + (["--keep-original-luminance"] if keep else [])) == 0
            panel = np.asarray(Image.open(out / "red_compare.png"), dtype=np.int16)
            third = panel.shape[1] // 3
            mid = panel[:, third + 2:2 * third - 2]
            assert np.abs(mid[..., 0] - mid[..., 1]).max() <= 1 and np.abs(mid[..., 1] - mid[..., 2]).max() <= 1
            # 601 luma of (200, 0, 0) is 60 levels; the gray of its Lab L (41.7) is 98, not the red photo
            assert abs(float(mid.mean()) - (98 if keep else 60)) < 2, float(mid.mean())

    def test_speed_refuses_a_file_as_its_folder_and_keeps_what_it_measured(self, tmp_path, zhang_ckpt, capsys,
                                                                           monkeypatch):
        (tmp_path / "afile").write_text("x")
        argv = ["colorize", "--speed", "--checkpoint", str(zhang_ckpt), "--speed-sizes", "32", "64", "--repeats", "1"]
        assert main([*argv, "-o", str(tmp_path / "afile")]) == 2
        assert "is a file, not a folder" in capsys.readouterr().err
        real = colorize.speed.measure

        def dies_at_64(spec, *, size, **kw):
            if size == 64:
                raise RuntimeError("measuring it at 64² failed (exit -9): killed")
            return real(spec, size=size, **{**kw, "isolate": False})

        monkeypatch.setattr(colorize.speed, "measure", dies_at_64)
        assert main([*argv, "-o", str(tmp_path / "s")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert "killed; 2 measurement(s) kept" in err[-1]
        assert pd.read_csv(tmp_path / "s" / "speed.csv")["input_size"].tolist() == [32, 32]
