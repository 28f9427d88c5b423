"""Source 002's CNN with a fusion layer (notebook 05): the network, the global branches, the
whole-photo context and its features computed once per photo, the narrow subsets, the tone
measure and the rules of the claims."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from colorlab import backbones, claims, data, study
from colorlab.checks import RunRequest, plan_run
from colorlab.color import IMAGENET_MEAN, IMAGENET_STD, imagenet_gray, rgb_to_lab, rgb_to_yuv
from colorlab.errors import UsageError
from colorlab.methods.fusion import RGB_TANH, Fusion
from colorlab.methods.fusion.network import Colorizer, FusionLayer, JointGlobal, ResNetGlobal
from colorlab.papers import fusion as paper

SMALL = dict(base=4, residual_blocks=1, global_size=32, joint_dim=8, backbone_weights="random")


@pytest.fixture(scope="module")
def yuv_sets():
    kw = dict(crop=32, image_size=64, space="yuv", context=48)
    return data.load_dataset("samples", "train", **kw), data.load_dataset("samples", "test", max_tiles=2, **kw)


def _batch(ds, n=4, seed=3):
    return next(iter(data.make_loader(ds, n, train=True, seed=seed)))


# ----------------------------------------------------------------------------- the network


def test_fusion_layer_is_the_1x1_convolution_over_the_tiled_concatenation():
    torch.manual_seed(0)
    f = FusionLayer(6, 5).double().train()
    x, g = torch.randn(3, 6, 4, 7, dtype=torch.double), torch.randn(3, 5, dtype=torch.double)
    tiled = torch.cat([x, g[:, :, None, None].expand(-1, -1, 4, 7)], dim=1)
    assert torch.allclose(f(x, g), torch.relu(f.norm(f.as_conv()(tiled))))
    # every pixel gets the same global contribution: changing g shifts each pixel's pre-activation equally
    f.eval()
    delta = f.local(x) + f.glob(g)[:, :, None, None] - (f.local(x) + f.glob(g * 0)[:, :, None, None])
    assert torch.allclose(delta, delta[..., :1, :1].expand_as(delta))
    x.requires_grad_(True)
    g.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: f(a, b), (x[:1, :, :2, :2].detach().requires_grad_(), g[:1]))
    with pytest.raises(ValueError, match=r"global features must be \(3, 5\)"):
        f(x, g[:, :4])


def test_colorizer_shapes_and_input_checks():
    net = Colorizer(base=4, out_channels=3, residual_blocks=2)
    assert net(torch.rand(2, 1, 12, 20)).shape == (2, 3, 12, 20)
    assert net(torch.rand(1, 1, 8, 8)).abs().max() <= 1.0  # tanh range
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 1, 10, 12))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        net(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="only with one"):
        net(torch.rand(1, 1, 8, 8), torch.rand(1, 4))
    with pytest.raises(ValueError, match="needed with a fusion layer"):
        Colorizer(base=4, global_dim=4)(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="2 or 3 outputs"):
        Colorizer(out_channels=1)


def test_the_resnet_branch_sees_the_gray_photo_as_torchvision_normalises_it_and_stays_frozen():
    y = torch.rand(2, 1, 8, 8)
    expected = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)(y.expand(-1, 3, -1, -1))
    assert torch.allclose(imagenet_gray(y), expected, atol=1e-6)
    with pytest.raises(ValueError, match="gray image"):
        imagenet_gray(torch.rand(1, 2, 4, 4))
    branch = ResNetGlobal("random", frozen=True).train()
    assert not branch.backbone.training and not any(p.requires_grad for p in branch.parameters())
    assert branch(torch.rand(2, 1, 32, 32)).shape == (2, 2048)
    assert ResNetGlobal("random", frozen=False).train().backbone.training
    assert JointGlobal(base=2, dim=5)(torch.rand(3, 1, 32, 32)).shape == (3, 5)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="base must be a positive integer"):
        Fusion("uv", base=0)
    with pytest.raises(ValueError, match="variant 'uv' sets fusion='none'"):
        Fusion("uv", fusion="joint")
    with pytest.raises(ValueError, match="global_size must be a positive integer"):
        Fusion("uv_fusion", global_size=0)


def test_rows_and_checkpoint_keys_record_the_resnet_weights(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(backbones, "_UNAVAILABLE", {})
    monkeypatch.setattr(backbones, "reachable", lambda host, port: False)  # offline
    m = Fusion("uv_fusion_resnet", **{**SMALL, "backbone_weights": "imagenet"})
    assert m.backbone_weights == backbones.FALLBACK and not m.pretrained
    assert m.provenance() == {"backbone_weights": backbones.FALLBACK}
    assert m.row_labels("direct") == {"output": "uv", "fusion": "resnet", "backbone_weights": backbones.FALLBACK}
    assert Fusion("uv_fusion", **SMALL).provenance() == {} and Fusion("uv", **SMALL).backbone_weights is None


# ------------------------------------------------------------------- context and precomputing


def test_items_carry_their_whole_photo_scaled(yuv_sets):
    train, test = yuv_sets
    item = train[(1, 7)]
    assert item["context"].shape == (1, 48, 48) and item["Y"].shape == (1, 32, 32)
    photo = train.images[1][None].float() / 255
    small = torch.nn.functional.interpolate(photo, size=(48, 48), mode="bilinear", antialias=True).clamp(0, 1)
    assert torch.allclose(item["context"], rgb_to_yuv(small)[0][0], atol=1e-5)
    assert torch.equal(train[(1, 8)]["context"], item["context"])  # another crop, the same photo
    tiles = [test[k] for k in range(len(test))]
    same = [t["image"] == tiles[0]["image"] for t in tiles]
    assert all(torch.equal(t["context"], tiles[0]["context"]) for t, s in zip(tiles, same, strict=True) if s)
    lab = data.load_dataset("samples", "train", crop=32, image_size=64, space="lab", context=16)[(0, 1)]
    assert lab["context"].max() > 1.0  # Lab's L, in [0, 100]
    with pytest.raises(ValueError, match="context must be None or a positive integer"):
        data.ColorDataset(train.images, "train", space="rgb", context=16)
    with pytest.raises(ValueError, match="context must be None"):
        data.ColorDataset(train.images, "train", space="yuv", context=0)


def test_frozen_features_are_computed_once_per_photo_and_equal_computing_them_each_step(yuv_sets):
    train, _ = yuv_sets
    torch.manual_seed(0)
    m = Fusion("uv_fusion_resnet", **SMALL)
    calls = []
    m.glob.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    record = m.prepare(train)
    assert "once per training photo" in record["global_features"] and calls == []  # nothing computed yet
    batch = _batch(train)
    m.train()
    precomputed = m.loss(batch)
    assert calls == [len(train.images)]  # every training photo once, at the first step
    m.loss(_batch(train, seed=4))
    assert calls == [len(train.images)]  # looked up afterwards
    m._table = None  # the same batch with the features computed from its items' context
    assert torch.allclose(m.loss(batch), precomputed, atol=1e-6)
    assert Fusion("uv_fusion", **SMALL).prepare(train) == {}  # a jointly trained branch changes: nothing to precompute
    no_context = data.load_dataset("samples", "train", crop=32, image_size=64, space="yuv")
    assert "every step" in Fusion("uv_fusion_resnet", **SMALL).prepare(no_context)["global_features"]


def test_colourising_uses_the_batch_photo_when_it_has_one(yuv_sets):
    _, test = yuv_sets
    batch = next(iter(data.make_loader(test, 4, train=False)))
    torch.manual_seed(0)
    fused = Fusion("uv_fusion", **SMALL).eval()
    with_context = fused.colorize(batch)
    without = fused.colorize({k: v for k, v in batch.items() if k != "context"})
    assert with_context.shape == batch["rgb"].shape and not torch.allclose(with_context, without)
    plain = Fusion("uv", **SMALL).eval()
    assert torch.equal(plain.colorize(batch), plain.colorize({k: v for k, v in batch.items() if k != "context"}))


def test_the_rgb_network_read_two_ways(yuv_sets):
    _, test = yuv_sets
    batch = next(iter(data.make_loader(test, 2, train=False)))
    torch.manual_seed(0)
    m = Fusion("rgb", **SMALL).eval()
    kept = m.colorize(batch, "chroma")
    as_is = m.colorize(batch, "rgb")
    raw = RGB_TANH.decode(m.net(batch["Y"]))
    assert torch.allclose(as_is, raw.clamp(0, 1), atol=1e-6)
    # the chroma reading keeps the input's own luminance (up to the gamut clip)
    assert (rgb_to_yuv(kept)[0] - batch["Y"]).abs().mean() < (rgb_to_yuv(as_is)[0] - batch["Y"]).abs().mean()
    assert torch.allclose(RGB_TANH.encode(batch["rgb"]).add(1).div(2), batch["rgb"])
    with pytest.raises(ValueError, match="unknown decoding 'direct'; known: chroma, rgb"):
        m.colorize(batch, "direct")


# ----------------------------------------------------------------------------------- subsets


def _folder(tmp_path):
    root = tmp_path / "photos"
    for sub, n in (("stop", 12), ("misc", 12)):
        (root / sub).mkdir(parents=True)
        for k in range(n):
            Image.new("RGB", (40, 40), (20 * k, 100 if sub == "stop" else 10, 50)).save(root / sub / f"{k}.png")
    return root


def test_subset_forms_and_their_errors(tmp_path):
    root = _folder(tmp_path)
    spec = f"folder:{root}"
    assert data.check_subset("dir:stop", spec) == "dir:stop"
    listing = tmp_path / "narrow.txt"
    listing.write_text("# the stop signs\nstop/0.png\n\nstop/3.png  # a comment\n")
    assert data.check_subset("list:narrow.txt", spec, cwd=tmp_path) == f"list:{listing}"
    assert data.resolve_subset(f"list:{listing}", spec).names == {"stop/0.png", "stop/3.png"}
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        data.check_subset("dir:stops", spec)
    with pytest.raises(ValueError, match="dir: names a sub-folder of a folder: data spec"):
        data.check_subset("dir:stop", "samples")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.check_subset("list:nope.txt", spec, cwd=tmp_path)
    with pytest.raises(ValueError, match="subset must be auto, none"):
        data.check_subset("", spec)
    assert data.resolve_subset("none", "samples") is None and data.resolve_subset("auto", spec) is None
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="names no image"):
        data.resolve_subset(f"list:{tmp_path / 'empty.txt'}", spec)


def test_a_subset_keeps_the_held_out_split(tmp_path):
    root = _folder(tmp_path)
    spec = f"folder:{root}"
    stop = data.resolve_subset("dir:stop", spec)
    train, test = (data.load_images(spec, split) for split in ("train", "test"))
    narrow_train, narrow_test = data.restrict(train, stop), data.restrict(test, stop)
    assert set(narrow_train.names) == {n for n in train.names if n.startswith("stop/")}
    assert set(narrow_test.names) == {n for n in test.names if n.startswith("stop/")}
    assert not set(narrow_train.names) & set(narrow_test.names)
    assert torch.equal(narrow_train[0], train[list(train.names).index(narrow_train.names[0])])
    assert "subset: the files under stop/" in narrow_train.data_path and len(train) > len(narrow_train)


def test_the_study_restricts_a_run_and_says_when_it_cannot(tmp_path, capsys):
    params = dict(profile="smoke", data_spec="samples", device="cpu", seeds=[0], steps=1, batch_size=2, crop=32,
                  image_size=64, max_tiles=1, subset="auto")
    s = study.start("05_example", params, root=tmp_path)
    run = s.datasets("yuv", context=32, folds=False)
    assert run.train_set.images.split_rule == "region" and len(run.train_set.images) == 8
    narrow = s.restrict(run, "auto")
    assert narrow.subset.startswith("the outdoor") and list(narrow.test_set.images.names) == [
        "rocket",
        "china",
        "flower",
    ]
    assert narrow.train_set.context == 32 and narrow.test_set.max_tiles == 1 and narrow.seed == run.seed
    assert run.subset is None and len(run.test_set.images) == 8  # the run itself is left as it was
    with pytest.raises(ValueError, match="does not have: rockett"):
        s.restrict(s.datasets("yuv"), "names:rocket,rockett")
    folded = s.datasets("yuv")  # folds of whole photos: fold 0 of 2 holds astronaut, chelsea, motorcycle, flower out
    assert s.restrict(folded, "names:coffee,rocket") is None and "no test image in this run" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="list file"):
        study.start("05_example", {**params, "subset": "list:/no/such.txt"}, root=tmp_path)


def test_run_checks_the_subset_before_any_kernel(tmp_path, monkeypatch):
    (tmp_path / "n.txt").write_text("rocket\n")
    plan = plan_run(RunRequest("smoke", ["05"], {"subset": "list:n.txt"}, root=tmp_path / "r", cwd=tmp_path))
    assert plan.params["05_fusion_layer"]["subset"] == f"list:{tmp_path / 'n.txt'}"
    with pytest.raises(UsageError, match="-p subset='dir:x'.*folder: data spec"):
        plan_run(RunRequest("smoke", ["05"], {"subset": "dir:x"}, root=tmp_path / "r", cwd=tmp_path))


# ------------------------------------------------------------------------------------ claims


BROWN_AB = rgb_to_lab(torch.tensor([139, 69, 19]).div(255).view(1, 3, 1, 1))[1].flatten().tolist()  # saddle brown


def _units(seeds=(0, 1, 2), photos=6, auc=None, weights="random (offline fallback)", tone=BROWN_AB, ratio=0.4,
           conc=(0.9, 0.5), spread=0.5, follow=None, truth_b=0.0, truth_sd=8.0):
    """``follow``: the prediction's mean colour also follows the truth's from photo to photo, scaled by it."""
    auc = {"rgb/chroma": 0.80, "rgb/rgb": 0.78, "uv": 0.85, "uv_fusion": 0.90, "uv_fusion_resnet": 0.89,
           "uv_whole": 0.80, "uv_subset": 0.86, **(auc or {})}
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for p in range(photos):
            for key, a in auc.items():
                variant, _, decode = key.partition("/")
                noise = rng.normal(0, 0.004)
                row = {
                    "method": "fusion",
                    "variant": variant,
                    "decode": decode or "direct",
                    "seed": seed,
                    "unit": f"p{p}",
                    "auc": a + noise,
                    "psnr": 20 + 10 * (a + noise),
                    "colorfulness": 100 * a + rng.normal(0, 0.3),
                    "colorfulness_gap": 100 * a - 95,
                    "chroma_ratio": ratio + rng.normal(0, 0.02),
                    "backbone_weights": weights,
                    "tone_a": tone[0] * ratio + rng.normal(0, spread),
                    "tone_b": tone[1] * ratio + rng.normal(0, spread),
                    "tone_a_gt": rng.normal(0, truth_sd),
                    "tone_b_gt": rng.normal(truth_b, truth_sd),
                    "tone_concentration": conc[0] + rng.normal(0, 0.02),
                    "tone_concentration_gt": conc[1] + rng.normal(0, 0.02),
                    "tested_on": "the outdoor photos",
                    "subset_split": "region",
                }
                if follow is not None:
                    row["tone_a"] += follow * row["tone_a_gt"]
                    row["tone_b"] += follow * (row["tone_b_gt"] - truth_b)
                rows.append(row)
    return pd.DataFrame(rows)


def _rule(key):
    """The claim's rule with the claim's own margins."""
    claim = next(c for c in paper.CLAIMS if c.key == key)
    return lambda rows: claim.rule(rows, claim.margins)


dull_brown, uv_beats_rgb = _rule("fusion_dull_brown"), _rule("fusion_uv_beats_rgb")
homogeneous_easier, fusion_improves = _rule("fusion_homogeneous_easier"), _rule("fusion_improves")
fusion_resnet_improves = _rule("fusion_resnet_improves")


def test_dull_brown_is_measured_not_eyeballed():
    v = dull_brown(_units(truth_sd=4.0))
    ev, verdict, interval = v.evidence, v.outcome, v.interval
    assert verdict == claims.REPRODUCED and re.match(r"cast hue [56]\d° \[", interval) and "the truth's tone" in ev
    blue = rgb_to_lab(torch.tensor([40, 80, 200]).div(255).view(1, 3, 1, 1))[1].flatten().tolist()
    assert dull_brown(_units(tone=blue, truth_sd=4.0)).outcome == claims.NOT_REPRODUCED  # a blue cast is not brown
    assert dull_brown(_units(ratio=1.3)).outcome == claims.NOT_REPRODUCED  # not dull
    assert (
        dull_brown(_units(spread=20.0)).outcome == claims.NOT_REPRODUCED
    )  # its tone varies more than the truth's
    assert paper.tone_spread(_units(), variant="rgb", decode="rgb")[2] < 0.2
    assert dull_brown(_units().query("variant != 'rgb'")).outcome == claims.INCONCLUSIVE
    t = paper.tone_of(_units(), variant="rgb", decode="rgb")
    assert t["hue"][1] <= math.degrees(math.atan2(BROWN_AB[1], BROWN_AB[0])) <= t["hue"][2]


def test_brown_is_a_cast_against_the_truths_own_tone():
    """Rule v3: a network that keeps the photos' own brownish average colour has no brown cast."""
    brownish = [BROWN_AB[0] * 0.4, BROWN_AB[1] * 0.4]
    keeps = _units(truth_b=brownish[1]).assign(tone_a_gt=lambda d: d["tone_a"] + np.random.default_rng(1).normal(
        0, 0.5, len(d)), tone_b_gt=lambda d: d["tone_b"] + np.random.default_rng(2).normal(0, 0.5, len(d)))
    v = dull_brown(keeps)
    assert v.outcome == claims.NOT_REPRODUCED and "cast against the truth" in v.evidence, v.evidence
    cast = paper.cast_of(keeps, variant="rgb", decode="rgb")
    assert cast["chroma"][2] < 2.3 <= paper.cast_of(_units(), variant="rgb", decode="rgb")["chroma"][1]


def test_hue_interval_wraps_across_180_degrees():
    df = _units(tone=[-30.0, 0.5])  # hue about 179°: replicates fall on both sides of the wrap
    off = paper.hue_interval(df, 180.0, variant="uv", decode="direct")
    assert -20 < off[1] <= off[2] < 20


def test_uv_rgb_homogeneous_and_fusion_rules():
    assert uv_beats_rgb(_units()).outcome == claims.REPRODUCED
    v = uv_beats_rgb(_units(auc={"uv": 0.79}))
    ev, verdict, interval = v.evidence, v.outcome, v.interval
    assert verdict == claims.NOT_REPRODUCED and "AuC vs chroma" in interval and "its RGB as it is" in ev
    v = homogeneous_easier(_units())
    ev, verdict = v.evidence, v.outcome
    assert verdict == claims.REPRODUCED and "tested on the outdoor photos (held out by region)" in ev
    assert homogeneous_easier(_units(auc={"uv_subset": 0.7})).outcome == claims.NOT_REPRODUCED
    v = homogeneous_easier(_units().query("variant != 'uv_subset'"))
    ev, verdict = v.evidence, v.outcome
    assert verdict == claims.INCONCLUSIVE and "not run" in ev
    assert fusion_improves(_units()).outcome == claims.REPRODUCED
    v = fusion_improves(_units(auc={"uv_fusion": 0.85}))  # AuC and colourfulness as without: inside both margins
    assert v.outcome == claims.NOT_REPRODUCED and "AuC 0.01, colourfulness 3" in v.evidence
    # AuC up 0.03, colourfulness up 3.0, the size of its margin: the interval straddles it
    assert fusion_improves(_units(auc={"uv_fusion": 0.88})).outcome == claims.INCONCLUSIVE
    v = fusion_resnet_improves(_units())
    ev, verdict = v.evidence, v.outcome
    assert verdict == claims.INCONCLUSIVE and "would say REPRODUCED" in ev and "not ImageNet-pretrained" in ev
    assert fusion_resnet_improves(_units(weights="imagenet")).outcome == claims.REPRODUCED


def test_dull_and_one_tone_must_clear_their_margins():
    """Dull: chroma ratio below 1 - 0.05; one tone: spread ratio below 1 - 0.05; brown has no margin."""
    assert dull_brown(_units(ratio=0.97)).outcome == claims.NOT_REPRODUCED  # desaturated by less than the margin
    assert dull_brown(_units(ratio=0.95)).outcome == claims.INCONCLUSIVE  # by the margin, within the noise
    inside = _units(spread=0.0, follow=0.97)  # its tone varies 0.97 times as much as the truth's, on every draw
    assert paper.tone_spread(inside, variant="rgb", decode="rgb")[1:] == pytest.approx((0.97, 0.97))
    assert dull_brown(inside).outcome == claims.NOT_REPRODUCED
    v = dull_brown(_units(spread=1.5, follow=0.93))  # about 0.95, the margin, within the noise
    assert v.outcome == claims.INCONCLUSIVE and "one tone below 0.95" in v.evidence


def test_tone_plot_draws_each_row_where_its_mean_colour_is():
    df = _units()
    fig = paper.tone_plot(df, [("rgb", "rgb"), ("uv_fusion", "direct")])
    ax = fig.axes[0]
    wedge = [p for p in ax.patches if type(p).__name__ == "Wedge"][0]
    assert (wedge.theta1, wedge.theta2) == paper.BROWN_HUES
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "truth (per photo)" and re.match(r"rgb/rgb: 5[6-9]°, ", labels[1])
    big = ax.collections[2].get_offsets()[0]  # the first row's overall tone
    rows = df.query("variant == 'rgb' and decode == 'rgb'")
    assert np.allclose(big, [rows["tone_a"].mean(), rows["tone_b"].mean()], atol=1e-6)
    assert len(ax.collections[1].get_offsets()) == len(rows)  # one point per seed and photo


def test_each_claim_says_which_test_set_it_was_measured_on():
    df = _units().assign(notebook="05_fusion_layer", data="samples (embedded)")
    df.loc[df["variant"].isin(paper.SUBSET_ROWS), "data"] = "samples (embedded), subset: the outdoor photos"
    df.loc[df["variant"].isin(paper.SUBSET_ROWS), "seed"] = 7
    out = claims.judge(df, paper.CLAIMS).set_index("key")
    assert out.loc["fusion_homogeneous_easier", "measured_on"].startswith("samples (embedded), subset: the outdoor")
    assert out.loc["fusion_homogeneous_easier", "seeds"] == "7"
    assert out.loc["fusion_improves", "measured_on"] == ("samples (embedded): 6 held-out photos, seeds 0,1,2 "
                                                         "(3 per photo)")
