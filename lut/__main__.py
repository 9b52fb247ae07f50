"""``python -m lut``: the command line lives in luttools.cli (the lut package is the format only)."""

import sys

from luttools.cli import main

sys.exit(main())
