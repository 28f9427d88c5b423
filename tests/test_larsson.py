"""Larsson et al. 2016 (notebook 07): the binned axes, the one-hot KL, every decoder on hand-built
histograms, the chroma-weighted hue loss, the hypercolumn read sparsely and densely against its
definition, the VGG-16 trunk against torchvision's, the trunk's weights, the rules and the figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import torchvision
from scipy.stats import norm

from colorlab import backbones, checkpoint, claims
from colorlab.methods import build
from colorlab.methods.larsson import CHROMA_MAX, Larsson
from colorlab.methods.larsson import histograms as H
from colorlab.methods.larsson.network import (
    LAYERS,
    Hypercolumn,
    HypercolumnNet,
    VGGTrunk,
    pixel_grid,
    read_at,
    sample_points,
)
from colorlab.papers import larsson as paper

matplotlib.use("Agg")
SMALL = {"width": 1 / 16, "backbone_weights": "random", "samples": 16}


def _hist(*probs: float) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float32).view(1, -1, 1, 1)


# ----------------------------------------------------------------------------------- the bins


def test_gaussian_quantile_edges_hold_equal_mass():
    edges = H.gaussian_quantile_edges(32, 25.0)
    assert edges[0] == -math.inf and edges[-1] == math.inf and len(edges) == 33
    np.testing.assert_allclose(edges[1:-1].numpy(), norm.ppf(np.arange(1, 32) / 32, scale=25.0), rtol=1e-9)
    mass = np.diff(norm.cdf(edges.numpy() / 25.0))
    np.testing.assert_allclose(mass, 1 / 32, rtol=1e-9)  # each bin 1/K of N(0, 25^2)
    assert torch.allclose(edges[1:-1], -edges[1:-1].flip(0))  # symmetric about 0


def test_axis_index_agrees_with_the_edges():
    ax = H.Axis.gaussian(16)
    x = torch.linspace(-150, 150, 3001).view(1, 1, -1, 1)
    expected = np.searchsorted(ax.edges.numpy()[1:-1], x.flatten().numpy(), side="right")
    assert np.array_equal(ax.index(x).flatten().numpy(), expected)
    # each centre is inside its own bin, at the middle quantile
    e = ax.edges
    assert all(e[k] < ax.centres[k] < e[k + 1] for k in range(ax.K))
    assert ax.index(ax.centres.view(1, 1, -1, 1)).flatten().tolist() == list(range(16))


def test_hue_and_chroma_axes_and_polar_coordinates():
    ab = torch.tensor([[30.0, 0.0], [0.0, 30.0], [-30.0, 0.0], [0.0, -30.0], [0.0, 0.0]]).T.reshape(1, 2, 5, 1)
    hue, chroma = H.hue_chroma(ab)
    assert torch.allclose(hue.flatten()[:4], torch.tensor([0.0, math.pi / 2, math.pi, 3 * math.pi / 2]), atol=1e-6)
    assert torch.allclose(chroma.flatten(), torch.tensor([30.0, 30, 30, 30, 0]))
    assert torch.allclose(H.ab_from_hue_chroma(hue, chroma), ab, atol=1e-5)
    assert H.Axis.hue(4).index(hue).flatten().tolist() == [0, 1, 2, 3, 0]
    c = H.Axis.chroma(32)
    assert c.index(torch.tensor([0.0, CHROMA_MAX / 2, 500.0]).view(1, 1, 3, 1)).flatten().tolist() == [0, 16, 31]


def test_every_srgb_colour_is_within_the_chroma_range():
    from colorlab.abgrid.bins import _rgb_cube_faces
    from colorlab.color import rgb_to_lab

    _, ab = rgb_to_lab(_rgb_cube_faces(256))
    assert float(H.hue_chroma(ab)[1].max()) <= CHROMA_MAX


def test_bad_axes_are_refused():
    with pytest.raises(ValueError, match="axis kind"):
        H.Axis("polar", 8)
    with pytest.raises(ValueError, match="K >= 2"):
        H.Axis.gaussian(1)
    with pytest.raises(ValueError, match="median of a circular"):
        H.decode_median(_hist(0.5, 0.5), H.Axis.hue(2))
    with pytest.raises(ValueError, match=r"\(B, K=4, H, W\)"):
        H.decode_mode(_hist(0.5, 0.5), H.Axis.hue(4))


# ---------------------------------------------------------------------------------- the loss


def test_one_hot_kl_is_zero_when_right_and_the_cross_entropy_otherwise():
    logits = torch.randn(3, 8, 4, 5)
    idx = torch.randint(0, 8, (3, 1, 4, 5))
    assert torch.allclose(H.one_hot_kl(logits, idx), F.cross_entropy(logits, idx.squeeze(1), reduction="none"))
    sure = F.one_hot(idx.squeeze(1), 8).permute(0, 3, 1, 2).float() * 60.0
    assert float(H.one_hot_kl(sure, idx).max()) < 1e-6
    # the KL of the one-hot truth y from p, computed from its definition sum y log(y / p)
    p = logits.softmax(1)
    y = F.one_hot(idx.squeeze(1), 8).permute(0, 3, 1, 2).float()
    kl = (torch.where(y > 0, y * (y.clamp_min(1e-12) / p).log(), torch.zeros_like(y))).sum(1)
    assert torch.allclose(H.one_hot_kl(logits, idx), kl, atol=1e-5)


def test_hue_term_is_weighted_by_chroma():
    m = build("larsson", "hue_chroma", **SMALL)
    k = 32
    out = torch.randn(1, 2 * k, 1, 1).expand(1, 2 * k, 1, 3).clone().requires_grad_(True)  # the same logits at each
    ab = torch.tensor([[0.0, 0.0], [20.0, 0.0], [40.0, 0.0]]).T.reshape(1, 2, 1, 3)  # chroma 0, 20, 40 at hue 0
    logs = m.head_loss(out, ab)
    logs["loss"].backward()
    hue_grad = out.grad[0, :k, 0].abs().sum(0)
    assert float(hue_grad[0]) == 0.0 and float(hue_grad[2] / hue_grad[1]) == pytest.approx(2.0, rel=1e-4)
    kl_h = H.one_hot_kl(out[:, :k].detach(), torch.zeros(1, 1, 1, 3, dtype=torch.long))
    kl_c = H.one_hot_kl(out[:, k:].detach(), H.Axis.chroma().index(torch.tensor([0.0, 20, 40]).view(1, 1, 1, 3)))
    w = torch.tensor([0.0, 20, 40]) / CHROMA_MAX
    assert torch.isclose(logs["loss"], (kl_c + 5.0 * w * kl_h).mean(), atol=1e-5)


@pytest.mark.parametrize("variant", ["lab", "lab_joint"])
def test_lab_heads_target_their_bins(variant):
    m = build("larsson", variant, **SMALL)
    ab = torch.tensor([[-70.0, 3.0], [12.0, -40.0]]).T.reshape(1, 2, 1, 2)
    ax = m.lab_axis
    if variant == "lab":
        ia, ib = ax.index(ab[:, :1]).flatten(), ax.index(ab[:, 1:]).flatten()
        out = torch.full((1, 64, 1, 2), -40.0)
        for j in range(2):
            out[0, ia[j], 0, j] = out[0, 32 + ib[j], 0, j] = 40.0
    else:
        cell = H.joint_index(ab, ax).flatten()
        assert ax.K == 16 and cell.tolist() == [int(ax.index(ab[:, :1]).flatten()[j]) * 16
                                                + int(ax.index(ab[:, 1:]).flatten()[j]) for j in range(2)]
        out = torch.full((1, 256, 1, 2), -40.0)
        out[0, cell, 0, torch.arange(2)] = 40.0
    assert float(m.head_loss(out, ab)["loss"]) < 1e-6


# ------------------------------------------------------------------------------- the decoders


def test_median_of_two_bins_interpolates_inside_the_crossing_bin():
    ax = H.Axis("linear", 2, scale=1.0)
    assert H.decode_median(_hist(0.5, 0.5), ax).item() == pytest.approx(0.5)
    assert H.decode_median(_hist(0.25, 0.75), ax).item() == pytest.approx(0.5 + 0.5 * 0.25 / 0.75)
    assert H.decode_median(_hist(0.9, 0.1), ax).item() == pytest.approx(0.5 * 0.5 / 0.9)
    assert H.decode_median(_hist(0.0, 1.0), ax).item() == pytest.approx(0.75)  # the middle of the only bin


def test_median_on_gaussian_bins_is_finite_and_in_the_unit_coordinate():
    ax = H.Axis.gaussian(4)
    p = _hist(0.0, 0.0, 0.0, 1.0)  # all mass in the unbounded top bin
    v = H.decode_median(p, ax).item()
    assert math.isfinite(v) and v == pytest.approx(25.0 * norm.ppf(0.875))
    assert H.decode_median(_hist(0.25, 0.25, 0.25, 0.25), ax).item() == pytest.approx(0.0, abs=1e-4)


def test_mode_expectation_and_sample():
    ax = H.Axis.gaussian(4)
    c = ax.centres
    p = _hist(0.1, 0.6, 0.2, 0.1)
    assert H.decode_mode(p, ax).item() == pytest.approx(float(c[1]))
    assert H.decode_expectation(p, ax).item() == pytest.approx(
        float((torch.tensor([0.1, 0.6, 0.2, 0.1]) * c).sum()), rel=1e-5
    )
    many = p.expand(1, 4, 100, 100).contiguous()
    draws = H.decode_sample(many, ax, torch.Generator().manual_seed(0)).flatten()
    share = torch.stack([(draws == c[k]).float().mean() for k in range(4)])
    assert torch.allclose(share, torch.tensor([0.1, 0.6, 0.2, 0.1]), atol=0.02)
    again = H.decode_sample(many, ax, torch.Generator().manual_seed(0)).flatten()
    assert torch.equal(draws, again)


def test_hue_expectation_across_the_wrap_and_its_certainty():
    ax = H.Axis.hue(32)
    p = torch.zeros(1, 32, 1, 1)
    p[0, 0] = p[0, 31] = 0.5  # just above 0 and just below 2 pi
    hue, r = H.hue_expectation(p, ax)
    assert min(hue.item(), 2 * math.pi - hue.item()) < 1e-5  # the wrap, not pi
    assert r.item() == pytest.approx(math.cos(math.pi / 32), rel=1e-5)
    uniform = torch.full((1, 32, 1, 1), 1 / 32)
    assert H.hue_expectation(uniform, ax)[1].item() < 1e-6  # spread evenly: no hue at all
    one = torch.zeros(1, 32, 1, 1)
    one[0, 8] = 1.0
    h, r = H.hue_expectation(one, ax)
    assert h.item() == pytest.approx(float(ax.centres[8])) and r.item() == pytest.approx(1.0)


def test_chromatic_fading():
    chroma = torch.full((4,), 40.0)
    certainty = torch.tensor([0.0, 0.015, 0.03, 0.9])
    assert H.chromatic_fading(chroma, certainty).tolist() == pytest.approx([0.0, 20.0, 40.0, 40.0])
    assert H.chromatic_fading(chroma, certainty, eta=0.3).tolist() == pytest.approx([0.0, 2.0, 4.0, 40.0])
    with pytest.raises(ValueError, match="eta"):
        H.chromatic_fading(chroma, certainty, eta=0.0)


def test_each_head_decodes_a_known_histogram():
    """The method's decodings on outputs whose histograms are set by hand."""
    for variant, expected in (("lab", {"mode": (41.898, -41.898)}), ("hue_chroma", {})):
        m = build("larsson", variant, **SMALL).eval()
        k = 32
        out = torch.full((1, 2 * k, 32, 32), -30.0)
        if variant == "lab":
            out[:, 30], out[:, k + 1] = 30.0, 30.0  # a in bin 30 (41.9), b in bin 1 (-41.9)
        else:
            out[:, 8], out[:, k + 10] = 30.0, 30.0  # hue bin 8 (centre 8.5 / 32 of the circle), chroma bin 10
        _hand_set(m, out)
        lum = torch.full((1, 1, 32, 32), 50.0)
        for d in m.decodings:
            ab = m.predict_chroma(lum, d)
            if variant == "lab":
                assert torch.allclose(ab[0, :, 0, 0], torch.tensor(expected["mode"]), atol=0.01), d
            else:
                hue, chroma = H.hue_chroma(ab)
                assert hue[0, 0, 0, 0].item() == pytest.approx(2 * math.pi * 8.5 / 32, abs=1e-4), d
                assert chroma[0, 0, 0, 0].item() == pytest.approx(CHROMA_MAX * 10.5 / 32, abs=0.05), d


# ----------------------------------------------------------------------------- the hypercolumn


def _reference_hypercolumn(cols: Hypercolumn, feats, h, w):
    """Upsample every layer to full size, concatenate, one 1x1 convolution: the definition."""
    up = torch.cat([F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False) for f in feats], 1)
    weight = torch.cat([p.weight for p in cols.project], 1)
    return F.conv2d(up, weight, cols.bias)


def test_hypercolumn_equals_upsample_and_concatenate_in_either_order():
    torch.manual_seed(0)
    feats = [torch.randn(2, c, 64 // s, 32 // s) for c, s in ((1, 1), (3, 2), (5, 4), (4, 8), (6, 32))]
    cols = Hypercolumn([f.shape[1] for f in feats], hidden=7)
    ref = _reference_hypercolumn(cols, feats, 64, 32)
    grid = pixel_grid(2, 64, 32)
    for order in ("auto", "gather", "project"):
        assert torch.allclose(cols(feats, grid, order), ref, atol=1e-5), order
    # at sampled pixels: the same values as the dense map there
    pts, flat = sample_points(2, 64, 32, 50, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(cols(feats, pts), read_at(ref, flat), atol=1e-5)
    assert torch.equal(read_at(feats[0], flat), F.grid_sample(feats[0], pts, align_corners=False))  # exact pixels
    with pytest.raises(ValueError, match="order"):
        cols(feats, grid, "both")


def test_dense_reading_in_chunks_equals_reading_at_once_and_gradchecks():
    torch.manual_seed(0)
    net = HypercolumnNet(VGGTrunk.build(width=1 / 16), out_channels=6, width=1 / 16).eval()
    x = torch.randn(1, 3, 64, 96)
    whole = net(x, chunk=1 << 20)
    assert torch.allclose(net(x, chunk=96 * 5), whole, atol=1e-5)  # bands of 5 rows, the last one short
    assert torch.allclose(net(x, pixel_grid(1, 64, 96)), whole, atol=1e-5)
    cols = Hypercolumn([2, 3], hidden=2).double()
    feats = [torch.randn(1, 2, 4, 4, dtype=torch.double, requires_grad=True),
             torch.randn(1, 3, 2, 2, dtype=torch.double, requires_grad=True)]
    grid = sample_points(1, 4, 4, 5, generator=torch.Generator().manual_seed(0))[0].double()
    assert torch.autograd.gradcheck(lambda a, b: cols([a, b], grid), feats)


def test_trunk_reads_the_papers_layers_and_matches_torchvision():
    torch.manual_seed(0)
    vgg = torchvision.models.vgg16_bn(weights=None).eval()
    trunk = VGGTrunk.from_torchvision(vgg).eval()
    assert trunk.layers == LAYERS and sum(trunk.channels) == 12417  # the paper's 12,417-channel hypercolumn
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        maps = dict(zip(trunk.layers, trunk(x), strict=True))
        pool5 = vgg.features(x)
        assert torch.equal(maps["conv5_3"], vgg.features[:43](x))  # after conv5_3's batch norm and ReLU
        assert maps["conv1_1"].shape == (1, 64, 224, 224) and maps["fc7"].shape == (1, 4096, 7, 7)
        fc6_linear = vgg.classifier[0](pool5.flatten(1))  # at 7x7, the centre of the 7x7 conv sees all of pool5
        fc6_conv = trunk.fc[0](pool5)[:, :, 3, 3]
        assert torch.allclose(fc6_conv, fc6_linear, atol=1e-4)
    only = VGGTrunk.build(width=1 / 16, layers=["conv2_2", "data"])
    assert only.layers == ("data", "conv2_2") and [m.shape[1] for m in only(torch.randn(1, 3, 32, 32))] == [1, 8]
    with pytest.raises(ValueError, match="hypercolumn layers"):
        VGGTrunk.build(width=1 / 16, layers=["conv6_1"])


# ------------------------------------------------------------------------ weights and the method


def test_the_trunks_weights_are_recorded_and_narrow_trunks_refuse_imagenet(monkeypatch):
    m = build("larsson", "lab", **SMALL)
    assert m.backbone_weights == backbones.RANDOM and not m.pretrained
    assert m.provenance() == {"backbone_weights": backbones.RANDOM}
    assert m.row_labels("expectation")["backbone_weights"] == backbones.RANDOM
    with pytest.raises(ValueError, match="ImageNet weights fit VGG-16 at width 1 only"):
        build("larsson", "lab", **{**SMALL, "backbone_weights": "imagenet"})
    # full width, offline: the fallback is fast, said and recorded
    monkeypatch.setattr(backbones, "_imagenet_state", lambda name: "offline in this test")
    monkeypatch.setattr(backbones, "_WARNED", set())
    full = Larsson("l2", backbone_weights="imagenet")
    assert full.backbone_weights == backbones.FALLBACK and not full.pretrained
    assert sum(full.net.trunk.net.channels) == 12417


def test_full_width_trunk_loads_a_weights_file(tmp_path):
    torch.manual_seed(1)
    vgg = torchvision.models.vgg16_bn(weights=None)
    path = tmp_path / "vgg16_bn-mine.pth"
    torch.save(vgg.state_dict(), path)
    m = Larsson("l2", backbone_weights=str(path))
    assert m.backbone_weights.startswith("file:vgg16_bn-mine.pth@") and m.pretrained
    assert torch.equal(m.net.trunk.net.features[0].weight, vgg.features[0].weight)
    assert torch.equal(m.net.trunk.net.fc[0].weight.flatten(1), vgg.classifier[0].weight)


def test_bad_arguments_are_refused():
    for bad, match in (({"head": "rgb"}, "variant 'lab' sets head"), ({"heads": 2}, "unknown argument"),
                       ({"sampling": "some"}, "sampling"),
                       ({"samples": 0}, "samples"), ({"dropout": 1.0}, "dropout")):
        with pytest.raises((TypeError, ValueError), match=match):
            build("larsson", "lab", **{**SMALL, **bad})


def test_sparse_and_dense_training_read_the_same_function():
    """Dense training is the same loss at every pixel: with every pixel sampled once, the two agree."""
    torch.manual_seed(0)
    m = build("larsson", "lab", **{**SMALL, "dropout": 0.0}).train()
    batch = {"L": torch.rand(2, 1, 32, 32) * 100, "ab": torch.randn(2, 2, 32, 32) * 25}
    dense = build("larsson", "lab", **{**SMALL, "dropout": 0.0, "sampling": "dense"})
    dense.load_state_dict(m.state_dict())
    torch.manual_seed(1)
    a = dense.loss(batch)["loss"]
    torch.manual_seed(1)
    x = m.norm.encode_l(batch["L"])
    grid = pixel_grid(2, 32, 32).reshape(2, 1, -1, 2)
    out = m.net(x, grid)
    b = m.head_loss(out.float(), batch["ab"].flatten(2).unsqueeze(2))["loss"]
    assert torch.allclose(a, b, atol=1e-5)


def test_checkpoint_rebuilds_the_trunk_record(tmp_path):
    from colorlab import data
    from colorlab.train import TrainConfig, fit

    ds = data.load_dataset("samples", "train", crop=32, image_size=64, space="lab")
    m = build("larsson", "hue_chroma", **SMALL)
    fit(m, lambda start: data.make_loader(ds, 2, train=True, seed=0, start_step=start),
        TrainConfig(steps=2, checkpoint=str(tmp_path / "c.pt"), progress=False))
    loaded = checkpoint.load(tmp_path / "c.pt")
    assert loaded.backbone_weights == backbones.RANDOM and loaded.args == m.args
    for (k, a), b in zip(m.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b, k


# ----------------------------------------------------------------------------------- the rules


def _units(lab_gap=-2.0, dec_gap=-2.0, fade_cf=-1.0, fade_rmse=-2.0, noise=0.05, weights=backbones.RANDOM):
    """Per-photo rows: RMSE per head and decoding; PSNR moves against RMSE."""
    rng = np.random.default_rng(0)
    base = {("l2", "direct"): 20.0, ("lab", "expectation"): 20.0 + lab_gap, ("lab_joint", "expectation"): 19.0,
            ("hue_chroma", "median"): 19.0, ("hue_chroma", "median_fading"): 19.0 + fade_rmse,
            ("hue_chroma", "median_fading_uniform"): 19.0, ("hue_chroma", "released"): 19.0 + 5 * fade_rmse,
            ("hue_chroma", "released_uniform"): 19.0}
    for d in ("median", "mode", "sample"):
        base[("lab", d)] = base[("lab", "expectation")] - dec_gap
    for d in ("expectation", "mode", "sample"):
        base[("hue_chroma", d)] = base[("hue_chroma", "median")] - dec_gap
    rows = []
    for seed in (0, 1, 2):
        for unit in "abcdef":
            for (v, d), rmse in base.items():
                r = rmse + rng.normal(0, noise)
                cf = 30.0 + {"median_fading": fade_cf, "median_fading_uniform": fade_cf, "released": 5 * fade_cf,
                             "released_uniform": 5 * fade_cf}.get(d, 0.0) + rng.normal(0, noise)
                rows.append({"method": "larsson", "variant": v, "decode": d, "seed": seed, "unit": unit, "rmse": r,
                             "psnr": 40.0 - r, "colorfulness": cf, "chroma": cf / 2, "backbone_weights": weights})
    return pd.DataFrame(rows)


def _rules():
    """Each claim's rule, with the claim's own margins."""
    return {c.key: (lambda rows, c=c: c.rule(rows, c.margins)) for c in paper.CLAIMS}


def test_claim_rules_follow_the_intervals():
    rules = _rules()
    clear = _units(weights="imagenet")
    for key in ("larsson_histograms_beat_l2", "larsson_lab_expectation_best", "larsson_hue_chroma_median_best",
                "larsson_fading"):
        assert rules[key](clear).outcome == claims.REPRODUCED, key
    reversed_ = _units(lab_gap=2.0, dec_gap=1.0, fade_cf=1.0, fade_rmse=0.2, weights="imagenet")
    for key in ("larsson_histograms_beat_l2", "larsson_lab_expectation_best", "larsson_hue_chroma_median_best",
                "larsson_fading"):
        assert rules[key](reversed_).outcome == claims.NOT_REPRODUCED, key
    # a random trunk: the histogram claim shows what the rule says, but gives no verdict
    v = rules["larsson_histograms_beat_l2"](_units())
    evidence, verdict = v.evidence, v.outcome
    assert verdict == claims.INCONCLUSIVE and "would say REPRODUCED" in evidence and "random (asked)" in evidence
    v = rules["larsson_fading"](clear)
    evidence = v.evidence
    assert "the released code's (|z| / K), not judged: RMSE minus the even control -9.9" in evidence
    assert "colourfulness taken away -5.0" in evidence
    # nothing faded: every difference is zero, no verdict
    assert rules["larsson_fading"](_units(fade_cf=0.0, fade_rmse=0.0, noise=0.0)).outcome == claims.INCONCLUSIVE
    noisy = _units(dec_gap=-0.02, noise=3.0)
    assert rules["larsson_lab_expectation_best"](noisy).outcome == claims.INCONCLUSIVE
    some = clear[~((clear["variant"] == "lab") & (clear["decode"] == "median"))]
    assert rules["larsson_lab_expectation_best"](some) == claims.missing("larsson/lab/median")
    assert rules["larsson_sparse_cheaper"](clear) == claims.missing("the interleaved sparse and dense cost "
                                                                     "(measure_sampling)")


def test_accuracy_gains_must_clear_the_rmse_and_psnr_margins():
    rules = _rules()
    inside = _units(dec_gap=-0.2, fade_rmse=-0.5, weights="imagenet")  # RMSE 0.2 and 0.5 lower, PSNR 0.2 higher
    assert rules["larsson_lab_expectation_best"](inside).outcome == claims.NOT_REPRODUCED
    assert rules["larsson_fading"](inside).outcome == claims.NOT_REPRODUCED
    # RMSE lower by 1, the margin, within the noise; PSNR higher by 1 clears its margin of 0.3
    edge = _units(dec_gap=-1.0, fade_rmse=-1.0, noise=0.5, weights="imagenet")
    for key in ("larsson_lab_expectation_best", "larsson_hue_chroma_median_best", "larsson_fading"):
        assert rules[key](edge).outcome == claims.INCONCLUSIVE, key
    v = rules["larsson_histograms_beat_l2"](_units(lab_gap=-0.25, weights="imagenet"))
    assert v.outcome == claims.NOT_REPRODUCED and "(each must clear its margin: RMSE 1, PSNR 0.3 dB)" in v.evidence


def _cost(speedup=(2.5, 2.2, 2.8), aa=(1.0, 0.96, 1.04), repeats=20, processes=3):
    """Made-up interleaved timing: sparse ``speedup`` times faster than dense, sparse's A/A ratio ``aa``."""
    inverse = (1 / speedup[0], 1 / speedup[2], 1 / speedup[1])
    t = pd.DataFrame([{"variant": v, "device": "cpu", "head": "lab", "samples": 16, "batch_size": 4, "size": 32,
                       "repeats": repeats, "processes": processes, "protocol": "interleaved steps (A B B A)",
                       "train_images_per_second": x, "train_images_per_second_lo": x, "train_images_per_second_hi": x,
                       **dict(zip(("train_ratio", "train_ratio_lo", "train_ratio_hi"), ratio, strict=True)),
                       **dict(zip(("train_aa_ratio", "train_aa_ratio_lo", "train_aa_ratio_hi"), aa, strict=True)),
                       "peak_train_mb": 10.0}
                      for v, x, ratio in (("sparse", 10.0, (1.0, 1.0, 1.0)), ("dense", 4.0, inverse))])
    return _units().assign(**paper.sampling_labels(t, "cpu"))


def test_sparse_cost_rule():
    rule = _rules()["larsson_sparse_cheaper"]
    v = rule(_cost())
    assert v.outcome == claims.REPRODUCED and v.interval == "x2.50 [2.20, 2.80]"
    assert v.measured_on == "synthetic batches: interleaved steps (A B B A)"
    assert rule(_cost(speedup=(0.5, 0.4, 0.6))).outcome == claims.NOT_REPRODUCED
    assert rule(_cost(speedup=(1.05, 0.95, 1.15))).outcome == claims.INCONCLUSIVE
    v = rule(_cost(aa=(1.2, 1.1, 1.3)))  # the same code twice is not equally fast: nothing to conclude
    assert v.outcome == claims.INCONCLUSIVE and "A/A check failed" in v.evidence
    for few in (dict(repeats=5), dict(processes=1)):
        v = rule(_cost(**few))
        assert v.outcome == claims.INCONCLUSIVE and "no verdict" in v.evidence


def test_measure_sampling_times_both_in_process():
    t = paper.measure_sampling(SMALL, batch_size=2, size=32, repeats=2, processes=2, isolate=False)
    assert t["variant"].tolist() == ["sparse", "dense"] and (t["train_images_per_second"] > 0).all()
    assert (t["processes"] == 2).all() and t["train_ratio"].iloc[0] == 1.0 and t["train_aa_ratio"].notna().all()
    labels = paper.sampling_labels(t, "cpu")
    assert labels["sampling_variant"] == "lab" and labels["sampling_samples"] == 16
    assert {"sampling_sparse_train_images_per_second", "sampling_dense_peak_train_mb"} <= set(labels)


# ---------------------------------------------------------------------------------- the figures


def test_histogram_plot_draws_the_histograms_and_where_each_decoding_lands():
    torch.manual_seed(0)
    m = build("larsson", "lab", **SMALL).eval()
    rgb = torch.rand(1, 3, 32, 32)
    fig = paper.histogram_plot(m, rgb, n_pixels=2)
    assert len(fig.axes) == 4  # two pixels, a and b
    from colorlab.color import rgb_to_lab

    p = m.histograms(m.pad_input(rgb_to_lab(rgb)[0]))  # what colorize sees
    for ax in fig.axes:
        y, x = (int(v) for v in ax.get_title().split("(")[1].split(")")[0].split(","))
        name = ax.get_title().split(": ")[1]
        heights = np.array([b.get_height() for b in ax.patches])
        np.testing.assert_allclose(heights, p[name][0, :, y, x].numpy(), rtol=1e-5)  # the bars are the histogram
        lines = {ln.get_label(): ln.get_xdata()[0] for ln in ax.get_lines()}
        assert set(lines) == {"mode", "median", "expectation", "truth"}
        assert lines["mode"] == pytest.approx(int(np.argmax(heights)))  # the mode on its bar
    with pytest.raises(ValueError, match="marginal heads"):
        paper.histogram_plot(build("larsson", "l2", **SMALL), rgb)


def test_certainty_plot_shows_the_certainty_and_the_faded_chroma():
    torch.manual_seed(0)
    m = build("larsson", "hue_chroma", **SMALL).eval()
    rgb = torch.rand(2, 3, 32, 32)
    fig = paper.certainty_plot(m, rgb)
    images = [a for a in fig.axes if a.get_images()]
    assert len(images) == 8 and [a.get_title() for a in images[:4]] == [
        "original", "hue certainty |z|", "chroma faded away,\nthe paper's (η = 0.03)",
        "chroma faded away,\nthe released code's (|z| / K)"]
    cert = images[1].get_images()[0].get_array()
    assert float(cert.min()) >= 0 and float(cert.max()) <= 1
    from colorlab.color import rgb_to_lab

    p = m.histograms(m.pad_input(rgb_to_lab(rgb[:1])[0]))
    assert np.allclose(cert, H.hue_expectation(p["hue"], m.hue_axis)[1][0, 0].numpy(), atol=1e-5)
    chroma = H.decode_median(p["chroma"], m.chroma_axis)[0, 0]
    z = H.hue_expectation(p["hue"], m.hue_axis)[1][0, 0]
    released = images[3].get_images()[0].get_array()
    assert np.allclose(released, (chroma * (1 - (z / (32 * 0.03)).clamp(max=1))).numpy(), atol=1e-4)
    assert float(images[2].get_images()[0].get_array().min()) >= 0


def _hand_set(m, out):
    m.net.forward = lambda x, grid=None, chunk=None, o=out: o
    return m


def test_fading_controls_take_the_same_share_of_chroma_evenly():
    k = 32
    out = torch.full((2, 2 * k, 32, 32), -30.0)
    out[:, k + 12] = out[:, k + 13] = 30.0  # chroma split evenly between bins 12 and 13 everywhere
    out[:, 8, :16] = 30.0  # the top half: one hue bin, certain
    out[:, :k, 16:] = 0.0  # the bottom half: hue spread evenly round the circle, |z| = 0
    m = _hand_set(build("larsson", "hue_chroma", **SMALL).eval(), out)
    lum = torch.full((2, 1, 32, 32), 50.0)
    chroma = {d: H.hue_chroma(m.predict_chroma(lum, d))[1] for d in ("median", "released", "released_uniform",
                                                                     "median_fading", "median_fading_uniform")}
    assert torch.allclose(chroma["released"][:, :, 16:], torch.zeros(2, 1, 16, 32), atol=1e-3)  # faded where uncertain
    assert torch.allclose(chroma["median_fading"][:, :, 16:], torch.zeros(2, 1, 16, 32), atol=1e-3)
    for fading in ("released", "median_fading"):
        even = chroma[f"{fading}_uniform" if fading == "median_fading" else "released_uniform"]
        assert torch.allclose(even.flatten(1).sum(1), chroma[fading].flatten(1).sum(1), rtol=1e-4)  # the same share
    assert torch.allclose(
        chroma["median_fading_uniform"] / chroma["median"], torch.full((2, 1, 32, 32), 0.5), atol=1e-3
    )
    # the released decoding reads the median bin's centre, the others interpolate inside it
    assert chroma["released"][0, 0, 0, 0].item() == pytest.approx(CHROMA_MAX * 12.5 / 32, abs=0.01)
    assert chroma["median"][0, 0, 0, 0].item() == pytest.approx(CHROMA_MAX * 13 / 32, abs=0.01)


def test_decoding_options_and_their_checks():
    m = build("larsson", "hue_chroma", **SMALL).eval()
    rgb = torch.rand(1, 3, 32, 32)
    assert not torch.equal(m.colorize(rgb, "median_fading", eta=1.0), m.colorize(rgb, "median_fading"))
    assert torch.allclose(m.colorize(rgb, "median", chunk=64), m.colorize(rgb, "median"), atol=1e-4)  # bands of 2 rows
    with pytest.raises(ValueError, match="eta must be > 0"):
        m.colorize(rgb, "median_fading", eta=0.0)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        m.colorize(rgb, "median", chunk=0)
    with pytest.raises(TypeError, match="unknown decoding option"):
        m.colorize(rgb, "median", temperature=0.38)
    assert m.row_labels("released", eta=0.1)["eta"] == 0.1 and m.row_labels("median")["eta"] is None
    assert "eta" not in m.args and "chunk" not in m.args  # decoding options key no checkpoint


def test_inputs_refused_before_work():
    m = build("larsson", "lab", **SMALL).train()
    with pytest.raises(ValueError, match="more than one value per channel"):
        m.loss({"L": torch.rand(1, 1, 32, 32) * 100, "ab": torch.zeros(1, 2, 32, 32)})
    with backbones.skip_weights(), pytest.raises(ValueError, match="width 1 only"):  # the argument check trains nothing
        build("larsson", "lab", **{**SMALL, "backbone_weights": "imagenet"})
    with pytest.raises(ValueError, match="multiple of 32"):
        paper.measure_sampling(SMALL, batch_size=2, size=48, repeats=1, isolate=False)
    with pytest.raises(ValueError, match="multiple of 32"):
        from colorlab import cost

        cost.measure("larsson", "lab", SMALL, batch_size=2, size=48, repeats=1, isolate=False)
    t = paper.measure_sampling({k: v for k, v in SMALL.items() if k != "samples"}, batch_size=2, size=32, repeats=1,
                               isolate=False)
    assert t["samples"].tolist() == [128, 128]  # the method's default, not None
