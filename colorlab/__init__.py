"""colorlab: a reproducibility study of automatic image colourisation.

The floors, from the bottom: :mod:`colorlab.color` (colour spaces and named normalisations),
:mod:`colorlab.data` (image sources, splits, datasets, sampling), :mod:`colorlab.abgrid` (the
quantised ab plane and class priors), :mod:`colorlab.metrics`, :mod:`colorlab.files`,
:mod:`colorlab.device`, :mod:`colorlab.claims` (verdict machinery, published values),
:mod:`colorlab.backbones` (torchvision's pretrained networks, how their weights got there recorded)
and :mod:`colorlab.cost` (training and inference speed and peak memory, measured). On them:
:mod:`colorlab.methods` (one module per reproduction, found by name), :mod:`colorlab.train` (one
training loop for every method), :mod:`colorlab.checkpoint` (a file rebuilds its method alone),
:mod:`colorlab.evaluate`; then :mod:`colorlab.study` (what every notebook does),
:mod:`colorlab.results`, :mod:`colorlab.report`, :mod:`colorlab.viz` and the ``colorlab`` command
(:mod:`colorlab.cli`, :mod:`colorlab.runner`, :mod:`colorlab.profiles`).
"""

__version__ = "0.1.0"
