"""Train a small model on `samples` for a few steps with checkpoints; used by test_train.py.

Usage: python _resume_script.py CHECKPOINT STEPS [SLEEP_PER_STEP [METHOD]]

METHOD is ``yuv_regression`` (an L1 regression, one optimiser; the default) or ``pix2pix`` (L1 + GAN:
two networks, two optimisers, dropout drawing from the RNG).
"""

import sys
import time

import torch

from colorlab import data
from colorlab.methods import build, get
from colorlab.train import TrainConfig, fit

#: method -> (variant, arguments, colour space)
SETTINGS = {
    "yuv_regression": ("l1", {"base": 4, "lr": 1e-2}, "yuv"),
    "pix2pix": ("l1_gan", {**get("pix2pix").smoke_args, "n_layers_d": 3}, "lab"),
}


def run(checkpoint: str, steps: int, sleep: float = 0.0, method_name: str = "yuv_regression"):
    torch.set_num_threads(1)
    variant, args, space = SETTINGS[method_name]
    ds = data.load_dataset("samples", "train", crop=32, image_size=128, space=space)
    torch.manual_seed(0)
    method = build(method_name, variant, **args)
    if sleep:
        step = method.train_step
        method.train_step = lambda *args: (time.sleep(sleep), step(*args))[1]

    def batches(start_step):
        return data.make_loader(ds, batch_size=4, train=True, seed=0, start_step=start_step)

    cfg = TrainConfig(steps=steps, checkpoint=checkpoint, checkpoint_every=5, progress=False)
    return method, fit(method, batches, cfg)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0,
        sys.argv[4] if len(sys.argv) > 4 else "yuv_regression")
