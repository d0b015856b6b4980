"""The adapter's HTTP routes, one blueprint per concern."""
