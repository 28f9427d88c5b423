"""Figures: each test checks what is drawn (pixels, curves, points, labels), not only how many axes."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from torchvision.utils import make_grid

from colorlab import viz
from colorlab.abgrid import ab_gamut_bins
from colorlab.color import chroma, rgb_to_gray, rgb_to_lab


def _rgb(n=4, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _row(images):
    return make_grid(images, nrow=images.shape[0], padding=2, pad_value=1.0).permute(1, 2, 0).numpy()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_colorization_rows_draw_originals_gray_inputs_and_each_prediction():
    rgb = _rgb(6)
    half = rgb * 0.5
    fig = viz.colorization_rows(rgb, {"a": rgb, "b": half}, max_images=3, title="t")
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "grayscale input", "a", "b"]
    pick = torch.tensor([0, 2, 5])  # three columns spread over the whole batch, first and last included
    expected = [rgb[pick], rgb_to_gray(rgb[pick]), rgb[pick], half[pick]]
    for ax, images in zip(fig.axes, expected, strict=True):
        np.testing.assert_allclose(ax.images[0].get_array(), _row(images.clamp(0, 1)), atol=1e-6)
    assert fig.texts[0].get_text() == "t"
    with pytest.raises(ValueError):
        viz.colorization_rows(rgb[:, :1], {})


def test_chroma_histogram_draws_one_density_per_series():
    rgb = _rgb()
    gray = rgb_to_gray(rgb)
    fig = viz.chroma_histogram(rgb, {"gray": gray}, bins=10)
    ax = fig.axes[0]
    assert [p.get_label() for p in ax.patches] == ["ground truth", "gray"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ground truth", "gray"]
    c = chroma(rgb_to_lab(rgb)[1]).flatten().numpy()
    density, edges = np.histogram(c, bins=np.linspace(0, c.max(), 11), density=True)
    outline = ax.patches[0].get_xy()  # a step outline: the density is its height over each bin
    heights = [y for x, y in outline if edges[0] < x < edges[-1]]
    assert max(heights) == pytest.approx(density.max(), rel=1e-5)
    gray_outline = ax.patches[1].get_xy()
    assert max(x for x, y in gray_outline if y > 0) <= edges[1] + 1e-6  # a gray image's chroma is all near 0


def test_prior_plot_places_bins_on_the_grid():
    bins = ab_gamut_bins()
    prior = torch.full((bins.shape[0],), 1.0 / bins.shape[0])
    fig = viz.ab_prior_plot(prior, bins)
    img = np.ma.masked_invalid(fig.axes[0].images[0].get_array())
    assert img.count() == bins.shape[0]  # one coloured cell per bin, the rest of the plane empty
    np.testing.assert_allclose(img.compressed(), np.log10(1.0 / bins.shape[0]), rtol=1e-6)
    with pytest.raises(ValueError):
        viz.ab_prior_plot(prior[:-1], bins)


def test_sweep_plot_draws_each_group_against_x_and_the_reference():
    t = pd.DataFrame({"boost": [2.0, 1.0, 2.0, 1.0], "space": ["yuv", "yuv", "hsv", "hsv"],
                      "auc": [0.8, 0.9, 0.7, 0.9], "colorfulness_gap": [3.0, -5.0, 6.0, -5.0]})
    fig = viz.sweep_plot(t, "boost", ("auc", "colorfulness_gap"), hue="space", reference={"colorfulness_gap": 0.0})
    auc_ax, gap_ax = fig.axes
    curves = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in auc_ax.lines}
    assert curves == {"hsv": ([1.0, 2.0], [0.9, 0.7]), "yuv": ([1.0, 2.0], [0.9, 0.8])}
    assert [list(line.get_ydata()) for line in gap_ax.lines if line.get_label() == "ground truth"] == [[0.0, 0.0]]
    assert (auc_ax.get_xlabel(), auc_ax.get_ylabel(), gap_ax.get_ylabel()) == ("boost", "auc", "colorfulness_gap")


def test_metric_scatter_places_and_labels_every_row():
    t = pd.DataFrame({"notebook": ["01_x", "01_x", "03_y"], "method": ["m", "m", "n"], "variant": ["a", "b", "c"],
                      "decode": ["", "", "mode"], "auc": [0.9, 0.8, 0.7], "colorfulness_gap": [-5.0, 3.0, np.nan]})
    ax = viz.metric_scatter(t).axes[0]
    points = [tuple(p) for c in ax.collections for p in c.get_offsets()]
    assert points == [(0.9, -5.0), (0.8, 3.0)]  # the NaN row is left out
    assert [a.get_text() for a in ax.texts] == ["m/a", "m/b"]
    assert [line.get_ydata()[0] for line in ax.lines] == [0]  # the zero-gap line


def test_loss_curves_draw_every_history():
    h = {"a": pd.DataFrame({"step": [1, 2, 3], "loss": [3.0, 2.0, 1.0]}),
         "b": pd.DataFrame({"step": [1, 2], "loss": [5.0, 4.0]})}
    ax = viz.loss_curves(h).axes[0]
    assert [(line.get_label(), list(line.get_ydata())) for line in ax.lines] == [
        ("a", [3.0, 2.0, 1.0]),
        ("b", [5.0, 4.0]),
    ]


def test_bar_panels_draw_the_values_and_their_intervals():
    t = pd.DataFrame({"ips": [2.0, 5.0], "ips_lo": [1.5, 4.0], "ips_hi": [3.0, 5.5], "mb": [10.0, 20.0]})
    fig = viz.bar_panels(t, ["regress", "class"], {"images/s": "ips", "memory": "mb"})
    ips, mb = fig.axes
    assert [float(p.get_height()) for p in ips.patches] == [2.0, 5.0]
    assert [float(p.get_height()) for p in mb.patches] == [10.0, 20.0]
    (segments,) = [c for c in ips.collections if len(c.get_segments()) == 2]  # the error bars
    assert [tuple(s[:, 1]) for s in segments.get_segments()] == [(1.5, 3.0), (4.0, 5.5)]
    assert [t.get_text() for t in ips.get_xticklabels()] == ["regress", "class"] and ips.get_title() == "images/s"
    assert not [c for c in mb.collections if len(c.get_segments()) == 2]  # no interval, no error bar
    with pytest.raises(ValueError, match="2 labels for 1 rows"):
        viz.bar_panels(t.iloc[:1], ["a", "b"], {"x": "ips"})


def test_before_after_draws_each_photo_its_output_and_the_outputs_centre_one_to_one():
    g = torch.Generator().manual_seed(3)
    before = [torch.randint(0, 256, (3, 300, 200), dtype=torch.uint8, generator=g), torch.rand(3, 50, 90, generator=g)]
    after = [torch.rand(3, 300, 200, generator=g), torch.rand(3, 50, 90, generator=g)]
    fig = viz.before_after(before, after, names=["tall", "small"], detail=64, title="m")
    axes = np.array(fig.axes).reshape(3, 2)
    drawn = [[np.asarray(ax.get_images()[0].get_array()) for ax in row] for row in axes]
    np.testing.assert_array_equal(drawn[0][0], before[0].permute(1, 2, 0).numpy())  # uint8 drawn as it is
    np.testing.assert_array_equal(drawn[1][1], viz.to_numpy_image(after[1]))
    np.testing.assert_array_equal(drawn[2][0], viz.to_numpy_image(after[0][:, 118:182, 68:132]))  # the centre, 1:1
    assert drawn[2][1].shape == (50, 64, 3)  # a side smaller than the detail is kept whole
    assert [ax.get_title() for ax in axes[0]] == ["tall", "small"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["as given", "colourised", "centre 64 px, 1:1"]
    assert fig._suptitle.get_text() == "m"
    plt.close(fig)
    with pytest.raises(ValueError, match="photo 0 is"):
        viz.before_after([torch.rand(3, 8, 8)], [torch.rand(3, 8, 9)])
    with pytest.raises(ValueError, match="1 photos before and 2 after"):
        viz.before_after([torch.rand(3, 8, 8)], [torch.rand(3, 8, 8)] * 2)
