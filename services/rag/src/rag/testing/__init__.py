"""Test doubles for what lies outside the project, and a way to serve an app for real.

Kept in the package (not in the tests) so other suites can use them too: the stack's tests can
point rag at a fake OpenAI-compatible server, as rag's own tests do.
"""

from rag.testing.openai_fake import FakeChatCompletions
from rag.testing.servers import serve_in_thread

__all__ = ["FakeChatCompletions", "serve_in_thread"]
