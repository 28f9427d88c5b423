"""pix2pix (notebook 06): the networks against the official code's sizes, the GAN objectives, the
training step against a step written out as the official ``optimize_parameters``, resumption of both
networks and optimisers, the discriminator's health, the colour-distribution measures, the claims'
rules and the figures."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from matplotlib.colors import to_hex

from colorlab import checkpoint, claims, data, metrics
from colorlab.color import PIX2PIX
from colorlab.methods.pix2pix import Pix2Pix
from colorlab.methods.pix2pix.network import (
    PatchDiscriminator,
    UNetGenerator,
    gan_loss,
    init_weights,
    patch_accuracy,
    receptive_field,
)
from colorlab.papers import pix2pix as paper
from colorlab.train import TrainConfig, fit

SMALL = dict(ngf=4, ndf=4, num_downs=3, n_layers_d=2)


def _n(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def lab_set():
    return data.load_dataset("samples", "train", crop=32, image_size=64, space="lab")


def _batch(ds, n=4, seed=3):
    return next(iter(data.make_loader(ds, n, train=True, seed=seed)))


# ----------------------------------------------------------------------------- the networks


def test_official_sizes():
    """junyanz's logs print ``[Network G] Total number of parameters : 54.414 M`` and ``[Network D] ...
    2.769 M`` for pix2pix (unet_256, 3 -> 3; basic D on the 6-channel pair)."""
    g, d = UNetGenerator(3, 3, num_downs=8, ngf=64), PatchDiscriminator(6, ndf=64, n_layers=3)
    assert round(_n(g) / 1e6, 3) == 54.414 and round(_n(d) / 1e6, 3) == 2.769
    assert sum(isinstance(m, torch.nn.Dropout) for m in g.modules()) == 3  # num_downs - 5 dropout levels
    # each dropout follows an 8 ngf -> 8 ngf decoder level that is not the innermost
    for block in (m for m in g.modules() if type(m).__name__ == "_SkipBlock"):
        layers = list(block.model)
        if isinstance(layers[-1], torch.nn.Dropout):
            assert layers[1].in_channels == layers[1].out_channels == 512 and isinstance(layers[3], type(block))
    assert sum(isinstance(m, torch.nn.Dropout) for m in UNetGenerator(1, 2, num_downs=6, ngf=4).modules()) == 1
    assert not any(isinstance(m, torch.nn.Dropout) for m in UNetGenerator(1, 2, num_downs=4, ngf=4).modules())


def test_generator_shapes_range_and_input_check():
    g = UNetGenerator(1, 2, num_downs=4, ngf=4)
    out = g(torch.randn(2, 1, 32, 48))
    assert out.shape == (2, 2, 32, 48) and out.abs().max() <= 1.0
    with pytest.raises(ValueError, match="multiples of 16"):
        g(torch.randn(1, 1, 24, 32))
    with pytest.raises(ValueError, match="num_downs"):
        UNetGenerator(1, 2, num_downs=1)


def test_skip_connections_carry_the_input_past_the_bottleneck():
    """The outermost level sees its encoder's features again: change one input pixel and the output
    changes most there (a plain encoder-decoder through a 1x1 code would spread it everywhere)."""
    torch.manual_seed(0)
    g = init_weights(UNetGenerator(1, 2, num_downs=4, ngf=8)).eval()
    x = torch.randn(1, 1, 16, 16, requires_grad=True)
    g(x)[0, :, 5, 9].sum().backward()
    grad = x.grad[0, 0].abs()
    near = grad[2:9, 6:13]  # the outermost level's 4x4 down and up convolutions reach 3 pixels or so
    assert near.sum() > 0.9 * grad.sum()
    assert near.mean() > 10 * (grad.sum() - near.sum()) / (grad.numel() - near.numel())


def test_patch_discriminator_sees_70_pixels():
    torch.manual_seed(0)
    d = PatchDiscriminator(3, ndf=4, n_layers=3).eval()
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0].abs().sum((0, 2))).flatten()
    cols = torch.nonzero(x.grad[0].abs().sum((0, 1))).flatten()
    assert int(rows.max() - rows.min() + 1) == int(cols.max() - cols.min() + 1) == receptive_field(3) == 70
    assert d(torch.randn(2, 3, 64, 64)).shape == (2, 1, 6, 6)


def test_init_weights_is_the_official_normal():
    torch.manual_seed(0)
    d = init_weights(PatchDiscriminator(3, ndf=32, n_layers=3))
    conv = torch.cat([m.weight.detach().flatten() for m in d.modules() if isinstance(m, torch.nn.Conv2d)])
    bn = torch.cat([m.weight.detach().flatten() for m in d.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(float(conv.std()) - 0.02) < 0.001 and abs(float(conv.mean())) < 0.001
    bn_bias = torch.cat([m.bias.detach() for m in d.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(float(bn.std()) - 0.02) < 0.003 and float(bn_bias.abs().max()) == 0.0  # PyTorch's default: all ones
    assert abs(float(bn.mean()) - 1.0) < 0.01 and all(float(m.bias.detach().abs().max()) == 0.0 for m in d.modules()
                                                       if isinstance(m, torch.nn.Conv2d) and m.bias is not None)


def test_gan_objectives_agree_with_their_definitions():
    pred = torch.randn(3, 1, 4, 4)
    assert torch.allclose(
        gan_loss(pred, True), F.binary_cross_entropy(torch.sigmoid(pred), torch.ones_like(pred)), atol=1e-6
    )
    assert torch.allclose(gan_loss(pred, False), -torch.log(1 - torch.sigmoid(pred)).mean(), atol=1e-5)
    assert torch.allclose(gan_loss(pred, True, "lsgan"), (pred - 1).square().mean())
    assert torch.allclose(gan_loss(pred, False, "lsgan"), pred.square().mean())
    with pytest.raises(ValueError, match="vanilla, lsgan"):
        gan_loss(pred, True, "wgan")
    logits = torch.tensor([-2.0, -0.1, 0.3, 4.0])
    assert patch_accuracy(logits, True).item() == 0.5 and patch_accuracy(logits, False).item() == 0.5
    assert patch_accuracy(logits, True, "lsgan").item() == 0.25


# ------------------------------------------------------------------------------- the method


def test_variants_and_bad_arguments():
    l1_only = Pix2Pix("l1", **SMALL)
    assert l1_only.discriminator is None and sorted(l1_only.configure_optimizers()) == ["g"]
    m = Pix2Pix("gan", **SMALL)
    assert m.args["l1_weight"] == 0.0 and m.fitted_value == "d_loss" and m.input_multiple == 8
    assert m.count_parameters() == _n(m.generator) < _n(m)
    assert m.norm is PIX2PIX and PIX2PIX.encode_l(torch.tensor([0.0, 100.0])).tolist() == [-1.0, 1.0]
    for bad, match in [({"gan_mode": "wgan"}, "gan_mode"), ({"num_downs": 1}, "num_downs"), ({"ngf": 0}, "ngf"),
                       ({"dropout": 1.0}, "dropout")]:
        with pytest.raises(ValueError, match=match):
            Pix2Pix("l1_gan", **{**SMALL, **bad})
    with pytest.raises(ValueError, match="variant 'gan' sets gan_weight"):
        Pix2Pix("gan", gan_weight=0.5)


def test_train_step_wants_its_optimisers_and_big_enough_crops(lab_set):
    m = Pix2Pix("l1_gan", **SMALL)
    batch = _batch(lab_set)
    with pytest.raises(ValueError, match=r"optimisers \['d', 'g'\]"):
        m.train_step(batch, {"g": m.configure_optimizers()["g"]}, 0)
    m = Pix2Pix("l1_gan", **{**SMALL, "n_layers_d": 3})
    small = {k: v[..., :16, :16] if k in ("L", "ab") else v for k, v in batch.items()}
    with pytest.raises(ValueError, match="at least 24 pixels"):
        m.train_step(small, m.configure_optimizers(), 0)
    with pytest.raises(KeyError, match="space='lab'"):
        m.train_step({"Y": batch["L"]}, m.configure_optimizers(), 0)


def _official_step(m: Pix2Pix, opt_g, opt_d, batch):
    """The official ``optimize_parameters``, written out independently of :meth:`Pix2Pix.train_step`;
    returns its discriminator loss and the generator's GAN and L1 terms."""
    real_a, real_b = batch["L"] / 50.0 - 1.0, batch["ab"] / 110.0
    fake_b = m.generator(real_a)
    opt_d.zero_grad()
    bce = torch.nn.BCEWithLogitsLoss()
    pred_fake = m.discriminator(torch.cat([real_a, fake_b.detach()], 1))
    pred_real = m.discriminator(torch.cat([real_a, real_b], 1))
    d_loss = (bce(pred_fake, torch.zeros_like(pred_fake)) + bce(pred_real, torch.ones_like(pred_real))) * 0.5
    d_loss.backward()
    opt_d.step()
    for p in m.discriminator.parameters():
        p.requires_grad = False
    opt_g.zero_grad()
    pred = m.discriminator(torch.cat([real_a, fake_b], 1))
    g_gan, g_l1 = bce(pred, torch.ones_like(pred)), (fake_b - real_b).abs().mean()
    (g_gan + 100.0 * g_l1).backward()
    opt_g.step()
    for p in m.discriminator.parameters():
        p.requires_grad = True
    return {"d_loss": d_loss.detach(), "g_gan": g_gan.detach(), "g_l1": g_l1.detach()}


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])  # SGD: a loss off by a constant factor shows
def test_train_step_is_the_official_optimize_parameters(optimizer, lab_set):
    torch.manual_seed(0)
    ours = Pix2Pix("l1_gan", **SMALL).train()
    ref = copy.deepcopy(ours)

    def make(net):
        return (torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) if optimizer == "adam"
                else torch.optim.SGD(net.parameters(), lr=0.05))

    opts = (
        ours.configure_optimizers()
        if optimizer == "adam"
        else {"g": make(ours.generator), "d": make(ours.discriminator)}
    )
    opt_g, opt_d = make(ref.generator), make(ref.discriminator)
    for step in range(3):
        batch = _batch(lab_set, seed=step)
        torch.manual_seed(10 + step)  # the same dropout masks in both
        logs = ours.train_step(batch, opts, step)
        torch.manual_seed(10 + step)
        expected = _official_step(ref, opt_g, opt_d, batch)
        for k, v in expected.items():
            assert torch.allclose(logs[k], v, atol=1e-6), (step, k)
    for (k, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), k
    assert set(logs) == {"loss", "g_l1", "g_gan", "d_loss", "d_real_acc", "d_fake_acc"}
    assert all(p.requires_grad for p in ours.discriminator.parameters())


def test_l1_alone_never_builds_or_steps_a_discriminator(lab_set):
    torch.manual_seed(0)
    m = Pix2Pix("l1", **SMALL).train()
    logs = m.train_step(_batch(lab_set), m.configure_optimizers(), 0)
    assert set(logs) == {"loss", "g_l1"} and torch.isclose(logs["loss"], 100 * logs["g_l1"])


def test_gan_alone_moves_the_generator_by_the_discriminator_alone(lab_set):
    """No L1 term: the generator's only gradient comes through the discriminator, and it does arrive."""
    torch.manual_seed(0)
    m = Pix2Pix("gan", **SMALL).train()
    before = copy.deepcopy(m.generator.state_dict())
    logs = m.train_step(_batch(lab_set), m.configure_optimizers(), 0)
    assert torch.isclose(logs["loss"], logs["g_gan"])
    moved = [k for k, v in m.generator.state_dict().items() if v.is_floating_point() and "running" not in k
             and not torch.equal(v, before[k])]
    assert len(moved) > 0.8 * sum(1 for k, v in before.items() if v.is_floating_point() and "running" not in k)


def test_paper_decoding_runs_as_in_training_and_changes_nothing(lab_set):
    torch.manual_seed(0)
    m = Pix2Pix("l1_gan", **{**SMALL, "num_downs": 6}).eval()  # six levels: one with dropout
    state = copy.deepcopy(m.state_dict())
    rgb = _batch(lab_set, seed=5)["rgb"]
    a, b = m.colorize(rgb, "paper", seed=1), m.colorize(rgb, "paper", seed=1)
    assert torch.equal(a, b) and not torch.equal(a, m.colorize(rgb, "paper", seed=2))  # dropout, seeded
    assert not torch.allclose(a, m.colorize(rgb, "direct"), atol=1e-3)
    single = torch.cat([m.colorize(rgb[i:i + 1], "paper", seed=0) for i in range(2)])
    first = m.colorize(rgb[:2], "paper", seed=0)
    assert torch.allclose(single[:1], first[:1], atol=1e-6)  # the first image's statistics are its own
    assert not m.training and all(torch.equal(v, state[k]) for k, v in m.state_dict().items())
    assert m.pad_input(torch.zeros(1, 1, 64, 65)).shape[-2:] == (64, 128)  # to the multiple, no further


def test_pix2pix_decodings():
    m = Pix2Pix("l1", **SMALL).eval()
    assert m.decodings == ("direct", "paper")
    with pytest.raises(TypeError, match="unknown decoding option"):
        m.colorize(torch.rand(1, 3, 8, 8), "paper", temperature=1.0)


@pytest.mark.parametrize("variant", ["l1_gan", "gan"])
def test_resumed_training_is_bit_identical(variant, lab_set, tmp_path):
    """Both networks, both optimisers and the RNG (dropout) are restored: 3 steps then 3 more from the
    checkpoint end exactly where 6 steps in one go end."""
    def run(path, steps):
        torch.manual_seed(0)
        m = Pix2Pix(variant, **SMALL)
        fit(m, lambda start: data.make_loader(lab_set, 4, train=True, seed=0, start_step=start),
            TrainConfig(steps=steps, progress=False, device="cpu", checkpoint=str(path), checkpoint_every=3,
                        extra={"data": lab_set.describe()}))
        return m

    whole = run(tmp_path / "whole.pt", 6)
    run(tmp_path / "split.pt", 3)
    resumed = run(tmp_path / "split.pt", 6)
    assert checkpoint.read(tmp_path / "split.pt")["step"] == 6
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    sa, sb = checkpoint.read(tmp_path / "whole.pt"), checkpoint.read(tmp_path / "split.pt")
    assert set(sa["optimizers"]) == {"g", "d"} and sb["history"]["d_loss"] == sa["history"]["d_loss"]
    for name in ("g", "d"):
        for s1, s2 in zip(
            sa["optimizers"][name]["state"].values(), sb["optimizers"][name]["state"].values(), strict=True
        ):
            assert torch.equal(s1["exp_avg"], s2["exp_avg"])


# ------------------------------------------------------------------- colour distributions


def test_ab_histograms_agree_with_numpy():
    ab = torch.randn(3, 2, 9, 7) * 40
    h = metrics.ab_histograms(ab)
    edges = np.asarray(metrics.HIST_EDGES)
    for i in range(3):
        for c in range(2):
            ref, _ = np.histogram(ab[i, c].clamp(edges[0], edges[-1] - 1e-3).numpy(), bins=edges)
            assert np.allclose(h[i, c].numpy(), ref / ref.sum()), (i, c)
    assert torch.allclose(h.sum(-1), torch.ones(3, 2))
    with pytest.raises(ValueError):
        metrics.ab_histograms(torch.zeros(1, 3, 4, 4))


def test_distribution_measures():
    gt = torch.rand(4, 3, 16, 16)
    gray = gt.mean(1, keepdim=True).expand_as(gt)
    df = metrics.evaluate(gt, gt)
    assert np.allclose(df["hist_intersection"], 1.0) and (df["hist_kl"] < 0.01).all()  # the smoothing's cost only
    dull = metrics.evaluate(gt, gray)
    assert (dull["hist_intersection"] < 1).all() and (dull["hist_kl"] > 0.1).all()
    runs = [paper.test_set_histograms(gt, {"same": gt, "gray": gray})] * 2
    table = paper.distribution_table(runs).set_index("row")
    assert table.loc["same", "intersection_a"] == pytest.approx(1.0) and table.loc["same", "kl_b"] < 0.01
    assert table.loc["gray", "intersection_b"] < 1 and table.loc["gray", "runs"] == 2
    assert int(runs[0][paper.TRUTH].sum()) == 2 * 4 * 16 * 16  # pixel counts of a and of b


def test_discriminator_health():
    steps = np.arange(1, 41)
    def hist(real, fake):
        return pd.DataFrame(
            {"step": steps, "loss": 1.0, "d_real_acc": real, "d_fake_acc": fake, "d_loss": 0.5, "g_gan": 1.0}
        )

    health = paper.discriminator_health({
        "winning": hist(np.r_[np.full(30, 0.5), np.full(10, 0.99)], 0.98),
        "useless": hist(0.5, 0.55),
        "balanced": hist(0.8, 0.7),
        "one-sided": hist(0.3, 0.99),
        "l1": pd.DataFrame({"step": steps, "loss": 1.0}),
    }).set_index("run")
    assert health["state"].to_dict() == {"winning": "wins outright", "useless": "useless", "balanced": "balanced",
                                         "one-sided": "one-sided"}
    assert health.loc["winning", "d_real_acc"] == pytest.approx(0.99)  # the last quarter only
    assert health.loc["winning", "won_steps"] == pytest.approx(0.25) and health.loc["balanced", "won_steps"] == 0


# --------------------------------------------------------------------------------- claims


def _units(gan_cf=50.0, gan_auc=0.80, gan_inter=0.6, seed_noise=0.01, gan_kl=None, gan_psnr=0.0, psnr_noise=0.1,
           hist_noise=0.01):
    """``gan_psnr``: added to L1 + GAN's PSNR (20 times the AuC, give or take ``psnr_noise``)."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in (0, 1, 2):
        for unit in "abcdef":
            for variant, cf, auc, inter in (("l1", 30.0, 0.85, 0.4), ("l1_gan", gan_cf, gan_auc, gan_inter)):
                rows.append(
                    {
                        "method": "pix2pix",
                        "variant": variant,
                        "decode": paper.DECODE,
                        "seed": seed,
                        "unit": unit,
                        "colorfulness": cf + rng.normal(0, 1),
                        "chroma_ratio": cf / 40,
                        "auc": auc + rng.normal(0, seed_noise),
                        "psnr": 20 * auc + rng.normal(0, psnr_noise) + (gan_psnr if variant == "l1_gan" else 0.0),
                        "hist_intersection": inter + rng.normal(0, hist_noise),
                        "hist_kl": (1 - inter if gan_kl is None or variant == "l1" else gan_kl)
                        + rng.normal(0, hist_noise),
                    }
                )
    return pd.DataFrame(rows)


def _rules():
    """Each claim's rule, with the claim's own margins."""
    return {c.key: (lambda rows, c=c: c.rule(rows, c.margins)) for c in paper.CLAIMS}


def test_claim_rules_follow_the_intervals():
    rules = _rules()
    clear = _units()
    assert rules["pix2pix_gan_distribution"](clear).outcome == claims.REPRODUCED
    assert rules["pix2pix_gan_colourful"](clear).outcome == claims.REPRODUCED
    assert rules["pix2pix_l1_accurate"](clear).outcome == claims.REPRODUCED
    reversed_ = _units(gan_cf=20.0, gan_auc=0.9, gan_inter=0.3)
    assert {k: r(reversed_).outcome for k, r in rules.items()} == dict.fromkeys(rules, claims.NOT_REPRODUCED)
    noisy = _units(gan_auc=0.85, seed_noise=0.05, psnr_noise=1.0)  # as accurate, within noise reaching the margins
    assert rules["pix2pix_l1_accurate"](noisy).outcome == claims.INCONCLUSIVE
    assert rules["pix2pix_gan_colourful"](clear[clear["variant"] == "l1"]) == claims.missing("pix2pix/l1_gan/paper")
    # the parts disagree: intersection up, KL up too; the interval shown is the one that decides
    split = _units(gan_kl=0.9)
    v = rules["pix2pix_gan_distribution"](split)
    evidence_, verdict, decisive = v.evidence, v.outcome, v.interval
    assert verdict == claims.NOT_REPRODUCED and decisive.startswith("0.3") and f"KL {decisive}" in evidence_
    v = rules["pix2pix_l1_accurate"](noisy)
    evidence_, verdict, decisive = v.evidence, v.outcome, v.interval
    assert verdict == claims.INCONCLUSIVE and (f"AuC {decisive}" in evidence_ or f"PSNR {decisive}" in evidence_)


@pytest.mark.parametrize(
    "key, kw, expected",
    [
        # L1 minus L1 + GAN: AuC 0.05 higher; PSNR 1.0 - gan_psnr higher, against a margin of 0.3 dB
        ("pix2pix_l1_accurate", {"gan_psnr": 0.8}, claims.NOT_REPRODUCED),  # PSNR 0.2 higher: inside the margin
        ("pix2pix_l1_accurate", {"gan_psnr": 0.7}, claims.INCONCLUSIVE),  # 0.3 higher, the margin, in the noise
        # L1 + GAN minus L1: intersection up 0.2 and KL down 0.3 unless changed, against margins of 0.01
        ("pix2pix_gan_distribution", {"gan_inter": 0.4, "gan_kl": 0.3, "hist_noise": 0.003},
         claims.NOT_REPRODUCED),  # intersection as L1's: inside its margin
        ("pix2pix_gan_distribution", {"gan_inter": 0.41, "gan_kl": 0.3, "hist_noise": 0.003},
         claims.INCONCLUSIVE),  # intersection up 0.01, the margin: the interval straddles it, above zero
        ("pix2pix_gan_distribution", {"gan_kl": 0.6, "hist_noise": 0.003}, claims.NOT_REPRODUCED),  # KL as L1's
        ("pix2pix_gan_distribution", {"gan_kl": 0.59, "hist_noise": 0.003}, claims.INCONCLUSIVE),  # KL down 0.01
        ("pix2pix_gan_colourful", {"gan_cf": 31.0}, claims.NOT_REPRODUCED),  # 1 more colourful: inside 3
        ("pix2pix_gan_colourful", {"gan_cf": 33.0}, claims.INCONCLUSIVE),  # 3 more, the margin, in the noise
    ],
)
def test_the_rules_count_effects_inside_their_margins_as_none(key, kw, expected):
    assert _rules()[key](_units(**kw)).outcome == expected


# -------------------------------------------------------------------------------- figures


def test_training_plot_draws_each_run_in_one_colour():
    steps = np.arange(1, 21)
    h_l1 = pd.DataFrame({"step": steps, "loss": 1.0, "g_l1": np.linspace(0.2, 0.1, 20)})
    h_gan = h_l1.assign(g_gan=0.7, d_loss=0.6, d_real_acc=0.8, d_fake_acc=0.6)
    fig = paper.training_plot({"L1": h_l1, "L1 + GAN": h_gan})
    ax_gan, ax_l1, ax_d, ax_acc = fig.axes
    assert [line.get_label() for line in ax_l1.lines] == ["L1", "L1 + GAN"] and len(ax_gan.lines) == 1
    assert to_hex(ax_gan.lines[0].get_color()) == to_hex(ax_l1.lines[1].get_color())  # L1 + GAN keeps its colour
    real, fake = ax_acc.lines[0], ax_acc.lines[1]
    assert fake.get_linestyle() == "--" and np.allclose(real.get_ydata(), 0.8) and np.allclose(fake.get_ydata(), 0.6)


def test_distribution_plot_draws_log_probabilities_with_the_truth_in_black():
    gt = torch.rand(2, 3, 8, 8)
    fig = paper.distribution_plot([paper.test_set_histograms(gt, {"same": gt})])
    ax_a, ax_b = fig.axes
    truth, same = ax_a.lines
    assert truth.get_label() == paper.TRUTH and to_hex(truth.get_color()) == "#000000"
    assert np.allclose(truth.get_ydata(), same.get_ydata(), equal_nan=True) and np.nanmax(truth.get_ydata()) <= 0
    assert "a" in ax_a.get_xlabel() and "b" in ax_b.get_xlabel()
