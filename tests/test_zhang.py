"""Zhang et al. 2016 (colorlab.methods.zhang): the network, the recipe, the method, Table 1."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from colorlab import abgrid, data
from colorlab.color import lab_to_rgb, rgb_to_lab
from colorlab.methods import zhang as Z
from colorlab.methods.zhang.network import INPUT_MULTIPLE, OUTPUT_STRIDE, ZhangNet
from colorlab.methods.zhang.recipe import class_loss, downsample_targets, l2_loss
from colorlab.papers import zhang as paper

CROP = 16
WIDTH = 0.125
#: Parameters of the official Caffe model (conv weights and biases; its batch norms have none).
CAFFE_PARAMS = 32_230_393


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.fixture(scope="module")
def bins() -> torch.Tensor:
    return abgrid.ab_gamut_bins()


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


def _method(variant: str, prior: torch.Tensor | None = None) -> Z.Zhang:
    torch.manual_seed(0)
    m = Z.Zhang(variant, width=WIDTH)
    if prior is not None:
        m.prior.copy_(prior)
        m.class_weights.copy_(Z.rebalance_weights(prior))
    return m


# ------------------------------------------------------------------------------------ network


@pytest.mark.parametrize("width", [0.125, 0.25])
@pytest.mark.parametrize("head, channels", [("class", 262), ("regress", 2)])
def test_output_shapes(width, head, channels):
    net = ZhangNet(num_classes=262, width=width, head=head).eval()
    for h, w in [(32, 32), (48, 64), (8, 16)]:
        with torch.no_grad():
            out = net(torch.randn(2, 1, h, w))
        assert out.shape == (2, channels, h // OUTPUT_STRIDE, w // OUTPUT_STRIDE)
    assert net.out_channels == channels


@pytest.mark.parametrize("shape", [(1, 1, 30, 32), (1, 1, 32, 36), (1, 3, 32, 32), (1, 32, 32)])
def test_bad_inputs_raise(shape):
    with pytest.raises(ValueError):
        ZhangNet(width=0.125)(torch.randn(*shape))


def test_bad_args_raise():
    with pytest.raises(ValueError, match="head"):
        ZhangNet(head="mixture")
    with pytest.raises(ValueError, match="width"):
        ZhangNet(width=0.0)
    with pytest.raises(ValueError, match="norm"):
        ZhangNet(norm="layer")


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    net = ZhangNet(num_classes=16, width=0.125)
    out = net(torch.randn(2, 1, INPUT_MULTIPLE * 4, INPUT_MULTIPLE * 4))
    out.logsumexp(1).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_parameter_counts():
    full = _count(ZhangNet())
    assert ZhangNet().out_channels == Z.PAPER_Q
    bn_affine = 2 * (64 + 128 + 256 + 4 * 512)
    assert full == CAFFE_PARAMS + bn_affine
    assert _count(ZhangNet(norm="none")) == CAFFE_PARAMS
    assert _count(ZhangNet(width=0.25)) < full / 10


def test_width_scales_compute_quadratically():
    """Every layer but the 1-channel input and the Q-way head scales with width on both sides."""
    x = torch.randn(1, 1, 64, 64)
    flops = {}
    for w in (0.25, 0.5, 1.0):
        with FlopCounterMode(display=False) as counter:
            ZhangNet(num_classes=262, width=w)(x)
        flops[w] = counter.get_total_flops()
    assert 3.8 < flops[0.5] / flops[0.25] < 4.0 and 3.8 < flops[1.0] / flops[0.5] < 4.0


def test_state_dict_layout_matches_port():
    keys = ZhangNet(width=0.125).state_dict().keys()
    assert "model1.0.weight" in keys and "model1.4.running_mean" in keys
    assert "model5.0.weight" in keys and "model8.6.weight" in keys
    net = ZhangNet(width=0.125)
    assert net.model5[0].dilation == (2, 2) and net.model4[0].dilation == (1, 1)
    assert net.head is net.model8[6]


# ------------------------------------------------------------------------------------- recipe


def test_rebalance_weights():
    g = torch.Generator().manual_seed(3)
    q = 50
    prior = torch.rand(q, generator=g) ** 4
    prior /= prior.sum()
    w = Z.rebalance_weights(prior)
    torch.testing.assert_close((prior * w).sum(), torch.tensor(1.0))
    # rarer classes weigh more
    order = prior.argsort()
    assert (w[order].diff() <= 1e-6).all()
    # lam = 1: uniform mixture only, w = Q before normalisation, 1 after
    torch.testing.assert_close(Z.rebalance_weights(prior, lam=1.0), torch.ones(q))
    # lam = 0: w = 1 / (Q p)... normalised so that sum p w = 1, i.e. w = 1 / (Q p)
    torch.testing.assert_close(Z.rebalance_weights(prior, lam=0.0), 1.0 / (q * prior))
    # the paper's formula directly
    raw = 1.0 / (0.5 * prior + 0.5 / q)
    torch.testing.assert_close(w, raw / (prior * raw).sum())


def test_rebalance_rejects_bad_input():
    with pytest.raises(ValueError):
        Z.rebalance_weights(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError):
        Z.rebalance_weights(torch.tensor([0.5, 0.5]), lam=1.5)
    with pytest.raises(ValueError):
        Z.rebalance_weights(torch.tensor([1.0, 0.0]), lam=0.0)
    with pytest.raises(ValueError):
        Z.rebalance_weights(torch.ones(2, 2) / 4)



def test_downsample_targets_point_samples():
    ab = torch.arange(2 * 2 * 8 * 8, dtype=torch.float32).view(2, 2, 8, 8)
    d = downsample_targets(ab)
    assert d.shape == (2, 2, 2, 2) and torch.equal(d, ab[..., ::4, ::4])
    assert torch.equal(downsample_targets(ab, offset=2), ab[..., 2::4, 2::4])
    with pytest.raises(ValueError):
        downsample_targets(ab, factor=4, offset=4)


@pytest.mark.parametrize("variant", ["l2", "class", "full"])
def test_loss_finite_and_decreases(bins, variant):
    batch = _batch()
    m = _method(variant, abgrid.empirical_prior([batch["ab"]], bins) if variant == "full" else None)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    values = []
    for _ in range(15):
        loss = m.loss(batch)["loss"]
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(float(loss.detach()))
    assert sum(values[-3:]) < sum(values[:3])


def test_rebalanced_loss_differs_and_logs_plain_ce(bins):
    batch = _batch()
    prior = abgrid.empirical_prior([batch["ab"]], bins)
    plain, rebal = _method("class").eval().loss(batch), _method("full", prior).eval().loss(batch)
    assert not torch.isclose(plain["loss"], rebal["loss"])
    assert torch.isclose(plain["ce"], rebal["ce"])  # same network, same plain cross entropy
    assert torch.isclose(plain["loss"], plain["ce"])


def test_class_loss_is_the_soft_cross_entropy_of_stride4_targets(bins):
    batch = _batch(2)
    logits = torch.randn(2, bins.shape[0], CROP // 4, CROP // 4, generator=torch.Generator().manual_seed(9))
    target = abgrid.soft_encode(batch["ab"][..., ::4, ::4], bins, k=Z.K_PAPER)
    expected = -(target * logits.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(class_loss(logits, batch["ab"], bins)["loss"], expected)
    with pytest.raises(ValueError, match="do not match"):
        class_loss(logits[..., :-1], batch["ab"], bins)


def test_grayscale_images_are_masked(bins):
    colour, gray = _batch(2, seed=1), _batch(2, seed=2, gray=True)
    mixed = {k: torch.cat([colour[k], gray[k]]) for k in colour}
    for variant in ("class", "l2"):
        m = _method(variant).eval()
        out_mixed, out_colour = m.loss(mixed), m.loss(colour)
        assert torch.isclose(out_mixed["loss"], out_colour["loss"], rtol=1e-5)
        assert float(out_mixed["colour_images"]) == 0.5
        only_gray = m.loss(gray)["loss"]
        assert float(only_gray.detach()) == 0.0
        m.zero_grad()
        only_gray.backward()
        assert all(p.grad is None or not p.grad.any() for p in m.parameters())


def test_l2_loss_is_half_the_squared_error():
    ab = torch.zeros(1, 2, 8, 8)
    ab[:, 0] = 22.0
    torch.testing.assert_close(l2_loss(torch.zeros(1, 2, 2, 2), ab)["loss"], torch.tensor(0.5 * 0.2**2))


# ------------------------------------------------------------------------------------- method


def test_variants_set_head_and_rebalancing():
    assert Z.Zhang("l2", width=WIDTH).decodings == ("direct",)
    full = Z.Zhang("full", width=WIDTH)
    assert full.decodings == Z.DECODERS and full.args["rebalance"] and full.num_classes == 262
    with pytest.raises(ValueError, match="variant 'l2' sets head"):
        Z.Zhang("l2", head="class")
    with pytest.raises(KeyError, match="known: full, class, l2"):
        Z.Zhang("rebalanced")
    with pytest.raises(TypeError, match="unknown argument"):
        Z.Zhang("full", lambda_=0.5)
    for bad in ({"k": 0}, {"k": 263}, {"lam": 1.5}, {"sigma": 0.0}):
        with pytest.raises(ValueError, match="k|lam"):
            Z.Zhang("full", width=WIDTH, **bad)


def test_full_needs_the_training_prior(train_set):
    m = Z.Zhang("full", width=WIDTH)
    with pytest.raises(ValueError, match="prepare"):
        m.check_trainable()
    info = m.prepare(train_set)
    m.check_trainable()
    assert abs(float(m.prior.sum()) - 1) < 1e-5 and info["nonzero_bins"] == int((m.prior > 0).sum())
    torch.testing.assert_close(m.class_weights, Z.rebalance_weights(m.prior))
    assert Z.Zhang("class").prepare(train_set) == {}
    bins, prior = Z.Zhang.training_prior(train_set, **m.args)
    assert torch.equal(bins, m.bins) and torch.equal(prior, m.prior)
    coarse_bins, coarse = Z.Zhang.training_prior(train_set, grid=20.0)
    assert coarse_bins.shape[0] < 100 and coarse.shape == coarse_bins.shape[:1]


def test_decodings_are_the_abgrid_decoders(bins):
    m = _method("class").eval()
    L = _batch(1)["L"]
    with torch.no_grad():
        logits = m.net(m.norm.encode_l(L))
        torch.testing.assert_close(m.predict_chroma(L, "mode"), abgrid.decode_mode(logits, bins))
        torch.testing.assert_close(m.predict_chroma(L, "mean"), abgrid.decode_expectation(logits, bins, 1.0))
        torch.testing.assert_close(
            m.predict_chroma(L, "annealed"), abgrid.decode_expectation(logits, bins, Z.ANNEALED_T)
        )
        torch.testing.assert_close(m.predict_chroma(L, "annealed", temperature=0.77),
                                   abgrid.decode_expectation(logits, bins, 0.77))
    assert m.row_labels("annealed") == {"temperature": Z.ANNEALED_T}
    assert m.row_labels("annealed", temperature=0.77) == {"temperature": 0.77}
    assert m.row_labels("mode") == {"temperature": 0.0}
    with pytest.raises(ValueError, match="unknown decoding 'median'"):
        m.colorize(_batch(1), "median")
    with pytest.raises(ValueError, match="annealed mean only"):
        m.colorize(_batch(1), "mode", temperature=0.5)


def test_colourisers_give_rgb_in_range_and_keep_luminance():
    batch = _batch(3)
    for variant in ("l2", "class"):
        m = _method(variant).eval()
        for dec in m.decodings:
            rgb = m.colorize(batch, dec)
            assert rgb.shape == (3, 3, CROP, CROP) and 0.0 <= float(rgb.min()) and float(rgb.max()) <= 1.0
            # sRGB clipping can move L a little for saturated colours, not on average
            assert float((rgb_to_lab(rgb)[0] - batch["L"]).abs().mean()) < 1.0


def test_colorize_upsamples_the_decoded_ab_not_the_logits():
    m = _method("class").eval()
    L = _batch(1)["L"]
    with torch.no_grad():
        ab = m.predict_chroma(L, "annealed")
    up = torch.nn.functional.interpolate(ab, size=(CROP, CROP), mode="bilinear", align_corners=False)
    torch.testing.assert_close(m.colorize({"L": L}, "annealed"), lab_to_rgb(L, up))


# ------------------------------------------------------------------------------ table, figure


def test_table1_shape():
    rows = [{"method": "reference", "variant": v, "auc": 0.9, "auc_rebal": 0.6,
             "colorfulness": 20.0, "colorfulness_gap": -5.0, "psnr": 22.0}
            for v in ("ground_truth", "gray", "random")]
    rows += [{"method": "zhang", "variant": "l2", "decode": "direct", "auc": 0.91, "auc_rebal": 0.64,
              "colorfulness": 10.0, "colorfulness_gap": -15.0, "psnr": 23.0}]
    rows += [{"method": "zhang", "variant": v, "decode": d, "auc": 0.9, "auc_rebal": 0.65 if d == "annealed" else 0.1,
              "colorfulness": 30.0, "colorfulness_gap": 5.0, "psnr": 21.0}
             for v in ("class", "full", "zhang2016-released") for d in Z.DECODERS]
    t = paper.table1(pd.DataFrame(rows))
    assert list(t.index) == [p.label for p in paper.PUBLISHED]
    assert "Zhang full, the released weights" not in paper.table1(pd.DataFrame(rows[:-3])).index  # not run: no row
    assert list(t.columns) == [name for name, _ in paper.TABLE1_COLUMNS.values()]
    assert t.loc["Zhang full (class + rebalancing)", "rebalanced AuC %"] == 65.0
    assert t.loc["Zhang L2", "AuC %"] == 91.0


def test_temperature_plot_draws_the_sweep_the_mode_and_the_paper_t():
    sweep = pd.DataFrame({"temperature": list(Z.PAPER_TEMPERATURES),
                          "colorfulness": [float(i) for i in range(len(Z.PAPER_TEMPERATURES))]})
    fig = paper.temperature_plot(sweep, ("colorfulness",), mode={"colorfulness": 9.0}, reference={"colorfulness": 8.0})
    ax = fig.axes[0]
    curve = ax.lines[0]
    order = sorted(range(len(Z.PAPER_TEMPERATURES)), key=lambda i: Z.PAPER_TEMPERATURES[i])
    assert list(curve.get_xdata()) == [Z.PAPER_TEMPERATURES[i] for i in order]
    assert list(curve.get_ydata()) == [float(i) for i in order]
    assert [tuple(o) for o in ax.collections[0].get_offsets()] == [(0.0, 9.0)]  # the mode at T = 0
    vertical = [line for line in ax.lines if list(line.get_xdata()) == [Z.ANNEALED_T, Z.ANNEALED_T]]
    horizontal = [line for line in ax.lines if list(line.get_ydata()) == [8.0, 8.0]]
    assert len(vertical) == 1 and len(horizontal) == 1
    assert "mean" in [t.get_text() for t in ax.texts]
