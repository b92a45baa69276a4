"""``python -m exchange fetch VENUE ...`` (the same as ``python -m margin fetch`` once wired)."""

import sys

from .cli import main

sys.exit(main())
