"""Tests for colorlab.classification: prior, losses, training variants, colourisers, Table 1."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from colorlab import classification as C
from colorlab import data, experiment, paper
from colorlab import quantize as Qz
from colorlab.color import lab_to_rgb, rgb_to_lab
from colorlab.models.zhang import ZhangNet

CROP = 16
WIDTH = 0.125


@pytest.fixture(scope="module")
def bins() -> torch.Tensor:
    return Qz.ab_gamut_bins()


@pytest.fixture(scope="module")
def train_set() -> data.ColorDataset:
    return data.load_dataset("samples", "train", crop=CROP, image_size=48)


def _batch(n: int = 4, seed: int = 0, gray: bool = False) -> dict[str, torch.Tensor]:
    """Smooth random colour images as a Lab batch (gray: the same with ab = 0)."""
    g = torch.Generator().manual_seed(seed)
    rgb = torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=(CROP, CROP), mode="bilinear")
    L, ab = rgb_to_lab(rgb)
    if gray:
        ab = torch.zeros_like(ab)
        rgb = lab_to_rgb(L, ab)
    return {"rgb": rgb, "L": L, "ab": ab}


def _net(bins: torch.Tensor, head: str = "class") -> ZhangNet:
    torch.manual_seed(0)
    return ZhangNet(bins.shape[0], width=WIDTH, head=head)


@pytest.mark.parametrize("head", ["class", "regress"])
def test_loss_finite_and_decreases(bins, head):
    net = _net(bins, head)
    loss_fn = C.zhang_loss(bins) if head == "class" else C.zhang_l2_loss()
    batch = _batch()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    values = []
    for _ in range(15):
        loss = loss_fn(net, batch)["loss"]
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(float(loss.detach()))
    assert sum(values[-3:]) < sum(values[:3])


def test_rebalanced_loss_differs_and_logs_plain_ce(bins):
    net = _net(bins).eval()
    batch = _batch()
    prior = Qz.empirical_prior([batch["ab"]], bins)
    plain = C.zhang_loss(bins)(net, batch)
    rebal = C.zhang_loss(bins, class_weights=Qz.rebalance_weights(prior))(net, batch)
    assert not torch.isclose(plain["loss"], rebal["loss"])
    assert torch.isclose(plain["ce"], rebal["ce"])  # the logged plain CE is the same
    assert torch.isclose(plain["loss"], plain["ce"])


def test_grayscale_images_are_masked(bins):
    colour, gray = _batch(2, seed=1), _batch(2, seed=2, gray=True)
    mixed = {k: torch.cat([colour[k], gray[k]]) for k in colour}
    for head, loss_fn in (("class", C.zhang_loss(bins)), ("regress", C.zhang_l2_loss())):
        net = _net(bins, head).eval()
        out_mixed, out_colour = loss_fn(net, mixed), loss_fn(net, colour)
        assert torch.isclose(out_mixed["loss"], out_colour["loss"], rtol=1e-5)
        assert float(out_mixed["colour_images"]) == 0.5
        only_gray = loss_fn(net, gray)["loss"]
        assert float(only_gray.detach()) == 0.0
        net.zero_grad()
        only_gray.backward()
        assert all(p.grad is None or not p.grad.any() for p in net.parameters())


def test_colourisers_give_rgb_in_range(bins):
    batch = _batch(3)
    net = _net(bins).eval()
    with torch.no_grad():
        for method in Qz.DECODERS:
            rgb = C.classification_colorize(bins, method)(net, batch)
            assert rgb.shape == (3, 3, CROP, CROP) and 0.0 <= float(rgb.min()) and float(rgb.max()) <= 1.0
        rgb = C.regression_colorize(_net(bins, "regress").eval(), batch)
    assert rgb.shape == (3, 3, CROP, CROP) and 0.0 <= float(rgb.min()) and float(rgb.max()) <= 1.0
    with pytest.raises(ValueError, match="method"):
        C.classification_colorize(bins, "median")


def test_colouriser_keeps_luminance(bins):
    batch = _batch(2)
    with torch.no_grad():
        rgb = C.classification_colorize(bins, "mean")(_net(bins).eval(), batch)
    L, _ = rgb_to_lab(rgb)
    # sRGB clipping can move L a little for saturated colours, not on average
    assert float((L - batch["L"]).abs().mean()) < 1.0


def test_prior_sums_to_one_and_is_cached(train_set, bins, tmp_path, monkeypatch):
    p = C.dataset_prior(train_set, bins, cache_dir=tmp_path)
    assert p.shape == (bins.shape[0],) and abs(float(p.sum()) - 1.0) < 1e-5 and float(p.min()) >= 0
    files = list(tmp_path.glob("prior_*.pt"))
    assert [f.name for f in files] == [f"prior_{C.prior_key(train_set, bins)}.pt"]

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of loading the cache")

    monkeypatch.setattr(C, "_compute_prior", boom)
    assert torch.equal(C.dataset_prior(train_set, bins, cache_dir=tmp_path), p)
    monkeypatch.setenv("COLORLAB_RESULTS", str(tmp_path / "res"))
    with pytest.raises(AssertionError, match="recomputed"):  # another folder: no cache there
        C.dataset_prior(train_set, bins, profile="adhoc")


def test_prior_key_depends_on_the_data(train_set, bins):
    other = data.load_dataset("samples", "train", crop=CROP, image_size=64)
    assert C.prior_key(train_set, bins) != C.prior_key(other, bins)
    assert C.prior_key(train_set, bins) != C.prior_key(train_set, bins, sigma=2.0)


def test_prior_refuses_the_test_split(bins):
    test = data.load_dataset("samples", "test", crop=CROP, image_size=48)
    with pytest.raises(ValueError, match="training split"):
        C.dataset_prior(test, bins)


def test_bad_variant_lists_the_valid_ones(train_set, bins):
    with pytest.raises(ValueError, match="'l2', 'class', 'full'"):
        C.zhang_classification(train_set, bins, variant="rebalanced", steps=1, progress=False)
    with pytest.raises(ValueError, match="prior"):
        C.zhang_classification(train_set, bins, variant="full", steps=1, progress=False)


def test_training_variants_record_their_recipe(train_set, bins, tmp_path):
    prior = C.dataset_prior(train_set, bins)
    for variant in C.VARIANTS:
        ckpt = tmp_path / f"{variant}.pt"
        model, hist = C.zhang_classification(
            train_set, bins, variant=variant, prior=prior, width=WIDTH, steps=2, batch_size=2,
            device="cpu", checkpoint=ckpt, progress=False)
        assert len(hist) == 2 and hist["loss"].notna().all()
        assert model.out_channels == (2 if variant == "l2" else bins.shape[0])
        extra = torch.load(ckpt, weights_only=True)["config"]["extra"]
        assert extra["variant"] == variant and extra["batch_size"] == 2
        if variant != "l2":
            assert extra["k"] == Qz.K_PAPER and ("ce" in hist)
        assert (extra.get("prior") is not None) == (variant == "full")


def test_table1_shape():
    rows = [{"method": "reference", "variant": v, "decode": "", "auc": 0.9, "auc_rebal": 0.6,
             "colorfulness": 20.0, "colorfulness_gap": -5.0, "psnr": 22.0}
            for v in ("ground_truth", "gray", "random")]
    rows += [{"method": "zhang", "variant": "l2", "decode": "", "auc": 0.91, "auc_rebal": 0.64,
              "colorfulness": 10.0, "colorfulness_gap": -15.0, "psnr": 23.0}]
    rows += [{"method": "zhang", "variant": v, "decode": d, "auc": 0.9, "auc_rebal": 0.65 if d == "annealed" else 0.1,
              "colorfulness": 30.0, "colorfulness_gap": 5.0, "psnr": 21.0}
             for v in ("class", "full") for d in Qz.DECODERS]
    t = C.table1(pd.DataFrame(rows))
    assert list(t.index) == [r[0] for r in paper.ZHANG_2016_TABLE1]
    assert list(t.columns) == [name for name, _ in C.TABLE1_COLUMNS.values()]
    assert t.loc["Zhang full (class + rebalancing)", "rebalanced AuC %"] == 65.0


def test_temperature_plot():
    sweep = pd.DataFrame({"temperature": list(C.PAPER_TEMPERATURES),
                          "colorfulness": [float(i) for i in range(len(C.PAPER_TEMPERATURES))]})
    fig = C.temperature_plot(sweep, ("colorfulness",), mode={"colorfulness": 9.0}, reference={"colorfulness": 8.0})
    assert len(fig.axes) == 1


def test_uniform_prior_rebalanced_auc_equals_raw(bins):
    gt, pred = _batch(3, seed=3)["rgb"], _batch(3, seed=4)["rgb"]
    uniform = torch.full((bins.shape[0],), 1.0 / bins.shape[0])
    row = experiment.score(gt, pred, prior=uniform, bins=bins)  # equal-size crops, equal weights
    assert row["auc_rebal"] == pytest.approx(row["auc"], abs=1e-6)
    prior = Qz.empirical_prior([rgb_to_lab(gt)[1]], bins)
    value = experiment.score(gt, pred, prior=prior, bins=bins)["auc_rebal"]
    assert 0.0 <= value <= 1.0 and value != pytest.approx(row["auc"], abs=1e-6)
