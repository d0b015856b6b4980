"""The GenAI workload's Flask equivalent: a sync view that blocks on a model for its latency.

``POST /api/chat`` waits ``BENCH_PROVIDER_SECONDS`` (default 1.0) the way a blocking model client
holds a worker thread, then answers in the chat contract's shape. Served with the webhook
adapter's gunicorn settings (gthread, 2 workers x 4 threads), it is what a Flask port of the
legacy view would do under the same load.
"""

import os
import time

from flask import Flask, request

app = Flask(__name__)
_WAIT = float(os.environ.get("BENCH_PROVIDER_SECONDS", "1.0"))


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Say the process is up."""
    return {"status": "ok"}


@app.post("/api/chat")
def chat() -> dict[str, object]:
    """Wait on the (simulated) model, then answer with one cited source."""
    question = (request.get_json(silent=True) or {}).get("question", "")
    time.sleep(_WAIT)
    source = {"id": 1, "slug": "requesting-a-refund", "title": "Requesting a refund"}
    return {"answer": f"About {question!r}: see the refund policy. [1]", "sources": [source]}
