"""The subcommands of ``colorlab`` beside ``run`` and ``report`` (:mod:`colorlab.cli`).

Each module declares its arguments (``add_parser``) with nothing heavier than :mod:`argparse`
imported, and imports what its command needs when it runs (``main``).
"""
