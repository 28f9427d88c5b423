"""Train a small model on `samples` for a few steps, in one process or under torchrun; used by
test_distributed.py. Every process writes what it saw to OUT/rank<R>.json; only rank 0 may write
the checkpoint.

Usage: python _ddp_script.py OUT STEPS CHECKPOINT|- [METHOD [summed|uneven]]

METHOD is ``yuv_regression`` (L1 on U, V with instance norm, a loss that is a plain mean over the
batch, so the processes' average is the whole batch's; trained with SGD, under which a gradient
summed instead of averaged would double every step, where Adam would not see it) or ``pix2pix``
(two networks, two optimisers, batch norm and dropout: runs and resumes, but is not one process's
run). ``summed`` breaks the gradient average on purpose (the processes' gradients summed, not
averaged), to show that the comparison can fail; ``uneven`` adds a parameter that only rank 0's
loss uses (a branch the data skips on the others), which must neither crash nor hang.
"""

import json
import sys
from pathlib import Path

import torch

from colorlab import data, distributed
from colorlab.methods import build, get
from colorlab.train import TrainConfig, fit

#: method -> (variant, arguments, colour space)
SETTINGS = {
    "yuv_regression": ("l1_instancenorm", {"base": 4, "lr": 1e-2}, "yuv"),
    "pix2pix": ("l1_gan", {**get("pix2pix").smoke_args, "n_layers_d": 3}, "lab"),
}


def _summed(params):
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)


def main(out: str, steps: int, ckpt: str, method_name: str = "yuv_regression", broken: str = "") -> None:
    torch.set_num_threads(1)
    if broken == "summed":
        import colorlab.methods.base as base

        base.average_gradients = _summed
    variant, args, space = SETTINGS[method_name]
    ds = data.load_dataset("samples", "train", crop=32, image_size=96, space=space)
    torch.manual_seed(0)
    method = build(method_name, variant, **args)
    if method_name == "yuv_regression":
        method.configure_optimizers = lambda mode=None: {
            "net": torch.optim.SGD(method.parameters(), lr=0.2, momentum=0.9)
        }
    if broken == "uneven":
        method.extra = torch.nn.Parameter(torch.ones(3))
        loss = method.loss

        def uneven(batch):
            out = loss(batch)
            return out + 0.01 * method.extra.sum() if distributed.rank_world()[0] == 0 else out

        method.loss = uneven
    cfg = TrainConfig(steps=steps, device="cpu", checkpoint=None if ckpt == "-" else ckpt, checkpoint_every=3,
                      progress=False)
    hist = fit(method, lambda start: data.make_loader(ds, 8, train=True, seed=0, start_step=start), cfg)
    rank, world = distributed.rank_world()
    weights = {k: v.flatten().tolist() for k, v in method.state_dict().items() if v.is_floating_point()}
    record = {"rank": rank, "world": world, "processes": hist.attrs["processes"], "steps": hist.attrs["steps"],
              "resumed_from": hist.attrs["resumed_from"], "history": hist.drop(columns="seconds").to_dict("list"),
              "weights": weights}
    Path(out, f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:6])
