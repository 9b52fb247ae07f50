"""``python -m lut``: see lut.cli."""

import sys

from lut.cli import main

sys.exit(main())
