"""``python -m colorlab``: the same as the ``colorlab`` command."""

import sys

from .cli import main

sys.exit(main())
