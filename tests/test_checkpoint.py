"""colorlab.checkpoint: a file rebuilds its method alone; every kind of wrong file is refused
with an error that names it."""

import pytest
import torch

from colorlab import checkpoint
from colorlab.methods import build


@pytest.fixture()
def saved(tmp_path):
    path = tmp_path / "zhang.pt"
    m = build("zhang", "class", width=0.125)
    checkpoint.save(path, m, step=7, train_seconds=1.5, history={"step": [1], "loss": [2.0]},
                    run={"seed": 3, "device": "cpu"}, data={"spec": "samples", "crop": 32})
    return path, m


def _rewrite(src, dst, **changes):
    state = torch.load(src, weights_only=True)
    state.update(changes)
    torch.save(state, dst)
    return dst


def test_entries_and_history(saved):
    path, m = saved
    state = checkpoint.read(path)
    assert state["format"] == checkpoint.FORMAT and state["version"] == checkpoint.VERSION
    assert (state["method"], state["variant"], state["normalisation"]) == ("zhang", "class", "zhang")
    assert state["args"]["width"] == 0.125 and state["args"]["betas"] == [0.9, 0.99]
    assert "net.model1.0.weight" in state["state_dict"] and "bins" in state["state_dict"]
    hist = checkpoint.history(state)
    assert list(hist["loss"]) == [2.0] and hist.attrs["steps"] == 7 and hist.attrs["device"] == "cpu"


def test_load_rebuilds_in_eval_mode(saved):
    path, m = saved
    loaded = checkpoint.load(path)
    assert loaded.name == "zhang" and loaded.variant == "class" and not loaded.training
    assert torch.equal(loaded.bins, m.bins)
    for (k, a), b in zip(m.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*nope.pt"):
        checkpoint.load(tmp_path / "nope.pt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_unreadable_file_is_named(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(checkpoint.CheckpointError, match=r"bad\.pt: not a readable checkpoint"):
        checkpoint.load(path)


def test_truncated_checkpoint_is_named(saved, tmp_path):
    path, _ = saved
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(checkpoint.CheckpointError, match=r"cut\.pt: not a readable checkpoint"):
        checkpoint.load(cut)


def test_foreign_torch_file_is_named(tmp_path):
    path = tmp_path / "foreign.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "step": 3}, path)  # another project's checkpoint
    with pytest.raises(checkpoint.CheckpointError, match=r"foreign\.pt: not a colorlab checkpoint"):
        checkpoint.load(path)
    torch.save(torch.zeros(3), path)  # a bare tensor
    with pytest.raises(checkpoint.CheckpointError, match="not a colorlab checkpoint"):
        checkpoint.load(path)


def test_newer_format_is_refused(saved, tmp_path):
    path = _rewrite(saved[0], tmp_path / "future.pt", version=checkpoint.VERSION + 1)
    with pytest.raises(checkpoint.CheckpointError, match=r"future\.pt: checkpoint format version 2 is newer"):
        checkpoint.load(path)


def test_unknown_method_is_named(saved, tmp_path):
    path = _rewrite(saved[0], tmp_path / "other.pt", method="deoldify")
    with pytest.raises(
        checkpoint.CheckpointError, match=r"other\.pt: unknown method 'deoldify'; known: fusion, larsson"
    ):
        checkpoint.load(path)


def test_arguments_or_weights_that_do_not_fit_are_named(saved, tmp_path):
    path = _rewrite(saved[0], tmp_path / "args.pt", args={"width": 0.125, "depth": 3})
    with pytest.raises(checkpoint.CheckpointError, match=r"args\.pt: cannot rebuild 'zhang'.*unknown argument"):
        checkpoint.load(path)
    state = torch.load(saved[0], weights_only=True)
    state["args"]["width"] = 0.25  # weights of a narrower network
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"shape\.pt: cannot rebuild 'zhang'.*size mismatch"):
        checkpoint.load(tmp_path / "shape.pt")


def test_a_changed_normalisation_or_a_missing_method_is_named(saved, tmp_path):
    path = _rewrite(saved[0], tmp_path / "norm.pt", normalisation="pix2pix")
    with pytest.raises(checkpoint.CheckpointError, match=r"norm\.pt: its inputs were normalised as 'pix2pix'"):
        checkpoint.load(path)
    state = torch.load(saved[0], weights_only=True)
    del state["method"]
    torch.save(state, tmp_path / "nameless.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"nameless\.pt: unknown method '<none>'"):
        checkpoint.load(tmp_path / "nameless.pt")


def test_checkpoints_are_readable_by_others(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        checkpoint.save(tmp_path / "c.pt", build("zhang", "class", width=0.125), step=1, train_seconds=0.1,
                        history={"step": [1], "loss": [1.0]}, run={"seed": 0}, data={})
    finally:
        os.umask(old)
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644
