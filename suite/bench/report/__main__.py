"""``python -m suite.bench.report``: the same as ``python -m suite report``."""

import sys

from .cli import main

sys.exit(main())
