"""``python -m exchange fetch VENUE ...`` (the same as ``python -m margin fetch``, which finds
:func:`exchange.cli.main` through the ``margin.commands`` entry point)."""

import sys

from .cli import main

sys.exit(main())
