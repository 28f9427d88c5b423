"""colorlab: a reproducibility study of automatic image colourisation.

The package is built in floors. A module imports only from its own floor or the floors below it
(``tests/test_package.py`` checks this, imports inside functions included). From the bottom:

1. ``errors``, ``files``, ``progress``, ``device``, ``stats``, ``color``, ``distributed``, ``profiles``, ``measuring``;
2. ``data``, ``abgrid``, ``distributions``, ``metrics``, ``backbones``, ``released``;
3. ``methods``;
4. ``checkpoint``, ``train``, ``evaluate``, ``cost``, ``evidence``, ``results``, ``claims``, ``viz``;
5. ``papers``, ``colorize``;
6. ``study``, ``report``, ``checks``, ``bench``;
7. ``runner``, ``commands``, ``cli``, ``__main__``, ``_execute`` (the ``colorlab`` command).
"""

__version__ = "0.1.0"
