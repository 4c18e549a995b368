"""``python -m sessionh5``: the same command line as the ``sessionh5`` script."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
