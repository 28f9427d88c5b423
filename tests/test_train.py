"""The training loop (colorlab.train.fit) over methods: history, repeatability, budgets, the NaN
guard, checkpoints and exact resumption, for one optimiser and for two alternating ones."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from colorlab import checkpoint
from colorlab.color import ZHANG
from colorlab.device import pick_device
from colorlab.methods.base import Method, StepMode, Variant
from colorlab.train import TrainConfig, fit

HERE = Path(__file__).parent


class Tiny(Method):
    """Two convolutions fitting ``y`` from ``x``; not registered (the loop needs no registry)."""

    name = "tiny"
    norm = ZHANG
    defaults = {"lr": 1e-3}
    variants = {"plain": Variant("a tiny regression")}

    def __init__(self, variant=None, **args):
        super().__init__(variant, **args)
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))

    def configure_optimizers(self, mode=StepMode()):
        return {"net": torch.optim.Adam(self.net.parameters(), lr=self.args["lr"])}

    def loss(self, batch):
        return (self.net(batch["x"]) - batch["y"]).pow(2).mean()


class TwoPlayers(Tiny):
    """A second network with its own optimiser, updated after the first each step (as a GAN's
    discriminator after its generator)."""

    name = "two_players"

    def __init__(self, variant=None, **args):
        super().__init__(variant, **args)
        self.critic = nn.Conv2d(2, 1, 1)

    def configure_optimizers(self, mode=StepMode()):
        return {"net": torch.optim.Adam(self.net.parameters(), lr=self.args["lr"]),
                "critic": torch.optim.SGD(self.critic.parameters(), lr=self.args["lr"])}

    def train_step(self, batch, optimizers, step, mode=StepMode()):
        fit_loss = self.loss(batch)
        self.update(optimizers["net"], fit_loss)
        critic_loss = self.critic(self.net(batch["x"]).detach()).pow(2).mean()
        self.update(optimizers["critic"], critic_loss)
        return {"loss": fit_loss.detach(), "critic": critic_loss.detach()}


def _batches(start_step):
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(16, 1, 8, 8, generator=g)
    step = start_step
    while True:
        i = step % 4
        yield {"x": x[4 * i : 4 * i + 4], "y": x[4 * i : 4 * i + 4].repeat(1, 2, 1, 1) * 0.5}
        step += 1


def _cfg(**kw):
    return TrainConfig(progress=False, device="cpu", **kw)


def test_fit_returns_history_and_lowers_loss():
    m = Tiny(lr=1e-2)
    hist = fit(m, _batches, _cfg(steps=60))
    assert list(hist.columns[:3]) == ["step", "loss", "seconds"]
    assert len(hist) == 60 and hist["step"].iloc[-1] == 60
    assert hist["loss"].iloc[-5:].mean() < hist["loss"].iloc[:5].mean()
    assert hist.attrs["device"] == "cpu" and hist.attrs["stopped_by"] == "steps" and not m.training


class Noisy(Tiny):
    """Dropout in training: the result depends on the random numbers drawn while training."""

    name = "noisy"

    def loss(self, batch):
        return (torch.nn.functional.dropout(self.net(batch["x"]), 0.5) - batch["y"]).pow(2).mean()


def test_repeatable_on_cpu_whatever_the_generator_held_before():
    a, b, c = Noisy(), Noisy(), Noisy()
    torch.manual_seed(1)
    fit(a, _batches, _cfg(steps=10))
    torch.manual_seed(2)
    fit(b, _batches, _cfg(steps=10))
    fit(c, _batches, _cfg(steps=10, seed=1))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_wall_time_budget_stops_early(monkeypatch):
    slow = Tiny()
    monkeypatch.setattr(slow, "loss", lambda b: (time.sleep(0.05), Tiny.loss(slow, b))[1])
    hist = fit(slow, _batches, _cfg(steps=10_000, seconds=0.5))
    assert hist.attrs["stopped_by"] == "seconds" and 1 <= len(hist) < 100


def test_nan_loss_names_the_step(monkeypatch):
    m, calls = Tiny(), {"n": 0}

    def loss(batch):
        calls["n"] += 1
        out = Tiny.loss(m, batch)
        return out * math.nan if calls["n"] == 3 else out

    monkeypatch.setattr(m, "loss", loss)
    with pytest.raises(FloatingPointError, match="at step 3; no checkpoint path was set"):
        fit(m, _batches, _cfg(steps=10))


def test_any_non_finite_logged_value_stops_the_run():
    """A GAN's discriminator can diverge while the generator's loss still looks fine."""
    m = Tiny()
    m.train_step = lambda batch, opts, step, mode: {**Tiny.train_step(m, batch, opts, step, mode),
                                              "d_loss": torch.tensor(math.inf if step == 1 else 0.5)}
    with pytest.raises(FloatingPointError, match="d_loss is inf at step 2"):
        fit(m, _batches, _cfg(steps=5))


def test_nan_loss_names_the_checkpoint_that_exists(monkeypatch, tmp_path):
    for nan_at, every, says in ((3, 5, "no checkpoint was written yet"), (7, 5, r"holds step 5")):
        m, calls = Tiny(), {"n": 0}

        def loss(batch, m=m, calls=calls, nan_at=nan_at):
            calls["n"] += 1
            return Tiny.loss(m, batch) * (math.nan if calls["n"] == nan_at else 1.0)

        monkeypatch.setattr(m, "loss", loss)
        with pytest.raises(FloatingPointError, match=says):
            fit(m, _batches, _cfg(steps=10, checkpoint=str(tmp_path / f"{nan_at}.pt"), checkpoint_every=every))


def test_a_value_logged_at_some_steps_only_is_nan_at_the_others():
    m = Tiny()
    m.train_step = lambda batch, opts, step, mode: {**Tiny.train_step(m, batch, opts, step, mode),
                                              **({"extra": torch.tensor(float(step))} if step % 2 else {})}
    hist = fit(m, _batches, _cfg(steps=5))
    assert hist["extra"].isna().tolist() == [True, False, True, False, True]


def test_dict_losses_and_two_optimisers_are_logged_and_resumed(tmp_path):
    ckpt = tmp_path / "two.pt"
    straight = TwoPlayers()
    hist = fit(straight, _batches, _cfg(steps=12))
    assert "critic" in hist.columns and hist["critic"].notna().all()
    part = TwoPlayers()
    fit(part, _batches, _cfg(steps=5, checkpoint=str(ckpt)))
    assert sorted(checkpoint.read(ckpt)["optimizers"]) == ["critic", "net"]
    resumed = TwoPlayers()
    hist = fit(resumed, _batches, _cfg(steps=12, checkpoint=str(ckpt)))
    assert hist.attrs["resumed_from"] == 5 and len(hist) == 12
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_checkpoint_is_weights_only_and_resumes(tmp_path):
    ckpt = tmp_path / "run.pt"
    full = Tiny()
    fit(full, _batches, _cfg(steps=20))
    fit(Tiny(), _batches, _cfg(steps=8, checkpoint=str(ckpt), checkpoint_every=4))
    state = checkpoint.read(ckpt)  # weights_only=True inside
    assert state["step"] == 8 and state["run"]["steps"] == 8 and state["method"] == "tiny"
    resumed = Tiny()
    hist = fit(resumed, _batches, _cfg(steps=20, checkpoint=str(ckpt)))
    assert hist.attrs["resumed_from"] == 8 and len(hist) == 20
    for pa, pb in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_atomic_checkpoint_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "c.pt"
    checkpoint.save(path, Tiny(), step=1)
    checkpoint.save(path, Tiny(), step=2)
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]
    assert checkpoint.read(path)["step"] == 2


def test_bad_config_and_device(monkeypatch):
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=-1)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps="3")
    with pytest.raises(ValueError, match="seconds"):
        TrainConfig(seconds=0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        pick_device("cuda")
    assert pick_device("auto").type in ("cpu", "mps") and pick_device("cpu").type == "cpu"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["yuv_regression", "pix2pix"])
def test_killed_run_resumes_to_the_same_weights(method, tmp_path):
    """A small model on `samples`, 50 steps: kill -9 mid-run, resume, compare with an uninterrupted run.
    pix2pix restores two networks, two optimisers and the RNG its dropout draws from."""
    sys.path.insert(0, str(HERE))
    from _resume_script import run

    ckpt = tmp_path / "killed.pt"
    env = {**os.environ, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(HERE / "_resume_script.py"), str(ckpt), "50", "0.1", method], env=env)
    try:
        deadline = time.time() + 120
        while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = checkpoint.read(ckpt)["step"]
    assert 0 < killed_at < 50

    resumed, hist = run(str(ckpt), 50, method_name=method)
    assert hist.attrs["resumed_from"] == killed_at and hist["step"].iloc[-1] == 50
    straight, straight_hist = run(str(tmp_path / "straight.pt"), 50, method_name=method)
    for (name, a), (_, b) in zip(resumed.state_dict().items(), straight.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    pd.testing.assert_frame_equal(hist.drop(columns="seconds"), straight_hist.drop(columns="seconds"))


def test_checkpoint_of_other_settings_is_moved_aside_not_overwritten(tmp_path):
    ckpt = tmp_path / "c.pt"
    fit(Tiny(lr=1e-2), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    first = ckpt.read_bytes()
    with pytest.warns(UserWarning, match=r"differ in lr; moved it to c\.pt\.replaced"):
        hist = fit(Tiny(lr=1e-3), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    assert hist.attrs["resumed_from"] is None and len(hist) == 4
    assert (tmp_path / "c.pt.replaced").read_bytes() == first
    with pytest.warns(UserWarning, match=r"differ in seed; moved it to c\.pt\.replaced1"):
        fit(Tiny(lr=1e-3), _batches, _cfg(steps=4, seed=1, checkpoint=str(ckpt)))
    with pytest.warns(UserWarning, match="beyond the 2 steps"):
        fit(Tiny(lr=1e-3), _batches, _cfg(steps=2, seed=1, checkpoint=str(ckpt)))
    assert len(list(tmp_path.iterdir())) == 4


def test_weights_that_no_longer_fit_are_moved_aside_and_training_starts_afresh(tmp_path):
    class Wider(Tiny):  # the same method, name and arguments, after a change of its code
        def __init__(self, variant=None, **args):
            super().__init__(variant, **args)
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1))

    ckpt = tmp_path / "c.pt"
    fit(Tiny(), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    with pytest.warns(UserWarning, match=r"weights do not fit tiny.*moved it to c\.pt\.replaced"):
        moved = fit(wider := Wider(), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    fresh = Wider()
    fit(fresh, _batches, _cfg(steps=4))
    assert moved.attrs["resumed_from"] is None
    for a, b in zip(wider.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)  # from its own initial weights, nothing half-loaded


def test_resume_false_refuses_an_existing_checkpoint_and_foreign_files_stop_the_run(tmp_path):
    ckpt = tmp_path / "c.pt"
    fit(Tiny(), _batches, _cfg(steps=2, checkpoint=str(ckpt)))
    with pytest.raises(FileExistsError, match="resume=False"):
        fit(Tiny(), _batches, _cfg(steps=2, checkpoint=str(ckpt), resume=False))
    torch.save({"model": {}, "step": 3}, ckpt)  # another project's file at this path
    with pytest.raises(checkpoint.CheckpointError, match=r"c\.pt: not a colorlab checkpoint"):
        fit(Tiny(), _batches, _cfg(steps=2, checkpoint=str(ckpt)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]  # left as it was


def test_finished_checkpoint_is_reused_without_training(tmp_path, monkeypatch):
    ckpt = tmp_path / "c.pt"
    a = Tiny()
    fit(a, _batches, _cfg(steps=5, checkpoint=str(ckpt)))
    b = Tiny()
    monkeypatch.setattr(b, "train_step", lambda *args: pytest.fail("trained although the checkpoint was finished"))
    hist = fit(b, _batches, _cfg(steps=5, checkpoint=str(ckpt)))
    assert hist.attrs["resumed_from"] == 5 and len(hist) == 5
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_corrupt_checkpoint_is_named_moved_aside_and_retrained(tmp_path, monkeypatch):
    from colorlab import progress

    ckpt = tmp_path / "c.pt"
    fit(Tiny(), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # truncated, as by a full disk
    monkeypatch.setenv(progress.ENV, str(tmp_path / "events.jsonl"))
    with pytest.warns(UserWarning, match=r"c\.pt: not a readable checkpoint.*moved it to c\.pt\.corrupt"):
        hist = fit(Tiny(), _batches, _cfg(steps=4, checkpoint=str(ckpt)))
    assert hist.attrs["resumed_from"] is None and len(hist) == 4
    assert (tmp_path / "c.pt.corrupt").exists() and checkpoint.read(ckpt)["step"] == 4
    terminal = progress.Reader(tmp_path / "events.jsonl").poll()  # what colorlab run prints
    assert any(line.startswith("warning: ") and "c.pt.corrupt" in line for line in terminal), terminal
