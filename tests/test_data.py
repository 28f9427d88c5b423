import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import data as D
from colorlab.data import sources


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder of real files in awkward formats: 10 readable images, 2 unreadable, 1 non-image."""
    d = tmp_path_factory.mktemp("images")
    (d / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(_rgb(40, 48, 1)).save(d / "a.jpg", quality=95)
    Image.fromarray(_rgb(36, 44, 2)).save(d / "sub" / "deeper" / "b.png")
    Image.fromarray(_rgb(30, 30, 3)[..., 0]).save(d / "sub" / "gray.png")
    rgba = np.zeros((32, 40, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[:, 20:, 3] = 255  # left half transparent, right half opaque
    Image.fromarray(rgba, "RGBA").save(d / "rgba.png")
    pal = Image.new("P", (34, 34), 1)
    pal.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    pal.save(d / "palette.png")
    palt = Image.new("P", (34, 34), 0)
    palt.putpalette([5, 6, 7, 200, 10, 20] + [0] * 762)
    palt.save(d / "palette_transparent.png", transparency=0)
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(d / "cmyk.jpg", quality=95)
    Image.new("RGB", (1, 1), (9, 99, 199)).save(d / "tiny.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(_rgb(32, 48, 4)).save(d / "exif.jpg", exif=exif)
    Image.fromarray(np.array([[0, 32768, 65535]] * 2, np.uint16)).save(d / "sub" / "deep16.png")
    # unreadable: a truncated JPEG and a text file with an image extension
    Image.fromarray(_rgb(64, 64, 5)).save(d / "whole.jpg")
    (d / "sub" / "truncated.jpg").write_bytes((d / "whole.jpg").read_bytes()[:600])
    (d / "whole.jpg").unlink()
    (d / "fake.png").write_text("not an image")
    (d / "notes.txt").write_text("ignored: not an image extension")
    return d


def test_conversions(files):
    gray = D.load_image(files / "sub" / "gray.png")
    assert gray.dtype == torch.uint8 and gray.shape == (3, 30, 30)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[0], gray[2])
    deep = D.load_image(files / "sub" / "deep16.png")  # scaled, not clipped at 255
    assert deep[:, 0].T.tolist() == [[0] * 3, [128] * 3, [255] * 3]
    rgba = D.load_image(files / "rgba.png")
    assert rgba[:, 0, 0].tolist() == [255, 255, 255] and rgba[:, 0, 30].tolist() == [10, 20, 30]
    assert D.load_image(files / "palette.png")[:, 3, 3].tolist() == [200, 10, 20]
    assert D.load_image(files / "palette_transparent.png")[:, 3, 3].tolist() == [255, 255, 255]
    cmyk = D.load_image(files / "cmyk.jpg")[:, 16, 16].int()
    assert (cmyk - torch.tensor([255, 0, 0])).abs().max() <= 8  # C=0 M=Y=255: red
    assert D.load_image(files / "exif.jpg").shape == (3, 48, 32)  # EXIF rotation applied
    assert D.load_image(files / "tiny.png").shape == (3, 1, 1)


def test_unreadable_files_raise_naming_the_file(files):
    for name in ("sub/truncated.jpg", "fake.png"):
        with pytest.raises(OSError, match=name.split("/")[-1]):
            D.load_image(files / name)


def test_folder_reports_unreadable_grayscale_and_small_files_in_one_warning(files):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        imgs = D.load_images(f"folder:{files}", min_size=8)
    assert len(w) == 1
    message = str(w[0].message)
    assert "2 of 12 files unreadable, skipped (fake.png: " in message and "sub/truncated.jpg" in message
    # a 16-bit and an 8-bit gray PNG, and a palette image that is all transparent (white over white)
    assert "3 grayscale images left out" in message
    assert "(palette_transparent.png, sub/deep16.png, sub/gray.png)" in message
    assert "1 image smaller than the crop, upscaled (tiny.png 1x1)" in message
    p = imgs.problems
    assert p.counts() == {"unreadable": 2, "grayscale": 3, "small": 1}
    assert p.grayscale == ["palette_transparent.png", "sub/deep16.png", "sub/gray.png"]
    assert p.small == [("tiny.png", 1, 1)] and p.as_dict()["unreadable"][0]["file"] == "fake.png"
    assert imgs.in_memory and len(imgs) == 7 and "notes.txt" not in imgs.names
    assert "sub/gray.png" not in imgs.names and "sub/deep16.png" not in imgs.names
    assert "sub/deeper/b.png" in imgs.names and list(imgs.names) == sorted(imgs.names)
    tiny = imgs[imgs.names.index("tiny.png")]  # 1 pixel, upscaled to min_size
    assert tiny.shape == (3, 8, 8) and tiny[:, 4, 4].tolist() == [9, 99, 199]
    assert imgs.data_path == f"folder:{files}"


def test_folder_holdout_is_disjoint_and_deterministic(files):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = D.load_dataset(f"folder:{files}", "train", crop=16)
        test = D.load_dataset(f"folder:{files}", "test", crop=16)
        again = D.load_dataset(f"folder:{files}", "test", crop=16)
    assert train.describe()["split_rule"] == test.describe()["split_rule"] == "holdout"
    tr, te = set(train.images.names), set(test.images.names)
    assert te and tr and not tr & te and len(tr | te) == 7  # 10 readable, 3 of them grayscale
    assert list(again.images.names) == list(test.images.names)
    for ds in (train, test):
        for i in range(len(ds)):
            assert ds[(i, 0) if ds is train else i]["rgb"].shape == (3, 16, 16)


def test_lazy_folder_replaces_failures_warning_once(files, monkeypatch):
    from colorlab.data import folder

    monkeypatch.setattr(folder, "HEADER_LIMIT", 0)  # a folder too large to read every header first
    imgs = D.load_images(f"folder:{files}", cache_limit=0, min_size=4)  # no pre-decoding
    assert not imgs.in_memory and len(imgs) == 12
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = [imgs.fetch(i)[0] for i in range(len(imgs))]
    assert len(w) == 1 and "replaced by the next readable image" in str(w[0].message)
    assert len(imgs.failed) == 2 and not set(got) & imgs.failed
    assert sorted(n for n, _ in imgs.problems.unreadable) == ["fake.png", "sub/truncated.jpg"]


def test_large_folder_is_checked_from_the_headers(files):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imgs = D.load_images(f"folder:{files}", min_size=8, cache_bytes=1)  # too large to decode up front
    # from the headers: the two gray modes (L and I;16); the transparent palette image is a "P" file
    assert not imgs.in_memory and imgs.problems.counts() == {"unreadable": 2, "grayscale": 2, "small": 1}
    assert len(imgs) == 8


def test_folder_above_the_cache_limit_is_still_checked_before_training(files):
    """A real dataset is far above the in-memory limit: its problems must be found all the same."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imgs = D.load_images(f"folder:{files}", image_size=32, min_size=8, cache_limit=3)
    assert not imgs.in_memory and imgs.problems.counts() == {"unreadable": 2, "grayscale": 2, "small": 1}
    assert "sub/gray.png" not in imgs.names and "fake.png" not in imgs.names and len(imgs) == 8


def test_a_folder_of_grayscale_images_is_refused(tmp_path):
    for k in range(3):
        Image.fromarray(_rgb(20, 20, k)[..., 0]).convert("RGB").save(tmp_path / f"{k}.png")  # RGB, but R = G = B
    with (
        pytest.warns(UserWarning, match="3 grayscale images"),
        pytest.raises(ValueError, match="no.*readable colour image"),
    ):
        D.load_images(f"folder:{tmp_path}")


def test_check_spec_is_quick_and_resolves_relative_folders(files, tmp_path, monkeypatch):
    monkeypatch.chdir(files.parent)
    assert D.check_spec(f"folder:{files.name}") == f"folder:{files}"
    assert D.check_spec(f"folder:{files.name}/sub", cwd=files.parent) == f"folder:{files / 'sub'}"
    with pytest.raises(FileNotFoundError, match="no such file"):
        D.check_spec("folder:nope", cwd=tmp_path)
    (tmp_path / "broken.png").write_text("not an image")
    with pytest.raises(ValueError, match="none of the first 1 of its 1 image files opens"):
        D.check_spec(f"folder:{tmp_path}")
    assert D.check_spec("samples") == "samples" and D.check_spec(" Historical ") == "historical"


def test_missing_empty_and_unknown_specs_fail_early(tmp_path):
    with pytest.raises(FileNotFoundError):
        D.load_dataset(f"folder:{tmp_path / 'nope'}")
    with pytest.raises(ValueError, match="no image files"):
        D.load_dataset(f"folder:{tmp_path}")
    with pytest.raises(ValueError, match="no image files"):
        D.check_spec(f"folder:{tmp_path}")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files"):
        D.load_dataset(f"folder:{tmp_path}")
    with pytest.raises(KeyError, match="samples.*folder:PATH.*stl10"):
        D.load_dataset("imagenet")


def test_region_split_never_leaks(tmp_path):
    """One image whose red channel is its column index: train sees only columns < 192 of 256."""
    cols = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (96, 256, 3)).copy()
    cols[..., 1:] = 0
    Image.fromarray(cols).save(tmp_path / "marked.png")
    for image_size in (None, 48):
        train = D.load_dataset(f"folder:{tmp_path}", "train", crop=32, image_size=image_size)
        test = D.load_dataset(f"folder:{tmp_path}", "test", crop=32, image_size=image_size)
        assert train.describe()["split_rule"] == "region"
        red_train = torch.stack([train[(0, s)]["rgb"][0] for s in range(50)]) * 255
        red_test = torch.stack([test[i]["rgb"][0] for i in range(len(test))]) * 255
        assert red_train.max() < 191.5 and red_test.min() > 191.5


def test_samples_offline_and_region_split():
    full = D.load_images("samples")
    assert len(full) >= 7 and {"astronaut", "chelsea", "coffee", "china"} <= set(full.names)
    train, test = D.load_images("samples", "train"), D.load_images("samples", "test")
    for f, a, b in zip(full, train, test, strict=True):
        w = f.shape[-1]
        assert a.shape[-1] == int(w * 0.75) and b.shape[-1] == w - int(w * 0.75)
        assert torch.equal(torch.cat([a, b], -1), f)  # a partition of the columns
    assert test.data_path == "samples (embedded)" and test.split_rule == "region"
    hist = D.load_images("historical")
    assert "camera" in hist.names and all(torch.equal(x[0], x[2]) for x in hist)


@pytest.fixture(scope="module")
def samples():
    return D.load_dataset("samples", "train", crop=32), D.load_dataset("samples", "test", crop=32)


def test_items_shapes_ranges_and_determinism(samples):
    train, test = samples
    a, b, c = train[(3, 7)], train[(3, 7)], train[(3, 8)]
    assert all(torch.equal(a[k], b[k]) for k in ("rgb", "L", "ab")) and a["image"] == 3
    assert not torch.equal(a["rgb"], c["rgb"])
    assert len(test) == test.describe()["n_items"] > len(test.images)
    again = D.load_dataset("samples", "test", crop=32)
    for i in (0, len(test) // 2, len(test) - 1):
        x, y = test[i], again[i]
        assert torch.equal(x["rgb"], y["rgb"]) and x["image"] == y["image"]
        assert x["rgb"].shape == (3, 32, 32) and x["rgb"].dtype == torch.float32
        assert 0 <= x["rgb"].min() and x["rgb"].max() <= 1
        assert x["L"].shape == (1, 32, 32) and 0 <= x["L"].min() and x["L"].max() <= 100
        assert x["ab"].shape == (2, 32, 32)
    yuv = D.ColorDataset(train.images, "train", crop=32, space="yuv")[(0, 1)]
    assert set(yuv) == {"rgb", "Y", "uv", "image"} and yuv["Y"].shape == (1, 32, 32)
    assert set(D.ColorDataset(train.images, "train", crop=32, space="rgb")[0]) == {"rgb", "image"}
    capped = D.ColorDataset(test.images, "test", crop=32, max_tiles=2)
    assert len(capped) == 2 * len(test.images)


def test_step_batch_sampler_resumes_exactly(samples):
    s = D.StepBatchSampler(8, 4, seed=3)
    it = iter(s)
    first = [next(it) for _ in range(10)]
    resumed = iter(D.StepBatchSampler(8, 4, seed=3, start_step=6))
    assert [next(resumed) for _ in range(4)] == first[6:]
    assert sorted(i for b in first[:2] for i, _ in b) == list(range(8))  # an epoch covers all
    assert first != [next(iter(D.StepBatchSampler(8, 4, seed=4))) for _ in range(10)]
    train, test = samples
    it = iter(D.make_loader(train, 4, train=True, seed=1))
    batches = [next(it) for _ in range(3)]
    resumed = next(iter(D.make_loader(train, 4, train=True, seed=1, start_step=2)))
    assert torch.equal(batches[2]["rgb"], resumed["rgb"]) and torch.equal(batches[2]["ab"], resumed["ab"])
    loader = D.make_loader(test, 16, train=False)
    assert len(loader) == -(-len(test) // 16)
    batch = D.to_device(next(iter(loader)), "cpu")
    assert batch["rgb"].shape == (16, 3, 32, 32) and torch.equal(batch["rgb"][1], test[1]["rgb"])


def test_torchvision_offline_fails_fast(tmp_path):
    if sources.reachable("www.cs.toronto.edu", 443):
        pytest.skip("network reachable: a real download would start")
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="folder:PATH"):
        D.load_dataset("CIFAR10", "train", root=tmp_path)
    assert time.perf_counter() - t < 15


def test_torchvision_download_needs_the_probe(tmp_path, monkeypatch):
    """The probe load_images consults is ``sources.reachable``: when it says offline, no
    download is tried and the error points to the offline sources."""
    probed = []
    monkeypatch.setattr(sources, "reachable", lambda host, port: probed.append((host, port)) or False)
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="folder:PATH"):
        D.load_dataset("cifar10", "train", root=tmp_path)
    assert probed == [("www.cs.toronto.edu", 443)] and time.perf_counter() - t < 15
    assert not any(tmp_path.iterdir())  # nothing downloaded


def test_torchvision_cached_copy_is_used_without_network(monkeypatch):
    import torchvision.datasets as tvd

    class Cached(tvd.FakeData):  # stands in for a CIFAR10 already under root
        def __init__(self, root, download=False, train=True):
            assert not download
            super().__init__(size=5 if train else 3, image_size=(3, 24, 20), random_offset=int(train))

    def no_network(host, port):
        raise AssertionError(f"probed {host}:{port} although the dataset is cached")

    monkeypatch.setattr(tvd, "CIFAR10", Cached)
    monkeypatch.setattr(sources, "reachable", no_network)
    train = D.load_dataset("cifar10", "train", crop=32)
    test = D.load_dataset("cifar10", "test", crop=32, max_tiles=2)
    assert train.data_path == "torchvision:cifar10 (cached)" and not train.images.in_memory
    assert len(train) == 5 and len(test) == 6 and train.describe()["split_rule"] == "torchvision"
    assert train[(4, 0)]["rgb"].shape == test[5]["rgb"].shape == (3, 32, 32)  # upscaled to crop
    it = iter(D.make_loader(train, 3, train=True, num_workers=1))
    batches = [next(it) for _ in range(3)]
    resumed = next(iter(D.make_loader(train, 3, train=True, num_workers=0, start_step=2)))
    assert torch.equal(batches[2]["rgb"], resumed["rgb"])


def test_torchvision_data_lands_in_the_checkouts_data_folder(monkeypatch):
    """Not in notebooks/data: the kernels run in notebooks/, the datasets belong to the checkout."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    monkeypatch.chdir(root / "notebooks")
    assert sources.data_root() == root / "data"
    monkeypatch.setenv(sources.DATA_ENV, "/elsewhere/data")
    assert sources.data_root() == Path("/elsewhere/data")


@pytest.mark.parametrize("k", [2, 3, 4, 8])
def test_samples_folds_hold_out_every_whole_photo_exactly_once(k):
    from colorlab.data import load_images

    every = set(load_images("samples").names)
    tests = [load_images("samples", "test", fold=(i, k)) for i in range(k)]
    for i, test in enumerate(tests):
        train = load_images("samples", "train", fold=(i, k))
        assert not set(train.names) & set(test.names) and set(train.names) | set(test.names) == every
        assert test.split_rule == train.split_rule == "folds" and test.fold == (i, k)
        assert test[0].shape == load_images("samples")[list(load_images("samples").names).index(test.names[0])].shape
    assert sorted(n for t in tests for n in t.names) == sorted(every)
    assert max(map(len, tests)) - min(map(len, tests)) <= 1


def test_bad_folds_are_refused():
    from colorlab.data import load_images
    from colorlab.data.images import fold_of

    with pytest.raises(ValueError, match="fold 3 is not one of the 3 folds"):
        load_images("samples", "test", fold=(3, 3))
    with pytest.raises(ValueError, match="at least 9 photos"):
        load_images("samples", "test", fold=(0, 9))
    with pytest.raises(ValueError, match="folds must be an integer >= 2"):
        fold_of(["a", "b"], 1)
    assert fold_of(["b", "a", "c"], 2) == [fold_of(["a", "b", "c"], 2)[i] for i in (1, 0, 2)]  # order-free
    assert load_images("ambiguous", "test", fold=(0, 3)).fold is None  # a fixed test set: no folds


def test_colour_converted_on_the_device_is_the_workers_conversion_to_the_bit():
    """CUDA training batches carry RGB only and are converted where they land (data.complete):
    the same L, ab (and Y, uv) as the items' own conversion, and the same training."""
    import torch

    from colorlab.methods import build
    from colorlab.train import TrainConfig, fit

    for space in ("lab", "yuv"):
        ds = D.load_dataset("samples", "train", crop=32, image_size=64, space=space)
        a = next(iter(D.make_loader(ds, 4, train=True)))
        light = next(iter(D.make_loader(ds, 4, train=True, colour_on_device=True)))
        assert set(light) == {"rgb", "image"} and ds.space == space  # the caller's dataset untouched
        b = D.complete(light, space)
        assert all(torch.equal(a[k], b[k]) for k in a)
    histories = []
    for on_device in (False, True):
        torch.manual_seed(0)
        m = build("yuv_regression", "l2", base=4)
        hist = fit(m, lambda start, o=on_device: D.make_loader(ds, 4, train=True, start_step=start, colour_on_device=o),
                   TrainConfig(steps=3, progress=False, device="cpu"))
        histories.append(hist["loss"].tolist())
    assert histories[0] == histories[1]
