"""Let `python -m tracestore` behave exactly like the `traces` console script."""

from tracestore.cli import main

raise SystemExit(main())
