"""``python -m flowship`` is the ``flow`` command."""

import sys

from flowship.cli import main

sys.exit(main())
