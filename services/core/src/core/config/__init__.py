"""Project-level wiring of the monolith: settings, URLs, the public API, WSGI/ASGI entrypoints."""
