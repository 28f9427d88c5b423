"""colorlab.stats: bootstrap intervals over photos and seeds, and verdicts from intervals."""

import numpy as np
import pandas as pd
import pytest

from colorlab import stats


def test_interval_covers_the_true_mean_about_as_often_as_it_says():
    rng = np.random.default_rng(1)
    hits = 0
    for trial in range(200):
        photo, seed = rng.standard_normal(20)[None, :], 0.2 * rng.standard_normal((3, 1))  # true mean 0.5
        values = 0.5 + photo + seed + 0.2 * rng.standard_normal((3, 20))
        _, lo, hi = stats.bootstrap_ci(values, n_boot=400, seed=trial)
        hits += lo <= 0.5 <= hi
    assert 0.92 <= hits / 200 <= 0.99  # the expanded percentile interval keeps its coverage at n=20


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
    (-0.01, 0.01, ">", 0.02, "not reproduced"),  # wholly inside ±margin: no effect worth the name
    (-0.03, 0.01, ">", 0.02, "inconclusive"),  # partly below -margin
    (0.01, 0.03, "<", 0.02, "not reproduced"),  # the other side of zero
    (-0.05, -0.03, "<", 0.02, "reproduced"),
])
def test_decide(low, high, claimed, margin, verdict):
    assert stats.decide(low, high, claimed, margin) == verdict


@pytest.mark.parametrize("call, match", [
    (lambda: stats.bootstrap_ci([]), "not empty"),
    (lambda: stats.bootstrap_ci(np.zeros((2, 2, 2))), r"\(seeds, units\)"),
    (lambda: stats.bootstrap_ci([1.0, 2.0], level=1.5), "level"),
    (lambda: stats.decide(0.2, 0.1), "above"),
    (lambda: stats.decide(0.1, 0.2, "!="), "claimed"),
    (lambda: stats.decide(0.1, 0.2, ">", -0.1), "margin"),
    (lambda: stats.bootstrap_ci(np.zeros((2, 3)), groups=[0, 1]), "2 groups for 3 units"),
    (lambda: stats.per_unit(pd.DataFrame({"auc": [1.0]}), ["a", "b"], "auc"), "2 unit labels for 1 rows"),
])
def test_bad_input_raises_clearly(call, match):
    with pytest.raises((ValueError, KeyError), match=match):
        call()


def test_per_unit_unknown_column_names_the_known_ones():
    with pytest.raises(KeyError, match="columns: auc"):
        stats.per_unit(pd.DataFrame({"auc": [1.0]}), ["a"], "psnr")


# ------------------------------------------------------------- folds that seeds replicate


def _folded(rng, effect, *, folds=4, per_fold=10, seeds=2, photo_sd=0.4, model_sd=0.05, noise_sd=0.05):
    """Paired differences on photos in folds, each fold's models trained with every seed: ``(seeds, photos)``.

    Each photo has its own effect (``photo_sd``), each (fold, seed) model its own (``model_sd``, shared by the
    fold's photos), and each score some noise."""
    group = np.repeat(np.arange(folds), per_fold)
    photo = effect + photo_sd * rng.standard_normal(folds * per_fold)
    model = model_sd * rng.standard_normal((seeds, folds))
    return photo + model[:, group] + noise_sd * rng.standard_normal((seeds, folds * per_fold)), group


def test_nested_interval_covers_a_known_effect():
    rng = np.random.default_rng(7)
    hits, trials = 0, 400
    for trial in range(trials):
        values, group = _folded(rng, 0.1, model_sd=0.05)
        _, lo, hi = stats.bootstrap_ci(values, groups=group, n_boot=1000, seed=trial)
        hits += lo <= 0.1 <= hi
    assert hits / trials >= 0.93, hits / trials


def test_nested_interval_reaches_the_margin_when_the_effect_is_there():
    rng = np.random.default_rng(8)
    verdicts = [stats.decide(*stats.bootstrap_ci(_folded(rng, 0.5)[0], groups=_folded(rng, 0)[1], n_boot=1000,
                                                 seed=t)[1:], ">", 0.1) for t in range(50)]
    assert verdicts.count("reproduced") >= 45, verdicts
    nothing = [stats.decide(*stats.bootstrap_ci(0.3 * _folded(rng, 0.0, photo_sd=0.05, model_sd=0.02)[0],
                                                groups=np.repeat(np.arange(4), 10), n_boot=1000, seed=t)[1:],
                            ">", 0.1) for t in range(50)]
    assert nothing.count("not reproduced") >= 45, nothing  # no effect, measured well: inside ±margin


def test_seeds_are_drawn_per_fold():
    # each fold's two models disagree, in opposite directions: drawn once for all photos the seeds' disagreement
    # cancels between the folds; drawn per fold, as the models were trained, it does not
    values = np.array([[0.0] * 5 + [2.0] * 5, [2.0] * 5 + [0.0] * 5])
    _, lo, hi = stats.bootstrap_ci(values, groups=[0] * 5 + [1] * 5, n_boot=4000)
    crossed_lo, crossed_hi = stats.bootstrap_ci(values, n_boot=4000)[1:]
    assert lo < 1.0 < hi and crossed_lo < 1.0 < crossed_hi
    assert hi - lo > 1.2 * (crossed_hi - crossed_lo)
