"""Pretrained backbones: every way the weights can get there (torchvision's cache, a local file,
random initialisation asked for or fallen back to offline), the record each leaves, and the
errors a bad file gets. No test touches the network: the probe is replaced."""

from __future__ import annotations

import time

import pytest
import torch
import torchvision

from colorlab import backbones, checkpoint, data
from colorlab.backbones import FALLBACK, RANDOM, backbone, cached_file, check_weights, skip_weights
from colorlab.methods import build
from colorlab.train import TrainConfig, fit


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    """An empty torch hub cache, no memory of earlier loads, and no network."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(backbones, "_LOADED", {})
    monkeypatch.setattr(backbones, "_UNAVAILABLE", {})
    monkeypatch.setattr(backbones, "_WARNED", set())
    probes = []
    monkeypatch.setattr(backbones, "reachable", lambda host, port: probes.append(host) or False)
    return probes


def _resnet_file(path, wrap=None, prefix=""):
    torch.manual_seed(7)
    state = torchvision.models.resnet50(weights=None).state_dict()
    state = {prefix + k: v for k, v in state.items()}
    torch.save({wrap: state} if wrap else state, path)
    return state


def test_random_when_asked_probes_nothing(fresh):
    b = backbone("resnet50", "random")
    assert b.weights == RANDOM and not b.semantic and fresh == []


def test_offline_falls_back_fast_says_so_once_and_records_it(fresh, capsys):
    t0 = time.perf_counter()
    a, b = backbone("resnet50"), backbone("resnet50")
    assert time.perf_counter() - t0 < 10
    assert a.weights == b.weights == FALLBACK and not a.semantic
    assert fresh == ["download.pytorch.org"]  # probed once per process
    err = capsys.readouterr().err
    assert err.count("RANDOM INITIALISATION") == 1 and cached_file("resnet50").name in err


def test_the_torch_cache_is_used_without_the_network(fresh):
    path = cached_file("resnet50")
    path.parent.mkdir(parents=True)
    state = _resnet_file(path)
    b = backbone("resnet50", "imagenet")
    assert b.weights == "imagenet" and b.semantic and fresh == []
    assert torch.equal(b.net.conv1.weight, state["conv1.weight"])


def test_a_corrupt_cached_copy_falls_back_with_the_reason(fresh, capsys):
    path = cached_file("resnet50")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    assert backbone("resnet50").weights == FALLBACK
    assert "could not be loaded" in capsys.readouterr().err


@pytest.mark.parametrize("wrap,prefix", [(None, ""), ("state_dict", "module."), ("model", "")])
def test_a_local_file_loads_and_is_recorded(tmp_path, wrap, prefix):
    path = tmp_path / "resnet50-mine.pth"
    state = _resnet_file(path, wrap, prefix)
    b = backbone("resnet50", str(path))
    assert b.weights.startswith("file:resnet50-mine.pth@") and b.semantic
    for k in ("conv1.weight", "layer4.2.bn3.running_var", "fc.bias"):
        assert torch.equal(b.net.state_dict()[k], state[prefix + k]), k


def test_a_file_without_the_classifier_is_enough(tmp_path):
    path = tmp_path / "trunk.pth"
    state = {k: v for k, v in torchvision.models.resnet50(weights=None).state_dict().items() if not k.startswith("fc.")}
    torch.save(state, path)
    assert backbone("resnet50", str(path)).weights.startswith("file:trunk.pth@")


def test_bad_files_name_themselves(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        backbone("resnet50", str(tmp_path / "missing.pth"))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="junk.pth: not a readable weights file"):
        backbone("resnet50", str(junk))
    vgg = tmp_path / "vgg.pth"
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), vgg)
    with pytest.raises(ValueError, match="vgg.pth: not resnet50 weights"):
        backbone("resnet50", str(vgg))
    notdict = tmp_path / "list.pth"
    torch.save([1, 2], notdict)
    with pytest.raises(ValueError, match="not a state_dict"):
        backbone("resnet50", str(notdict))


def test_unknown_backbone_and_bad_weights_value():
    with pytest.raises(KeyError, match="known: resnet50, vgg16, vgg16_bn"):
        backbone("resnet18", "random")
    with pytest.raises(ValueError, match="weights must be"):
        backbone("resnet50", "")


def test_check_weights_resolves_paths_before_work_starts(tmp_path):
    (tmp_path / "w.pth").write_bytes(b"x")
    assert check_weights("imagenet") == "imagenet"
    assert check_weights("w.pth", cwd=tmp_path) == str((tmp_path / "w.pth").resolve())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_weights("nope.pth", cwd=tmp_path)


def test_skip_weights_loads_nothing(monkeypatch):
    monkeypatch.setattr(backbones, "_imagenet_state", lambda name: pytest.fail("loaded weights inside skip_weights"))
    with skip_weights():
        assert backbone("resnet50", "imagenet").weights == "restored"


def test_a_checkpoint_keeps_the_record_and_rebuilds_without_loading(tmp_path, monkeypatch):
    path = tmp_path / "enc.pth"
    _resnet_file(path)
    m = build("unet", "regress", width=0.125, encoder_weights=str(path))
    ts = data.load_dataset("samples", "train", crop=32, image_size=64)
    fit(m, lambda start: data.make_loader(ts, 2, train=True, start_step=start),
        TrainConfig(steps=1, progress=False, device="cpu", checkpoint=str(tmp_path / "m.pt")))
    path.unlink()  # the encoder's file is gone: the checkpoint alone must rebuild the model
    monkeypatch.setattr(backbones, "_imagenet_state", lambda name: pytest.fail("rebuild loaded weights"))
    loaded = checkpoint.load(tmp_path / "m.pt")
    assert loaded.encoder_weights == m.encoder_weights and loaded.encoder_weights.startswith("file:enc.pth@")
    assert torch.equal(loaded.net.encoder.net.conv1.weight, m.net.encoder.net.conv1.weight)


def test_older_and_other_classifier_files_fit(tmp_path):
    """A 2017-style file without batch norm's step counters, and one with a 365-class classifier."""
    state = torchvision.models.resnet50(weights=None).state_dict()
    old = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(old, tmp_path / "old.pth")
    b = backbone("resnet50", str(tmp_path / "old.pth"))
    assert torch.equal(b.net.layer1[0].conv1.weight, old["layer1.0.conv1.weight"])
    places = {**state, "fc.weight": torch.zeros(365, 2048), "fc.bias": torch.zeros(365)}
    torch.save(places, tmp_path / "places.pth")
    assert backbone("resnet50", str(tmp_path / "places.pth")).weights.startswith("file:places.pth@")


def test_a_cached_copy_that_does_not_fit_falls_back(fresh, capsys):
    path = cached_file("resnet50")
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), path)
    assert backbone("resnet50").weights == FALLBACK
    assert "do not fit" in capsys.readouterr().err


def test_the_weights_that_loaded_are_part_of_the_checkpoint_key(tmp_path):
    from colorlab import study

    params = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0], steps=1, batch_size=2, crop=32,
                  image_size=48, max_tiles=1)
    s = study.start("04_key", params, root=tmp_path)
    run = s.datasets("lab")
    _resnet_file(tmp_path / "enc.pth")
    paths = {w: s.checkpoint_path(run, build("unet", "regress", width=0.125, encoder_weights=w), 1, 2)
             for w in ("random", str(tmp_path / "enc.pth"))}
    fallback = build("unet", "regress", width=0.125, encoder_weights="random")
    fallback.net.encoder.weights = FALLBACK
    assert len({*paths.values(), s.checkpoint_path(run, fallback, 1, 2)}) == 3
    with pytest.raises(FileNotFoundError, match="missing.pth"):  # checked when the notebook starts
        study.start("04_key", {**params, "encoder_weights": str(tmp_path / "missing.pth")}, root=tmp_path)
