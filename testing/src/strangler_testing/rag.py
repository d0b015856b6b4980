"""rag's test doubles: the OpenAI-compatible model server, and a way to serve an app for real.

The model server is a provider outside the project; it lives with rag's benchmark (which ships
and runs it) and is re-exported here so every suite imports its doubles from one place.
"""

from rag.bench.model_server import Behaviour, FakeChatCompletions

from strangler_testing.servers import serve_in_thread

__all__ = ["Behaviour", "FakeChatCompletions", "serve_in_thread"]
