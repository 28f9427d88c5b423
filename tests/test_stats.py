"""colorlab.stats: bootstrap intervals over photos and seeds, and verdicts from intervals."""

import numpy as np
import pandas as pd
import pytest

from colorlab import stats


def test_interval_covers_the_true_mean_about_as_often_as_it_says():
    rng = np.random.default_rng(1)
    hits = 0
    for trial in range(200):
        values = 0.5 + rng.standard_normal((3, 20))  # true mean 0.5
        _, lo, hi = stats.bootstrap_ci(values, n_boot=400, seed=trial)
        hits += lo <= 0.5 <= hi
    assert 0.88 <= hits / 200 <= 0.99  # percentile bootstrap at n=20 undercovers slightly


def test_seed_spread_widens_the_interval():
    rng = np.random.default_rng(0)
    photos = rng.standard_normal(30)
    same_seeds = np.stack([photos] * 3)
    shifted = same_seeds + np.array([[-1.0], [0.0], [1.0]])  # the seeds disagree by a constant
    _, lo1, hi1 = stats.bootstrap_ci(same_seeds)
    _, lo2, hi2 = stats.bootstrap_ci(shifted)
    assert hi2 - lo2 > 1.5 * (hi1 - lo1)


def test_paired_difference_sees_what_unpaired_means_do_not():
    rng = np.random.default_rng(0)
    photo = 3 * rng.standard_normal(16)  # photos differ a lot; the models by a little on each
    a, b = photo + 0.2, photo
    _, lo, hi = stats.bootstrap_ci(a - b)
    assert stats.decide(lo, hi) == "reproduced"
    _, lo_a, hi_a = stats.bootstrap_ci(a)
    _, lo_b, hi_b = stats.bootstrap_ci(b)
    assert lo_a < hi_b  # the two intervals overlap: comparing them would say nothing


def test_nan_units_are_left_out_and_all_nan_is_nan():
    mean, lo, hi = stats.bootstrap_ci([1.0, np.nan, 3.0], n_boot=200)
    assert mean == 2.0 and 1.0 <= lo <= hi <= 3.0
    assert all(np.isnan(stats.bootstrap_ci([np.nan, np.nan])))
    assert stats.decide(np.nan, 1.0) == "inconclusive"


@pytest.mark.parametrize("low, high, claimed, margin, verdict", [
    (0.1, 0.2, ">", 0.0, "reproduced"),
    (0.1, 0.2, ">", 0.15, "inconclusive"),  # beyond zero but not beyond the margin
    (-0.2, -0.1, ">", 0.0, "not reproduced"),
    (-0.2, -0.1, "<", 0.0, "reproduced"),
    (-0.1, 0.1, "<", 0.0, "inconclusive"),
])
def test_decide(low, high, claimed, margin, verdict):
    assert stats.decide(low, high, claimed, margin) == verdict


@pytest.mark.parametrize("call, match", [
    (lambda: stats.bootstrap_ci([]), "not empty"),
    (lambda: stats.bootstrap_ci(np.zeros((2, 2, 2))), r"\(seeds, units\)"),
    (lambda: stats.bootstrap_ci([1.0, 2.0], level=1.5), "level"),
    (lambda: stats.decide(0.2, 0.1), "above"),
    (lambda: stats.decide(0.1, 0.2, "!="), "claimed"),
    (lambda: stats.per_unit(pd.DataFrame({"auc": [1.0]}), ["a", "b"], "auc"), "2 unit labels for 1 rows"),
])
def test_bad_input_raises_clearly(call, match):
    with pytest.raises((ValueError, KeyError), match=match):
        call()


def test_per_unit_unknown_column_names_the_known_ones():
    with pytest.raises(KeyError, match="columns: auc"):
        stats.per_unit(pd.DataFrame({"auc": [1.0]}), ["a"], "psnr")
