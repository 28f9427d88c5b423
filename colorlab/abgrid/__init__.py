"""The quantised ab plane shared by the methods that classify colours.

:mod:`.bins` holds the bin centres, the pixel-to-bin assignment, soft targets, decodings and the
soft cross entropy; :mod:`.prior` the class priors over a training split (smoothed, cached); :mod:`.weights` the
rebalancing weights and per-pixel weights they give.

Example:
    >>> bins = ab_gamut_bins()
    >>> bins.shape
    torch.Size([262, 2])
"""

from .bins import (
    GRAY_THRESHOLD,
    GRID,
    SIGMA,
    SWEEP,
    ab_gamut_bins,
    decode_expectation,
    decode_mode,
    decode_sample,
    grayscale_mask,
    nearest_bin,
    soft_cross_entropy,
    soft_encode,
)
from .prior import (
    PRIOR_MAX_IMAGES,
    ab_histogram,
    cached_prior,
    dataset_prior,
    empirical_prior,
    gaussian_smooth,
    prior_key,
    smooth_prior,
)
from .weights import REBALANCE_LAMBDA, pixel_weights, rebalance_weights

__all__ = [
    "GRID", "SWEEP", "SIGMA", "GRAY_THRESHOLD", "PRIOR_MAX_IMAGES", "REBALANCE_LAMBDA",
    "ab_gamut_bins", "nearest_bin", "soft_encode", "grayscale_mask", "decode_expectation", "decode_mode",
    "decode_sample", "soft_cross_entropy", "ab_histogram", "gaussian_smooth", "smooth_prior", "empirical_prior",
    "cached_prior", "prior_key", "dataset_prior", "pixel_weights", "rebalance_weights",
]
