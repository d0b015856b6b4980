"""rag's HTTP API."""
