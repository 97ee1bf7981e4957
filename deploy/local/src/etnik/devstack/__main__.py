"""`python -m etnik.devstack` is `etnik-dev`."""

import sys

from etnik.devstack.cli import main

sys.exit(main())
