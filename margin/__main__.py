"""``python -m margin``: see :mod:`margin.cli`."""

import sys

from .cli import main

sys.exit(main())
