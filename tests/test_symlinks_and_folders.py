"""Issue 33: symbolic links, small and grayscale folders, colorize's record and its progress bar, on real files.

One rule for links, shared by ``folder:`` and ``colorlab colorize`` (``colorlab.data.decode.walk_folder``): followed
inside the given folder only, every real file once under its shortest name, a loop visited once, never a hang. The
new API is imported inside the tests, so each test fails on its own on the code before it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import signal
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from colorlab import colorize
from colorlab import data as D
from colorlab.cli import main
from colorlab.errors import UsageError

#: A walk that takes longer than this hangs (a linear walk of these trees takes milliseconds).
HANG_LIMIT = 20.0
#: Side of the test photos, in pixels.
SIDE = 24
#: Notebook 90, the one that colourises photos and commits its record.
NOTEBOOK_90 = Path(__file__).parents[1] / "notebooks" / "90_colorize_your_photos.ipynb"


class Hang(Exception):  # not an OSError: os.walk and glob swallow those, TimeoutError included)
    """A walk still running after its time."""


@contextlib.contextmanager
def _within(seconds: float = HANG_LIMIT):
    """Fail with :class:`Hang` instead of hanging (SIGALRM interrupts a Python-level walk)."""
    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s: the walk does not end")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _photo(path: Path, seed: int = 0, size: tuple[int, int] = (SIDE, SIDE), mode: str = "RGB") -> Path:
    """A real image file: random colour pixels, or a gray image in ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    img = Image.fromarray(rgb)
    if mode == "I;16":
        img = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    elif mode != "RGB":
        img = img.convert(mode)
    img.save(path)
    return path


def _names(spec: str, split: str | None) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(D.load_images(spec, split).names)


@pytest.fixture
def looped(tmp_path) -> Path:
    """Item 1 and 2's tree: ``d/x.png``, ``d/self -> .``, ``d/sub/up -> ..`` (an exponential number of paths)."""
    d = tmp_path / "d"
    _photo(d / "x.png")
    (d / "self").symlink_to(".")
    (d / "sub").mkdir()
    (d / "sub" / "up").symlink_to("..")
    return d


# ------------------------------------------------------------------------------------------------ item 1


class TestFolderLinks:
    def test_a_link_to_the_folder_itself_gives_each_photo_once(self, tmp_path):
        d = tmp_path / "d"
        originals = [_photo(d / f"{k}.png", seed=k).name for k in range(6)]
        (d / "self").symlink_to(".")
        spec = f"folder:{d}"
        train, test = _names(spec, "train"), _names(spec, "test")
        assert sorted(train + test) == originals  # no self/self/.../x.png beside x.png
        assert train and test and not set(train) & set(test)

    def test_one_photo_and_a_self_link_is_one_photo_split_by_region(self, tmp_path):
        d = tmp_path / "d"
        _photo(d / "coffee.png")
        (d / "self").symlink_to(".")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train, test = D.load_images(f"folder:{d}", "train"), D.load_images(f"folder:{d}", "test")
        assert list(train.names) == list(test.names) == ["coffee.png"]
        assert train.split_rule == test.split_rule == "region"  # not the same photo in both sets, whole

    def test_a_link_leading_out_of_the_folder_is_skipped_and_said(self, tmp_path, capsys):
        d, outside = tmp_path / "d", tmp_path / "outside"
        for k in range(3):
            _photo(d / f"{k}.png", seed=k)
        _photo(outside / "stranger.png", seed=9)
        (d / "out").symlink_to(outside)
        (d / "file.png").symlink_to(outside / "stranger.png")
        with pytest.warns(UserWarning, match="2 symbolic links leading out of the folder skipped"):
            imgs = D.load_images(f"folder:{d}")
        assert list(imgs.names) == ["0.png", "1.png", "2.png"]
        assert D.check_spec(f"folder:{d}") == f"folder:{d}"
        assert "leading out of the folder skipped (file.png -> " in capsys.readouterr().err  # said before the run

    def test_a_file_reached_by_several_links_keeps_its_shortest_name(self, tmp_path):
        d = tmp_path / "d"
        _photo(d / "z" / "deep" / "x.png")
        _photo(d / "y.png", seed=1)
        (d / "a").symlink_to("z/deep")  # a/x.png: fewer folders than z/deep/x.png
        (d / "b").symlink_to("z/deep")  # b/x.png: as short, later in sorted order
        (d / "alias.png").symlink_to("y.png")  # one folder deep either way: the first name sorted
        assert _names(f"folder:{d}", None) == ["a/x.png", "alias.png"]


# ------------------------------------------------------------------------------------------------ item 2


class TestLoops:
    def test_a_loop_does_not_hang_the_check_before_the_run(self, looped):
        start = time.perf_counter()
        with _within():
            assert D.check_spec(f"folder:{looped}") == f"folder:{looped}"
        assert time.perf_counter() - start < HANG_LIMIT

    def test_a_loop_does_not_hang_loading(self, looped):
        _photo(looped / "sub" / "y.png", seed=1)
        with _within():
            names = _names(f"folder:{looped}", None)
        assert names == ["sub/y.png", "x.png"]

    def test_each_real_folder_is_entered_once(self, tmp_path, monkeypatch):
        from colorlab.data import decode

        d = tmp_path / "d"
        folders = [d / f"f{k}" for k in range(6)]
        for k, f in enumerate(folders):
            _photo(f / f"{k}.png", seed=k)
        for f in folders:  # every folder links to every other one: paths without end, 7 real folders
            for g in folders:
                (f / f"to_{g.name}").symlink_to(os.path.relpath(g, f))
        entered = []
        real = os.scandir
        monkeypatch.setattr(decode.os, "scandir", lambda p: entered.append(p) or real(p))
        with _within():
            walk = decode.walk_folder(d)
        assert walk.names == [f"f{k}/{k}.png" for k in range(6)] and len(entered) == len(folders) + 1


# ------------------------------------------------------------------------------------------------ item 3


class TestColorizeLinks:
    def test_a_recursive_glob_over_a_loop_does_not_hang(self, looped, tmp_path, zhang_ckpt, capsys):
        with _within():
            rc = main(["colorize", f"{looped}/**/*.png", "-o", str(tmp_path / "out"), "--checkpoint", str(zhang_ckpt)])
        assert rc == 0 and sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["x.png"]

    def test_folder_and_colorize_follow_one_rule(self, tmp_path, capsys):
        d, outside = tmp_path / "d", tmp_path / "outside"
        _photo(d / "real" / "a.png")
        _photo(outside / "b.png", seed=1)
        (d / "linked").symlink_to("real")  # inside: followed, a.png once
        (d / "out").symlink_to(outside)  # outside: skipped and said
        (d / "self").symlink_to(".")
        as_data = _names(f"folder:{d}", None)
        for inputs in ([d], [f"{d}/**/*.png"]):
            with _within():
                pairs = colorize.plan(inputs, tmp_path / "o").pairs
            assert sorted(src.relative_to(d).as_posix() for src, _ in pairs) == as_data == ["linked/a.png"]
            assert "1 symbolic link leading out of the folder skipped (out -> " in capsys.readouterr().err

    @pytest.mark.parametrize("pattern", ["*.png", "**/*.png", "a/*.png", "a/**/*.jpg", "[ab]/?.png", "**", "*/*",
                                         "a/**", "[!a]*/*.png", "**/b/*", "a/*/z.*"])
    def test_ordinary_globs_match_as_python_s_glob(self, tmp_path, pattern):
        from colorlab.data.decode import glob_files

        for name in ("a/x.png", "a/y.jpg", "a/b/z.png", "a/b/c/w.jpg", "b/1.png", "c.png", "d.PNG", "a/.h.png",
                     ".hidden/h.png", "e/.cache/q.png"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(b"")
        expected = sorted(os.path.normpath(m) for m in glob.glob(f"{tmp_path}/{pattern}", recursive=True)
                          if os.path.isfile(m))
        base, walk = glob_files(f"{tmp_path}/{pattern}")
        assert sorted(os.path.normpath(base / n) for n in walk.names) == expected and expected

    @pytest.mark.parametrize(("pattern", "name", "expected"), [
        ("**/*.png", "a.png", True), ("**/*.png", "a/b/c.png", True), ("**", "a/b", True),
        ("a/**/b", "a/b", True), ("a/**/b", "a/x/y/b", True), ("a/**/b", "a/x/c", False),
        ("*.png", "a/b.png", False), ("?.png", "ab.png", False), ("[a-c]*", "bee", True),
        ("[!a-c]*", "bee", False), ("*.PNG", "x.png", False), ("x/**", "x", False), ("a[", "a[", True),
    ])
    def test_the_pattern_matcher(self, pattern, name, expected):
        from colorlab.data.decode import match_pattern

        assert match_pattern(pattern, name) is expected


# ------------------------------------------------------------------------------------------------ item 7


class TestRefusedFromTheHeaders:
    @pytest.fixture(autouse=True)
    def nothing_decoded(self, monkeypatch):
        def refuse(path):
            raise AssertionError(f"an image was decoded by the check: {path}")
        monkeypatch.setattr("colorlab.data.folder.load_image", refuse)

    def test_a_folder_of_grayscale_images_is_refused_before_work(self, tmp_path):
        for k, mode in enumerate(("L", "LA", "I;16", "1", "I")):
            _photo(tmp_path / f"{k}_{mode.replace(';', '')}.png" if mode != "I" else tmp_path / "4_I.tif", k, mode=mode)
        with pytest.raises(ValueError, match="needs at least two usable colour photos") as e:
            D.check_spec(f"folder:{tmp_path}")
        message = str(e.value)
        assert "\n" not in message and "grayscale: 5 (0_L.png, 1_LA.png, 2_I16.png, and 2 more)" in message

    # -------------------------------------------------------------------------------------------- item 8

    def test_one_tiny_photo_is_refused_naming_it(self, tmp_path):
        _photo(tmp_path / "dot.png", size=(1, 1))
        _photo(tmp_path / "gray.png", mode="L")
        with pytest.raises(ValueError, match="needs at least two usable colour photos") as e:
            D.check_spec(f"folder:{tmp_path}")
        assert "too small: 1 (dot.png 1x1)" in str(e.value) and "grayscale: 1 (gray.png)" in str(e.value)

    def test_two_tiny_photos_or_one_big_one_are_enough(self, tmp_path):
        _photo(tmp_path / "two" / "a.png", size=(1, 1))
        _photo(tmp_path / "two" / "b.png", size=(1, 1))
        _photo(tmp_path / "one" / "big.png")
        for sub in ("two", "one"):
            assert D.check_spec(f"folder:{tmp_path / sub}") == f"folder:{tmp_path / sub}"


def test_one_tiny_photo_is_refused_when_loaded(tmp_path):
    _photo(tmp_path / "dot.png", size=(1, 1))
    with pytest.raises(ValueError, match=r"needs at least two usable colour photos.*too small: 1 \(dot.png 1x1\)"):
        D.load_images(f"folder:{tmp_path}", "train")


# ----------------------------------------------------------------------------------------------- item 17


class TestRecord:
    def test_a_named_record_is_replaced_by_each_run(self, tmp_path, zhang_ckpt):
        _photo(tmp_path / "in" / "a.png")
        model = colorize.load_model(str(zhang_ckpt))
        for _ in range(2):
            job = colorize.plan([tmp_path / "in"], tmp_path / "out", force=True)
            out = colorize.run(model, job, progress_bar=False, record="colorize.json")
        assert out.manifest == tmp_path / "out" / "colorize.json"
        assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["colorize.json"]
        assert json.loads(out.manifest.read_text())["written"] == 1
        with pytest.raises(UsageError, match="plain file name"):
            colorize.run(model, job, progress_bar=False, record="../colorize.json")

    def test_notebook_90_names_its_record_stably(self):
        code = "\n".join(c.source for c in nbformat.read(NOTEBOOK_90, 4).cells if c.cell_type == "code")
        assert 'record="colorize.json"' in code and "done.manifest.name" in code


# ----------------------------------------------------------------------------- tqdm frames in a log (also noticed)


class TestProgressBar:
    @pytest.mark.parametrize("terminal", [False, True])
    def test_a_bar_only_on_a_terminal(self, tmp_path, zhang_ckpt, monkeypatch, terminal):
        class Stream(io.StringIO):
            def isatty(self):
                return terminal

        _photo(tmp_path / "in" / "a.png")
        (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
        model = colorize.load_model(str(zhang_ckpt))
        err = Stream()
        monkeypatch.setattr("sys.stderr", err)
        colorize.run(model, colorize.plan([tmp_path / "in"], tmp_path / "out"))
        assert ("\r" in err.getvalue()) is terminal  # a log gets no frames
        assert "bad.png: unreadable" in err.getvalue()  # the failures, either way
