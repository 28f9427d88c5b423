"""Zhang et al.'s released weights (``richzhang/colorization``, ``colorizers/``): the mapping into
this project's networks, tested with state dicts of the released layouts made from random values
(the layouts written out here from the port's layer lists, independently of the package's networks),
against a functional forward of the port; loading from a file and from the torch hub cache; offline
with neither, a fast clear error; ``colorlab colorize --checkpoint zhang2016-released``."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorlab import checkpoint
from colorlab import released as fetching
from colorlab.cli import main
from colorlab.methods import RELEASED, ReleasedUnavailable, load_released, released_rows
from colorlab.methods.zhang import Zhang
from colorlab.methods.zhang.released import (
    ECCV16_URL,
    SIGGRAPH17_URL,
    build_eccv16,
    build_siggraph17,
)

# ------------------------------------------------------------------ the released layouts, written out

# (block, [(index, in, out, stride, dilation), ...], index of its batch norm or None): the port's nn.Sequential's
_ECCV16 = [
    ("model1", [(0, 1, 64, 1, 1), (2, 64, 64, 2, 1)], 4),
    ("model2", [(0, 64, 128, 1, 1), (2, 128, 128, 2, 1)], 4),
    ("model3", [(0, 128, 256, 1, 1), (2, 256, 256, 1, 1), (4, 256, 256, 2, 1)], 6),
    ("model4", [(0, 256, 512, 1, 1), (2, 512, 512, 1, 1), (4, 512, 512, 1, 1)], 6),
    ("model5", [(0, 512, 512, 1, 2), (2, 512, 512, 1, 2), (4, 512, 512, 1, 2)], 6),
    ("model6", [(0, 512, 512, 1, 2), (2, 512, 512, 1, 2), (4, 512, 512, 1, 2)], 6),
    ("model7", [(0, 512, 512, 1, 1), (2, 512, 512, 1, 1), (4, 512, 512, 1, 1)], 6),
]
_SIGGRAPH17 = [
    ("model1", [(0, 4, 64, 1, 1), (2, 64, 64, 1, 1)], 4),
    ("model2", [(0, 64, 128, 1, 1), (2, 128, 128, 1, 1)], 4),
    ("model3", [(0, 128, 256, 1, 1), (2, 256, 256, 1, 1), (4, 256, 256, 1, 1)], 6),
    ("model4", [(0, 256, 512, 1, 1), (2, 512, 512, 1, 1), (4, 512, 512, 1, 1)], 6),
    ("model5", [(0, 512, 512, 1, 2), (2, 512, 512, 1, 2), (4, 512, 512, 1, 2)], 6),
    ("model6", [(0, 512, 512, 1, 2), (2, 512, 512, 1, 2), (4, 512, 512, 1, 2)], 6),
    ("model7", [(0, 512, 512, 1, 1), (2, 512, 512, 1, 1), (4, 512, 512, 1, 1)], 6),
]
# SIGGRAPH 2017 decoder: (block, upsampling in -> out, shortcut name and its input channels, convs' indices, norm index)
_SIGGRAPH17_UP = [
    ("model8", 512, 256, "model3short8", 256, [1, 3], 5),
    ("model9", 256, 128, "model2short9", 128, [1], 3),
    ("model10", 128, 128, "model1short10", 64, [1], None),
]


def _conv(sd, key, cout, cin, k, g, bias=True):
    sd[f"{key}.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5
    if bias:
        sd[f"{key}.bias"] = torch.randn(cout, generator=g) * 0.05


def _bn(sd, key, ch, g):
    sd[f"{key}.weight"] = 1 + 0.1 * torch.randn(ch, generator=g)
    sd[f"{key}.bias"] = 0.1 * torch.randn(ch, generator=g)
    sd[f"{key}.running_mean"] = 0.1 * torch.randn(ch, generator=g)
    sd[f"{key}.running_var"] = 0.5 + torch.rand(ch, generator=g)
    sd[f"{key}.num_batches_tracked"] = torch.tensor(1000)


def _encoder(sd, layout, g):
    for block, convs, bn in layout:
        for i, cin, cout, _, _ in convs:
            _conv(sd, f"{block}.{i}", cout, cin, 3, g)
        _bn(sd, f"{block}.{bn}", convs[-1][2], g)


def eccv16_released(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of ``colorizers.eccv16``'s layout, random values."""
    g, sd = torch.Generator().manual_seed(seed), {}
    _encoder(sd, _ECCV16, g)
    sd["model8.0.weight"] = torch.randn(512, 256, 4, 4, generator=g) * (2.0 / (512 * 16)) ** 0.5  # ConvTranspose2d
    sd["model8.0.bias"] = torch.randn(256, generator=g) * 0.05
    _conv(sd, "model8.2", 256, 256, 3, g)
    _conv(sd, "model8.4", 256, 256, 3, g)
    _conv(sd, "model8.6", 313, 256, 1, g)
    sd["model_out.weight"] = (torch.rand(2, 313, 1, 1, generator=g) * 2 - 1)  # the bins / 110, bias-free
    return sd


def siggraph17_released(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of ``colorizers.siggraph17``'s layout, random values."""
    g, sd = torch.Generator().manual_seed(seed), {}
    _encoder(sd, _SIGGRAPH17, g)
    for block, cin, cout, short, short_in, convs, bn in _SIGGRAPH17_UP:
        sd[f"{block}up.0.weight"] = torch.randn(cin, cout, 4, 4, generator=g) * (2.0 / (cin * 16)) ** 0.5
        sd[f"{block}up.0.bias"] = torch.randn(cout, generator=g) * 0.05
        _conv(sd, f"{short}.0", cout, short_in, 3, g)
        for i in convs:
            _conv(sd, f"{block}.{i}", cout, cout, 3, g)
        if bn is not None:
            _bn(sd, f"{block}.{bn}", cout, g)
    _conv(sd, "model_class.0", 529, 256, 1, g)
    _conv(sd, "model_out.0", 2, 128, 1, g)
    return sd


# ------------------------------------------------------------ the port's forward, written functionally


def _bn_eval(x, sd, key):
    return F.batch_norm(x, sd[f"{key}.running_mean"], sd[f"{key}.running_var"], sd[f"{key}.weight"],
                        sd[f"{key}.bias"], training=False, eps=1e-5)


def _block(x, sd, block, convs, bn):
    for i, _, _, stride, dil in convs:
        x = F.relu(F.conv2d(x, sd[f"{block}.{i}.weight"], sd[f"{block}.{i}.bias"], stride, dil, dil))
    return _bn_eval(x, sd, f"{block}.{bn}")


def eccv16_port(sd, L):
    """``colorizers.ECCVGenerator.forward``: L in [0, 100] -> ab at full resolution."""
    x = (L - 50) / 100
    for spec in _ECCV16:
        x = _block(x, sd, *spec)
    x = F.relu(F.conv_transpose2d(x, sd["model8.0.weight"], sd["model8.0.bias"], 2, 1))
    x = F.relu(F.conv2d(x, sd["model8.2.weight"], sd["model8.2.bias"], 1, 1))
    x = F.relu(F.conv2d(x, sd["model8.4.weight"], sd["model8.4.bias"], 1, 1))
    logits = F.conv2d(x, sd["model8.6.weight"], sd["model8.6.bias"])
    ab = F.conv2d(F.softmax(logits, dim=1), sd["model_out.weight"])
    return F.interpolate(ab, scale_factor=4, mode="bilinear") * 110


def siggraph17_port(sd, L):
    """``colorizers.SIGGRAPHGenerator.forward`` without hints: L in [0, 100] -> ab at full resolution."""
    x = torch.cat([(L - 50) / 100, torch.zeros_like(L), torch.zeros_like(L), torch.zeros_like(L)], 1)
    feats = {}
    for k, spec in enumerate(_SIGGRAPH17, 1):
        x = _block(x[:, :, ::2, ::2] if 2 <= k <= 4 else x, sd, *spec)
        feats[k] = x
    for (block, _, _, short, _, convs, bn), src in zip(_SIGGRAPH17_UP, (3, 2, 1), strict=True):
        x = F.conv_transpose2d(x, sd[f"{block}up.0.weight"], sd[f"{block}up.0.bias"], 2, 1)
        x = F.relu(x + F.conv2d(feats[src], sd[f"{short}.0.weight"], sd[f"{short}.0.bias"], 1, 1))
        for n, i in enumerate(convs):
            x = F.conv2d(x, sd[f"{block}.{i}.weight"], sd[f"{block}.{i}.bias"], 1, 1)
            x = F.leaky_relu(x, 0.2) if block == "model10" and n == len(convs) - 1 else F.relu(x)
        if bn is not None:
            x = _bn_eval(x, sd, f"{block}.{bn}")
    return torch.tanh(F.conv2d(x, sd["model_out.0.weight"], sd["model_out.0.bias"])) * 110


@pytest.fixture(scope="module")
def eccv16_sd():
    return eccv16_released()


@pytest.fixture(scope="module")
def siggraph17_sd():
    return siggraph17_released()


def _lightness(seed: int = 1, h: int = 32, w: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.rand(1, 1, h // 8, w // 8, generator=g), size=(h, w), mode="bilinear")
    return (smooth * 100).clamp(0, 100)


# ------------------------------------------------------------------------------------ the mapping


class TestMapping:
    def test_registry(self):
        assert set(RELEASED) == {"zhang2016-released", "zhang2017-released"}
        assert RELEASED["zhang2016-released"][1].url == ECCV16_URL
        assert RELEASED["zhang2017-released"][1].url == SIGGRAPH17_URL

    def test_eccv16_bins_are_the_decoding_layer(self, eccv16_sd):
        m = build_eccv16(Zhang, eccv16_sd)
        assert (m.variant, m.args["bins"], m.num_classes) == ("full", "released", 313)
        torch.testing.assert_close(m.bins, eccv16_sd["model_out.weight"][:, :, 0, 0].T * 110)
        assert not m.training

    def test_eccv16_mean_decoding_is_the_ports_forward(self, eccv16_sd):
        m = build_eccv16(Zhang, eccv16_sd)
        L = _lightness()
        with torch.no_grad():
            ours = F.interpolate(m.predict_chroma(L, "mean"), scale_factor=4, mode="bilinear")
            port = eccv16_port(eccv16_sd, L)
        assert float(port.abs().mean()) > 1  # not a trivially zero comparison
        torch.testing.assert_close(ours, port, atol=1e-3, rtol=1e-4)
        with torch.no_grad():  # the other decodings read the same logits and differ from the mean
            annealed, mode, mean = (m.predict_chroma(L, d) for d in ("annealed", "mode", "mean"))
        assert annealed.shape == mode.shape == (1, 2, 8, 12)
        assert float((annealed - mean).abs().max()) > 1e-3

    def test_siggraph17_is_the_ports_forward(self, siggraph17_sd):
        m = build_siggraph17(Zhang, siggraph17_sd)
        assert (m.variant, m.args["arch"], m.decodings) == ("siggraph17", "siggraph17", ("direct",))
        L = _lightness(2)
        with torch.no_grad():
            ours, port = m.predict_chroma(L, "direct"), siggraph17_port(siggraph17_sd, L)
        assert ours.shape == (1, 2, 32, 48) and float(port.abs().mean()) > 1
        torch.testing.assert_close(ours, port, atol=1e-3, rtol=1e-4)

    def test_full_colorize_joins_the_ports_ab_with_the_input_lightness(self, eccv16_sd):
        from colorlab.color import lab_to_rgb

        m = build_eccv16(Zhang, eccv16_sd)
        L = _lightness(3)
        with torch.no_grad():
            rgb = m.colorize({"L": L, "ab": torch.zeros(1, 2, 32, 48)}, "mean")
            expected = lab_to_rgb(L, eccv16_port(eccv16_sd, L)).clamp(0, 1)
        torch.testing.assert_close(rgb, expected, atol=2e-3, rtol=0)

    @pytest.mark.parametrize("damage, needle", [
        ("drop", "missing model3.2.weight"),
        ("extra", "unexpected model9.0.weight"),
        ("shape", "wrong shape: model4.0.weight (512, 128, 3, 3) (expected (512, 256, 3, 3))"),
        ("decoding", "model_out.weight (2, 312, 1, 1)"),
        ("foreign", "missing model_out.weight"),
    ])
    def test_eccv16_layout_problems_are_named(self, eccv16_sd, siggraph17_sd, damage, needle):
        sd = dict(eccv16_sd)
        if damage == "drop":
            del sd["model3.2.weight"]
        elif damage == "extra":
            sd["model9.0.weight"] = torch.zeros(3)
        elif damage == "shape":
            sd["model4.0.weight"] = torch.zeros(512, 128, 3, 3)
        elif damage == "decoding":
            sd["model_out.weight"] = torch.zeros(2, 312, 1, 1)
        else:
            sd = dict(siggraph17_sd)  # the other release given for this one
        with pytest.raises(ValueError) as e:
            build_eccv16(Zhang, sd)
        assert needle in str(e.value), str(e.value)

    def test_siggraph17_given_the_eccv16_file_is_named(self, eccv16_sd):
        with pytest.raises(ValueError, match="missing model8up.0.weight") as e:
            build_siggraph17(Zhang, eccv16_sd)
        assert "unexpected" in str(e.value)

    def test_num_batches_tracked_may_be_absent(self, eccv16_sd):
        sd = {k: v for k, v in eccv16_sd.items() if not k.endswith("num_batches_tracked")}
        build_eccv16(Zhang, sd)

    def test_building_draws_nothing_from_the_callers_generator(self, eccv16_sd):
        torch.manual_seed(7)
        build_eccv16(Zhang, eccv16_sd)
        after = torch.rand(1)
        torch.manual_seed(7)
        assert torch.equal(after, torch.rand(1))


# --------------------------------------------------------------------------------- fetching them


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache, and no network (the released files' host does not answer)."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    monkeypatch.setattr(fetching, "reachable", lambda host, port, *a, **k: False)

    def no_download(*a, **k):
        raise AssertionError("a download was tried")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    yield tmp_path / "hub"
    torch.hub.set_dir(old)


@pytest.fixture(scope="module")
def eccv16_file(tmp_path_factory, eccv16_sd):
    path = tmp_path_factory.mktemp("weights") / "colorization_release_v2-9b330a0b.pth"
    torch.save(eccv16_sd, path)
    return path


class TestFetch:
    def test_offline_without_a_file_is_fast_and_says_how(self, hub):
        t0 = time.perf_counter()
        with pytest.raises(ReleasedUnavailable) as e:
            load_released("zhang2016-released")
        assert time.perf_counter() - t0 < 5
        msg = str(e.value)
        for needle in ("zhang2016-released", ECCV16_URL, str(fetching.cached_file(ECCV16_URL)), "--weights FILE",
                       "not reachable"):
            assert needle in msg, msg

    def test_a_notebook_records_not_run(self, hub, capsys):
        rows, why = released_rows("zhang2017-released")
        assert rows == {} and why.startswith("not run: zhang2017-released") and SIGGRAPH17_URL in why
        assert "not run" in capsys.readouterr().out

    def test_from_a_file(self, hub, eccv16_file, eccv16_sd):
        m = load_released("zhang2016-released", eccv16_file)
        assert m.origin["released"] == "zhang2016-released" and m.origin["url"] == ECCV16_URL
        assert m.origin["weights"].startswith("file:colorization_release_v2-9b330a0b.pth@")
        assert m.provenance() == m.origin
        torch.testing.assert_close(m.net.model8[6].weight, eccv16_sd["model8.6.weight"])

    def test_from_the_hub_cache_without_network(self, hub, eccv16_file):
        target = fetching.cached_file(ECCV16_URL)
        target.parent.mkdir(parents=True)
        target.write_bytes(eccv16_file.read_bytes())
        m = load_released("zhang2016-released")
        assert m.origin["weights"].startswith("torch hub cache:colorization_release_v2-9b330a0b.pth@")

    def test_a_notebook_gets_a_row_when_the_file_is_there(self, hub, eccv16_file):
        rows, origin = released_rows("zhang2016-released", eccv16_file)
        trained = rows["zhang2016-released"]
        assert trained.history.attrs["steps"] == 0 and origin["released"] == "zhang2016-released"
        assert trained.labels()["params"] == 32_235_385  # the port's, less its decoding layer (here the bins): 32.2M

    def test_bad_files_are_named(self, hub, tmp_path, siggraph17_sd):
        with pytest.raises(FileNotFoundError, match="nothing.pth"):
            load_released("zhang2016-released", tmp_path / "nothing.pth")
        (tmp_path / "half.pth").write_bytes(b"PK\x03\x04 truncated")
        with pytest.raises(ValueError, match="half.pth: not a readable weights file"):
            load_released("zhang2016-released", tmp_path / "half.pth")
        torch.save(siggraph17_sd, tmp_path / "other.pth")
        with pytest.raises(ValueError, match="other.pth: zhang2016-released: .*missing model_out.weight"):
            load_released("zhang2016-released", tmp_path / "other.pth")

    def test_unknown_name(self):
        with pytest.raises(KeyError, match="known: zhang2016-released, zhang2017-released"):
            load_released("zhang2099-released")

    def test_a_loaded_release_saves_and_rebuilds_as_a_checkpoint(self, hub, eccv16_file, tmp_path):
        m = load_released("zhang2016-released", eccv16_file)
        checkpoint.save(tmp_path / "r.pt", m, step=0)
        back = checkpoint.rebuild(checkpoint.read(tmp_path / "r.pt"))
        torch.testing.assert_close(back.bins, m.bins)
        L = _lightness(4)
        with torch.no_grad():
            torch.testing.assert_close(back.predict_chroma(L, "annealed"), m.predict_chroma(L, "annealed"))


# ------------------------------------------------------------------------------------ the command


class TestCommand:
    @pytest.fixture
    def photo(self, tmp_path):
        path = tmp_path / "old.jpg"
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (45, 70), dtype=np.uint8)).save(path)
        return path

    def test_offline_released_model_is_refused_before_work(self, hub, photo, tmp_path, capsys):
        t0 = time.perf_counter()
        rc = main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--checkpoint", "zhang2016-released"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and time.perf_counter() - t0 < 10
        assert len(err) == 1 and "zhang2016-released" in err[0] and "--weights FILE" in err[0], err
        assert not (tmp_path / "out").exists()

    def test_with_a_weights_file_it_colourises_like_any_checkpoint(self, hub, photo, eccv16_file, tmp_path):
        out = tmp_path / "out"
        rc = main(["colorize", str(photo), "-o", str(out), "--checkpoint", "zhang2016-released", "--weights",
                   str(eccv16_file), "--size", "32"])
        assert rc == 0
        with Image.open(out / "old.png") as im:
            assert (im.size, im.mode) == ((70, 45), "RGB")

    def test_list_models_names_the_releases(self, capsys, tmp_path):
        assert main(["colorize", "--list-models", "--results", str(tmp_path)]) == 0
        text = capsys.readouterr().out
        assert "zhang2016-released" in text and "zhang2017-released" in text
