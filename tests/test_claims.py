"""Every verdict rule of every method, fed made-up metrics for each outcome."""

import pandas as pd
import pytest

from colorlab import claims as C
from colorlab.methods import all_claims


def _nb01(l1_ratio, l2_ratio, gap=-10.0, in_auc=0.80, in_psnr=20.0):
    return pd.DataFrame([
        {"notebook": "01_yuv", "method": "yuv_regression", "variant": "l1", "chroma_ratio": l1_ratio, "colorfulness_gap": gap, "auc": 0.85, "psnr": 22.0},
        {"notebook": "01_yuv", "method": "yuv_regression", "variant": "l2", "chroma_ratio": l2_ratio, "colorfulness_gap": gap, "auc": 0.84, "psnr": 22.0},
        {"notebook": "01_yuv", "method": "yuv_regression", "variant": "l1_instancenorm", "chroma_ratio": 0.5, "colorfulness_gap": gap, "auc": in_auc, "psnr": in_psnr},
    ])


def _verdict(df, key):
    out = C.judge(df, all_claims())
    return out.set_index("key").loc[key, "verdict"]


@pytest.mark.parametrize(
    "ratios, gap, expected",
    [((0.6, 0.5), -12.0, C.REPRODUCED), ((1.0, 0.7), -5.0, C.NOT_REPRODUCED), ((0.85, 0.9), -3.0, C.INCONCLUSIVE)],
)
def test_regression_desaturates(ratios, gap, expected):
    assert _verdict(_nb01(*ratios, gap=gap), "regression_desaturates") == expected


@pytest.mark.parametrize(
    "auc, psnr, expected",
    [(0.80, 20.0, C.REPRODUCED), (0.90, 23.0, C.NOT_REPRODUCED), (0.80, 23.0, C.INCONCLUSIVE)],
)
def test_batchnorm(auc, psnr, expected):
    assert _verdict(_nb01(0.6, 0.6, in_auc=auc, in_psnr=psnr), "batchnorm") == expected


def _nb02(colorfulness, aucs, gaps):
    rows = []
    for boost, cf, auc, gap in zip((1.0, 1.5, 2.0), colorfulness, aucs, gaps, strict=True):
        rows.append({"notebook": "02_boost", "method": "saturation_boost", "variant": f"yuv_x{boost}", "space": "yuv",
                     "boost": boost, "colorfulness": cf, "auc": auc, "colorfulness_gap": gap})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "cf, aucs, gaps, expected",
    [
        ((20, 30, 40), (0.90, 0.89, 0.87), (-20, -10, 0), C.REPRODUCED),
        ((20, 30, 40), (0.85, 0.90, 0.88), (-20, -10, 0), C.NOT_REPRODUCED),  # boosting raised AuC
        ((20, 20.5, 20.2), (0.90, 0.89, 0.88), (-20, -19.5, -19.8), C.NOT_REPRODUCED),  # no more colour
        ((20, 30, 40), (0.90, 0.90, 0.90), (-1, 9, 19), C.INCONCLUSIVE),  # gap was already closed
    ],
)
def test_boosting(cf, aucs, gaps, expected):
    assert _verdict(_nb02(cf, aucs, gaps), "boosting") == expected


def _nb03(full, cls, decodes=(40.0, 30.0, 20.0), l2_cf=15.0):
    rows = [{"notebook": "03_zhang", "method": "zhang", "variant": "l2", "decode": "", "colorfulness": l2_cf, "chroma_ratio": 0.4, "auc": 0.9, "auc_rebal": 0.6}]
    for variant, (auc, rebal, cf) in (("full", full), ("class", cls)):
        rows.append({"notebook": "03_zhang", "method": "zhang", "variant": variant, "decode": "annealed",
                     "auc": auc, "auc_rebal": rebal, "colorfulness": cf, "chroma_ratio": 0.8})
    for d, cf in zip(("mode", "mean"), (decodes[0], decodes[2]), strict=True):
        rows.append({"notebook": "03_zhang", "method": "zhang", "variant": "full", "decode": d, "colorfulness": cf,
                     "auc": 0.9, "auc_rebal": 0.6, "chroma_ratio": 0.8})
    df = pd.DataFrame(rows)
    df.loc[(df.variant == "full") & (df.decode == "annealed"), "colorfulness"] = decodes[1] if full[2] is None else full[2]
    return df


@pytest.mark.parametrize(
    "full, cls, expected",
    [
        ((0.88, 0.66, 35.0), (0.91, 0.63, 25.0), C.REPRODUCED),
        ((0.92, 0.60, 20.0), (0.91, 0.63, 25.0), C.NOT_REPRODUCED),
        ((0.88, 0.66, 25.2), (0.91, 0.63, 25.0), C.INCONCLUSIVE),
    ],
)
def test_rebalancing(full, cls, expected):
    assert _verdict(_nb03(full, cls), "rebalancing") == expected


@pytest.mark.parametrize(
    "decodes, expected",
    [
        ((40.0, 30.0, 20.0), C.REPRODUCED),
        ((20.0, 30.0, 40.0), C.NOT_REPRODUCED),  # the mean more vivid than the mode
        ((40.0, 45.0, 20.0), C.NOT_REPRODUCED),  # annealed more vivid than the mode
        ((30.0, 30.4, 29.5), C.INCONCLUSIVE),  # mode and mean alike
    ],
)
def test_annealed_mean(decodes, expected):
    assert _verdict(_nb03((0.9, 0.6, None), (0.9, 0.6, 20.0), decodes), "annealed_mean") == expected


@pytest.mark.parametrize("l2_cf, expected", [(10.0, C.REPRODUCED), (50.0, C.NOT_REPRODUCED), (29.8, C.INCONCLUSIVE)])
def test_classification_vs_l2(l2_cf, expected):
    assert _verdict(_nb03((0.9, 0.6, 30.0), (0.9, 0.6, 20.0), l2_cf=l2_cf), "classification_vs_l2") == expected


def test_missing_values_are_inconclusive_not_lower():
    df = _nb03((0.9, float("nan"), 35.0), (0.9, 0.6, 25.0))
    out = C.judge(df, all_claims()).set_index("key").loc["rebalancing"]
    assert out["verdict"] == C.INCONCLUSIVE and "could not evaluate" in out["evidence"]


def test_missing_notebook_is_not_run_and_missing_rows_inconclusive():
    out = C.judge(pd.DataFrame(columns=["notebook"]), all_claims())
    assert (out["verdict"] == C.NOT_RUN).all() and len(out) == len(all_claims())
    partial = _nb01(0.5, 0.5).iloc[:1]
    assert _verdict(partial, "regression_desaturates") == C.INCONCLUSIVE
    assert "rows missing" in C.judge(partial, all_claims()).set_index("key").loc["regression_desaturates", "evidence"]


def test_paper_table_sets_published_values_beside_ours():
    p = C.Published("Demo 2020, Table 2", "model", {"auc": 90.0, "psnr": 24.0}, "05", {"method": "m"}, "ImageNet",
                    scale={"auc": 100.0})
    ours = pd.DataFrame([{"notebook": "05_x", "method": "m", "auc": 0.85, "psnr": 25.5, "data": "samples", "n_images": 8},
                         {"notebook": "06_y", "method": "m", "auc": 0.5, "psnr": 1.0}])
    row = C.paper_table(ours, [p]).iloc[0]
    assert (row["paper_auc"], row["ours_auc"], row["diff_auc"]) == (90.0, 85.0, -5.0)
    assert (row["ours_psnr"], row["diff_psnr"]) == (25.5, 1.5)  # no scale: the same unit
    assert row["ours_measured_on"] == "samples, 8 test crops"
    missing = C.paper_table(ours.iloc[1:], [p]).iloc[0]
    assert missing["ours_measured_on"] == "not run" and pd.isna(missing["ours_auc"])
