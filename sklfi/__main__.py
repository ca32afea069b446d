"""``python -m sklfi``: the command line (see :mod:`sklfi.cli`)."""

import sys

from .cli import main

sys.exit(main())
