import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from colorlab.train import TrainConfig, fit, load_checkpoint, pick_device, save_checkpoint

HERE = Path(__file__).parent


def _batches(start_step):
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(16, 1, 8, 8, generator=g)
    step = start_step
    while True:
        i = step % 4
        yield {"x": x[4 * i : 4 * i + 4], "y": x[4 * i : 4 * i + 4].repeat(1, 2, 1, 1) * 0.5}
        step += 1


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))


def _loss(m, b):
    return (m(b["x"]) - b["y"]).pow(2).mean()


def test_fit_returns_history_and_lowers_loss():
    hist = fit(_model(), _loss, _batches, TrainConfig(steps=60, lr=1e-2, progress=False, device="cpu"))
    assert list(hist.columns[:3]) == ["step", "loss", "seconds"]
    assert len(hist) == 60 and hist["step"].iloc[-1] == 60
    assert hist["loss"].iloc[-5:].mean() < hist["loss"].iloc[:5].mean()
    assert hist.attrs["device"] == "cpu" and hist.attrs["stopped_by"] == "steps"


def test_repeatable_on_cpu():
    a, b = _model(), _model()
    cfg = TrainConfig(steps=10, progress=False, device="cpu")
    fit(a, _loss, _batches, cfg)
    fit(b, _loss, _batches, cfg)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_wall_time_budget_stops_early():
    def slow(m, b):
        time.sleep(0.05)
        return _loss(m, b)

    hist = fit(_model(), slow, _batches, TrainConfig(steps=10_000, seconds=0.5, progress=False))
    assert hist.attrs["stopped_by"] == "seconds" and 1 <= len(hist) < 100


def test_nan_loss_names_the_step():
    calls = {"n": 0}

    def loss(m, b):
        calls["n"] += 1
        out = _loss(m, b)
        return out * math.nan if calls["n"] == 3 else out

    with pytest.raises(FloatingPointError, match="at step 3"):
        fit(_model(), loss, _batches, TrainConfig(steps=10, progress=False))


def test_dict_loss_logs_extra_columns():
    def loss(m, b):
        value = _loss(m, b)
        return {"loss": value, "l1": value.sqrt()}

    hist = fit(_model(), loss, _batches, TrainConfig(steps=3, progress=False))
    assert "l1" in hist.columns and hist["l1"].notna().all()


def test_checkpoint_is_weights_only_and_resumes(tmp_path):
    ckpt = tmp_path / "run.pt"
    full = _model()
    fit(full, _loss, _batches, TrainConfig(steps=20, progress=False))
    part = _model()
    fit(part, _loss, _batches, TrainConfig(steps=8, checkpoint=str(ckpt), checkpoint_every=4, progress=False))
    state = load_checkpoint(ckpt)  # weights_only=True inside
    assert state["step"] == 8 and state["config"]["steps"] == 8
    resumed = _model()
    hist = fit(resumed, _loss, _batches, TrainConfig(steps=20, checkpoint=str(ckpt), progress=False))
    assert hist.attrs["resumed_from"] == 8 and len(hist) == 20
    for pa, pb in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_atomic_checkpoint_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "c.pt"
    save_checkpoint(path, {"a": torch.ones(2)})
    save_checkpoint(path, {"a": torch.zeros(2)})
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]
    assert torch.equal(load_checkpoint(path)["a"], torch.zeros(2))


def test_bad_config_and_device():
    with pytest.raises(ValueError):
        TrainConfig(steps=-1)
    with pytest.raises(ValueError):
        TrainConfig(seconds=0)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device("cuda")
    assert pick_device("cpu").type == "cpu"


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    """A tiny model on `samples`, 50 steps: kill -9 mid-run, resume, compare with an uninterrupted run."""
    sys.path.insert(0, str(HERE))
    from _resume_script import run

    ckpt = tmp_path / "killed.pt"
    env = {**os.environ, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(HERE / "_resume_script.py"), str(ckpt), "50", "0.1"], env=env)
    try:
        deadline = time.time() + 120
        while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = load_checkpoint(ckpt)["step"]
    assert 0 < killed_at < 50

    resumed, hist = run(str(ckpt), 50)
    assert hist.attrs["resumed_from"] == killed_at and hist["step"].iloc[-1] == 50
    straight, _ = run(str(tmp_path / "straight.pt"), 50)
    for (name, a), (_, b) in zip(resumed.state_dict().items(), straight.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    ckpt = tmp_path / "c.pt"
    fit(_model(), _loss, _batches, TrainConfig(steps=4, lr=1e-2, checkpoint=str(ckpt), progress=False))
    with pytest.warns(UserWarning, match="differ in lr"):
        hist = fit(_model(), _loss, _batches, TrainConfig(steps=4, lr=1e-3, checkpoint=str(ckpt), progress=False))
    assert hist.attrs["resumed_from"] is None and len(hist) == 4
    with pytest.warns(UserWarning, match="beyond the 2 steps"):
        fit(_model(), _loss, _batches, TrainConfig(steps=2, lr=1e-3, checkpoint=str(ckpt), progress=False))


def test_finished_checkpoint_is_reused_without_training(tmp_path):
    ckpt = tmp_path / "c.pt"
    a = _model()
    fit(a, _loss, _batches, TrainConfig(steps=5, checkpoint=str(ckpt), progress=False))
    b = _model()
    hist = fit(b, _loss, _batches, TrainConfig(steps=5, checkpoint=str(ckpt), progress=False))
    assert hist.attrs["resumed_from"] == 5 and len(hist) == 5
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
