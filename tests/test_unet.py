"""The U-Net of source 001 (notebook 04): its network, classes, losses, decodings, cost
measurement, gallery and the rules of its claims."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from colorlab import claims, cost, evaluate, measuring, viz
from colorlab.abgrid import decode_sample, nearest_bin, pixel_weights
from colorlab.backbones import backbone
from colorlab.color import IMAGENET_GRAY, IMAGENET_MEAN, IMAGENET_STD, lab_to_rgb
from colorlab.methods import build
from colorlab.methods.unet import CLASS_GRID, UNet, UNetResNet
from colorlab.papers import unet as paper


@pytest.fixture(scope="module")
def regress():
    torch.manual_seed(0)
    return build("unet", "regress", width=0.125, encoder_weights="random")


def test_about_two_hundred_classes():
    m = build("unet", "class", width=0.125, encoder_weights="random")
    assert CLASS_GRID == 11.5 and m.num_classes == 201
    assert m.net.head.out_channels == 201 and m.args["k"] == 1 and m.args["rebalance"]


def test_network_shapes_and_size_checks():
    net = UNetResNet(backbone("resnet50", "random"), out_channels=5, width=0.125).eval()
    assert net(torch.randn(1, 3, 64, 32)).shape == (1, 5, 64, 32)
    assert not any(".fc." in k for k in net.state_dict())  # ImageNet's classifier is dropped
    with pytest.raises(ValueError, match="multiples of 32"):
        net(torch.randn(1, 3, 48, 32))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        net(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="width must be positive"):
        UNetResNet(backbone("resnet50", "random"), 2, width=0)


def test_the_encoder_input_is_what_torchvision_normalises_a_gray_photo_to():
    L = torch.rand(2, 1, 8, 8) * 100
    gray = lab_to_rgb(L, torch.zeros(2, 2, 8, 8))
    expected = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)(gray)
    torch.testing.assert_close(IMAGENET_GRAY.encode_l(L), expected)
    torch.testing.assert_close(IMAGENET_GRAY.decode_l(expected), L, atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="L must have shape"):
        IMAGENET_GRAY.encode_l(torch.rand(1, 3, 4, 4))


def test_class_loss_is_the_weighted_cross_entropy_of_the_nearest_class():
    torch.manual_seed(0)
    m = build("unet", "class", width=0.125, encoder_weights="random")
    m.class_weights.copy_(torch.rand(m.num_classes) + 0.5)
    m.prior.fill_(1.0 / m.num_classes)
    ab = F.interpolate(torch.randn(2, 2, 4, 4) * 40, size=(32, 32), mode="nearest")
    L = torch.full((2, 1, 32, 32), 60.0)
    logits = m.net(IMAGENET_GRAY.encode_l(L)).float()
    target = nearest_bin(ab, m.bins)
    w = pixel_weights(ab, m.bins, m.class_weights)[:, 0]
    expected = (F.cross_entropy(logits, target, reduction="none") * w).mean()
    torch.manual_seed(0)
    out = m.loss({"L": L, "ab": ab})
    torch.testing.assert_close(out["loss"], expected, rtol=1e-4, atol=1e-5)
    assert float(out["colour_images"]) == 1.0


def test_gray_images_do_not_count_in_either_loss(regress):
    L = torch.full((2, 1, 32, 32), 50.0)
    ab = torch.zeros(2, 2, 32, 32)
    ab[1] = 30.0
    regress.eval()  # batch statistics aside, the gray image must add nothing to the loss
    out = regress.loss({"L": L, "ab": ab})
    torch.testing.assert_close(out["loss"], regress.loss({"L": L[1:], "ab": ab[1:]})["loss"])
    regress.train()
    assert float(out["colour_images"]) == 0.5
    with pytest.raises(KeyError, match="space='lab'"):
        regress.loss({"Y": L})


def test_rebalancing_needs_the_prior_first():
    m = build("unet", "class", width=0.125, encoder_weights="random")
    with pytest.raises(ValueError, match="call prepare"):
        m.check_trainable()
    with pytest.raises(ValueError, match="rebalancing needs the class head"):
        UNet("regress", rebalance=True, encoder_weights="random")


def test_sampling_follows_the_distribution_and_repeats_with_its_seed():
    bins = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    p = torch.tensor([0.2, 0.5, 0.3])
    logits = p.log().view(1, 3, 1, 1).expand(1, 3, 100, 100)
    ab = decode_sample(logits, bins, generator=torch.Generator().manual_seed(0))
    shares = [float((ab[:, 0] == 10).float().mean()), float((ab[:, 1] == 10).float().mean())]
    np.testing.assert_allclose(shares, [0.5, 0.3], atol=0.03)
    again = decode_sample(logits, bins, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ab, again)
    m = build("unet", "class", width=0.125, encoder_weights="random").eval()
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(m.colorize(x, "sample", seed=3), m.colorize(x, "sample", seed=3))
    with pytest.raises(TypeError, match="unknown decoding option"):
        m.colorize(x, "mode", temperature=0.5)


def test_rows_record_the_encoder_weights(regress):
    assert regress.row_labels("direct")["encoder_weights"] == "random (asked)"
    assert not regress.pretrained


# ------------------------------------------------------------------------------------ cost


def test_cost_in_a_fresh_process_and_its_errors(monkeypatch):
    r = cost.measure("yuv_regression", "l2", {"base": 4}, batch_size=2, size=16, repeats=2, warmup=0)
    assert r["isolated"] and r["device"] == "cpu" and len(r["train_seconds"]) == 2
    assert r["train_images_per_second"] > 0 and r["peak_train_mb"] >= 0
    with pytest.raises(KeyError, match="unknown method 'nope'"):  # refused before a process starts
        cost.measure("nope", "x", {}, batch_size=1, size=8, repeats=1)
    with pytest.raises(ValueError, match="repeats"):
        cost.measure("unet", "regress", {}, batch_size=1, size=32, repeats=0)
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="Traceback ...\nRuntimeError: out of memory\n")
    monkeypatch.setattr(measuring.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(RuntimeError, match="measuring unet/regress failed \\(exit 1\\): RuntimeError: out of memory"):
        cost.measure("unet", "regress", {}, batch_size=1, size=32, repeats=1)


def test_cost_table_and_labels(monkeypatch):
    calls, timings = [], []

    def fake_memory(name, variant, args, **kw):
        calls.append((variant, kw["device"]))
        return {"method": name, "variant": variant, "device": kw["device"], "batch_size": kw["batch_size"],
                "size": kw["size"], "threads": 2, "train_seconds": [1.0], "infer_seconds": [1.0],
                "peak_train_mb": 10.0, "peak_infer_mb": 5.0, "memory": "m", "repeats": 1, "isolated": True}

    def fake_timing(name, configs, **kw):
        timings.append((list(configs), kw["repeats"], kw["processes"]))
        rng = np.random.default_rng(0)
        steps = {"regress": 0.1, "class": 0.2, cost.AA_LABEL: 0.1}
        return {k: {f"{p}_seconds": v * (0.5 if p == "infer" else 1) * (1 + 0.01 * rng.standard_normal((3, 20)))
                    for p in ("train", "infer")} for k, v in steps.items()}

    monkeypatch.setattr(cost, "measure", fake_memory)
    monkeypatch.setattr(cost, "interleaved", fake_timing)
    t = paper.measure_cost({}, batch_size=4, size=32, repeats=20, processes=3, devices=["cpu", "cpu"])
    assert calls == [("regress", "cpu"), ("class", "cpu")] and timings == [(["regress", "class"], 20, 3)]  # once
    lo, hi = t.loc[0, "train_images_per_second_lo"], t.loc[0, "train_images_per_second_hi"]
    assert 4 / 0.102 <= lo <= hi <= 4 / 0.098
    assert t.loc[0, "train_ratio"] == 1.0 and 0.49 < t.loc[1, "train_ratio_lo"] <= t.loc[1, "train_ratio_hi"] < 0.51
    assert t.loc[0, "train_aa_ratio_lo"] <= 1.0 <= t.loc[0, "train_aa_ratio_hi"]
    assert t.loc[0, "protocol"].startswith("interleaved steps (A B B A), 20 timed repeats in each of 3 fresh")
    labels = paper.cost_labels(t, "cpu")
    assert set(labels) == {"regress", "class"} and "cost_train_ratio_lo" in labels["class"]
    assert not any(k.endswith("_seconds") for k in labels["class"])


def test_interleaved_timing_gives_each_configuration_and_the_a_a_twin_its_steps():
    t = cost.interleaved("yuv_regression", {"a": ("l2", {"base": 2}), "b": ("l2", {"base": 4})}, batch_size=2,
                         size=16, repeats=3, processes=2, isolate=False)
    assert set(t) == {"a", "b", cost.AA_LABEL} and t["b"]["infer_seconds"].shape == (2, 3)
    assert (t[cost.AA_LABEL]["train_seconds"] > 0).all()
    with pytest.raises(ValueError, match="repeats and processes >= 1"):
        cost.interleaved("yuv_regression", {"a": ("l2", {})}, batch_size=2, size=16, processes=0)


# ----------------------------------------------------------------------------------- claims


def _units(auc_reg=0.9, auc_cls=0.8, weights="imagenet", seeds=(0, 1, 2), photos=8, cf_reg=30.0):
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for p in range(photos):
            for variant, decode, auc, cf in [("regress", "direct", auc_reg, cf_reg),
                                             ("class", "annealed", auc_cls, 25.0),
                                             ("class", "mode", auc_cls - 0.02, 40.0),
                                             ("class", "expectation", auc_cls + 0.01, 15.0)]:
                noise = rng.normal(0, 0.005)
                rows.append({"method": "unet", "variant": variant, "decode": decode, "seed": seed, "unit": f"p{p}",
                             "encoder_weights": weights, "auc": auc + noise, "psnr": 20 + 10 * (auc + noise),
                             "colorfulness": cf + rng.normal(0, 0.5), "colorfulness_gap": cf - 32 + rng.normal(0, 0.5),
                             "notebook": "04_unet_resnet50"})
            rows.append({"method": "reference", "variant": "ground_truth", "decode": None, "seed": seed,
                         "unit": f"p{p}", "colorfulness": 32.0, "notebook": "04_unet_resnet50"})
    return pd.DataFrame(rows)


def _rule(key):
    """The claim's rule with the claim's own margins."""
    claim = next(c for c in paper.CLAIMS if c.key == key)
    return lambda rows: claim.rule(rows, claim.margins)


regression_is_better, regression_is_cheaper = _rule("unet_regression_better"), _rule("unet_regression_cheaper")
decodings_order_by_vividness = _rule("unet_decoding_vividness")


def test_regression_better_is_judged_only_with_a_pretrained_encoder():
    v = regression_is_better(_units())
    ev, verdict, interval = v.evidence, v.outcome, v.interval
    assert verdict == claims.REPRODUCED and "vs mode" in ev and "AuC" in interval
    v = regression_is_better(_units(auc_reg=0.7))
    ev, verdict, interval = v.evidence, v.outcome, v.interval
    assert verdict == claims.NOT_REPRODUCED and interval.startswith("AuC vs annealed -0.09")  # the deciding one
    assert "|colourfulness gap| class minus regression" in ev
    v = regression_is_better(_units(weights="random (offline fallback)"))
    ev, verdict = v.evidence, v.outcome
    assert verdict == claims.INCONCLUSIVE and "would say REPRODUCED" in ev and "not ImageNet-pretrained" in ev
    for record in ("restored", None):  # only imagenet or a file counts as pretrained
        assert regression_is_better(_units(weights=record)).outcome == claims.INCONCLUSIVE
    assert regression_is_better(_units(weights="file:r50.pth@ab12")).outcome == claims.REPRODUCED
    assert regression_is_better(_units().query("variant != 'class'")).outcome == claims.INCONCLUSIVE


def test_regression_must_bring_the_colourfulness_closer_by_more_than_the_margin():
    """|gap| class minus regression: the truth is 32, the annealed class head 25 (|gap| 7), the mode 40 (8)."""
    v = regression_is_better(_units(cf_reg=26.0))  # |gap| 6: closer than annealed's and the mode's by 1 and 2
    assert v.outcome == claims.NOT_REPRODUCED and v.interval.startswith("|gap| vs annealed ")
    v = regression_is_better(_units(cf_reg=28.0))  # |gap| 4: closer than annealed's by 3, the margin, in the noise
    assert v.outcome == claims.INCONCLUSIVE and v.interval.startswith("|gap| vs annealed")


def test_the_cost_claim_keeps_its_own_protocol():
    claim = next(c for c in paper.CLAIMS if c.key == "unet_regression_cheaper")
    assert dict(claim.margins) == {} and claim.rule_version == 1
    # a regression faster by a hair still counts: its interval lies above 1, and no margin applies
    v = regression_is_cheaper(_with_cost(_units(), speedup=(1.02, 1.01, 1.03)))
    assert v.outcome == claims.REPRODUCED and v.measured_on.startswith("synthetic batches on cpu: interleaved")
    out = claims.judge(_with_cost(_units()).assign(notebook="04_unet_resnet50"), [claim])
    assert out.loc[0, "measured_on"].startswith("synthetic batches") and out.loc[0, "seeds"] == ""  # not photos


def test_decodings_must_differ_in_colourfulness_by_more_than_the_margin():
    close = _units()
    close.loc[close["decode"] == "mode", "colorfulness"] = 27.0  # 2 above the annealed mean's 25: inside 3
    assert decodings_order_by_vividness(close).outcome == claims.NOT_REPRODUCED
    close.loc[close["decode"] == "mode", "colorfulness"] = 28.0 + np.random.default_rng(1).normal(0, 0.5, 24)
    assert decodings_order_by_vividness(close).outcome == claims.INCONCLUSIVE  # 3, the margin, in the noise


def _with_cost(df, speedup=(2.0, 1.8, 2.2), aa=(1.0, 0.97, 1.03), repeats=20, processes=3):
    """Made-up interleaved timing: regression ``speedup`` times faster than the class head, its A/A ratio ``aa``."""
    df = df.copy()
    inverse = (1 / speedup[0], 1 / speedup[2], 1 / speedup[1])  # the class head's speed over regression's
    for variant, ips, ratio in (("regress", 20.0, (1.0, 1.0, 1.0)), ("class", 10.0, inverse)):
        sel = df["variant"] == variant
        for phase in ("train", "infer"):
            for suffix, i in (("", 0), ("_lo", 1), ("_hi", 2)):
                df.loc[sel, f"cost_{phase}_images_per_second{suffix}"] = ips
                df.loc[sel, f"cost_{phase}_ratio{suffix}"] = ratio[i]
                df.loc[sel, f"cost_{phase}_aa_ratio{suffix}"] = aa[i]
        df.loc[sel, ["cost_peak_train_mb", "cost_peak_infer_mb", "cost_batch_size", "cost_size"]] = [100, 50, 8, 64]
        df.loc[sel, ["cost_device", "cost_protocol"]] = ["cpu", "interleaved steps (A B B A)"]
        df.loc[sel, ["cost_repeats", "cost_processes"]] = [repeats, processes]
    return df


def test_regression_cheaper_decides_on_the_interleaved_speed_ratio():
    v = regression_is_cheaper(_with_cost(_units()))
    assert v.outcome == claims.REPRODUCED and v.interval == "train x2.00 [1.80, 2.20]; infer x2.00 [1.80, 2.20]"
    assert regression_is_cheaper(_with_cost(_units(), speedup=(1.0, 0.9, 1.1))).outcome == claims.INCONCLUSIVE
    assert regression_is_cheaper(_with_cost(_units(), speedup=(0.5, 0.45, 0.55))).outcome == claims.NOT_REPRODUCED
    v = regression_is_cheaper(_with_cost(_units(), aa=(0.9, 0.85, 0.95)))  # the same head twice, unequal: unreliable
    assert v.outcome == claims.INCONCLUSIVE and "A/A check failed" in v.evidence
    for few in (dict(repeats=5), dict(processes=1)):
        v = regression_is_cheaper(_with_cost(_units(), **few))
        assert v.outcome == claims.INCONCLUSIVE and "fewer than 20 x 3: no verdict" in v.evidence
    assert regression_is_cheaper(_units()).outcome == claims.INCONCLUSIVE  # not measured


def test_decoding_vividness_order():
    v = decodings_order_by_vividness(_units())
    ev, verdict = v.evidence, v.outcome
    assert verdict == claims.REPRODUCED and "ground truth 32.0" in ev
    swapped = _units()
    swapped.loc[swapped["decode"] == "mode", "colorfulness"] = 10.0
    assert decodings_order_by_vividness(swapped).outcome == claims.NOT_REPRODUCED


def test_gallery_of_photographs_without_ground_truth():
    m = build("unet", "regress", width=0.125, encoder_weights="random")
    c = build("unet", "class", width=0.125, encoder_weights="random")
    images = [torch.randint(0, 256, (3, 40, 90), dtype=torch.uint8), torch.rand(3, 20, 20)]
    gray, out = evaluate.colorize_images(m, images, max_side=45, device="cpu")
    assert [tuple(g.shape) for g in gray] == [(3, 20, 45), (3, 20, 20)] and out[0].shape == gray[0].shape
    assert torch.allclose(gray[0][0], gray[0][1], atol=1e-3)  # the input shown is gray
    fig = paper.gallery({"regression": (m, "direct"), "class, mode": (c, "mode")}, images, max_side=45)
    drawn = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert [d.shape[:2] for d in drawn] == [(20, 45), (20, 20)] * 3
    np.testing.assert_array_equal(drawn[0], viz.to_numpy_image(gray[0]))
    np.testing.assert_array_equal(drawn[2], viz.to_numpy_image(out[0]))
    assert [fig.axes[i].get_ylabel() for i in (0, 2, 4)] == ["input", "regression", "class, mode"]
    with pytest.raises(ValueError, match="no models"):
        paper.gallery({}, images)
