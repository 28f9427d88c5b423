"""Every verdict rule of every method, fed made-up per-photo rows for each outcome.

Each made-up row is one model row, seed and photo; a photo has its own offset shared by every
model (so paired differences are exact up to the added noise), and ``noise`` decides whether a
difference stands out of it. The rules must say reproduced, not reproduced and inconclusive
(an interval straddling zero or the claim's margin) where each is due; an effect wholly inside
the claim's margin is not reproduced.
"""

import numpy as np
import pandas as pd
import pytest

from colorlab import claims as C
from colorlab.papers import all_claims

SEEDS, PHOTOS = (0, 1, 2), [f"photo{k}" for k in range(8)]
LABELS = {"space", "boost", "temperature"}  # row labels, not metrics: never perturbed


def _units(notebook: str, rows: dict, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """``rows``: ``(method, variant, decode) -> {metric: value}`` (plus labels); every metric gets a
    per-photo offset (the same for every row) and, when ``noise`` > 0, independent noise."""
    rng = np.random.default_rng(seed)
    offsets = {k: rng.normal(0, 0.01, len(PHOTOS)) for k in range(8)}
    out = []
    for (method, variant, decode), values in rows.items():
        for s in SEEDS:
            for j, photo in enumerate(PHOTOS):
                row = {"notebook": notebook, "method": method, "variant": variant, "decode": decode, "seed": s,
                       "unit": photo, "data": "samples (embedded)", "fold": j % 3, "folds": 3}
                for k, (metric, v) in enumerate(values.items()):
                    if isinstance(v, str) or metric in LABELS:
                        row[metric] = v
                    else:
                        row[metric] = v + offsets[k % 8][j] * abs(v) + (rng.normal(0, noise) if noise else 0.0)
                out.append(row)
    return pd.DataFrame(out)


def _verdict(df, key):
    out = C.judge(df, all_claims())
    return out.set_index("key").loc[key, "verdict"]


def _claim(key):
    return next(c for c in all_claims() if c.key == key)


@pytest.mark.parametrize(
    "key, measures",
    [
        ("boosting", {"abs_gap", "auc", "psnr", "chroma_ratio"}),
        ("rebalancing", {"colorfulness", "auc_rebal"}),
        ("annealed_mean", {"colorfulness", "ab_roughness"}),
        ("classification_vs_l2", {"colorfulness"}),
        ("control_regression_desaturates", {"chroma_ratio"}),
        ("control_classification_mode", {"chroma_ratio"}),
        ("unet_regression_better", {"auc", "psnr", "abs_gap"}),
        ("unet_regression_cheaper", set()),  # a timing protocol of its own
        ("unet_decoding_vividness", {"colorfulness"}),
        ("fusion_dull_brown", {"chroma_ratio", "tone_spread", "cast_chroma"}),
        ("fusion_uv_beats_rgb", {"auc", "psnr"}),
        ("fusion_homogeneous_easier", {"auc", "psnr"}),
        ("fusion_improves", {"auc", "colorfulness"}),
        ("fusion_resnet_improves", {"auc", "colorfulness"}),
        ("pix2pix_gan_distribution", {"hist_intersection", "hist_kl"}),
        ("pix2pix_gan_colourful", {"colorfulness"}),
        ("pix2pix_l1_accurate", {"auc", "psnr"}),
        ("larsson_histograms_beat_l2", {"rmse", "psnr"}),
        ("larsson_lab_expectation_best", {"rmse", "psnr"}),
        ("larsson_hue_chroma_median_best", {"rmse", "psnr"}),
        ("larsson_fading", {"rmse"}),
        ("larsson_sparse_cheaper", set()),  # a timing protocol of its own
    ],
)
def test_each_claim_declares_the_practical_margins_of_the_measures_it_reads(key, measures):
    claim = _claim(key)
    assert dict(claim.margins) == {m: C.MARGINS[m].value for m in measures}
    changed_again = {"boosting": 3, "fusion_dull_brown": 3}  # docs/results.md, rule history
    assert claim.rule_version == changed_again.get(key, 2 if measures else 1)  # a margin added is a rule changed
    assert claim.kind == ("positive control" if key.startswith("control_") else "source")


class _Reads(dict):
    """Margins that remember which were read."""

    def __init__(self, margins):
        super().__init__(margins)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_rules_read_exactly_the_margins_their_claims_declare():
    zhang, control = _nb03(noise=0.001), _nb00(0.06, 0.1, 1.1)
    data = {"boosting": _nb02(0.7, (20, 30), (0.90, 0.88), noise=0.001), "rebalancing": zhang, "annealed_mean": zhang,
            "classification_vs_l2": zhang, "control_regression_desaturates": control,
            "control_classification_mode": control}
    for key, rows in data.items():
        claim, margins = _claim(key), _Reads(_claim(key).margins)
        assert claim.rule(rows, margins).outcome == C.REPRODUCED, key
        assert margins.read == set(claim.margins), key


def _nb01(l1, l2, inn=0.6, in_auc=0.80, in_psnr=20.0, noise=0.0):
    yuv = lambda ratio, auc, psnr: {"chroma_ratio": ratio, "colorfulness_gap": -10.0, "auc": auc, "psnr": psnr}  # noqa: E731
    return _units("01_yuv", {("yuv_regression", "l1", "direct"): yuv(l1, 0.85, 22.0),
                             ("yuv_regression", "l2", "direct"): yuv(l2, 0.84, 22.0),
                             ("yuv_regression", "l1_instancenorm", "direct"): yuv(inn, in_auc, in_psnr)}, noise)


@pytest.mark.parametrize(
    "l1, l2, noise, expected",
    [(0.6, 0.5, 0.02, C.REPRODUCED), (1.3, 0.7, 0.02, C.NOT_REPRODUCED), (0.97, 0.6, 0.3, C.INCONCLUSIVE)],
)
def test_regression_desaturates(l1, l2, noise, expected):
    assert _verdict(_nb01(l1, l2, noise=noise), "regression_desaturates") == expected


def test_regression_desaturates_is_judged_on_every_regression_row():
    df = _nb01(0.6, 0.6, inn=1.4)  # the instance-norm row is a regression too
    out = C.judge(df, all_claims()).set_index("key").loc["regression_desaturates"]
    assert out["verdict"] == C.NOT_REPRODUCED and "l1_instancenorm" in out["evidence"]
    assert out["seeds"] == "0,1,2" and "8 held-out photos in 3 folds" in out["measured_on"]
    assert "[" in out["interval"]


@pytest.mark.parametrize(
    "auc, psnr, noise, expected",
    [(0.80, 20.0, 0.005, C.REPRODUCED), (0.90, 23.0, 0.005, C.NOT_REPRODUCED), (0.85, 22.0, 0.1, C.INCONCLUSIVE),
     (0.80, 23.0, 0.005, C.INCONCLUSIVE)],  # AuC up but PSNR down: mixed
)
def test_batchnorm(auc, psnr, noise, expected):
    assert _verdict(_nb01(0.6, 0.6, in_auc=auc, in_psnr=psnr, noise=noise), "batchnorm") == expected


@pytest.mark.parametrize(
    "auc, noise, expected",
    [(0.845, 0.0, C.NOT_REPRODUCED),  # an AuC gain of 0.005, wholly inside the 0.01 margin: no effect worth the name
     (0.84, 0.005, C.INCONCLUSIVE)],  # a gain of 0.01 within the noise: the interval straddles the margin
)
def test_an_auc_gain_must_clear_the_auc_margin(auc, noise, expected):
    assert _claim("batchnorm").margins["auc"] == 0.01
    assert _verdict(_nb01(0.6, 0.6, in_auc=auc, in_psnr=22.0, noise=noise), "batchnorm") == expected


#: The truth's colourfulness in notebook 02's made-up rows: boosting from 20 to 30 closes the gap from 12 to 2.
TRUTH_CF = 32.0


def _nb02(ratio, colorfulness, aucs, psnrs=(22.0, 21.0), noise=0.0):
    rows = {}
    for boost, cf, auc, psnr in zip((1.0, 1.5), colorfulness, aucs, psnrs, strict=True):
        for space in ("yuv", "hsv"):
            rows[("saturation_boost", f"{space}_x{boost:g}", "boosted")] = {
                "space": space, "boost": boost, "colorfulness": cf, "colorfulness_gap": cf - TRUTH_CF, "auc": auc,
                "psnr": psnr, "chroma_ratio": ratio * boost}
    return _units("02_boost", rows, noise)


@pytest.mark.parametrize(
    "ratio, cf, aucs, psnrs, noise, expected",
    [
        (0.7, (20, 30), (0.90, 0.88), (22.0, 21.0), 0.001, C.REPRODUCED),
        (0.7, (20, 30), (0.85, 0.90), (22.0, 21.0), 0.001, C.NOT_REPRODUCED),  # boosting raised AuC
        (0.7, (20, 18), (0.90, 0.88), (22.0, 21.0), 0.001, C.NOT_REPRODUCED),  # less colour: the gap grows
        (0.7, (20, 50), (0.90, 0.88), (22.0, 21.0), 0.001, C.NOT_REPRODUCED),  # overshoots: |gap| 12 -> 18
        (1.1, (20, 30), (0.90, 0.88), (22.0, 21.0), 0.001, C.INCONCLUSIVE),  # not desaturated: nothing to close
        (0.7, (20, 30), (0.90, 0.90), (22.0, 22.0), 0.05, C.INCONCLUSIVE),  # AuC change within the noise
    ],
)
def test_boosting(ratio, cf, aucs, psnrs, noise, expected):
    assert _verdict(_nb02(ratio, cf, aucs, psnrs, noise), "boosting") == expected


@pytest.mark.parametrize(
    "ratio, cf, aucs, psnrs, noise, expected",
    [
        (0.7, (20, 30), (0.90, 0.905), (22.0, 22.2), 0.001, C.REPRODUCED),  # gains inside the margins: none
        (0.7, (20, 30), (0.90, 0.85), (22.0, 22.5), 0.001, C.NOT_REPRODUCED),  # PSNR up beyond its margin
        (0.7, (20, 30), (0.90, 0.85), (22.0, 22.3), 0.05, C.INCONCLUSIVE),  # PSNR up by the margin, in the noise
        (0.7, (20, 22), (0.90, 0.88), (22.0, 21.0), 0.001, C.NOT_REPRODUCED),  # |gap| down 2, inside its margin
        (0.7, (20, 23), (0.90, 0.85), (22.0, 21.0), 0.05, C.INCONCLUSIVE),  # |gap| down by the margin, in the noise
        (0.96, (20, 30), (0.90, 0.88), (22.0, 21.0), 0.001, C.INCONCLUSIVE),  # desaturated less than the margin
    ],
)
def test_boosting_reads_the_claims_margins(ratio, cf, aucs, psnrs, noise, expected):
    """The claim of no gain counts gains inside the declared AuC and PSNR margins as none."""
    assert _verdict(_nb02(ratio, cf, aucs, psnrs, noise), "boosting") == expected


def _nb03(full=(0.88, 0.66, 35.0), cls=(0.91, 0.63, 25.0), decodes=(40.0, 30.0, 20.0), rough=(9.0, 5.0, 3.0),
          l2_cf=15.0, weight=1e6, weight_sq=1e8, noise=0.0, mixes=None):
    def zhang(auc, rebal, cf, r=5.0):
        row = {"auc": auc, "auc_rebal": rebal, "rebal_weight": weight, "rebal_weight_sq": weight_sq,
               "colorfulness": cf, "ab_roughness": r, "chroma_ratio": 0.8}
        for sfx, shift in (mixes or {"_1e-02": 0.0, "_1e-04": 0.0}).items():
            row |= {f"auc_rebal{sfx}": rebal + shift, f"rebal_weight{sfx}": weight, f"rebal_weight_sq{sfx}": weight_sq}
        return row

    rows = {("zhang", "l2", "direct"): zhang(0.9, 0.6, l2_cf),
            ("zhang", "class", "annealed"): zhang(*cls),
            ("zhang", "full", "annealed"): zhang(*full[:2], decodes[1] if full[2] is None else full[2], rough[1]),
            ("zhang", "full", "mode"): zhang(0.9, 0.6, decodes[0], rough[0]),
            ("zhang", "full", "mean"): zhang(0.9, 0.6, decodes[2], rough[2])}
    rows[("zhang", "full", "annealed")]["temperature"] = 0.38
    return _units("03_zhang", rows, noise)


@pytest.mark.parametrize(
    "full, cls, noise, expected",
    [
        ((0.88, 0.66, 35.0), (0.91, 0.63, 25.0), 0.001, C.REPRODUCED),
        ((0.92, 0.60, 20.0), (0.91, 0.63, 25.0), 0.001, C.NOT_REPRODUCED),
        ((0.88, 0.66, 25.0), (0.91, 0.63, 25.0), 0.5, C.NOT_REPRODUCED),  # no more colour: inside the margin
        ((0.88, 0.66, 28.0), (0.91, 0.63, 25.0), 0.5, C.INCONCLUSIVE),  # colour up by the margin, within the noise
    ],
)
def test_rebalancing(full, cls, noise, expected):
    assert _verdict(_nb03(full, cls, noise=noise), "rebalancing") == expected


@pytest.mark.parametrize(
    "rebal, noise, expected",
    [(0.635, 0.0, C.NOT_REPRODUCED),  # a rebalanced AuC gain of 0.005: inside the 0.01 margin
     (0.64, 0.005, C.INCONCLUSIVE)],  # a gain of 0.01 within the noise: the interval straddles the margin
)
def test_a_rebalanced_auc_gain_must_clear_its_margin(rebal, noise, expected):
    out = C.judge(_nb03((0.88, rebal, 35.0), (0.91, 0.63, 25.0), noise=noise), all_claims()).set_index("key")
    assert out.loc["rebalancing", "verdict"] == expected and "(margin 0.01)" in out.loc["rebalancing", "evidence"]


def test_rebalanced_auc_needs_enough_effective_pixels_and_a_sign_that_does_not_depend_on_the_mix():
    few = C.judge(_nb03(weight=1e3, weight_sq=1e5), all_claims()).set_index("key").loc["rebalancing"]
    assert few["verdict"] == C.INCONCLUSIVE and "too few effective pixels" in few["evidence"]
    flips = _nb03(mixes={"_1e-02": 0.0, "_1e-04": 0.0})
    flips.loc[(flips.variant == "full") & (flips.decode == "annealed"), "auc_rebal_1e-04"] = 0.5  # below class
    out = C.judge(flips, all_claims()).set_index("key").loc["rebalancing"]
    assert out["verdict"] == C.INCONCLUSIVE and "depends on the mix" in out["evidence"]


@pytest.mark.parametrize(
    "decodes, rough, expected",
    [
        ((40.0, 30.0, 20.0), (9.0, 5.0, 3.0), C.REPRODUCED),
        ((40.0, 15.0, 20.0), (9.0, 5.0, 3.0), C.NOT_REPRODUCED),  # annealed less vivid than the mean
        ((40.0, 30.0, 20.0), (4.0, 5.0, 3.0), C.NOT_REPRODUCED),  # annealed rougher than the mode
        ((40.0, 30.0, 20.0), (5.0, 5.0, 3.0), C.NOT_REPRODUCED),  # as rough as the mode: inside the margin
        ((40.0, 30.0, 20.0), (5.05, 5.0, 3.0), C.NOT_REPRODUCED),  # smoother by 0.05: inside the 0.1 margin
        ((40.0, 30.0, 20.0), (5.1, 5.0, 3.0), C.INCONCLUSIVE),  # smoother by the margin, within the noise
        ((40.0, 22.0, 20.0), (9.0, 5.0, 3.0), C.NOT_REPRODUCED),  # more vivid than the mean by 2: inside the margin
        ((40.0, 23.0, 20.0), (9.0, 5.0, 3.0), C.INCONCLUSIVE),  # more vivid by the margin, within the noise
    ],
)
def test_annealed_mean_measures_vividness_and_smoothness(decodes, rough, expected):
    df = _nb03((0.9, 0.6, None), (0.9, 0.6, 20.0), decodes, rough, noise=0.05)
    assert _verdict(df, "annealed_mean") == expected


@pytest.mark.parametrize(
    "l2_cf, noise, expected",
    [(10.0, 0.1, C.REPRODUCED), (50.0, 0.1, C.NOT_REPRODUCED), (29.8, 8.0, C.INCONCLUSIVE),
     (28.0, 0.1, C.NOT_REPRODUCED),  # 2 more colourful: wholly inside the colourfulness margin of 3
     (27.0, 0.3, C.INCONCLUSIVE)],  # 3 more colourful, within the noise: the interval straddles the margin
)
def test_classification_vs_l2(l2_cf, noise, expected):
    assert (
        _verdict(_nb03((0.9, 0.6, 30.0), (0.9, 0.6, 20.0), l2_cf=l2_cf, noise=noise), "classification_vs_l2")
        == expected
    )


def _nb00(yuv_l2, zhang_l2, mode, noise=0.01, full_mode=0.0):
    return _units(
        "00_control",
        {
            ("yuv_regression", "l2", "direct"): {"chroma_ratio": yuv_l2, "colorfulness_gap": -20.0},
            ("zhang", "l2", "direct"): {"chroma_ratio": zhang_l2},
            ("zhang", "class", "mode"): {"chroma_ratio": mode},
            ("zhang", "full", "mode"): {"chroma_ratio": full_mode},
        },
        noise,
    )


@pytest.mark.parametrize(
    "yuv_l2, zhang_l2, mode, expected_yuv, expected_mode",
    [
        (0.06, 0.1, 1.1, C.REPRODUCED, C.REPRODUCED),
        (1.2, 1.2, 0.3, C.NOT_REPRODUCED, C.NOT_REPRODUCED),
        (0.06, 0.1, 0.6, C.REPRODUCED, C.NOT_REPRODUCED),  # the mode is desaturated too
        (0.06, 0.1, 0.8, C.REPRODUCED, C.INCONCLUSIVE),  # the mode right at the threshold, within the noise
    ],
)
def test_positive_control_rules(yuv_l2, zhang_l2, mode, expected_yuv, expected_mode):
    df = _nb00(yuv_l2, zhang_l2, mode, noise=0.05)
    assert _verdict(df, "control_regression_desaturates") == expected_yuv
    assert _verdict(df, "control_classification_mode") == expected_mode


@pytest.mark.parametrize(
    "yuv_l2, zhang_l2, mode, noise, expected_yuv, expected_mode",
    [
        (0.97, 0.9, 0.92, 0.01, C.NOT_REPRODUCED, C.NOT_REPRODUCED),  # both differences inside the 0.05 margin
        (0.95, 0.9, 0.95, 0.02, C.INCONCLUSIVE, C.INCONCLUSIVE),  # both the size of the margin, in the noise
        (0.06, 0.97, 1.1, 0.01, C.REPRODUCED, C.NOT_REPRODUCED),  # the L2 head barely desaturated
    ],
)
def test_positive_control_desaturation_must_clear_the_chroma_ratio_margin(yuv_l2, zhang_l2, mode, noise,
                                                                          expected_yuv, expected_mode):
    df = _nb00(yuv_l2, zhang_l2, mode, noise=noise)
    assert _verdict(df, "control_regression_desaturates") == expected_yuv
    assert _verdict(df, "control_classification_mode") == expected_mode


def test_the_control_modes_threshold_is_its_rule_with_no_margin():
    """The mode's chroma ratio is judged against NOT_DESATURATED_FROM itself: just above it counts."""
    df = _nb00(0.06, 0.1, C.NOT_DESATURATED_FROM + 0.02, noise=0.001)
    assert _verdict(df, "control_classification_mode") == C.REPRODUCED


def test_positive_control_judges_the_plain_heads_mode_and_shows_the_rebalanced_one():
    """A gray rebalanced mode does not decide the claim (its plateau is a coin flip); it is shown."""
    df = _nb00(0.06, 0.1, 1.1, noise=0.05, full_mode=0.02)
    out = C.judge(df, all_claims()).set_index("key").loc["control_classification_mode"]
    assert out["verdict"] == C.REPRODUCED and "rebalanced head's mode, not judged: 0.0" in out["evidence"]
    gray_class = _nb00(0.06, 0.1, 0.02, noise=0.05, full_mode=1.2)
    assert _verdict(gray_class, "control_classification_mode") == C.NOT_REPRODUCED
    no_class = df[df["variant"] != "class"]
    assert C.judge(no_class, all_claims()).set_index("key").loc["control_classification_mode", "evidence"] == (
        "rows missing: zhang/class/mode, zhang/l2")


def test_missing_values_are_inconclusive_not_lower():
    df = _nb03((0.9, float("nan"), 35.0), (0.9, 0.6, 25.0))
    out = C.judge(df, all_claims()).set_index("key").loc["rebalancing"]
    assert out["verdict"] == C.INCONCLUSIVE


def test_missing_notebook_is_not_run_and_missing_rows_inconclusive():
    out = C.judge(pd.DataFrame(columns=["notebook"]), all_claims())
    assert (out["verdict"] == C.NOT_RUN).all() and len(out) == len(all_claims())
    partial = _nb01(0.5, 0.5)
    partial = partial[partial.variant == "l2"]
    assert _verdict(partial, "batchnorm") == C.INCONCLUSIVE
    assert "rows missing" in C.judge(partial, all_claims()).set_index("key").loc["batchnorm", "evidence"]


def test_smoke_verdicts_are_not_evidence():
    out = C.judge(_nb01(0.6, 0.5, noise=0.01), all_claims(), profile="smoke").set_index("key")
    assert out.loc["regression_desaturates", "verdict"] == C.NOT_EVIDENCE
    assert "chroma ratio" in out.loc["regression_desaturates", "evidence"]


def test_paper_table_sets_published_values_beside_ours():
    p = C.Published("Demo 2020, Table 2", "model", {"auc": 90.0, "psnr": 24.0}, "05", {"method": "m"}, "ImageNet",
                    scale={"auc": 100.0})
    ours = pd.DataFrame(
        [
            {"notebook": "05_x", "method": "m", "auc": 0.85, "psnr": 25.5, "data": "samples", "n_images": 8},
            {"notebook": "06_y", "method": "m", "auc": 0.5, "psnr": 1.0},
        ]
    )
    row = C.paper_table(ours, [p]).iloc[0]
    assert (row["paper_auc"], row["ours_auc"], row["diff_auc"]) == (90.0, 85.0, -5.0)
    assert (row["ours_psnr"], row["diff_psnr"]) == (25.5, 1.5)  # no scale: the same unit
    assert row["ours_measured_on"] == "samples, 8 test crops"
    missing = C.paper_table(ours.iloc[1:], [p]).iloc[0]
    assert missing["ours_measured_on"] == "not run" and pd.isna(missing["ours_auc"])
    ours["n_photos"], ours["seeds"] = 8, "0,1,2"
    assert C.paper_table(ours, [p]).iloc[0]["ours_measured_on"] == "samples, 8 held-out photos, seeds 0,1,2"


def test_a_verdict_that_depends_on_the_resampling_is_decided_on_ten_times_the_replicates():
    """The rule reads the bootstrap's current seed and replicates: its verdict flips with the seed, so judge
    decides it again on 20,000 replicates and says so."""
    from colorlab import stats

    seen = []

    def fickle(rows, margins):
        seen.append((stats._RESAMPLING["seed"], stats._RESAMPLING["n_boot"]))
        outcome = C.REPRODUCED if stats._RESAMPLING["seed"] == 0 or stats._RESAMPLING["n_boot"] > 2000 else \
            C.INCONCLUSIVE
        return C.Verdict("made up", outcome)

    claim = C.Claim("fickle", "000", "01", "a claim", fickle)
    out = C.judge(pd.DataFrame({"notebook": ["01_x"], "seed": [0], "unit": ["a"]}), [claim])
    assert seen == [(0, 2000), (1, 2000), (0, 20000)]
    assert out.loc[0, "verdict"] == C.REPRODUCED and "decided on 20,000 bootstrap replicates" in out.loc[0, "evidence"]
    steady = C.Claim("steady", "000", "01", "a claim", lambda rows, m: C.Verdict("made up", C.REPRODUCED))
    out = C.judge(pd.DataFrame({"notebook": ["01_x"], "seed": [0], "unit": ["a"]}), [steady])
    assert out.loc[0, "evidence"] == "made up"
