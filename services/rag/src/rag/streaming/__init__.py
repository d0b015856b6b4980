"""Answer streams: one sequence of events, spoken as SSE, WebSocket messages and gRPC."""
