"""`python -m antiphon …` runs the same command line as the `antiphon` script."""

from __future__ import annotations

import sys

from antiphon.cli import main

if __name__ == "__main__":
    sys.exit(main())
