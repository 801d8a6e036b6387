"""``python -m storescope``: the same as the ``storescope`` console script."""

import sys

from storescope.tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
