"""YUV regression (notebook 01), saturation boosting (notebook 02) and the shared evaluation steps."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from skimage.color import hsv2rgb, rgb2hsv

from colorlab import data, evaluate
from colorlab.color import YUV, rgb_to_lab
from colorlab.methods import Trained, build
from colorlab.methods import saturation_boost as SB
from colorlab.methods.yuv_regression import YUVNet
from colorlab.metrics import colorfulness


def _rgb(n=4, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_yuvnet_shapes_and_bad_input():
    assert YUVNet(base=4)(torch.rand(2, 1, 16, 24)).shape == (2, 2, 16, 24)
    out = YUVNet(base=4).eval()(torch.rand(1, 1, 8, 8))
    assert out.abs().max() <= 1  # tanh head: normalised U, V
    with pytest.raises(ValueError, match="multiples of 8"):
        YUVNet(base=4)(torch.rand(1, 1, 12, 12))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        YUVNet(base=4)(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="norm"):
        YUVNet(norm="layer")


@pytest.mark.parametrize("loss, reference", [("l1", F.l1_loss), ("l2", F.mse_loss)])
def test_loss_is_the_named_regression_on_normalised_chroma(loss, reference):
    m = build("yuv_regression", loss, base=4).eval()
    Y, uv = torch.rand(2, 1, 16, 16), (torch.rand(2, 2, 16, 16) - 0.5) * 0.4
    expected = reference(m.net(Y), uv / torch.tensor([YUV.u_max, YUV.v_max]).view(1, 2, 1, 1))
    torch.testing.assert_close(m.loss({"Y": Y, "uv": uv}), expected)
    with pytest.raises(KeyError, match="space='yuv'"):
        m.loss({"L": Y, "ab": uv})
    with pytest.raises(ValueError, match="variant 'l1' sets loss='l1'; got loss='huber'"):
        build("yuv_regression", base=4, loss="huber")
    with pytest.raises(ValueError, match="loss must be one of l1, l2"):
        build("saturation_boost", base=4, loss="huber")  # its variants choose the boost, not the loss


def test_instance_norm_variant_uses_instance_norm():
    m = build("yuv_regression", "l1_instancenorm", base=4)
    assert any(isinstance(x, torch.nn.InstanceNorm2d) for x in m.modules())
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())


def test_colorize_joins_the_predicted_chroma_with_the_input_luminance():
    m = build("yuv_regression", base=4).eval()
    Y = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        expected = YUV.to_rgb(Y, m.net(Y))
    torch.testing.assert_close(m.colorize({"Y": Y}), expected)


# ------------------------------------------------------------------------------- boosting


@pytest.mark.parametrize("space", SB.SPACES)
def test_boost_raises_colourfulness_and_stays_in_gamut(space):
    rgb = _rgb(seed=1) * 0.5 + 0.25
    out = SB.boost(rgb, 2.0, space)
    assert out.min() >= 0 and out.max() <= 1
    assert (colorfulness(out) > colorfulness(rgb)).all()
    torch.testing.assert_close(SB.boost(rgb, 1.0, space), rgb, atol=1e-4, rtol=0)
    assert torch.allclose(rgb_to_lab(SB.boost(rgb, 0.0, space))[1], torch.zeros(1), atol=0.5)


def test_hsv_boost_agrees_with_skimage():
    rgb = _rgb(2, 8, seed=2)
    hsv = rgb2hsv(rgb.permute(0, 2, 3, 1).numpy())
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.7, 0, 1)
    expected = torch.from_numpy(hsv2rgb(hsv)).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(SB.boost_hsv(rgb, 1.7), expected, atol=1e-5, rtol=0)


def test_boost_bad_input():
    with pytest.raises(ValueError, match="space"):
        SB.boost(_rgb(), 2.0, "lab")
    with pytest.raises(ValueError, match=">= 0"):
        SB.boost(_rgb(), -1.0)
    with pytest.raises(ValueError, match="boost_space"):
        build("saturation_boost", base=4, boost_space="lab")


def test_sweep_shares_the_regression_and_boosts_its_output():
    reg = build("yuv_regression", "l2", base=4).eval()
    sweep = SB.sweep(Trained(reg, pd.DataFrame()), [1.0, 2.0])
    assert list(sweep) == ["yuv_x1", "yuv_x2", "hsv_x1", "hsv_x2"]
    m = sweep["hsv_x2"].method
    assert m.net is reg.net and m.args["loss"] == "l2" and m.row_labels("boosted") == {"space": "hsv", "boost": 2.0}
    rgb = _rgb(1)
    torch.testing.assert_close(m.colorize(rgb), SB.boost_hsv(reg.colorize(rgb), 2.0))
    torch.testing.assert_close(m.colorize(rgb, "direct"), reg.colorize(rgb))
    with pytest.raises(TypeError, match="yuv_regression"):
        SB.sweep(Trained(build("zhang", width=0.125), None), [2.0])
    with pytest.raises(ValueError, match="include 1.0"):
        SB.sweep(Trained(reg, pd.DataFrame()), [1.5, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        SB.sweep(Trained(reg, pd.DataFrame()), [1.0, -2.0])
    rng = torch.get_rng_state()
    SB.SaturationBoost.from_regression(reg, "yuv", 2.0)
    assert torch.equal(torch.get_rng_state(), rng)  # its discarded network drew nothing of the caller's


# ------------------------------------------------------------------------ evaluation steps


def test_predict_score_and_reference_rows():
    test = data.load_dataset("samples", "test", crop=16, image_size=48, space="yuv", max_tiles=1)
    m = build("yuv_regression", base=4).eval()
    gt, pred, ips = evaluate.predict(evaluate.colorizer(m), data.make_loader(test, 8, train=False))
    assert gt.shape == pred.shape == (len(test), 3, 16, 16) and ips > 0
    row = evaluate.score(gt, pred, method="yuv_regression", variant="l1")
    assert row["method"] == "yuv_regression" and 0 <= row["auc"] <= 1 and row["n_images"] == len(test)
    refs = evaluate.reference_rows(gt)
    assert [r["variant"] for r in refs] == ["ground_truth", "gray", "random"]
    assert refs[0]["auc"] == pytest.approx(1.0) and refs[1]["chroma_ratio"] < 0.05
    assert refs[2]["auc"] < 1.0  # another image's colours: no crop keeps its own
