"""Figures, saturation boosting, losses, recipes and the shared evaluation steps."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from colorlab import data, experiment, losses, recipes, saturation, viz
from colorlab.color import YUV, ZHANG, rgb_to_lab
from colorlab.metrics import colorfulness
from colorlab.models import MODELS, YUVNet, build
from colorlab.quantize import ab_gamut_bins


def _rgb(n=4, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_colorization_rows_and_histogram():
    rgb = _rgb()
    fig = viz.colorization_rows(rgb, {"a": rgb, "b": rgb * 0.5}, title="t")
    assert len(fig.axes) == 4  # original, gray, a, b
    assert len(viz.chroma_histogram(rgb, {"a": rgb}).axes) == 1
    with pytest.raises(ValueError):
        viz.colorization_rows(rgb[:, :1], {})
    plt.close("all")


def test_prior_plot_places_bins_on_the_grid():
    bins = ab_gamut_bins()
    prior = torch.full((bins.shape[0],), 1.0 / bins.shape[0])
    fig = viz.ab_prior_plot(prior, bins)
    img = np.ma.masked_invalid(fig.axes[0].images[0].get_array())
    assert img.count() == bins.shape[0]  # one coloured cell per bin, the rest of the plane empty
    with pytest.raises(ValueError):
        viz.ab_prior_plot(prior[:-1], bins)
    plt.close("all")


def test_sweep_and_scatter_plots():
    t = pd.DataFrame({"notebook": "02_x", "method": "m", "variant": ["a", "b"], "boost": [1.0, 2.0],
                      "space": "yuv", "auc": [0.9, 0.8], "colorfulness_gap": [-5.0, 3.0]})
    assert len(viz.sweep_plot(t, "boost", ("auc", "colorfulness_gap"), hue="space").axes) == 2
    assert len(viz.metric_scatter(t).axes) == 1
    plt.close("all")


@pytest.mark.parametrize("space", saturation.SPACES)
def test_boost_raises_colourfulness_and_stays_in_gamut(space):
    rgb = _rgb(seed=1) * 0.5 + 0.25
    out = saturation.boost(rgb, 2.0, space)
    assert out.min() >= 0 and out.max() <= 1
    assert (colorfulness(out) > colorfulness(rgb)).all()
    torch.testing.assert_close(saturation.boost(rgb, 1.0, space), rgb, atol=1e-4, rtol=0)
    assert torch.allclose(rgb_to_lab(saturation.boost(rgb, 0.0, space))[1], torch.zeros(1), atol=0.5)


def test_boost_bad_input():
    with pytest.raises(ValueError, match="space"):
        saturation.boost(_rgb(), 2.0, "lab")
    with pytest.raises(ValueError, match=">= 0"):
        saturation.boost(_rgb(), -1.0)


def test_regression_loss_and_registry():
    batch = {"Y": torch.rand(2, 1, 16, 16), "uv": torch.zeros(2, 2, 16, 16)}
    assert losses.chroma_regression(YUV, "l2")(YUVNet(base=4), batch).ndim == 0
    with pytest.raises(KeyError, match="known: l1, l2"):
        losses.regression_loss("huber")
    with pytest.raises(KeyError, match="space='lab'"):
        losses.chroma_regression(ZHANG, "l1")(YUVNet(base=4), batch)
    with pytest.raises(KeyError, match="known: "):
        build("resnet")
    assert set(MODELS) >= {"yuv", "zhang"}
    with pytest.raises(ValueError, match="multiples of 8"):
        YUVNet(base=4)(torch.rand(1, 1, 12, 12))
    with pytest.raises(ValueError, match="norm"):
        YUVNet(norm="layer")


def test_yuv_recipe_predict_and_score(tmp_path):
    train = data.load_dataset("samples", "train", crop=16, image_size=48, space="yuv")
    test = data.load_dataset("samples", "test", crop=16, image_size=48, space="yuv", max_tiles=1)
    model, hist = recipes.yuv_regression(train, steps=2, base=4, batch_size=2, progress=False,
                                         checkpoint=tmp_path / "m.pt")
    assert len(hist) == 2 and (tmp_path / "m.pt").exists()
    gt, pred, ips = experiment.predict(experiment.model_colorizer(model, recipes.yuv_colorize),
                                       data.make_loader(test, 8, train=False))
    assert gt.shape == pred.shape == (len(test), 3, 16, 16) and ips > 0
    row = experiment.score(gt, pred, method="yuv_regression", variant="l1")
    assert row["method"] == "yuv_regression" and 0 <= row["auc"] <= 1
    refs = experiment.reference_rows(gt)
    assert [r["variant"] for r in refs] == ["ground_truth", "gray", "random"]
    assert refs[0]["auc"] == pytest.approx(1.0) and refs[1]["chroma_ratio"] < 0.05
    with pytest.raises(ValueError, match="space='yuv'"):
        recipes.yuv_regression(data.load_dataset("samples", "train", crop=16, image_size=48), steps=1)
