"""The bundled ``photos``: every file accounted for in SOURCES.csv, from the named Debian packages."""

import csv

import pytest
from PIL import Image

from colorlab.data import sources
from colorlab.data.sources import PHOTO_SUFFIXES, PHOTOS_DIR, check_spec, embedded_files, load_images

#: The only packages the photos may come from (issue 31), all DFSG-free.
PACKAGES = {"opencv-doc", "lomiri-wallpapers-16.04", "ukui-wallpapers", "gnome-backgrounds"}
COLUMNS = ["file", "package", "version", "original_path", "author", "licence"]
LONG_SIDE = 512


def _rows():
    with open(PHOTOS_DIR / "SOURCES.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_every_file_has_one_source_row_and_every_row_a_file():
    files = sorted(p.name for p in PHOTOS_DIR.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    listed = [r["file"] for r in _rows()]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert sorted(listed) == files
    assert len(files) >= 30


def test_rows_name_a_named_package_its_version_path_author_and_licence():
    for r in _rows():
        assert r["package"] in PACKAGES, r
        assert all(r[c].strip() for c in COLUMNS), f"empty field in {r}"
        assert r["original_path"].startswith("/usr/share/"), r
        assert (PHOTOS_DIR / "copyright" / f"{r['package']}.copyright").is_file(), r["package"]


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["file"])
def test_photo_is_small_colour_and_without_metadata(row):
    with Image.open(PHOTOS_DIR / row["file"]) as im:
        assert im.mode == "RGB" and max(im.size) <= LONG_SIDE, (im.mode, im.size)
        assert not im.getexif(), "EXIF left in"


def test_photos_is_samples_and_the_bundled_files_as_one_folded_set():
    samples, photos = embedded_files("samples"), embedded_files("photos")
    assert list(photos)[: len(samples)] == list(samples)
    assert len(photos) == len(samples) + len(_rows())
    assert check_spec(" Photos ") == "photos" and "photos" in sources.FOLDED
    held_out = [list(load_images("photos", "test", fold=(i, 4), image_size=32).names) for i in range(4)]
    assert sorted(sum(held_out, [])) == sorted(photos)  # every photo held out once, whole
    train = load_images("photos", "train", fold=(0, 4), image_size=32)
    assert not set(train.names) & set(held_out[0]) and train.split_rule == "folds"


def test_a_missing_photos_folder_says_where_it_comes_from(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "PHOTOS_DIR", tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="comes with a clone of the repository"):
        check_spec("photos")
