"""CoreService over gRPC: what the new services read from and write to the monolith."""
