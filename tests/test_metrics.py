import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from colorlab import metrics as M
from colorlab.color import lab_to_rgb, rgb_to_lab


def _rand(b=2, h=16, w=16, seed=0):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_zero_error_gives_auc_one():
    ab = torch.randn(2, 2, 8, 8) * 30
    assert torch.allclose(M.auc(ab, ab), torch.ones(2))


def test_constant_error_75_gives_76_over_151():
    gt = torch.zeros(1, 2, 5, 5)
    pred = gt.clone()
    pred[:, 0] = 75.0  # error exactly 75 everywhere: correct at thresholds 75..150
    assert M.auc(gt, pred).item() == pytest.approx(76 / 151)


def test_error_beyond_150_gives_zero():
    gt = torch.zeros(1, 2, 3, 3)
    assert M.auc(gt, gt + 200).item() == 0.0


def test_cdf_is_monotone_and_ends_at_one():
    gt, pred = torch.randn(1, 2, 8, 8) * 20, torch.randn(1, 2, 8, 8) * 20
    cdf = M.ab_error_cdf(gt, pred)
    assert cdf.shape == (1, 151)
    assert torch.all(cdf[:, 1:] >= cdf[:, :-1])
    assert cdf[0, -1] == pytest.approx(1.0)


def test_rebalanced_auc_weights_pixels_by_inverse_prior():
    bins = torch.tensor([[0.0, 0.0], [50.0, 50.0]])
    prior = torch.tensor([0.9, 0.1])
    gt = torch.zeros(1, 2, 2, 2)
    gt[..., 1, :] = 50.0  # bottom row in the rare bin
    pred = gt.clone()
    pred[..., 1, :] += 200.0  # the rare pixels are wrong at every threshold
    assert M.auc(gt, pred).item() == pytest.approx(0.5)
    mixed = (1 - M.AUC_PRIOR_UNIFORM_MIX) * prior + M.AUC_PRIOR_UNIFORM_MIX / 2
    expected = (1 / mixed[0]) / (1 / mixed[0] + 1 / mixed[1])
    assert M.auc(gt, pred, prior, bins).item() == pytest.approx(float(expected))
    assert M.auc(gt, pred, prior, bins).item() == pytest.approx(0.1, abs=1e-3)  # 1/0.9 against 1/0.1
    with pytest.raises(ValueError, match="bins"):
        M.auc(gt, pred, prior)


def test_gray_image_has_zero_colorfulness():
    gray = torch.rand(2, 1, 8, 8).expand(2, 3, 8, 8)
    assert torch.allclose(M.colorfulness(gray), torch.zeros(2))


def test_colorfulness_hand_computed():
    img = torch.zeros(1, 3, 2, 2)
    img[:, 0, 0, :] = 1.0  # top row pure red, bottom row black
    # |rg| = 255 or 0, |yb| = 127.5 or 0: mean and std are both half of those
    expected = 1.3 * math.hypot(127.5, 63.75)
    assert M.colorfulness(img).item() == pytest.approx(expected, rel=1e-5)


def test_psnr_ssim_agree_with_skimage():
    gt = _rand(seed=1, h=32, w=32)
    pred = (gt + 0.05 * torch.randn_like(gt)).clamp(0, 1)
    for i in range(2):
        a, b = gt[i].permute(1, 2, 0).double().numpy(), pred[i].permute(1, 2, 0).double().numpy()
        assert M.psnr(gt, pred)[i].item() == pytest.approx(sk_psnr(a, b, data_range=1.0), rel=1e-4)
        ref = sk_ssim(
            a, b, data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert M.ssim(gt, pred)[i].item() == pytest.approx(ref, abs=2e-3)


def test_chroma_ratio():
    gt = torch.randn(2, 2, 4, 4) * 20
    assert torch.allclose(M.chroma_ratio(gt, gt * 0.5), torch.full((2,), 0.5), atol=1e-5)
    assert math.isnan(M.chroma_ratio(torch.zeros(1, 2, 4, 4), gt[:1]).item())


def test_tone_of_a_cast_and_of_varied_hues():
    # a brown cast (sRGB saddle brown) everywhere: its mean ab is the colour's, one hue throughout
    brown = torch.tensor([139, 69, 19]).div(255).view(1, 3, 1, 1).expand(1, 3, 6, 6)
    _, ab = rgb_to_lab(brown)
    a, b, conc = M.tone(ab)
    assert a.item() == pytest.approx(ab[0, 0, 0, 0].item(), abs=1e-4) and b.item() > a.item() > 0
    assert conc.item() == pytest.approx(1.0, abs=1e-5)
    # four quadrants of opposite hues: no overall cast, concentration 0
    q = torch.tensor([30.0, 0.0]).view(1, 2, 1, 1).expand(1, 2, 4, 4).clone()
    q[..., 2:, :] *= -1
    assert M.tone(q)[2].item() == pytest.approx(0.0, abs=1e-6)
    assert math.isnan(M.tone(torch.zeros(1, 2, 3, 3))[2].item())  # gray: no hue to concentrate
    with pytest.raises(ValueError, match="ab"):
        M.tone(torch.zeros(1, 3, 2, 2))


def test_evaluate_and_summarize():
    gt = _rand(seed=2)
    gray = gt.mean(1, keepdim=True).expand_as(gt)
    df = M.evaluate(gt, gray)
    assert list(df.columns) == ["psnr", "ssim", "auc", "colorfulness", "colorfulness_gt", "colorfulness_gap",
                                "chroma_ratio", "rmse", "chroma", "chroma_gt", "ab_roughness", "ab_roughness_gt",
                                "tone_a", "tone_a_gt", "tone_b", "tone_b_gt", "tone_concentration",
                                "tone_concentration_gt", "hist_intersection", "hist_kl"]
    assert len(df) == 2
    assert (df["chroma_ratio"] < 0.05).all()
    s = M.summarize(M.evaluate(gt, gt))
    assert s["auc"] == pytest.approx(1.0) and s["n_images"] == 2
    assert s["colorfulness_gap"] == pytest.approx(0.0, abs=1e-4)
    assert math.isnan(s["psnr"])  # identical images: PSNR is infinite and left out of the mean


@pytest.mark.parametrize("fn", [M.psnr, M.ssim, M.colorfulness])
def test_bad_input_raises(fn):
    with pytest.raises(ValueError):
        fn(torch.rand(3, 8, 8)) if fn is M.colorfulness else fn(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


def test_optional_metrics_are_reported_unavailable_not_zero():
    status = M.optional_metrics()
    assert set(status) == {"fid", "lpips"}
    assert all(v.startswith("unavailable") for v in status.values())


def test_one_pixel_images():
    gt = _rand(b=1, h=1, w=1, seed=3)
    df = M.evaluate(gt, gt * 0.9)
    assert np.isfinite(df[["auc", "psnr", "colorfulness"]].to_numpy()).all()
    assert math.isnan(df["ssim"].iloc[0])  # undefined below the 11-pixel window, not zero


def test_summary_chroma_ratio_is_ratio_of_means():
    import pandas as pd

    per_image = pd.DataFrame({"chroma_ratio": [10.0, 0.5], "chroma": [1.0, 10.0], "chroma_gt": [0.1, 20.0]})
    assert M.summarize(per_image)["chroma_ratio"] == pytest.approx(11.0 / 20.1)


def test_summary_pools_rebalanced_auc_over_the_test_set():
    bins = torch.tensor([[0.0, 0.0], [20.0, 20.0]])
    prior = torch.tensor([0.9, 0.1])
    gt_ab = torch.zeros(2, 2, 1, 2)
    gt_ab[1, :, 0, 1] = 20.0  # image 1 holds the one pixel of the rare colour
    gt_rgb = lab_to_rgb(torch.full((2, 1, 1, 2), 60.0), gt_ab)
    pred_rgb = lab_to_rgb(torch.full((2, 1, 1, 2), 60.0), torch.zeros_like(gt_ab))  # gray prediction
    s = M.summarize(M.evaluate(gt_rgb, pred_rgb, prior, bins))
    # the reference: one weighted error curve over the four pixels side by side
    gt_all, pred_all = (M.rgb_to_lab(torch.cat(list(x), dim=-1).unsqueeze(0))[1] for x in (gt_rgb, pred_rgb))
    pooled = M.auc(gt_all, pred_all, prior, bins).item()
    per_image_mean = M.auc(M.rgb_to_lab(gt_rgb)[1], M.rgb_to_lab(pred_rgb)[1], prior, bins).mean().item()
    assert s["auc_rebal"] == pytest.approx(pooled, rel=1e-6)
    assert abs(pooled - per_image_mean) > 0.05  # the two aggregations really differ here
    assert "rebal_weight" not in s and "rebal_weight_sq" not in s
    assert 1.0 < s["auc_rebal_eff_pixels"] < 4.0  # four pixels, one of them weighing nine times more


def test_unseen_colour_does_not_swamp_the_rebalanced_auc():
    bins = torch.tensor([[0.0, 0.0], [20.0, 20.0]])
    prior = torch.tensor([1.0, 0.0])  # the training photos never showed the second colour
    gt = torch.zeros(1, 2, 1, 1000)
    gt[..., 0] = 20.0  # one test pixel of the unseen colour, predicted gray
    value = M.auc(gt, torch.zeros_like(gt), prior, bins).item()
    assert math.isfinite(value) and 0.0 < value < 1.0


def test_cdf_matches_direct_threshold_count():
    g = torch.Generator().manual_seed(0)
    gt, pred = torch.randn(3, 2, 8, 8, generator=g) * 60, torch.randn(3, 2, 8, 8, generator=g) * 60
    err = (gt - pred).norm(dim=1).flatten(1)
    direct = (err.unsqueeze(-1) <= torch.arange(151.0)).float().mean(1)
    torch.testing.assert_close(M.ab_error_cdf(gt, pred), direct)
