"""Let ``python -m webhooks`` run the adapter's operator commands."""

from webhooks.cli import main

raise SystemExit(main())
