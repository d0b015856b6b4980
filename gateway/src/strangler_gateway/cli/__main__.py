"""``python -m strangler_gateway.cli``: the ``strangler`` command, for images without the script."""

import sys

from strangler_gateway.cli.main import main

sys.exit(main())
