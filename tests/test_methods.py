"""The contract every registered method keeps, checked over the whole registry: a new method
module is covered as soon as it is registered."""

from __future__ import annotations

import copy

import pytest
import torch

from colorlab import checkpoint, data
from colorlab.methods import METHODS, Method, build, get
from colorlab.train import TrainConfig, fit

CASES = [(name, variant) for name, cls in METHODS.items() for variant in cls.variants]
CROP = 32


def _case_id(case):
    return "/".join(case)


@pytest.fixture(scope="module")
def train_sets():
    return {space: data.load_dataset("samples", "train", crop=CROP, image_size=64, space=space)
            for space in ("lab", "yuv")}


def _fixed_batch(train_set, n=4):
    return next(iter(data.make_loader(train_set, n, train=True, seed=3)))


_BUILT: dict[tuple[str, str], Method] = {}


def _method(name, variant, train_sets) -> Method:
    """A fresh copy of the method built (seeded) and prepared once per case: a pretrained-size
    encoder takes a second to initialise, a copy a fraction of that."""
    if (name, variant) not in _BUILT:
        torch.manual_seed(0)
        m = build(name, variant, **get(name).smoke_args)
        m.prepare(train_sets[m.space])
        _BUILT[name, variant] = m
    torch.manual_seed(0)  # what follows draws the same numbers whichever test or worker came first
    return copy.deepcopy(_BUILT[name, variant])


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError) as e:
        get("pix2pix_typo")
    assert all(name in str(e.value) for name in METHODS)


@pytest.mark.parametrize("name", list(METHODS))
def test_declares_what_a_reader_needs(name):
    cls = get(name)
    assert cls.name == name and cls.__doc__ and cls.space in ("lab", "yuv")
    assert cls.variants and all(v.description for v in cls.variants.values())
    for v in cls.variants.values():  # a variant presets only real arguments
        assert set(v.args) <= set(cls.defaults)
    assert set(cls.smoke_args) <= set(cls.defaults)
    assert cls.norm.space == cls.space
    for arg, allowed in cls.choices.items():  # every choice is an argument whose default is allowed
        assert arg in cls.defaults and cls.defaults[arg] in allowed, arg


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_colours_every_decoding_in_range_and_shape(case, train_sets):
    m = _method(*case, train_sets).eval()
    rgb = _fixed_batch(train_sets[m.space])["rgb"]
    for decode in m.decodings:
        out = m.colorize(rgb, decode)
        assert out.shape == rgb.shape and out.dtype == torch.float32, decode
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0, decode
        labels = m.row_labels(decode)
        assert isinstance(labels, dict) and not set(labels) & {"method", "variant", "decode", "auc"}, labels


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("size", [(1, 1), (7, 13), (33, 17)])
def test_colours_any_image_size(case, size, train_sets):
    m = _method(*case, train_sets).eval()
    rgb = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1))
    out = m.colorize({"rgb": rgb})
    assert out.shape == (2, 3, *size) and torch.isfinite(out).all()
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_falls_on_a_fixed_batch(case, train_sets):
    m = _method(*case, train_sets)
    m.check_trainable()
    batch = _fixed_batch(train_sets[m.space])
    optimizers = m.configure_optimizers()
    m.train()
    losses = []
    for step in range(12):
        logs = m.train_step(batch, optimizers, step)
        assert "loss" in logs and not logs["loss"].requires_grad
        losses.append(float(logs[m.fitted_value]))
    assert all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[-3:]) < sum(losses[:3]), losses


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_checkpoint_round_trip_rebuilds_an_identical_method(case, train_sets, tmp_path):
    m = _method(*case, train_sets)
    path = tmp_path / "m.pt"
    ts = train_sets[m.space]
    fit(m, lambda start: data.make_loader(ts, 2, train=True, start_step=start),
        TrainConfig(steps=2, progress=False, device="cpu", checkpoint=str(path), extra={"data": ts.describe()}))
    rng = torch.get_rng_state()
    loaded = checkpoint.load(path)
    assert torch.equal(torch.get_rng_state(), rng)  # rebuilding drew no random numbers of the caller's
    assert type(loaded) is type(m) and loaded.variant == m.variant and loaded.args == m.args
    assert not loaded.training
    mine, theirs = m.state_dict(), loaded.state_dict()
    assert mine.keys() == theirs.keys()
    for k in mine:  # tensors equal; extra state (how a pretrained backbone was initialised) kept as it was
        assert torch.equal(mine[k], theirs[k]) if isinstance(mine[k], torch.Tensor) else mine[k] == theirs[k], k
    rgb = _fixed_batch(ts)["rgb"]
    for decode in m.decodings:
        assert torch.equal(m.eval().colorize(rgb, decode), loaded.colorize(rgb, decode)), decode
    state = checkpoint.read(path)
    assert (
        state["normalisation"] == m.norm.name and state["data"]["crop"] == CROP and len(state["history"]["loss"]) == 2
    )
