"""Tests for colorlab.abgrid: bins, soft encoding, prior, weights, decoding, loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorlab import abgrid as A
from colorlab.color import rgb_to_lab
from colorlab.methods.zhang import K_OFFICIAL, K_PAPER, PAPER_Q

GRID = A.GRID


@pytest.fixture(scope="module")
def bins() -> torch.Tensor:
    return A.ab_gamut_bins()


def _grid_set(t: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in torch.round(t / GRID).long().tolist()}


def _random_ab(n: int = 2, h: int = 6, w: int = 6, seed: int = 0) -> torch.Tensor:
    """ab of random sRGB images, so always in gamut."""
    g = torch.Generator().manual_seed(seed)
    return rgb_to_lab(torch.rand(n, 3, h, w, generator=g))[1]


# ------------------------------------------------------------------------------------ bins


def test_bin_count_and_layout(bins):
    q = bins.shape[0]
    print(f"Q = {q} (paper: {PAPER_Q})")
    assert 200 < q < PAPER_Q
    assert q == 262  # documented in ab_gamut_bins
    assert bins.dtype == torch.float32 and bins.shape == (q, 2)
    assert torch.equal(bins, torch.round(bins / GRID) * GRID)  # on the grid
    assert len(_grid_set(bins)) == q  # no duplicates
    assert A.ab_gamut_bins() is not A.ab_gamut_bins()  # cached but cloned
    b = A.ab_gamut_bins()
    b.zero_()
    assert torch.equal(A.ab_gamut_bins(), bins)


def test_bins_are_exactly_the_reachable_cells(bins):
    # An independent sample: a different face resolution plus random interior colours.
    n = 600
    t = torch.linspace(0, 1, n)
    u, v = (x.flatten() for x in torch.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            cols = [u, v]
            cols.insert(axis, torch.full_like(u, value))
            faces.append(torch.stack(cols))
    interior = torch.rand(3, 20_000, generator=torch.Generator().manual_seed(1))
    rgb = torch.cat([*faces, interior], dim=1).view(1, 3, 1, -1)
    ab = rgb_to_lab(rgb)[1][0, :, 0].T
    reached = _grid_set(torch.round(ab / GRID) * GRID)
    assert reached == _grid_set(bins)  # every bin reached, nothing outside the bins reached


def test_bad_bin_args():
    with pytest.raises(ValueError):
        A.ab_gamut_bins(0.0)
    with pytest.raises(ValueError):
        A.ab_gamut_bins(sweep=1)


# ------------------------------------------------------------------------------ assignment


def test_nearest_bin_of_centres_is_itself(bins):
    ab = bins.T.reshape(1, 2, 1, -1)
    assert torch.equal(A.nearest_bin(ab, bins), torch.arange(bins.shape[0]).view(1, 1, -1))
    # a small offset (less than half the grid) keeps the same bin
    assert torch.equal(A.nearest_bin(ab + 3.0, bins), torch.arange(bins.shape[0]).view(1, 1, -1))


def test_nearest_bin_matches_brute_force(bins):
    ab = _random_ab()
    pts = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    brute = ((pts[:, None] - bins[None]) ** 2).sum(-1).argmin(1)
    assert torch.equal(A.nearest_bin(ab, bins).flatten(), brute)


@pytest.mark.parametrize("k", [K_PAPER, K_OFFICIAL])
def test_soft_encode_rows(bins, k):
    ab = _random_ab()
    t = A.soft_encode(ab, bins, k=k)
    assert t.shape == (2, bins.shape[0], 6, 6)
    torch.testing.assert_close(t.sum(1), torch.ones(2, 6, 6))
    assert ((t > 0).sum(1) == k).all()
    assert torch.equal(t.argmax(1), A.nearest_bin(ab, bins))


def test_soft_encode_k1_is_one_hot(bins):
    ab = _random_ab()
    t = A.soft_encode(ab, bins, k=1)
    one_hot = F.one_hot(A.nearest_bin(ab, bins), bins.shape[0]).permute(0, 3, 1, 2).float()
    assert torch.equal(t, one_hot)


def test_soft_encode_gaussian_weights():
    bins = torch.tensor([[0.0, 0.0], [10.0, 0.0], [50.0, 50.0]])
    ab = torch.tensor([2.0, 0.0]).view(1, 2, 1, 1)
    t = A.soft_encode(ab, bins, k=2, sigma=5.0).flatten()
    w0, w1 = torch.exp(torch.tensor([-4.0, -64.0]) / 50.0)
    torch.testing.assert_close(t, torch.stack([w0, w1, torch.tensor(0.0)]) / (w0 + w1))


def test_soft_encode_far_out_of_gamut_does_not_underflow(bins):
    t = A.soft_encode(torch.full((1, 2, 1, 1), 1000.0), bins, k=K_PAPER)
    assert torch.isfinite(t).all()
    torch.testing.assert_close(t.sum(1), torch.ones(1, 1, 1))


def test_grayscale_mask():
    gray = torch.zeros(3, 2, 4, 4)
    gray[0] += 5.0  # at the threshold: still gray
    gray[1, 1, 2, 3] = -5.5
    assert A.grayscale_mask(gray).tolist() == [True, False, True]


# ------------------------------------------------------------------------- prior, weights


def test_histogram_and_prior(bins):
    ab = _random_ab(4, 8, 8)
    counts = A.ab_histogram(ab, bins)
    assert counts.dtype == torch.int64 and int(counts.sum()) == 4 * 8 * 8
    prior = A.smooth_prior(counts, bins)
    torch.testing.assert_close(prior.sum(), torch.tensor(1.0))
    assert (prior >= 0).all()
    batches = [ab[:2], ab[2:]]
    torch.testing.assert_close(A.empirical_prior(batches, bins), prior)
    with pytest.raises(ValueError):
        A.empirical_prior([], bins)


def test_smoothing_conserves_mass_and_spreads(bins):
    v = torch.rand(bins.shape[0], generator=torch.Generator().manual_seed(2)) * 10
    s = A.gaussian_smooth(v, bins)
    torch.testing.assert_close(s.sum(), v.sum())
    torch.testing.assert_close(A.gaussian_smooth(v, bins, sigma=0.0), v)
    spike = torch.zeros(bins.shape[0])
    centre = int(A.nearest_bin(torch.zeros(1, 2, 1, 1), bins))
    spike[centre] = 1.0
    s = A.gaussian_smooth(spike, bins)
    neighbours = (bins - bins[centre]).norm(dim=1).sub(GRID).abs() < 1e-4
    assert neighbours.sum() == 4
    torch.testing.assert_close(s[neighbours] / s[centre], torch.full((4,), torch.exp(torch.tensor(-2.0)).item()))


def test_pixel_weights(bins):
    ab = _random_ab()
    cw = torch.arange(bins.shape[0], dtype=torch.float32)
    pw = A.pixel_weights(ab, bins, cw)
    assert pw.shape == (2, 1, 6, 6)
    assert torch.equal(pw[:, 0], A.nearest_bin(ab, bins).float())
    with pytest.raises(ValueError):
        A.pixel_weights(ab, bins, cw[:-1])


def test_cached_prior(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return torch.tensor([0.25, 0.75])

    p1 = A.cached_prior("toy-q2", compute, tmp_path)
    p2 = A.cached_prior("toy-q2", compute, tmp_path)
    assert torch.equal(p1, p2) and len(calls) == 1
    assert [f.name for f in tmp_path.iterdir()] == ["prior_toy-q2.pt"]
    with pytest.raises(ValueError):
        A.cached_prior("../evil", compute, tmp_path)


# ------------------------------------------------------------------------------- decoding


def test_expectation_at_t1_is_the_mean(bins):
    logits = torch.randn(2, bins.shape[0], 3, 3, generator=torch.Generator().manual_seed(4))
    p = logits.exp() / logits.exp().sum(1, keepdim=True)
    expected = (p[:, None] * bins.T[None, :, :, None, None]).sum(2)  # (B, 2, Q, H, W) summed over Q
    torch.testing.assert_close(A.decode_expectation(logits, bins), expected)
    torch.testing.assert_close(A.decode_expectation(logits, bins, temperature=1.0), expected)


def test_small_t_approaches_mode(bins):
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(2, bins.shape[0], 3, 3, generator=g)
    top = torch.randint(0, bins.shape[0], (2, 1, 3, 3), generator=g)
    logits.scatter_(1, top, logits.amax(1, keepdim=True) + 2.0)  # a clear mode, margin 2
    mode = A.decode_mode(logits, bins)
    torch.testing.assert_close(mode, bins[top[:, 0]].permute(0, 3, 1, 2))
    err = [(A.decode_expectation(logits, bins, temperature=t) - mode).abs().max() for t in (1.0, 0.38, 0.2, 0.01)]
    assert err[0] > err[1] > err[2] > err[3]
    assert err[3] < 1e-5


def test_one_hot_logits_decode_to_centre(bins):
    idx = torch.tensor([[0, 17], [100, bins.shape[0] - 1]])
    logits = F.one_hot(idx, bins.shape[0]).permute(2, 0, 1).unsqueeze(0).float() * 100.0
    centres = bins[idx].permute(2, 0, 1).unsqueeze(0)
    torch.testing.assert_close(A.decode_mode(logits, bins), centres)
    for t in (1.0, 0.38):
        torch.testing.assert_close(A.decode_expectation(logits, bins, temperature=t), centres)


def test_decode_rejects_bad_input(bins):
    logits = torch.zeros(1, bins.shape[0], 2, 2)
    with pytest.raises(ValueError, match="temperature"):
        A.decode_expectation(logits, bins, temperature=0.0)
    with pytest.raises(ValueError, match="classes"):
        A.decode_expectation(logits[:, :-1], bins)
    with pytest.raises(ValueError):
        A.decode_mode(logits[0], bins)


# ------------------------------------------------------------------------------------ loss


def test_soft_cross_entropy_matches_cross_entropy():
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(2, 7, 4, 5, generator=g)
    idx = torch.randint(0, 7, (2, 4, 5), generator=g)
    target = F.one_hot(idx, 7).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(A.soft_cross_entropy(logits, target), F.cross_entropy(logits, idx))
    w = torch.rand(2, 1, 4, 5, generator=g)
    ref = (F.cross_entropy(logits, idx, reduction="none") * w[:, 0]).mean()
    torch.testing.assert_close(A.soft_cross_entropy(logits, target, weights=w), ref)
    # an image-level mask drops the second image; a mask of nothing gives 0
    mask = torch.tensor([True, False])
    torch.testing.assert_close(A.soft_cross_entropy(logits, target, mask=mask), F.cross_entropy(logits[:1], idx[:1]))
    assert A.soft_cross_entropy(logits, target, mask=torch.zeros(2, dtype=torch.bool)).item() == 0.0


def test_soft_cross_entropy_gradient_and_shapes(bins):
    ab = _random_ab()
    target = A.soft_encode(ab, bins, k=K_PAPER)
    logits = torch.zeros_like(target, requires_grad=True)
    loss = A.soft_cross_entropy(logits, target, A.pixel_weights(ab, bins, torch.ones(bins.shape[0])))
    loss.backward()
    torch.testing.assert_close(loss.detach(), torch.log(torch.tensor(float(bins.shape[0]))))
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError):
        A.soft_cross_entropy(logits[:, :-1], target)
    with pytest.raises(ValueError):
        A.soft_cross_entropy(logits, target, weights=torch.ones(2, 2, 6, 6))


def test_shape_validation(bins):
    with pytest.raises(ValueError):
        A.nearest_bin(torch.zeros(2, 3, 4, 4), bins)
    with pytest.raises(ValueError):
        A.nearest_bin(torch.zeros(2, 4, 4), bins)
    with pytest.raises(ValueError):
        A.soft_encode(torch.zeros(1, 2, 4, 4), bins[:, :1], k=1)
    with pytest.raises(ValueError):
        A.soft_encode(torch.zeros(1, 2, 4, 4), bins, k=0)
    with pytest.raises(ValueError):
        A.smooth_prior(torch.ones(bins.shape[0] + 1), bins)
