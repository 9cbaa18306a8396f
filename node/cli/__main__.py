"""`python -m node.cli …`, the same as the `vitascope` script."""

import sys

from node.cli import main

sys.exit(main())
