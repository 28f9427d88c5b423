import numpy as np
import pytest
import torch
from skimage import color as skcolor

from colorlab import color as C


def _rand(b=2, h=9, w=7, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g, dtype=dtype)


def test_lab_agrees_with_skimage():
    rgb = _rand(dtype=torch.float64)
    L, ab = C.rgb_to_lab(rgb)
    ref = np.stack([skcolor.rgb2lab(im.permute(1, 2, 0).numpy()) for im in rgb])
    ours = torch.cat([L, ab], 1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_lab_inverse_agrees_with_skimage():
    rgb = _rand(seed=1, dtype=torch.float64)
    lab = np.stack([skcolor.rgb2lab(im.permute(1, 2, 0).numpy()) for im in rgb])
    lab_t = torch.from_numpy(lab).permute(0, 3, 1, 2)
    back = C.lab_to_rgb(lab_t[:, :1], lab_t[:, 1:])
    ref = np.stack([skcolor.lab2rgb(x) for x in lab])
    np.testing.assert_allclose(back.permute(0, 2, 3, 1).numpy(), ref, atol=1e-4)


def test_yuv_agrees_with_skimage():
    rgb = _rand(seed=2, dtype=torch.float64)
    Y, uv = C.rgb_to_yuv(rgb)
    ref = np.stack([skcolor.rgb2yuv(im.permute(1, 2, 0).numpy()) for im in rgb])
    # kornia and scikit-image use the same BT.601 analogue matrix up to rounding of its entries
    np.testing.assert_allclose(torch.cat([Y, uv], 1).permute(0, 2, 3, 1).numpy(), ref, atol=2e-3)


@pytest.mark.parametrize("space", ["lab", "yuv"])
def test_round_trip(space):
    rgb = _rand(seed=3)
    if space == "lab":
        back = C.lab_to_rgb(*C.rgb_to_lab(rgb))
    else:
        back = C.yuv_to_rgb(*C.rgb_to_yuv(rgb))
    torch.testing.assert_close(back, rgb, atol=1e-4, rtol=0)


@pytest.mark.parametrize("norm", [C.ZHANG, C.PIX2PIX, C.YUV])
def test_normalisation_round_trip(norm):
    rgb = _rand(seed=4)
    lum, chroma = (C.rgb_to_yuv if norm.space == "yuv" else C.rgb_to_lab)(rgb)
    x, y = norm.encode(lum, chroma)
    assert y.abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(norm.to_rgb(x, y), rgb, atol=1e-4, rtol=0)


def test_named_conventions():
    L = torch.tensor([0.0, 50.0, 100.0]).view(1, 1, 1, 3)
    assert C.ZHANG.encode_l(L).flatten().tolist() == [-0.5, 0.0, 0.5]
    assert C.PIX2PIX.encode_l(L).flatten().tolist() == [-1.0, 0.0, 1.0]
    ab = torch.full((1, 2, 1, 1), 110.0)
    assert C.ZHANG.encode_chroma(ab).flatten().tolist() == [1.0, 1.0]
    assert set(C.NORMS) == {"zhang", "pix2pix", "yuv", "imagenet_gray"}


def test_out_of_gamut_chroma_is_clipped():
    L = torch.full((1, 1, 4, 4), 50.0)
    ab = torch.full((1, 2, 4, 4), 300.0)
    rgb = C.lab_to_rgb(L, ab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    rgb = C.yuv_to_rgb(torch.full((1, 1, 2, 2), 0.5), torch.full((1, 2, 2, 2), 3.0))
    assert rgb.min() >= 0 and rgb.max() <= 1


def test_gradcheck_float64():
    rgb = (_rand(1, 3, 3, seed=5, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: torch.cat(C.rgb_to_lab(x), 1), (rgb,))
    assert torch.autograd.gradcheck(lambda x: torch.cat(C.rgb_to_yuv(x), 1), (rgb,))
    L, ab = (t.detach().requires_grad_() for t in C.rgb_to_lab(rgb.detach()))
    assert torch.autograd.gradcheck(lambda a, b: C.lab_to_rgb(a, b, clip=False), (L, ab))


def test_gray_has_no_chroma():
    gray = C.rgb_to_gray(_rand(seed=6))
    _, ab = C.rgb_to_lab(gray)
    assert ab.abs().max() < 1e-2


@pytest.mark.parametrize(
    "bad",
    [torch.rand(3, 4, 4), torch.rand(1, 4, 4, 4), torch.rand(1, 1, 4, 4), torch.randint(0, 255, (1, 3, 4, 4))],
)
def test_bad_shapes_raise(bad):
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)|floating"):
        C.rgb_to_lab(bad)


def test_mismatched_luminance_and_chroma_raise():
    with pytest.raises(ValueError, match="differ"):
        C.lab_to_rgb(torch.rand(1, 1, 4, 4), torch.rand(1, 2, 5, 4))
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        C.yuv_to_rgb(torch.rand(1, 1, 4, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(TypeError):
        C.rgb_to_lab(np.zeros((1, 3, 4, 4)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rgb = _rand(seed=7)
    torch.testing.assert_close(
        torch.cat(C.rgb_to_lab(rgb.cuda()), 1).cpu(), torch.cat(C.rgb_to_lab(rgb), 1), atol=1e-3, rtol=0
    )
