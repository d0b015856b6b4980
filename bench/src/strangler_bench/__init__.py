"""make bench: the migration's payoff measured side by side, and the answers' quality."""
