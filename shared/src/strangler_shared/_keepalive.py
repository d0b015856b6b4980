"""How long a client of the project may reuse an idle kept-alive connection."""

IDLE_CONNECTION_SECONDS = 4
"""Below the 5 s after which uvicorn (rag, the comparator, the trace store, the console, and
uvicorn-based model servers such as vLLM) closes an idle connection, so the client always ends
it first. A server closing a connection just as a client sends a request on it fails that
request, and a POST is never re-sent: 24 of 2,000 answers failed that way between rag and a
uvicorn model server after a 7 s lull. rag's model pool, core's pooled clients and nginx's
upstreams use it; behind a server that closes sooner (gunicorn: 2 s), use less."""
