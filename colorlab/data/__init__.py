"""Image sources, leak-free train/test splits and reproducible colourisation batches.

Images are uint8 RGB tensors ``(3, H, W)``; dataset items are dicts of float32 crops.
Sources (the ``spec`` strings, see :data:`SPECS`):

* ``"samples"`` (default, offline): eight natural colour photos shipped inside installed
  wheels: scikit-image's astronaut, coffee, chelsea, rocket and motorcycle (the left view of
  the stereo pair, shipped in the wheel, no download), scikit-learn's china and flower and
  matplotlib's grace_hopper. Split into folds of whole photos (``fold=(i, k)``: test = fold
  ``i``, train = the other photos), or without a fold by region: train = the left three quarters
  of every photo, test = the right quarter (a "seen scenes" view).
* ``"historical"`` (offline): real grayscale photographs from scikit-image (camera, coins,
  moon, page, text, clock) as RGB with the channel replicated; no colour ground truth.
* ``"folder:PATH"``: every file under PATH (recursive, hidden files skipped) with an extension
  Pillow can open, in sorted order. Whole images are held out: a file is a test image when a
  SHA-1 hash of its relative path falls in the lowest 10%, with at least one test and one
  train image when there are two or more readable images; a single image is split by region.
  Unreadable files are skipped and grayscale images left out, each listed with the images
  smaller than the crop in the set's ``problems``.
* ``"stl10"``, ``"places365"`` (small, 256x256), ``"cifar10"``, ``"flowers102"``: torchvision
  datasets under :func:`data_root`, downloaded when missing; train/test map to the dataset's own splits
  (stl10 train/test, places365 train-standard/val, cifar10 train/test, flowers102 train/test).

The region is cut in the original pixel grid and only then resized (``image_size``) or
upscaled (to at least ``crop``), so resampling never mixes train and test pixels.

Modules: :mod:`~colorlab.data.decode` (image files to tensors), :mod:`~colorlab.data.images`
(:class:`ImageSet`, :class:`DataProblems`), :mod:`~colorlab.data.folder` (``folder:`` listing,
hold-out, problems), :mod:`~colorlab.data.sources` (specs, :func:`load_images`,
:func:`check_spec`, :func:`data_root`), :mod:`~colorlab.data.subsets` (a narrow subset of a source:
:func:`resolve_subset`, :func:`restrict`), :mod:`~colorlab.data.datasets`
(:class:`ColorDataset`, :func:`load_dataset`) and :mod:`~colorlab.data.sampling`
(:class:`StepBatchSampler`, :func:`make_loader`, :func:`to_device`).

Example:
    >>> ds = load_dataset("samples", "train", crop=64)
    >>> item = ds[(0, 1234)]                     # (image index, augmentation seed): pure
    >>> item["rgb"].shape, item["L"].shape, item["ab"].shape
    (torch.Size([3, 64, 64]), torch.Size([1, 64, 64]), torch.Size([2, 64, 64]))
    >>> batch = next(iter(make_loader(ds, 16, train=True, start_step=100)))
    >>> batch["rgb"].shape, batch["image"].shape
    (torch.Size([16, 3, 64, 64]), torch.Size([16]))
"""

from .datasets import ColorDataset, load_dataset
from .decode import load_image, pil_to_tensor
from .images import DataProblems, ImageSet
from .sampling import StepBatchSampler, complete, make_loader, to_device
from .sources import SPECS, TEST_FRACTION, TRAIN_FRACTION, check_spec, data_root, load_images
from .subsets import Subset, check_subset, resolve_subset, restrict

__all__ = [
    "SPECS", "TRAIN_FRACTION", "TEST_FRACTION", "ImageSet", "DataProblems", "ColorDataset", "StepBatchSampler",
    "pil_to_tensor", "load_image", "load_images", "load_dataset", "make_loader", "complete", "to_device", "check_spec",
    "data_root", "Subset", "check_subset", "resolve_subset", "restrict",
]
