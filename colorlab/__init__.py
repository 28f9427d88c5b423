"""colorlab: a reproducibility study of automatic image colourisation.

Modules: :mod:`colorlab.color` (colour spaces, normalisations), :mod:`colorlab.data`
(image sources and splits), :mod:`colorlab.quantize` (Zhang et al.'s ab bins),
:mod:`colorlab.metrics`, :mod:`colorlab.train`, :mod:`colorlab.results`, :mod:`colorlab.viz`
and :mod:`colorlab.models` (a registry of the networks).
"""

__version__ = "0.1.0"
