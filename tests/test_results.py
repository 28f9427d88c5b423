import json
import math
import os
import subprocess

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from colorlab import results


def test_save_writes_everything_and_collect_reads_it(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    rows = pd.DataFrame([{"method": "a", "auc": 0.9, "psnr": math.inf}, {"method": "b", "auc": math.nan, "psnr": 20.0}])
    out = results.save("01_x", rows, {"steps": 3, "crop": (64, 64)}, {"fig": fig}, profile="smoke",
                       info={"data": "samples"}, device="cpu", root=tmp_path)
    assert out == tmp_path / "smoke" / "01_x"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "environment.json", "fig.png", "metrics.json"]
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["rows"][0]["psnr"] == "inf" and rec["rows"][1]["auc"] is None  # strict JSON, nothing lost
    env = json.loads((out / "environment.json").read_text())
    assert env["device"] == "cpu" and env["packages"]["torch"] and env["wall_seconds"] >= 0
    assert json.loads((out / "config.json").read_text())["crop"] == [64, 64]

    results.save("02_y", {"method": "c", "auc": 0.5}, {}, profile="smoke", root=tmp_path)
    results.save("02_y", {"method": "d", "auc": 0.4}, {}, profile="quick", root=tmp_path)
    df = results.collect(tmp_path, profile="smoke")
    assert list(df["method"]) == ["a", "b", "c"] and set(df["notebook"]) == {"01_x", "02_y"}
    assert len(results.collect(tmp_path)) == 4
    assert results.load("02_y", "quick", tmp_path)["rows"][0]["method"] == "d"


def test_collect_empty_and_missing(tmp_path):
    assert results.collect(tmp_path).empty
    with pytest.raises(FileNotFoundError, match="no results"):
        results.load("nope", "smoke", tmp_path)


@pytest.mark.parametrize("bad", ["", "../up", "a/b", ".hidden"])
def test_bad_names_raise(tmp_path, bad):
    with pytest.raises(ValueError, match="plain folder name"):
        results.save(bad, {}, {}, profile="smoke", root=tmp_path)


def test_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_RESULTS", str(tmp_path))
    assert results.results_root() == tmp_path
    assert results.profile_dir("quick") == tmp_path / "quick"
    assert results.run_dir("01_x", "quick") == tmp_path / "quick" / "01_x"


def test_results_files_are_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        out = results.save("01_x", {"method": "a"}, {}, profile="smoke", root=tmp_path)
    finally:
        os.umask(old)
    for name in ("metrics.json", "config.json", "environment.json"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name


def test_metrics_must_be_rows(tmp_path):
    with pytest.raises(TypeError):
        results.save("x", [1, 2], {}, profile="smoke", root=tmp_path)


def test_environment_records_the_commit_the_run_started_from(monkeypatch):
    monkeypatch.setenv(results.GIT_COMMIT_ENV, "abc123")
    assert results.environment("cpu")["git_commit"] == "abc123"
    monkeypatch.delenv(results.GIT_COMMIT_ENV)
    assert results.environment("cpu")["git_commit"] == results.git_commit()


def test_a_run_rewriting_committed_results_does_not_mark_the_code_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "quick").mkdir(parents=True)
    (tmp_path / "results" / "quick" / "metrics.json").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "results").write_text("code, despite its name\n")
    git("add", "-A")
    git("commit", "-q", "-m", "c")
    head = results.git_commit(tmp_path)
    assert head and len(head) == 40 and results.git_commit(tmp_path / "sub") == head
    (tmp_path / "results" / "quick" / "metrics.json").write_text('{"rerun": 1}\n')
    (tmp_path / "results" / "quick" / "new.json").write_text("{}\n")  # untracked: never dirty
    assert results.git_commit(tmp_path / "sub") == head  # asked from below the top, as the package is
    (tmp_path / "sub" / "results").write_text("changed\n")
    assert results.git_commit(tmp_path) == head + "-dirty"
    git("checkout", "-q", "--", "sub")
    (tmp_path / "code.py").write_text("x = 2\n")
    assert results.git_commit(tmp_path / "results") == head + "-dirty"


def test_git_commit_outside_git_is_none(tmp_path):
    assert results.git_commit(tmp_path) is None
